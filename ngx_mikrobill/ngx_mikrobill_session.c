/*
 * Sessions: login, logout and "who am I".
 *
 * A login runs: throttle check (429 while locked, without looking at the
 * password) -> user lookup -> password verify on the thread pool (against a
 * dummy hash when the user does not exist or is inactive, so that timing
 * does not tell which usernames exist) -> on failure, count it and answer
 * 401 after the slow-down delay; on success, clear the username's counter
 * and create the session.
 *
 * Tokens are 32 random bytes, base64url; only their SHA-256 is stored.
 */

#include "ngx_mikrobill.h"
#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_password.h"
#include "ngx_mikrobill_pg.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>


#define NGX_MIKROBILL_LOGIN_NAME_MAX      256
#define NGX_MIKROBILL_LOGIN_PASSWORD_MAX  1024
#define NGX_MIKROBILL_TOKEN_BYTES         32

#define MB_LOGIN_MSG  "Silakan login terlebih dahulu"


typedef struct {
    ngx_mikrobill_ctx_t   *ctx;
    const char            *username;
    const char            *password;     /* inside the parsed body */
    char                  *user_key;     /* username lowercased */
    json_t                *user;         /* the account, when it may log in */
    char                  *user_id;
    char                  *encoded;      /* its stored hash */
    u_char                 token[NGX_MIKROBILL_TOKEN_LEN + 1];
    u_char                 csrf[NGX_MIKROBILL_TOKEN_LEN + 1];
} ngx_mikrobill_login_t;


static void ngx_mikrobill_login_cleanup(void *data);
static ngx_int_t ngx_mikrobill_login_parse(ngx_mikrobill_ctx_t *ctx,
    ngx_mikrobill_login_t *ls);
static const char *ngx_mikrobill_login_field(json_t *body, const char *name,
    size_t max);
