/*
 * One reconnecting Redis connection on the libuv loop (hiredis async with
 * its libuv adapter).  Every command has a deadline: hiredis 0.14 has no
 * command timeouts, and a half-dead TCP connection would otherwise wait
 * forever.  A missed deadline drops the connection and reconnects.
 */

#ifndef _MB_REDIS_H_INCLUDED_
#define _MB_REDIS_H_INCLUDED_


#include <hiredis/hiredis.h>
#include <uv.h>

#include "mb_config.h"
#include "mb_worker.h"


typedef void (*mb_redis_event_pt)(mb_redis_t *r, void *data);

/* reply is NULL when the connection went away before the answer */
typedef void (*mb_redis_reply_pt)(mb_redis_t *r, redisReply *reply,
    void *data);


/* on_up: connected (and authenticated); on_down: a ready connection lost */
mb_redis_t *mb_redis_create(uv_loop_t *loop, const mb_config_t *cfg,
    const char *name, mb_redis_event_pt on_up, mb_redis_event_pt on_down,
    void *data);
void mb_redis_start(mb_redis_t *r);
int mb_redis_ready(const mb_redis_t *r);

/*
 * hiredis format (%s is one argument whatever it holds).  0 when queued:
 * cb (may be NULL) is then called exactly once; -1 when not connected.
 */
int mb_redis_command(mb_redis_t *r, unsigned timeout_ms, mb_redis_reply_pt cb,
    void *data, const char *fmt, ...);

/* the same with an argument vector (argvlen NULL: strlen of each) */
int mb_redis_command_argv(mb_redis_t *r, unsigned timeout_ms,
    mb_redis_reply_pt cb, void *data, int argc, const char **argv,
    const size_t *argvlen);

/* drops the connection; pending callbacks get NULL; frees r later */
void mb_redis_close(mb_redis_t *r);


#endif /* _MB_REDIS_H_INCLUDED_ */
