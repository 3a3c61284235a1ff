/*
 * The API router: a static table of routes (methods, path pattern with an
 * optional "{id}" segment, allowed roles, handler).  The location handler
 * reads the body, matches the route (404/405), authenticates (401/403),
 * checks CSRF for cookie-authenticated writes, and calls the handler.
 */

#ifndef _NGX_MIKROBILL_ROUTER_H_INCLUDED_
#define _NGX_MIKROBILL_ROUTER_H_INCLUDED_


#include "ngx_mikrobill.h"


/*
 * A handler owns the request from here: it answers (ngx_mikrobill_respond*)
 * now or later, from an async callback; exactly once.
 */
typedef void (*ngx_mikrobill_api_handler_pt)(ngx_mikrobill_ctx_t *ctx);


typedef struct {
    ngx_uint_t                     methods;  /* NGX_HTTP_GET | ... */
    const char                    *pattern;  /* "/api/users/{id}" */
    ngx_uint_t                     roles;    /* 0: anonymous allowed */
    ngx_mikrobill_api_handler_pt   handler;
} ngx_mikrobill_route_t;


/* GET /api/health, in ngx_mikrobill_health.c */
void ngx_mikrobill_health(ngx_mikrobill_ctx_t *ctx);

/* content handler of locations with "mikrobill_api on" */
ngx_int_t ngx_mikrobill_api_handler(ngx_http_request_t *r);

/* content handler of "mikrobill_error_page" locations, error_page targets */
ngx_int_t ngx_mikrobill_error_page_handler(ngx_http_request_t *r);


#endif /* _NGX_MIKROBILL_ROUTER_H_INCLUDED_ */
