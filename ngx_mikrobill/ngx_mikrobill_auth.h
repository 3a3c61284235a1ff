/*
 * Accounts: sessions (login, logout, token lookup), CSRF, login throttling,
 * password hashing on the thread pool, and the users API.
 */

#ifndef _NGX_MIKROBILL_AUTH_H_INCLUDED_
#define _NGX_MIKROBILL_AUTH_H_INCLUDED_


#include "ngx_mikrobill.h"


#define NGX_MIKROBILL_SESSION_COOKIE  "mb_session"
#define NGX_MIKROBILL_CSRF_COOKIE     "mb_csrf"
#define NGX_MIKROBILL_CSRF_HEADER     "X-CSRF-Token"


/*
 * Authenticate ctx->request from "Authorization: Bearer" or the session
 * cookie.  Calls done(ctx, rc) exactly once, never before returning:
 * NGX_OK with ctx->user filled, NGX_DECLINED when there is no valid session
 * (401), NGX_ERROR when the database is unavailable (503).
 */
typedef void (*ngx_mikrobill_auth_done_pt)(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc);

void ngx_mikrobill_auth_authenticate(ngx_mikrobill_ctx_t *ctx,
    ngx_mikrobill_auth_done_pt done);

/* NGX_OK when a cookie-authenticated write carries the session's token */
ngx_int_t ngx_mikrobill_auth_check_csrf(ngx_mikrobill_ctx_t *ctx);

ngx_uint_t ngx_mikrobill_role_parse(const char *name);
const char *ngx_mikrobill_role_name(ngx_uint_t role);

/*
 * Hash or verify a password on the configured thread pool.  done is called
 * in the event loop with rc NGX_OK (hash filled / password matches),
 * NGX_DECLINED (mismatch), or NGX_ERROR.  The password is copied; callers
 * never keep it.
 */
typedef void (*ngx_mikrobill_hash_done_pt)(void *data, ngx_int_t rc,
    const char *hash);

ngx_int_t ngx_mikrobill_hash_password(ngx_http_request_t *r,
    const char *password, ngx_mikrobill_hash_done_pt done, void *data);
ngx_int_t ngx_mikrobill_verify_password(ngx_http_request_t *r,
    const char *password, const char *encoded,
    ngx_mikrobill_hash_done_pt done, void *data);

/* route handlers */
void ngx_mikrobill_auth_login(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_auth_logout(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_auth_me(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_users_list(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_users_create(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_users_get(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_users_update(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_users_delete(ngx_mikrobill_ctx_t *ctx);


#endif /* _NGX_MIKROBILL_AUTH_H_INCLUDED_ */
