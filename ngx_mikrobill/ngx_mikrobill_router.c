/*
 * The API router: route table, body reading, and the gate every protected
 * route passes (authentication, role, CSRF) before its handler runs.
 *
 * Request lifetime: ngx_http_read_client_request_body() takes a reference
 * (r->main->count++) that the one answer (ngx_mikrobill_respond*) releases
 * through ngx_http_finalize_request(); answers given before reading the
 * body take that reference themselves.
 */


#include "ngx_mikrobill_router.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_api.h"


#define NGX_MIKROBILL_METHODS                                                \
    (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH     \
     |NGX_HTTP_DELETE)

#define NGX_MIKROBILL_UNSAFE                                                 \
    (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH|NGX_HTTP_DELETE)

#define NGX_MIKROBILL_STAFF                                                  \
    (NGX_MIKROBILL_ROLE_SUPERADMIN|NGX_MIKROBILL_ROLE_ADMIN)

#define NGX_MIKROBILL_READERS                                                \
    (NGX_MIKROBILL_STAFF|NGX_MIKROBILL_ROLE_TECHNICIAN)


/* the router's view of a request: the public ctx first */
typedef struct {
    ngx_mikrobill_ctx_t             ctx;
    const ngx_mikrobill_route_t    *route;
} ngx_mikrobill_router_ctx_t;


static const ngx_mikrobill_route_t *ngx_mikrobill_route_find(
    ngx_http_request_t *r, ngx_str_t *id, ngx_uint_t *allowed);
static ngx_flag_t ngx_mikrobill_route_match(const char *pattern,
    ngx_str_t *path, ngx_str_t *id);
static ngx_int_t ngx_mikrobill_router_reject(ngx_http_request_t *r,
    ngx_uint_t status, ngx_uint_t allowed);
static ngx_int_t ngx_mikrobill_router_allow(ngx_http_request_t *r,
    ngx_uint_t allowed);
static void ngx_mikrobill_router_body(ngx_http_request_t *r);
static void ngx_mikrobill_router_auth_done(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc);
static void ngx_mikrobill_router_run(ngx_mikrobill_ctx_t *ctx);
static ngx_flag_t ngx_mikrobill_router_has_body(ngx_http_request_t *r);