static void ngx_mikrobill_login_checked(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc, time_t retry_after);
static void ngx_mikrobill_login_found(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_login_keep_user(ngx_mikrobill_login_t *ls,
    PGresult *res);
static const char *ngx_mikrobill_login_dummy_hash(ngx_uint_t iterations);
static void ngx_mikrobill_login_verified(void *data, ngx_int_t rc,
    const char *hash);
static void ngx_mikrobill_login_failed(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc, time_t retry_after);
static void ngx_mikrobill_login_cleared(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc, time_t retry_after);
static ngx_int_t ngx_mikrobill_login_tokens(ngx_mikrobill_login_t *ls,
    u_char *token_hash, u_char *csrf_hash);
static ngx_int_t ngx_mikrobill_new_token(u_char *out);
static void ngx_mikrobill_login_created(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_set_cookies(ngx_http_request_t *r,
    const u_char *token, const u_char *csrf, time_t max_age);
static void ngx_mikrobill_logout_authed(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc);
static void ngx_mikrobill_logout_deleted(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_logout_answer(ngx_mikrobill_ctx_t *ctx);
static void ngx_mikrobill_me_found(void *data, PGresult *res, ngx_int_t rc);
static void ngx_mikrobill_session_gc(ngx_mikrobill_ctx_t *ctx);
static void ngx_mikrobill_session_gc_done(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_session_unavailable(ngx_http_request_t *r);
static ngx_int_t ngx_mikrobill_session_result(ngx_mikrobill_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_login_user_stmt = {
    "mb_login_user",
    "SELECT " NGX_MIKROBILL_USER_COLUMNS ", u.password_hash"
    " FROM users u WHERE lower(u.username) = lower($1) AND u.active",
    1
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_session_insert_stmt = {
    "mb_session_insert",
    "INSERT INTO sessions"
    " (token_hash, user_id, csrf_hash, client_addr, expires_at)"
    " VALUES ($1, $2::uuid, $3, $4, now() + $5::int * interval '1 second')"
    " RETURNING " NGX_MIKROBILL_TS("expires_at"),
    5
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_session_delete_stmt = {
    "mb_session_delete",
    "DELETE FROM sessions WHERE token_hash = $1",
    1
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_me_stmt = {
    "mb_me",
    "SELECT " NGX_MIKROBILL_USER_COLUMNS " FROM users u"
    " WHERE u.id = $1::uuid AND u.active",
    1
};


/* bounded, so a login never pays for a large backlog */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_session_gc_stmt = {
    "mb_session_gc",
    "DELETE FROM sessions WHERE ctid = ANY (ARRAY("
    " SELECT ctid FROM sessions WHERE expires_at < now() LIMIT 100))",
    0
};


void
ngx_mikrobill_auth_login(ngx_mikrobill_ctx_t *ctx)
{
    ngx_pool_cleanup_t     *cln;
    ngx_mikrobill_login_t  *ls;

    ls = ngx_pcalloc(ctx->request->pool, sizeof(ngx_mikrobill_login_t));
    cln = ngx_pool_cleanup_add(ctx->request->pool, 0);

    if (ls == NULL || cln == NULL) {
        ngx_mikrobill_api_send(ctx->request, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               NULL);
        return;
    }

    ls->ctx = ctx;
    ctx->data = ls;
    cln->handler = ngx_mikrobill_login_cleanup;
    cln->data = ls;

    if (ngx_mikrobill_login_parse(ctx, ls) != NGX_OK) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_BAD_REQUEST,
                                    "validation_failed",
                                    "Username dan password wajib diisi");
        return;
    }

    ngx_mikrobill_throttle_check(ctx, ls->user_key,
                                 ngx_mikrobill_login_checked);
}


/* whatever way the request ends, the user object and tokens go */
static void
ngx_mikrobill_login_cleanup(void *data)
{
    ngx_mikrobill_login_t  *ls = data;

    json_decref(ls->user);
    ls->user = NULL;

    OPENSSL_cleanse(ls->token, sizeof(ls->token));
    OPENSSL_cleanse(ls->csrf, sizeof(ls->csrf));
}


static ngx_int_t
ngx_mikrobill_login_parse(ngx_mikrobill_ctx_t *ctx, ngx_mikrobill_login_t *ls)
{
    size_t  len;

    if (ctx->body == NULL || !json_is_object(ctx->body)) {
        return NGX_ERROR;
    }

    ls->username = ngx_mikrobill_login_field(ctx->body, "username",
                                             NGX_MIKROBILL_LOGIN_NAME_MAX);
    ls->password = ngx_mikrobill_login_field(ctx->body, "password",
                                             NGX_MIKROBILL_LOGIN_PASSWORD_MAX);

    if (ls->username == NULL || ls->password == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(ls->username);

    ls->user_key = ngx_pnalloc(ctx->request->pool, len + 1);
    if (ls->user_key == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow((u_char *) ls->user_key, (u_char *) ls->username, len + 1);

    return NGX_OK;
}


/* a non-empty string without NUL bytes, at most max bytes */
static const char *
ngx_mikrobill_login_field(json_t *body, const char *name, size_t max)
{
    size_t       len;
    json_t      *v;
    const char  *s;

    v = json_object_get(body, name);
    if (!json_is_string(v)) {
        return NULL;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > max || ngx_strlen(s) != len) {
        return NULL;
    }

    return s;
}


static void
ngx_mikrobill_login_checked(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc,
    time_t retry_after)
{
    u_char                 *p;
    const char             *values[1];
    ngx_mikrobill_login_t  *ls = ctx->data;

    if (rc == NGX_BUSY) {
        p = ngx_pnalloc(ctx->request->pool, NGX_TIME_T_LEN);
        if (p != NULL) {
            (void) ngx_mikrobill_header_out(ctx->request, "Retry-After", p,
                                            ngx_sprintf(p, "%T", retry_after)
                                            - p);
        }

        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_TOO_MANY_REQUESTS,
                                    "too_many_requests",
                                    "Terlalu banyak percobaan login gagal, "
                                    "coba lagi nanti");
        return;
    }

    if (rc != NGX_OK) {
        ngx_mikrobill_session_unavailable(ctx->request);
        return;
    }

    values[0] = ls->username;

    if (ngx_mikrobill_pg_exec(ctx->mcf->pg, &ngx_mikrobill_login_user_stmt,
                              values, ngx_mikrobill_login_found, ls)
        != NGX_OK)
    {
        ngx_mikrobill_session_unavailable(ctx->request);
    }
}


static void
ngx_mikrobill_login_found(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_login_t  *ls = data;

    const char           *encoded;
    ngx_mikrobill_ctx_t  *ctx = ls->ctx;

    if (ngx_mikrobill_session_result(ctx, res, rc) != NGX_OK) {
        return;
    }

    if (PQntuples(res) == 1) {
        if (ngx_mikrobill_login_keep_user(ls, res) != NGX_OK) {
            ngx_mikrobill_api_send(ctx->request,
                                   NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
            return;
        }

        encoded = ls->encoded;

    } else {
        encoded = ngx_mikrobill_login_dummy_hash(
                                            ctx->mcf->password_iterations);
    }

    if (ngx_mikrobill_verify_password(ctx->request, ls->password, encoded,
                                      ngx_mikrobill_login_verified, ls)
        != NGX_OK)
    {
        ngx_mikrobill_api_send(ctx->request, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               NULL);
        return;
    }

    /* the task has its own copy; do not leave one in the parsed body */
    OPENSSL_cleanse((void *) ls->password, ngx_strlen(ls->password));
}


static ngx_int_t
ngx_mikrobill_login_keep_user(ngx_mikrobill_login_t *ls, PGresult *res)
{
    ngx_str_t    s;
    ngx_pool_t  *pool = ls->ctx->request->pool;

    ls->user = ngx_mikrobill_user_json(res, 0, 0);

    s.data = (u_char *) PQgetvalue(res, 0, 0);
    s.len = PQgetlength(res, 0, 0);
    ls->user_id = ngx_mikrobill_pstrdup0(pool, &s);

    s.data = (u_char *) PQgetvalue(res, 0, NGX_MIKROBILL_USER_NCOLUMNS);
    s.len = PQgetlength(res, 0, NGX_MIKROBILL_USER_NCOLUMNS);
    ls->encoded = ngx_mikrobill_pstrdup0(pool, &s);

    if (ls->user == NULL || ls->user_id == NULL || ls->encoded == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Well-formed, with the configured cost, and matching no password anyone
 * can type in practice: the key is all zero bytes.
 */
static const char *
ngx_mikrobill_login_dummy_hash(ngx_uint_t iterations)
{
    static ngx_uint_t  cached;
    static u_char      hash[NGX_MIKROBILL_PASSWORD_HASH_LEN];

    if (cached != iterations) {
        (void) ngx_snprintf(hash, sizeof(hash) - 1,
                            "$pbkdf2-sha256$%ui$%s$%s%Z", iterations,
                            "AAAAAAAAAAAAAAAAAAAAAA",
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        cached = iterations;
    }

    return (const char *) hash;
}


static void
ngx_mikrobill_login_verified(void *data, ngx_int_t rc, const char *hash)
{
    ngx_mikrobill_login_t  *ls = data;

    ngx_mikrobill_ctx_t  *ctx = ls->ctx;

    if (rc == NGX_OK && ls->user != NULL) {
        ngx_mikrobill_throttle_clear(ctx, ls->user_key,
                                     ngx_mikrobill_login_cleared);
        return;
    }

    /* a mismatch, no such user, or an unreadable stored hash */
    ngx_mikrobill_throttle_fail(ctx, ls->user_key,
                                ngx_mikrobill_login_failed);
}


static void
ngx_mikrobill_login_failed(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc,
    time_t retry_after)
{
    if (rc != NGX_OK) {
        ngx_mikrobill_session_unavailable(ctx->request);
        return;
    }

    ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_UNAUTHORIZED,
                                "invalid_credentials",
                                "Username atau password salah");
}


static void
ngx_mikrobill_login_cleared(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc,
    time_t retry_after)
{
    char                   ttl[NGX_TIME_T_LEN + 1];
    u_char                 token_hash[NGX_MIKROBILL_SHA256_HEX_LEN + 1];
    u_char                 csrf_hash[NGX_MIKROBILL_SHA256_HEX_LEN + 1];
    const char            *values[5];
    ngx_mikrobill_login_t  *ls = ctx->data;

    if (rc != NGX_OK || ngx_mikrobill_login_tokens(ls, token_hash, csrf_hash)
                        != NGX_OK)
    {
        ngx_mikrobill_respond_error(ctx->request,
                                    rc != NGX_OK
                                    ? NGX_HTTP_SERVICE_UNAVAILABLE
                                    : NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    rc != NGX_OK ? "service_unavailable"
                                                 : "internal_error",
                                    "Layanan tidak tersedia");
        return;
    }

    (void) ngx_snprintf((u_char *) ttl, sizeof(ttl), "%T%Z",
                        ctx->mcf->session_ttl);

    values[0] = (const char *) token_hash;
    values[1] = ls->user_id;
    values[2] = (const char *) csrf_hash;
    values[3] = ngx_mikrobill_pstrdup0(ctx->request->pool,
                                       &ctx->request->connection->addr_text);
    values[4] = ttl;

    /* pg_exec copies the values before returning */
    if (values[3] == NULL
        || ngx_mikrobill_pg_exec(ctx->mcf->pg,
                                 &ngx_mikrobill_session_insert_stmt, values,
                                 ngx_mikrobill_login_created, ls)
           != NGX_OK)
    {
        ngx_mikrobill_session_unavailable(ctx->request);
        return;
    }

    ngx_mikrobill_session_gc(ctx);
}


static ngx_int_t
ngx_mikrobill_login_tokens(ngx_mikrobill_login_t *ls, u_char *token_hash,
    u_char *csrf_hash)
{
    if (ngx_mikrobill_new_token(ls->token) != NGX_OK
        || ngx_mikrobill_new_token(ls->csrf) != NGX_OK
        || ngx_mikrobill_sha256_hex(ls->token, NGX_MIKROBILL_TOKEN_LEN,
                                    token_hash)
           != NGX_OK
        || ngx_mikrobill_sha256_hex(ls->csrf, NGX_MIKROBILL_TOKEN_LEN,
                                    csrf_hash)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_mikrobill_new_token(u_char *out)
{
    u_char     raw[NGX_MIKROBILL_TOKEN_BYTES];
    ngx_str_t  src, dst;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);
    dst.data = out;

    ngx_encode_base64url(&dst, &src);
    out[dst.len] = '\0';

    OPENSSL_cleanse(raw, sizeof(raw));

    return dst.len == NGX_MIKROBILL_TOKEN_LEN ? NGX_OK : NGX_ERROR;
}


static void
ngx_mikrobill_login_created(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_login_t  *ls = data;

    json_t               *json;
    ngx_mikrobill_ctx_t  *ctx = ls->ctx;

    if (ngx_mikrobill_session_result(ctx, res, rc) != NGX_OK) {
        return;
    }

    /* "O": the login cleanup still owns its reference */
    json = json_pack("{s:s, s:s, s:s, s:O}",
                     "token", (char *) ls->token,
                     "csrf_token", (char *) ls->csrf,
                     "expires_at", PQgetvalue(res, 0, 0),
                     "user", ls->user);

    if (json == NULL
        || ngx_mikrobill_set_cookies(ctx->request, ls->token, ls->csrf,
                                     ctx->mcf->session_ttl)
           != NGX_OK)
    {
        json_decref(json);
        ngx_mikrobill_api_send(ctx->request, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               NULL);
        return;
    }

    ngx_mikrobill_respond(ctx->request, NGX_HTTP_OK, json);
}


static ngx_int_t
ngx_mikrobill_set_cookies(ngx_http_request_t *r, const u_char *token,
    const u_char *csrf, time_t max_age)
{
    size_t       len;
    u_char      *p, *last;
    const char  *secure;

    secure = ngx_mikrobill_main_conf()->cookie_secure ? "; Secure" : "";

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        secure = "; Secure";
    }
#endif

    len = sizeof(NGX_MIKROBILL_SESSION_COOKIE "=; Path=/; Max-Age=; HttpOnly"
                 "; SameSite=Strict; Secure")
          + NGX_MIKROBILL_TOKEN_LEN + NGX_TIME_T_LEN;

    p = ngx_pnalloc(r->pool, 2 * len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* the session cookie is out of reach of scripts */
    last = ngx_sprintf(p, NGX_MIKROBILL_SESSION_COOKIE "=%s; Path=/; "
                       "Max-Age=%T; HttpOnly; SameSite=Strict%s",
                       token, max_age, secure);

    if (ngx_mikrobill_header_out(r, "Set-Cookie", p, last - p) != NGX_OK) {
        return NGX_ERROR;
    }

    /* scripts read the CSRF cookie to echo it in X-CSRF-Token */
    p = last;
    last = ngx_sprintf(p, NGX_MIKROBILL_CSRF_COOKIE "=%s; Path=/; "
                       "Max-Age=%T; SameSite=Strict%s",
                       csrf, max_age, secure);

    return ngx_mikrobill_header_out(r, "Set-Cookie", p, last - p);
}


void
ngx_mikrobill_auth_logout(ngx_mikrobill_ctx_t *ctx)
{
    /* the route table may leave logout open to anonymous callers */
    if (!ctx->user.authenticated) {
        ngx_mikrobill_auth_authenticate(ctx, ngx_mikrobill_logout_authed);
        return;
    }

    ngx_mikrobill_logout_authed(ctx, NGX_OK);
}


static void
ngx_mikrobill_logout_authed(ngx_mikrobill_ctx_t *ctx, ngx_int_t rc)
{
    const char  *values[1];

    if (rc == NGX_DECLINED) {
        ngx_mikrobill_logout_answer(ctx);
        return;
    }

    values[0] = (const char *) ctx->user.session_id.data;

    if (rc != NGX_OK
        || ngx_mikrobill_pg_exec(ctx->mcf->pg,
                                 &ngx_mikrobill_session_delete_stmt, values,
                                 ngx_mikrobill_logout_deleted, ctx)
           != NGX_OK)
    {
        ngx_mikrobill_session_unavailable(ctx->request);
    }
}


static void
ngx_mikrobill_logout_deleted(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_ctx_t  *ctx = data;

    if (ngx_mikrobill_session_result(ctx, res, rc) != NGX_OK) {
        return;
    }

    ngx_mikrobill_logout_answer(ctx);
}


static void
ngx_mikrobill_logout_answer(ngx_mikrobill_ctx_t *ctx)
{
    static u_char  session[] = NGX_MIKROBILL_SESSION_COOKIE "=; Path=/; "
                               "Max-Age=0; HttpOnly; SameSite=Strict";
    static u_char  csrf[] = NGX_MIKROBILL_CSRF_COOKIE "=; Path=/; "
                            "Max-Age=0; SameSite=Strict";

    ngx_http_request_t  *r = ctx->request;

    if (ngx_mikrobill_header_out(r, "Set-Cookie", session,
                                 sizeof(session) - 1)
        != NGX_OK
        || ngx_mikrobill_header_out(r, "Set-Cookie", csrf, sizeof(csrf) - 1)
           != NGX_OK)
    {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           json_pack("{s:s}", "status", "ok"));
}


void
ngx_mikrobill_auth_me(ngx_mikrobill_ctx_t *ctx)
{
    const char  *values[1];

    if (!ctx->user.authenticated) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_UNAUTHORIZED,
                                    "unauthorized", MB_LOGIN_MSG);
        return;
    }

    values[0] = (const char *) ctx->user.id.data;

    if (ngx_mikrobill_pg_exec(ctx->mcf->pg, &ngx_mikrobill_me_stmt, values,
                              ngx_mikrobill_me_found, ctx)
        != NGX_OK)
    {
        ngx_mikrobill_session_unavailable(ctx->request);
    }
}


static void
ngx_mikrobill_me_found(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_ctx_t  *ctx = data;

    json_t  *user;

    if (ngx_mikrobill_session_result(ctx, res, rc) != NGX_OK) {
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_UNAUTHORIZED,
                                    "unauthorized", MB_LOGIN_MSG);
        return;
    }

    user = ngx_mikrobill_user_json(res, 0, 0);

    ngx_mikrobill_api_send(ctx->request, NGX_HTTP_OK,
                           user ? json_pack("{s:o}", "user", user) : NULL);
}


/* fire and forget; its callback must not touch the request */
static void
ngx_mikrobill_session_gc(ngx_mikrobill_ctx_t *ctx)
{
    (void) ngx_mikrobill_pg_exec(ctx->mcf->pg, &ngx_mikrobill_session_gc_stmt,
                                 NULL, ngx_mikrobill_session_gc_done, NULL);
}


static void
ngx_mikrobill_session_gc_done(void *data, PGresult *res, ngx_int_t rc)
{
    if (rc == NGX_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "mikrobill: expired sessions cleanup failed: %s",
                      PQresultErrorMessage(res));
    }
}


/* answers 503 or 500 itself when the query did not work out */
static ngx_int_t
ngx_mikrobill_session_result(ngx_mikrobill_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    ExecStatusType  st;

    if (rc != NGX_OK) {
        ngx_mikrobill_session_unavailable(ctx->request);
        return NGX_ERROR;
    }

    st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "mikrobill: session query failed: %s",
                      PQresultErrorMessage(res));
        ngx_mikrobill_api_send(ctx->request, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* 503: PostgreSQL, or the throttle that uses it, cannot answer now */
static void
ngx_mikrobill_session_unavailable(ngx_http_request_t *r)
{
    ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "service_unavailable",
                                "Layanan tidak tersedia");
}
