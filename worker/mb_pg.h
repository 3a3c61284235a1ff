/*
 * One reconnecting PostgreSQL connection driven by libpq's asynchronous API
 * on a uv_poll handle.  Queries run one at a time in FIFO order, each with
 * its own timeout; a timed-out or failed connection is dropped and rebuilt
 * with backoff, and an idle connection is checked with "SELECT 1".
 */

#ifndef _MB_PG_H_INCLUDED_
#define _MB_PG_H_INCLUDED_


#include <libpq-fe.h>
#include <uv.h>

#include "mb_worker.h"


/* res is valid only during the call; err is NULL on success */
typedef void (*mb_pg_result_pt)(PGresult *res, const char *err, void *data);

/* the connection is (again) ready: LISTEN anew, re-read what may have
 * changed while it was down */
typedef void (*mb_pg_event_pt)(mb_pg_t *pg, void *data);
/* a NOTIFY on a channel this connection listens to */
typedef void (*mb_pg_notify_pt)(const char *channel, const char *payload,
    void *data);


mb_pg_t *mb_pg_create(uv_loop_t *loop, const char *conninfo);
void mb_pg_start(mb_pg_t *pg);
int mb_pg_up(const mb_pg_t *pg);

/*
 * 0 when queued: cb is then called exactly once, later.  -1 when the
 * database is down (not even connecting): cb is not called.
 */
int mb_pg_query(mb_pg_t *pg, const char *sql, unsigned timeout_ms,
    mb_pg_result_pt cb, void *data);
/* the same with $1..$n parameters (text; NULL is SQL NULL), copied */
int mb_pg_query_params(mb_pg_t *pg, const char *sql, int nparams,
    const char *const *params, unsigned timeout_ms, mb_pg_result_pt cb,
    void *data);

/* one listener: on_ready after each connect, on_notify per notification */
void mb_pg_listen(mb_pg_t *pg, mb_pg_event_pt on_ready,
    mb_pg_notify_pt on_notify, void *data);

/* fails the queued queries, closes the connection, frees pg later */
void mb_pg_close(mb_pg_t *pg);


#endif /* _MB_PG_H_INCLUDED_ */
