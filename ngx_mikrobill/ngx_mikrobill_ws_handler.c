/*
 * The "mikrobill_websocket" location (/ws, docs/monitor.md): checks the
 * upgrade request, the Origin and the session before answering 101, then
 * serves the client's subscribe and unsubscribe messages.
 *
 * Request lifetime: the handler takes a reference for the authentication
 * (r->main->count++, NGX_DONE); a refusal is answered and finalized by
 * ngx_mikrobill_respond_error(); an upgraded request keeps that reference
 * until ngx_mikrobill_ws.c closes it.
 */


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_ws.h"
#include "ngx_mikrobill_fanout.h"


#define NGX_MIKROBILL_WS_KEY_BYTES  16
#define NGX_MIKROBILL_WS_UUID_LEN   36


/* the request's state: ctx first, as the auth code expects */
typedef struct {
    ngx_mikrobill_ctx_t             ctx;
    ngx_mikrobill_fanout_client_t   client;
    ngx_str_t                       key;
    ngx_event_t                     recheck;   /* session still valid? */
    ngx_msec_t                      recheck_every;
    ngx_mikrobill_auth_check_t     *check;     /* in flight */
} ngx_mikrobill_ws_session_t;


static ngx_int_t ngx_mikrobill_ws_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *message);
static const char *ngx_mikrobill_ws_check_upgrade(ngx_http_request_t *r,
    ngx_mikrobill_ws_session_t *s);
static ngx_flag_t ngx_mikrobill_ws_has_token(ngx_table_elt_t *h,
    const char *token);
static ngx_int_t ngx_mikrobill_ws_origin_ok(ngx_http_request_t *r,
    ngx_mikrobill_loc_conf_t *lcf);
