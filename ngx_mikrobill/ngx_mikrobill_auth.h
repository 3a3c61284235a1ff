/*
 * Accounts: sessions (login, logout, token lookup), CSRF, login throttling,
 * password hashing on the thread pool, and the users API.
 */

#ifndef _NGX_MIKROBILL_AUTH_H_INCLUDED_
#define _NGX_MIKROBILL_AUTH_H_INCLUDED_


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_api.h"      /* NGX_MIKROBILL_TS */


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

/*
 * The answer to an authentication that did not succeed: 503 for NGX_ERROR,
 * 401 for NGX_DECLINED.  Returns NGX_OK (nothing sent) for NGX_OK, else
 * NGX_DECLINED once answered.
 */
ngx_int_t ngx_mikrobill_auth_refuse(ngx_http_request_t *r, ngx_int_t rc);

/*
 * Is the session (token hash, hex) still there, unexpired, of an active
 * user?  For connections that outlive their request (WebSocket).  done is
 * called once, never before returning: NGX_OK yes, NGX_DECLINED no,
 * NGX_ERROR the database cannot say.  A caller that goes away first
 * abandons the check, and done is not called.  NULL when out of memory.
 */
typedef struct ngx_mikrobill_auth_check_s  ngx_mikrobill_auth_check_t;
typedef void (*ngx_mikrobill_auth_check_pt)(void *data, ngx_int_t rc);

ngx_mikrobill_auth_check_t *ngx_mikrobill_auth_recheck(
    ngx_mikrobill_main_conf_t *mcf, ngx_str_t *session_id,
    ngx_mikrobill_auth_check_pt done, void *data);
void ngx_mikrobill_auth_recheck_abandon(ngx_mikrobill_auth_check_t *check);

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


/*
 * Shared by the accounts files only (session, auth, throttle, users).
 */

/* a token: 32 random bytes, base64url without padding */
#define NGX_MIKROBILL_TOKEN_LEN       43
/* SHA-256 as lowercase hex */
#define NGX_MIKROBILL_SHA256_HEX_LEN  64

/*
 * The columns of a user as the API shows it (never password_hash), for a
 * users row aliased "u"; ngx_mikrobill_user_json() reads them from col on.
 */
#define NGX_MIKROBILL_USER_COLUMNS                                            \
    "u.id, u.username, u.full_name, u.role, u.active, u.outlet_id, "          \
    NGX_MIKROBILL_TS("u.created_at") ", " NGX_MIKROBILL_TS("u.updated_at")
#define NGX_MIKROBILL_USER_NCOLUMNS   8

/* res is a PGresult; a new json object, NULL when out of memory */
json_t *ngx_mikrobill_user_json(void *res, int row, int col);

/* out receives 64 hex digits and a NUL */
ngx_int_t ngx_mikrobill_sha256_hex(const u_char *data, size_t len,
    u_char *out);

/* NGX_OK when s looks like a token (length and base64url alphabet) */
ngx_int_t ngx_mikrobill_token_valid(ngx_str_t *s);

/*
 * Failed-login throttling.  Keys: the username lowercased, and the client
 * address.  Each handler is called exactly once, never before returning.
 *
 * check: rc NGX_OK (go on), NGX_BUSY (locked for retry_after seconds),
 * NGX_ERROR (database unavailable).
 * fail: records a failure and calls back after the slow-down delay with
 * NGX_OK or NGX_ERROR.
 * clear: forgets the username's failures; NGX_OK or NGX_ERROR.
 */
typedef void (*ngx_mikrobill_throttle_pt)(ngx_mikrobill_ctx_t *ctx,
    ngx_int_t rc, time_t retry_after);

void ngx_mikrobill_throttle_check(ngx_mikrobill_ctx_t *ctx,
    const char *user_key, ngx_mikrobill_throttle_pt handler);
void ngx_mikrobill_throttle_fail(ngx_mikrobill_ctx_t *ctx,
    const char *user_key, ngx_mikrobill_throttle_pt handler);
void ngx_mikrobill_throttle_clear(ngx_mikrobill_ctx_t *ctx,
    const char *user_key, ngx_mikrobill_throttle_pt handler);


#endif /* _NGX_MIKROBILL_AUTH_H_INCLUDED_ */
