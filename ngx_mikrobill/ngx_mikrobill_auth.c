/*
 * Request authentication: a session token from "Authorization: Bearer" or
 * the mb_session cookie is hashed and looked up together with its user in
 * one prepared query.  Also the CSRF check for cookie-authenticated writes,
 * role names and the small token helpers shared by the accounts files.
 */

#include "ngx_mikrobill.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>


typedef struct {
    ngx_mikrobill_ctx_t         *ctx;
    ngx_mikrobill_auth_done_pt   done;
    ngx_int_t                    rc;
    ngx_event_t                  event;   /* to answer without a query */
} ngx_mikrobill_auth_req_t;


static ngx_int_t ngx_mikrobill_auth_token(ngx_http_request_t *r,
    ngx_str_t *token, ngx_uint_t *via_cookie);
static ngx_int_t ngx_mikrobill_auth_cookie(ngx_http_request_t *r,
    ngx_str_t *value);
static void ngx_mikrobill_auth_looked_up(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_auth_fill(ngx_mikrobill_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_mikrobill_auth_copy(ngx_pool_t *pool, ngx_str_t *dst,
    PGresult *res, int col);
static void ngx_mikrobill_auth_defer(ngx_mikrobill_auth_req_t *ar,
    ngx_int_t rc);
static void ngx_mikrobill_auth_deferred(ngx_event_t *ev);
static void ngx_mikrobill_auth_cleanup(void *data);
static void ngx_mikrobill_auth_rechecked(void *data, PGresult *res,
    ngx_int_t rc);


/* a valid session of an active user, with what a request needs of both */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_auth_session_stmt = {
    "mb_auth_session",
    "SELECT u.id, u.username, u.role, s.csrf_hash"
    " FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active",
    1
};


static const struct {
    const char  *name;
    ngx_uint_t   role;
} ngx_mikrobill_roles[] = {
    { "SUPERADMIN", NGX_MIKROBILL_ROLE_SUPERADMIN },
    { "ADMIN", NGX_MIKROBILL_ROLE_ADMIN },
    { "TECHNICIAN", NGX_MIKROBILL_ROLE_TECHNICIAN },
    { "USER", NGX_MIKROBILL_ROLE_USER },
};


void
ngx_mikrobill_auth_authenticate(ngx_mikrobill_ctx_t *ctx,
    ngx_mikrobill_auth_done_pt done)
{
    u_char                     *hash;
    ngx_str_t                   token;
    ngx_uint_t                  via_cookie;
    const char                 *values[1];
    ngx_http_request_t         *r;
    ngx_pool_cleanup_t         *cln;
    ngx_mikrobill_auth_req_t   *ar;

    r = ctx->request;

    ar = ngx_pcalloc(r->pool, sizeof(ngx_mikrobill_auth_req_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    hash = ngx_pnalloc(r->pool, NGX_MIKROBILL_SHA256_HEX_LEN + 1);

    if (ar == NULL || cln == NULL || hash == NULL) {
        /* out of memory: nothing to defer with, answer now (503) */
        done(ctx, NGX_ERROR);
        return;
    }

    ar->ctx = ctx;
    ar->done = done;
    cln->handler = ngx_mikrobill_auth_cleanup;
    cln->data = ar;

    if (ngx_mikrobill_auth_token(r, &token, &via_cookie) != NGX_OK
        || ngx_mikrobill_sha256_hex(token.data, token.len, hash) != NGX_OK)
    {
        ngx_mikrobill_auth_defer(ar, NGX_DECLINED);
        return;
    }

    ctx->user.via_cookie = via_cookie;
    ctx->user.session_id.data = hash;
    ctx->user.session_id.len = NGX_MIKROBILL_SHA256_HEX_LEN;

    values[0] = (const char *) hash;

    if (ngx_mikrobill_pg_exec(ctx->mcf->pg, &ngx_mikrobill_auth_session_stmt,
                              values, ngx_mikrobill_auth_looked_up, ar)
        != NGX_OK)
    {
        ngx_mikrobill_auth_defer(ar, NGX_ERROR);
    }
}


/* Bearer wins; the cookie only counts when there is no Authorization */
static ngx_int_t
ngx_mikrobill_auth_token(ngx_http_request_t *r, ngx_str_t *token,
    ngx_uint_t *via_cookie)
{
    ngx_str_t         v;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;
    *via_cookie = 0;

    if (h != NULL) {
        v = h->value;

        if (v.len < sizeof("Bearer ") - 1
            || ngx_strncasecmp(v.data, (u_char *) "Bearer ",
                               sizeof("Bearer ") - 1) != 0)
        {
            return NGX_DECLINED;
        }

        token->data = v.data + sizeof("Bearer ") - 1;
        token->len = v.len - (sizeof("Bearer ") - 1);

        while (token->len && *token->data == ' ') {
            token->data++;
            token->len--;
        }

        return ngx_mikrobill_token_valid(token);
    }

    if (ngx_mikrobill_auth_cookie(r, token) != NGX_OK) {
        return NGX_DECLINED;
    }

    *via_cookie = 1;

    return ngx_mikrobill_token_valid(token);
}


static ngx_int_t
ngx_mikrobill_auth_cookie(ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_str_t  name = ngx_string(NGX_MIKROBILL_SESSION_COOKIE);

#if (nginx_version >= 1023000)
    if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, &name,
                                          value)
        == NULL)
    {
        return NGX_DECLINED;
    }
#else
    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          value)
        == NGX_DECLINED)
    {
        return NGX_DECLINED;
    }
#endif

    return NGX_OK;
}