static ngx_int_t ngx_mikrobill_ws_query_token(ngx_http_request_t *r);
static void ngx_mikrobill_ws_auth_done(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_ws_upgrade(ngx_mikrobill_ws_session_t *s);
static void ngx_mikrobill_ws_message(ngx_mikrobill_ws_t *ws, u_char *text,
    size_t len);
static void ngx_mikrobill_ws_request(ngx_mikrobill_ws_session_t *s,
    ngx_flag_t subscribe, const char *channel);
static void ngx_mikrobill_ws_gone(ngx_mikrobill_ws_t *ws);
static void ngx_mikrobill_ws_recheck(ngx_event_t *ev);
static void ngx_mikrobill_ws_rechecked(void *data, ngx_int_t rc);


ngx_int_t
ngx_mikrobill_ws_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    const char                  *message;
    ngx_mikrobill_loc_conf_t    *lcf;
    ngx_mikrobill_main_conf_t   *mcf;
    ngx_mikrobill_ws_session_t  *s;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_mikrobill_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_mikrobill_module);

    s = ngx_pcalloc(r->pool, sizeof(ngx_mikrobill_ws_session_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->ctx.request = r;
    s->ctx.mcf = mcf;

    message = ngx_mikrobill_ws_check_upgrade(r, s);

    if (message) {
        /* RFC 6455 4.4: name the version we speak */
        if (ngx_mikrobill_header_out(r, "Sec-WebSocket-Version",
                                        (u_char *) "13", 2)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_mikrobill_ws_reject(r, NGX_HTTP_BAD_REQUEST, message);
    }

    if (ngx_mikrobill_ws_origin_ok(r, lcf) != NGX_OK) {
        return ngx_mikrobill_ws_reject(r, NGX_HTTP_FORBIDDEN,
                                       "Origin tidak diizinkan");
    }

    if (mcf->fanout == NULL) {
        return ngx_mikrobill_ws_reject(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       NULL);
    }

    if (ngx_mikrobill_ws_query_token(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    ngx_mikrobill_auth_authenticate(&s->ctx, ngx_mikrobill_ws_auth_done);

    return NGX_DONE;
}


static ngx_int_t
ngx_mikrobill_ws_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *message)
{
    /* ngx_mikrobill_respond_error() finalizes: hold the request across */
    r->main->count++;

    ngx_mikrobill_respond_error(r, status, NULL, message);

    return NGX_DONE;
}


/* NULL when r is a WebSocket upgrade we can take; else why not */

static const char *
ngx_mikrobill_ws_check_upgrade(ngx_http_request_t *r,
    ngx_mikrobill_ws_session_t *s)
{
    u_char            buf[NGX_MIKROBILL_WS_KEY_BYTES + 4];
    ngx_str_t         decoded;
    ngx_table_elt_t  *h;

    if (r->method != NGX_HTTP_GET || r->http_version != NGX_HTTP_VERSION_11) {
        return "WebSocket memerlukan GET dengan HTTP/1.1";
    }

    if (!ngx_mikrobill_ws_has_token(ngx_mikrobill_header_in(r, "Upgrade"),
                                    "websocket")
        || !ngx_mikrobill_ws_has_token(
               ngx_mikrobill_header_in(r, "Connection"), "upgrade"))
    {
        return "Bukan permintaan upgrade WebSocket";
    }

    h = ngx_mikrobill_header_in(r, "Sec-WebSocket-Version");

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        return "Sec-WebSocket-Version harus 13";
    }

    /* a base64 nonce of 16 bytes */
    h = ngx_mikrobill_header_in(r, "Sec-WebSocket-Key");

    if (h == NULL || h->value.len != 24) {
        return "Sec-WebSocket-Key tidak valid";
    }

    decoded.data = buf;

    if (ngx_decode_base64(&decoded, &h->value) != NGX_OK
        || decoded.len != NGX_MIKROBILL_WS_KEY_BYTES)
    {
        return "Sec-WebSocket-Key tidak valid";
    }

    s->key = h->value;

    return NULL;
}


/* a comma-separated header value containing token (case-insensitive) */

static ngx_flag_t
ngx_mikrobill_ws_has_token(ngx_table_elt_t *h, const char *token)
{
    u_char  *p, *end, *start;
    size_t   len;

    if (h == NULL) {
        return 0;
    }

    len = ngx_strlen(token);
    p = h->value.data;
    end = p + h->value.len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Browsers send Origin; it must be one of mikrobill_ws_origin when that
 * is set, else this server itself (scheme://Host).  Other clients send
 * none and are judged by their credentials alone.
 */

static ngx_int_t
ngx_mikrobill_ws_origin_ok(ngx_http_request_t *r,
    ngx_mikrobill_loc_conf_t *lcf)
{
    u_char           *p, buf[512];
    ngx_str_t        *allowed, *host, self;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    h = ngx_mikrobill_header_in(r, "Origin");

    if (h == NULL) {
        return NGX_OK;
    }

    if (lcf->ws_origins) {
        allowed = lcf->ws_origins->elts;

        for (i = 0; i < lcf->ws_origins->nelts; i++) {
            if (allowed[i].len == h->value.len
                && ngx_strncasecmp(allowed[i].data, h->value.data,
                                   h->value.len) == 0)
            {
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    if (r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    host = &r->headers_in.host->value;

    if (host->len > sizeof(buf) - sizeof("https://")) {
        return NGX_DECLINED;
    }

#if (NGX_HTTP_SSL)
    p = ngx_sprintf(buf, "%s://%V", r->connection->ssl ? "https" : "http",
                    host);
#else
    p = ngx_sprintf(buf, "http://%V", host);
#endif

    self.data = buf;
    self.len = p - buf;

    if (self.len == h->value.len
        && ngx_strncasecmp(self.data, h->value.data, self.len) == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * Browsers cannot set headers on a WebSocket: "?token=" stands for
 * "Authorization: Bearer" when that header is absent.
 */

static ngx_int_t
ngx_mikrobill_ws_query_token(ngx_http_request_t *r)
{
    u_char           *p;
    ngx_str_t         token;
    ngx_table_elt_t  *h;

    if (r->headers_in.authorization != NULL
        || ngx_http_arg(r, (u_char *) "token", 5, &token) != NGX_OK)
    {
        return NGX_OK;
    }

    h = ngx_pcalloc(r->pool, sizeof(ngx_table_elt_t));
    p = ngx_pnalloc(r->pool, sizeof("Bearer ") - 1 + token.len);

    if (h == NULL || p == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Authorization");
    h->value.data = p;
    h->value.len = ngx_cpymem(ngx_cpymem(p, "Bearer ", sizeof("Bearer ") - 1),
                              token.data, token.len)
                   - p;

    r->headers_in.authorization = h;

    return NGX_OK;
}


static void
ngx_mikrobill_ws_auth_done(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_mikrobill_ws_session_t  *s;

    r = ctx->request;
    s = (ngx_mikrobill_ws_session_t *) ctx;

    if (ngx_mikrobill_auth_refuse(r, rc) != NGX_OK) {
        return;
    }

    if (ngx_mikrobill_ws_upgrade(s) != NGX_OK) {
        c = r->connection;
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        ngx_http_run_posted_requests(c);
    }
}


static ngx_int_t
ngx_mikrobill_ws_upgrade(ngx_mikrobill_ws_session_t *s)
{
    u_char                     *accept;
    ngx_int_t                   rc;
    ngx_http_request_t         *r;
    ngx_mikrobill_ws_t         *ws;
    ngx_mikrobill_ws_conf_t     conf;
    ngx_mikrobill_loc_conf_t   *lcf;

    r = s->ctx.request;
    lcf = ngx_http_get_module_loc_conf(r, ngx_mikrobill_module);

    accept = ngx_pnalloc(r->pool, NGX_MIKROBILL_WS_ACCEPT_LEN);

    if (accept == NULL
        || ngx_mikrobill_ws_accept_key(&s->key, accept) != NGX_OK
        || ngx_mikrobill_header_out(r, "Upgrade",
                                       (u_char *) "websocket", 9)
           != NGX_OK
        || ngx_mikrobill_header_out(r, "Sec-WebSocket-Accept", accept,
                                       NGX_MIKROBILL_WS_ACCEPT_LEN)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the header filter adds "Connection: upgrade" for a 101 */
    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);

    /* frames must not overtake a header still buffered */
    if (rc == NGX_ERROR || r->out || r->connection->buffered) {
        return NGX_ERROR;
    }

    conf.max_message = lcf->ws_max_message;
    conf.send_limit = lcf->ws_send_limit;
    conf.ping_interval = lcf->ws_ping_interval;

    ws = ngx_mikrobill_ws_start(r, &conf, ngx_mikrobill_ws_message,
                                ngx_mikrobill_ws_gone, s);
    if (ws == NULL) {
        return NGX_ERROR;
    }

    s->client.ws = ws;
    ngx_mikrobill_fanout_join(s->ctx.mcf->fanout, &s->client);

    /* a logout or an expiry must not leave a socket that still streams */
    s->recheck.handler = ngx_mikrobill_ws_recheck;
    s->recheck.data = s;
    s->recheck.log = r->connection->log;
    s->recheck.cancelable = 1;
    s->recheck_every = lcf->ws_session_check;
    ngx_add_timer(&s->recheck, s->recheck_every);

    return NGX_OK;
}


/* {"subscribe": "<customer id>|*"} or {"unsubscribe": ...} */

static void
ngx_mikrobill_ws_message(ngx_mikrobill_ws_t *ws, u_char *text, size_t len)
{
    json_t                      *msg, *v;
    ngx_flag_t                   subscribe;
    ngx_mikrobill_ws_session_t  *s;

    s = ws->data;

    msg = json_loadb((const char *) text, len, JSON_REJECT_DUPLICATES, NULL);

    v = NULL;
    subscribe = 0;

    if (json_is_object(msg) && json_object_size(msg) == 1) {
        v = json_object_get(msg, "subscribe");
        subscribe = (v != NULL);

        if (v == NULL) {
            v = json_object_get(msg, "unsubscribe");
        }
    }

    if (!json_is_string(v)) {
        ngx_mikrobill_fanout_error(ws, "bad_request",
                                   "Pesan harus subscribe atau unsubscribe"
                                   " dengan id pelanggan");
    } else {
        ngx_mikrobill_ws_request(s, subscribe, json_string_value(v));
    }

    json_decref(msg);
}


static void
ngx_mikrobill_ws_request(ngx_mikrobill_ws_session_t *s, ngx_flag_t subscribe,
    const char *channel)
{
    u_char                   id[NGX_MIKROBILL_WS_UUID_LEN];
    ngx_str_t                name;
    ngx_mikrobill_fanout_t  *fo;

    fo = s->ctx.mcf->fanout;

    if (fo == NULL) {
        ngx_mikrobill_fanout_error(s->client.ws, "unavailable",
                                   "Layanan sedang berhenti");
        return;
    }

    if (ngx_strcmp(channel, "*") == 0) {
        if (subscribe && !(s->ctx.user.role & NGX_MIKROBILL_ADMINS)) {
            ngx_mikrobill_fanout_error(s->client.ws, "forbidden",
                                       "Hanya ADMIN yang boleh memantau"
                                       " semua pelanggan");
            return;
        }

        ngx_str_set(&name, "*");

    } else if (ngx_mikrobill_api_uuid_ok(channel) == NGX_OK) {
        /* the worker publishes on the lowercase id, as stored */
        ngx_strlow(id, (u_char *) channel, NGX_MIKROBILL_WS_UUID_LEN);
        name.data = id;
        name.len = NGX_MIKROBILL_WS_UUID_LEN;

    } else {
        ngx_mikrobill_fanout_error(s->client.ws, "bad_request",
                                   "id pelanggan harus UUID atau *");
        return;
    }

    if (subscribe) {
        ngx_mikrobill_fanout_subscribe(fo, &s->client, &name);

    } else {
        ngx_mikrobill_fanout_unsubscribe(fo, &s->client, &name);
    }
}


static void
ngx_mikrobill_ws_gone(ngx_mikrobill_ws_t *ws)
{
    ngx_mikrobill_ws_session_t  *s;

    s = ws->data;

    if (s->recheck.timer_set) {
        ngx_del_timer(&s->recheck);
    }

    if (s->check) {
        ngx_mikrobill_auth_recheck_abandon(s->check);
        s->check = NULL;
    }

    if (s->ctx.mcf->fanout) {
        ngx_mikrobill_fanout_leave(s->ctx.mcf->fanout, &s->client);
    }
}


static void
ngx_mikrobill_ws_recheck(ngx_event_t *ev)
{
    ngx_mikrobill_ws_session_t  *s = ev->data;

    s->check = ngx_mikrobill_auth_recheck(s->ctx.mcf,
                                          &s->ctx.user.session_id,
                                          ngx_mikrobill_ws_rechecked, s);
    if (s->check == NULL) {
        ngx_add_timer(&s->recheck, s->recheck_every);
    }
}


/* the database down is not the user's fault: ask again later */
static void
ngx_mikrobill_ws_rechecked(void *data, ngx_int_t rc)
{
    ngx_mikrobill_ws_session_t  *s = data;

    s->check = NULL;

    if (rc != NGX_DECLINED) {
        ngx_add_timer(&s->recheck, s->recheck_every);
        return;
    }

    ngx_mikrobill_fanout_error(s->client.ws, "session_ended",
                               "Sesi berakhir; silakan masuk lagi");
    ngx_mikrobill_ws_close(s->client.ws, NGX_MIKROBILL_WS_POLICY);
}