static const ngx_mikrobill_route_t  ngx_mikrobill_routes[] = {

    { NGX_HTTP_GET, "/api/health", 0, ngx_mikrobill_health },

    { NGX_HTTP_POST, "/api/auth/login", 0, ngx_mikrobill_auth_login },

    { NGX_HTTP_POST, "/api/auth/logout", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_auth_logout },

    { NGX_HTTP_GET, "/api/me", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_auth_me },

    { NGX_HTTP_GET, "/api/users", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_users_list },

    { NGX_HTTP_POST, "/api/users", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_users_create },

    { NGX_HTTP_GET, "/api/users/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_users_get },

    { NGX_HTTP_PUT|NGX_HTTP_PATCH, "/api/users/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_users_update },

    { NGX_HTTP_DELETE, "/api/users/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_users_delete },

    { NGX_HTTP_GET, "/api/routers", NGX_MIKROBILL_READERS,
      ngx_mikrobill_routers_list },

    { NGX_HTTP_POST, "/api/routers", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_routers_create },

    /* before "/api/routers/{id}" */
    { NGX_HTTP_POST, "/api/routers/test", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_routers_test_form },

    { NGX_HTTP_GET, "/api/routers/{id}", NGX_MIKROBILL_READERS,
      ngx_mikrobill_routers_get },

    { NGX_HTTP_PUT|NGX_HTTP_PATCH, "/api/routers/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_routers_update },

    { NGX_HTTP_DELETE, "/api/routers/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_routers_delete },

    { NGX_HTTP_POST, "/api/routers/{id}/test", NGX_MIKROBILL_READERS,
      ngx_mikrobill_routers_test },

    { NGX_HTTP_POST, "/api/sync", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_sync_now },

    { NGX_HTTP_GET, "/api/sync/status", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_sync_status },

    { NGX_HTTP_GET, "/api/customers", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_customers_list },

    { NGX_HTTP_POST, "/api/customers", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_customers_create },

    /* before "/api/customers/{id}" */
    { NGX_HTTP_GET, "/api/customers/map", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_customers_map },

    { NGX_HTTP_GET, "/api/customers/{id}", NGX_MIKROBILL_ROLE_ANY,
      ngx_mikrobill_customers_get },

    { NGX_HTTP_PUT|NGX_HTTP_PATCH, "/api/customers/{id}",
      NGX_MIKROBILL_STAFF, ngx_mikrobill_customers_update },

    { NGX_HTTP_DELETE, "/api/customers/{id}", NGX_MIKROBILL_STAFF,
      ngx_mikrobill_customers_delete },

    { NGX_HTTP_POST, "/api/monitor/start", NGX_MIKROBILL_READERS,
      ngx_mikrobill_monitor_start },
    { NGX_HTTP_POST, "/api/monitor/stop", NGX_MIKROBILL_READERS,
      ngx_mikrobill_monitor_stop },
    { NGX_HTTP_GET, "/api/monitor/status", NGX_MIKROBILL_READERS,
      ngx_mikrobill_monitor_status },

    { 0, NULL, 0, NULL }
};


ngx_int_t
ngx_mikrobill_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     id;
    ngx_uint_t                    allowed;
    ngx_mikrobill_router_ctx_t   *rctx;
    const ngx_mikrobill_route_t  *route;

    route = ngx_mikrobill_route_find(r, &id, &allowed);

    if (route == NULL) {
        return ngx_mikrobill_router_reject(r,
                   allowed ? NGX_HTTP_NOT_ALLOWED : NGX_HTTP_NOT_FOUND,
                   allowed);
    }

    rctx = ngx_pcalloc(r->pool, sizeof(ngx_mikrobill_router_ctx_t));
    if (rctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rctx->route = route;
    rctx->ctx.request = r;
    rctx->ctx.mcf = ngx_http_get_module_main_conf(r, ngx_mikrobill_module);
    rctx->ctx.path_id = id;

    ngx_http_set_ctx(r, &rctx->ctx, ngx_mikrobill_module);

    /* one buffer to parse; a larger body still lands in a temp file */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_mikrobill_router_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The route for the method and path.  When the path exists but not with
 * this method, NULL with *allowed set to the methods it has (405).
 */

static const ngx_mikrobill_route_t *
ngx_mikrobill_route_find(ngx_http_request_t *r, ngx_str_t *id,
    ngx_uint_t *allowed)
{
    ngx_uint_t                    method;
    const ngx_mikrobill_route_t  *route;

    *allowed = 0;

    /* HEAD is answered as GET, without the body */
    method = (r->method == NGX_HTTP_HEAD) ? NGX_HTTP_GET : r->method;

    for (route = ngx_mikrobill_routes; route->pattern; route++) {

        if (!ngx_mikrobill_route_match(route->pattern, &r->uri, id)) {
            continue;
        }

        if ((method & route->methods) && (method & NGX_MIKROBILL_METHODS)) {
            return route;
        }

        *allowed |= route->methods;
    }

    return NULL;
}


/* "/api/users/{id}": literal segments, "{id}" one non-empty segment */

static ngx_flag_t
ngx_mikrobill_route_match(const char *pattern, ngx_str_t *path,
    ngx_str_t *id)
{
    u_char      *p, *end, *start;
    const char  *s;

    p = path->data;
    end = path->data + path->len;

    for (s = pattern; *s; s++) {

        if (ngx_strncmp(s, "{id}", 4) == 0) {
            start = p;

            while (p < end && *p != '/') {
                p++;
            }

            if (p == start) {
                return 0;
            }

            id->data = start;
            id->len = p - start;
            s += 3;
            continue;
        }

        if (p == end || *p != (u_char) *s) {
            return 0;
        }

        p++;
    }

    return p == end;
}


/* 404/405 before the body is read: discard it and answer now */

static ngx_int_t
ngx_mikrobill_router_reject(ngx_http_request_t *r, ngx_uint_t status,
    ngx_uint_t allowed)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (allowed && ngx_mikrobill_router_allow(r, allowed) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* ngx_mikrobill_respond*() finalizes: hold the request across it */
    r->main->count++;

    ngx_mikrobill_respond_error(r, status, NULL, NULL);

    return NGX_DONE;
}


static ngx_int_t
ngx_mikrobill_router_allow(ngx_http_request_t *r, ngx_uint_t allowed)
{
    u_char      *p, *start;
    ngx_uint_t   i;

    static const struct {
        ngx_uint_t    method;
        const char   *name;
    } names[] = {
        { NGX_HTTP_GET, "GET, HEAD" },
        { NGX_HTTP_POST, "POST" },
        { NGX_HTTP_PUT, "PUT" },
        { NGX_HTTP_PATCH, "PATCH" },
        { NGX_HTTP_DELETE, "DELETE" }
    };

    start = ngx_pnalloc(r->pool,
                        sizeof("GET, HEAD, POST, PUT, PATCH, DELETE"));
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(allowed & names[i].method)) {
            continue;
        }

        if (p != start) {
            p = ngx_cpymem(p, ", ", 2);
        }

        p = ngx_cpymem(p, names[i].name, ngx_strlen(names[i].name));
    }

    return ngx_mikrobill_header_out(r, "Allow", start, p - start);
}


/* the body is in: authenticate when the route is protected */

static void
ngx_mikrobill_router_body(ngx_http_request_t *r)
{
    ngx_mikrobill_router_ctx_t  *rctx;

    rctx = ngx_http_get_module_ctx(r, ngx_mikrobill_module);

    if (rctx->route->roles == 0) {
        ngx_mikrobill_router_run(&rctx->ctx);
        return;
    }

    ngx_mikrobill_auth_authenticate(&rctx->ctx,
                                    ngx_mikrobill_router_auth_done);
}


static void
ngx_mikrobill_router_auth_done(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_request_t          *r;
    ngx_mikrobill_router_ctx_t  *rctx;

    r = ctx->request;
    rctx = (ngx_mikrobill_router_ctx_t *) ctx;

    if (ngx_mikrobill_auth_refuse(r, rc) != NGX_OK) {
        return;
    }

    if (!(ctx->user.role & rctx->route->roles)) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_FORBIDDEN, NULL,
                                    "Peran Anda tidak diizinkan melakukan ini");
        return;
    }

    if ((r->method & NGX_MIKROBILL_UNSAFE)
        && ngx_mikrobill_auth_check_csrf(ctx) != NGX_OK)
    {
        ngx_mikrobill_respond_error(r, NGX_HTTP_FORBIDDEN, "csrf_failed",
                                    "Token CSRF tidak ada atau tidak valid");
        return;
    }

    ngx_mikrobill_router_run(ctx);
}


static void
ngx_mikrobill_router_run(ngx_mikrobill_ctx_t *ctx)
{
    const char                  *message;
    ngx_http_request_t          *r;
    ngx_mikrobill_router_ctx_t  *rctx;

    r = ctx->request;
    rctx = (ngx_mikrobill_router_ctx_t *) ctx;

    if (ngx_mikrobill_router_has_body(r)) {
        ctx->body = ngx_mikrobill_json_parse_body(r, &message);

        if (ctx->body == NULL) {
            ngx_mikrobill_respond_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                        message);
            return;
        }
    }

    rctx->route->handler(ctx);
}


static ngx_flag_t
ngx_mikrobill_router_has_body(ngx_http_request_t *r)
{
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return 0;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (ngx_buf_size(cl->buf) > 0) {
            return 1;
        }
    }

    return 0;
}
