/*
 * A Redis command on behalf of an HTTP request: the handler runs only while
 * the request lives.  The request may be terminated while Redis still owes
 * the reply (hiredis keeps our pointer), so the state is on the heap and
 * the request's cleanup only detaches it.
 */

#ifndef _NGX_MIKROBILL_REDIS_REQUEST_H_INCLUDED_
#define _NGX_MIKROBILL_REDIS_REQUEST_H_INCLUDED_


#include "ngx_mikrobill_redis.h"


/*
 * As ngx_mikrobill_redis_command() on the worker's context, but handler is
 * not called once r is gone.  NGX_OK or NGX_ERROR (handler not called).
 */
ngx_int_t ngx_mikrobill_redis_request(ngx_http_request_t *r,
    ngx_mikrobill_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);


#endif /* _NGX_MIKROBILL_REDIS_REQUEST_H_INCLUDED_ */