static void
ngx_mikrobill_auth_looked_up(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_auth_req_t  *ar = data;

    ngx_mikrobill_ctx_t  *ctx = ar->ctx;

    if (rc != NGX_OK || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (rc == NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                          "mikrobill: session lookup failed: %s",
                          PQresultErrorMessage(res));
        }

        ar->done(ctx, NGX_ERROR);
        return;
    }

    if (PQntuples(res) != 1) {
        ar->done(ctx, NGX_DECLINED);
        return;
    }

    ar->done(ctx, ngx_mikrobill_auth_fill(ctx, res));
}


static ngx_int_t
ngx_mikrobill_auth_fill(ngx_mikrobill_ctx_t *ctx, PGresult *res)
{
    ngx_pool_t  *pool = ctx->request->pool;

    if (ngx_mikrobill_auth_copy(pool, &ctx->user.id, res, 0) != NGX_OK
        || ngx_mikrobill_auth_copy(pool, &ctx->user.username, res, 1)
           != NGX_OK
        || ngx_mikrobill_auth_copy(pool, &ctx->csrf_hash, res, 3) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->user.role = ngx_mikrobill_role_parse(PQgetvalue(res, 0, 2));
    if (ctx->user.role == 0) {
        return NGX_DECLINED;
    }

    ctx->user.authenticated = 1;

    return NGX_OK;
}


/* results live only during the callback: copy, NUL-terminated */
static ngx_int_t
ngx_mikrobill_auth_copy(ngx_pool_t *pool, ngx_str_t *dst, PGresult *res,
    int col)
{
    dst->len = PQgetlength(res, 0, col);
    dst->data = ngx_pnalloc(pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dst->data, (u_char *) PQgetvalue(res, 0, col), dst->len + 1);

    return NGX_OK;
}


/* the contract promises no callback before returning: post an event */
static void
ngx_mikrobill_auth_defer(ngx_mikrobill_auth_req_t *ar, ngx_int_t rc)
{
    ar->rc = rc;
    ar->event.handler = ngx_mikrobill_auth_deferred;
    ar->event.data = ar;
    ar->event.log = ar->ctx->request->connection->log;

    ngx_post_event(&ar->event, &ngx_posted_events);
}


static void
ngx_mikrobill_auth_deferred(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_mikrobill_auth_req_t  *ar;

    ar = ev->data;
    c = ar->ctx->request->connection;

    ar->done(ar->ctx, ar->rc);

    ngx_http_run_posted_requests(c);
}


static void
ngx_mikrobill_auth_cleanup(void *data)
{
    ngx_mikrobill_auth_req_t  *ar = data;

    if (ar->event.posted) {
        ngx_delete_posted_event(&ar->event);
    }
}


/* on the heap: the query may answer after its caller is gone */
struct ngx_mikrobill_auth_check_s {
    ngx_mikrobill_auth_check_pt   done;       /* NULL once abandoned */
    void                         *data;
    char                          hash[NGX_MIKROBILL_SHA256_HEX_LEN + 1];
};


ngx_mikrobill_auth_check_t *
ngx_mikrobill_auth_recheck(ngx_mikrobill_main_conf_t *mcf,
    ngx_str_t *session_id, ngx_mikrobill_auth_check_pt done, void *data)
{
    const char                  *values[1];
    ngx_mikrobill_auth_check_t  *check;

    if (session_id->len != NGX_MIKROBILL_SHA256_HEX_LEN) {
        return NULL;
    }

    check = ngx_alloc(sizeof(ngx_mikrobill_auth_check_t), ngx_cycle->log);
    if (check == NULL) {
        return NULL;
    }

    check->done = done;
    check->data = data;
    ngx_memcpy(check->hash, session_id->data, session_id->len);
    check->hash[session_id->len] = '\0';

    values[0] = check->hash;

    if (ngx_mikrobill_pg_exec(mcf->pg, &ngx_mikrobill_auth_session_stmt,
                              values, ngx_mikrobill_auth_rechecked, check)
        != NGX_OK)
    {
        ngx_free(check);
        return NULL;
    }

    return check;
}


void
ngx_mikrobill_auth_recheck_abandon(ngx_mikrobill_auth_check_t *check)
{
    check->done = NULL;
}


static void
ngx_mikrobill_auth_rechecked(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_auth_check_t  *check = data;

    void                         *hdata;
    ngx_mikrobill_auth_check_pt   done;

    done = check->done;
    hdata = check->data;
    ngx_free(check);

    if (done == NULL) {
        return;
    }

    if (rc != NGX_OK || PQresultStatus(res) != PGRES_TUPLES_OK) {
        done(hdata, NGX_ERROR);
        return;
    }

    done(hdata, PQntuples(res) == 1 ? NGX_OK : NGX_DECLINED);
}


ngx_int_t
ngx_mikrobill_auth_refuse(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                                    "Database sedang tidak tersedia");
    } else {
        ngx_mikrobill_respond_error(r, NGX_HTTP_UNAUTHORIZED, NULL, NULL);
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_mikrobill_auth_check_csrf(ngx_mikrobill_ctx_t *ctx)
{
    u_char              hash[NGX_MIKROBILL_SHA256_HEX_LEN + 1];
    ngx_table_elt_t    *h;

    /* a Bearer token is not sent by browsers on their own: no CSRF risk */
    if (!ctx->user.authenticated || !ctx->user.via_cookie) {
        return NGX_OK;
    }

    h = ngx_mikrobill_header_in(ctx->request, NGX_MIKROBILL_CSRF_HEADER);

    if (h == NULL
        || ngx_mikrobill_token_valid(&h->value) != NGX_OK
        || ctx->csrf_hash.len != NGX_MIKROBILL_SHA256_HEX_LEN
        || ngx_mikrobill_sha256_hex(h->value.data, h->value.len, hash)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (CRYPTO_memcmp(hash, ctx->csrf_hash.data,
                      NGX_MIKROBILL_SHA256_HEX_LEN)
        != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_mikrobill_role_parse(const char *name)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_mikrobill_roles)
                    / sizeof(ngx_mikrobill_roles[0]); i++)
    {
        if (ngx_strcmp(name, ngx_mikrobill_roles[i].name) == 0) {
            return ngx_mikrobill_roles[i].role;
        }
    }

    return 0;
}


const char *
ngx_mikrobill_role_name(ngx_uint_t role)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_mikrobill_roles)
                    / sizeof(ngx_mikrobill_roles[0]); i++)
    {
        if (ngx_mikrobill_roles[i].role == role) {
            return ngx_mikrobill_roles[i].name;
        }
    }

    return NULL;
}


ngx_int_t
ngx_mikrobill_sha256_hex(const u_char *data, size_t len, u_char *out)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        return NGX_ERROR;
    }

    *ngx_hex_dump(out, md, n) = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_mikrobill_token_valid(ngx_str_t *s)
{
    size_t  i;
    u_char  ch;

    if (s->len != NGX_MIKROBILL_TOKEN_LEN) {
        return NGX_DECLINED;
    }

    for (i = 0; i < s->len; i++) {
        ch = s->data[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}
