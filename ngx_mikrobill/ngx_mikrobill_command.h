/*
 * Commands to mikrobill-worker over the Redis stream "mikrobill:commands"
 * (docs/worker.md):
 *
 *     XADD mikrobill:commands * type T id ID reply_to mikrobill:reply:ID
 *          payload JSON
 *
 * then, without blocking the event loop, LPOP mikrobill:reply:ID on an
 * nginx timer (every 25 ms, backing off to 100 ms) until the reply comes
 * or the timeout passes.  The request that waits is held by the caller as
 * with any other asynchronous step (it answers from the handler).
 */

#ifndef _NGX_MIKROBILL_COMMAND_H_INCLUDED_
#define _NGX_MIKROBILL_COMMAND_H_INCLUDED_


#include "ngx_mikrobill.h"


#define NGX_MIKROBILL_COMMAND_STREAM  "mikrobill:commands"
#define NGX_MIKROBILL_COMMAND_REPLY   "mikrobill:reply:"


/*
 * rc NGX_OK: reply is the worker's answer, a JSON object (borrowed: valid
 * during the call); NGX_DECLINED: no answer before the timeout; NGX_ERROR:
 * Redis unavailable, the command was not queued.  reply is NULL unless
 * NGX_OK.
 */
typedef void (*ngx_mikrobill_command_pt)(void *data, json_t *reply,
    ngx_int_t rc);

/*
 * Queue a command for request r and wait for its reply.  payload is
 * serialized (not stolen); timeout 0 means mikrobill_command_timeout.
 * The handler is called exactly once, never before this returns, and not
 * at all when the request is terminated meanwhile.  NGX_OK, or NGX_ERROR
 * (out of memory; handler not called).
 */
ngx_int_t ngx_mikrobill_command(ngx_http_request_t *r, const char *type,
    json_t *payload, ngx_msec_t timeout, ngx_mikrobill_command_pt handler,
    void *data);

/*
 * Fire and forget: queue without reply_to.  The handler learns whether
 * the XADD worked (NGX_OK, NGX_ERROR; reply always NULL).
 */
ngx_int_t ngx_mikrobill_command_post(ngx_http_request_t *r,
    const char *type, json_t *payload, ngx_mikrobill_command_pt handler,
    void *data);


#endif /* _NGX_MIKROBILL_COMMAND_H_INCLUDED_ */
