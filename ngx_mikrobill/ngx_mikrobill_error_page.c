/*
 * JSON bodies for errors nginx raises itself (body too large, bad request,
 * timeouts, ...), so that API clients always get {"error","message"}:
 *
 *     error_page 400 404 405 408 413 414 500 502 503 504 @mikrobill_error;
 *     location @mikrobill_error { mikrobill_error_page; }
 */


#include "ngx_mikrobill_router.h"
#include "ngx_mikrobill_json.h"


ngx_int_t
ngx_mikrobill_error_page_handler(ngx_http_request_t *r)
{
    ngx_uint_t  status;

    /* reached directly rather than through error_page: nothing is here */
    status = r->err_status ? r->err_status : NGX_HTTP_NOT_FOUND;

    /*
     * nginx is already discarding the body of most failed requests; for
     * the others, a failure to discard only costs the keepalive.
     */

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    /* ngx_mikrobill_respond_error() finalizes: hold the request across it */
    r->main->count++;

    ngx_mikrobill_respond_error(r, status, NULL, NULL);

    return NGX_DONE;
}
