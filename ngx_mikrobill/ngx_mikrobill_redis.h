/*
 * Redis through hiredis async on an nginx connection: one context per
 * worker process, reconnecting with backoff, command timeouts on nginx
 * timers.
 */

#ifndef _NGX_MIKROBILL_REDIS_H_INCLUDED_
#define _NGX_MIKROBILL_REDIS_H_INCLUDED_


#include "ngx_mikrobill.h"
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/*
 * reply is NULL when Redis is unavailable, the connection dropped or the
 * command timed out; it is owned by hiredis and valid during the callback.
 */
typedef void (*ngx_mikrobill_redis_handler_pt)(void *data,
    redisReply *reply);


ngx_mikrobill_redis_t *ngx_mikrobill_redis_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf);
void ngx_mikrobill_redis_destroy(ngx_mikrobill_redis_t *redis);

ngx_flag_t ngx_mikrobill_redis_connected(ngx_mikrobill_redis_t *redis);

/*
 * Send a command (argv form; lengths may be NULL for C strings).  The
 * handler is called exactly once, never before this function returns.
 * Returns NGX_OK or NGX_ERROR (handler not called).
 */
ngx_int_t ngx_mikrobill_redis_command(ngx_mikrobill_redis_t *redis,
    ngx_mikrobill_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);


/*
 * Subscribe mode, for a context of its own (ngx_mikrobill_fanout.c).
 * state(data, 1) runs each time the connection is up (subscribe again
 * then), state(data, 0) when it is lost; push(data, reply) gets every
 * reply of the (P)SUBSCRIBE family: confirmations and messages.
 */
typedef void (*ngx_mikrobill_redis_state_pt)(void *data, ngx_flag_t up);

void ngx_mikrobill_redis_set_subscriber(ngx_mikrobill_redis_t *redis,
    ngx_mikrobill_redis_state_pt state, ngx_mikrobill_redis_handler_pt push,
    void *data);

/* give up on the current connection (no answer in time): reconnect */
void ngx_mikrobill_redis_reset(ngx_mikrobill_redis_t *redis);

/* NGX_ERROR when the connection is not up */
ngx_int_t ngx_mikrobill_redis_push_command(ngx_mikrobill_redis_t *redis,
    int argc, const char **argv, const size_t *argvlen);


#endif /* _NGX_MIKROBILL_REDIS_H_INCLUDED_ */
