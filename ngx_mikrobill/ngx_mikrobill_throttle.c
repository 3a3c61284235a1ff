/*
 * Failed-login throttling in PostgreSQL, so that every nginx worker and
 * every host behind a balancer sees the same counters.  Two keys per
 * attempt: the username (lowercased) and the client address.  A key is
 * locked once its failures within the window reach the limit; a failed
 * attempt is answered late, by failures * login_delay, on an nginx timer.
 */

#include "ngx_mikrobill.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"


#define NGX_MIKROBILL_THROTTLE_MAX_DELAY  3000


typedef struct {
    ngx_mikrobill_ctx_t        *ctx;
    ngx_mikrobill_throttle_pt   handler;
    ngx_event_t                 timer;
} ngx_mikrobill_throttle_req_t;


static ngx_mikrobill_throttle_req_t *ngx_mikrobill_throttle_req(
    ngx_mikrobill_ctx_t *ctx, ngx_mikrobill_throttle_pt handler);
static ngx_int_t ngx_mikrobill_throttle_exec(
    ngx_mikrobill_throttle_req_t *tr, const ngx_mikrobill_pg_stmt_t *stmt,
    const char *const *values, ngx_mikrobill_pg_handler_pt handler);
static ngx_int_t ngx_mikrobill_throttle_keys(
    ngx_mikrobill_throttle_req_t *tr, const char *user_key,
    const ngx_mikrobill_pg_stmt_t *stmt, const char **values,
    ngx_mikrobill_pg_handler_pt handler);
static ngx_int_t ngx_mikrobill_throttle_result(
    ngx_mikrobill_throttle_req_t *tr, PGresult *res, ngx_int_t rc);
static void ngx_mikrobill_throttle_checked(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_throttle_failed(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_msec_t ngx_mikrobill_throttle_delay(ngx_mikrobill_ctx_t *ctx,
    PGresult *res);
static void ngx_mikrobill_throttle_delayed(ngx_event_t *ev);
static void ngx_mikrobill_throttle_cleared(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_throttle_cleanup(void *data);
static void ngx_mikrobill_throttle_gc_done(void *data, PGresult *res,
    ngx_int_t rc);


/* seconds until the later of the two locks ends; NULL when not locked */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_throttle_check_stmt = {
    "mb_throttle_check",
    "SELECT ceil(extract(epoch FROM max(locked_until) - now()))::bigint"
    " FROM login_failures"
    " WHERE ((scope = 'user' AND key = $1) OR (scope = 'addr' AND key = $2))"
    " AND locked_until > now()",
    2
};


/*
 * One atomic upsert for both keys.  A key starts over when its window has
 * passed or its lock has run out; it is locked when the new count reaches
 * the limit of its scope.  $3 window and $4 lockout in seconds, $5 and $6
 * the limits for user and addr.
 */
#define MB_FRESH                                                              \
    "(f.window_start <= now() - $3::int * interval '1 second'"                \
    " OR f.locked_until <= now())"

#define MB_COUNT                                                              \
    "(CASE WHEN " MB_FRESH " THEN 1 ELSE f.failures + 1 END)"

static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_throttle_fail_stmt = {
    "mb_throttle_fail",
    "INSERT INTO login_failures AS f"
    " (scope, key, failures, window_start, locked_until)"
    " SELECT v.scope, v.key, 1, now(),"
    " CASE WHEN v.lim <= 1 THEN now() + $4::int * interval '1 second' END"
    " FROM (VALUES ('user', $1::text, $5::int), ('addr', $2::text, $6::int))"
    " AS v (scope, key, lim)"
    " ON CONFLICT (scope, key) DO UPDATE SET"
    " failures = " MB_COUNT ","
    " window_start = CASE WHEN " MB_FRESH " THEN now()"
    " ELSE f.window_start END,"
    " locked_until = CASE WHEN " MB_COUNT " >= (CASE f.scope"
    " WHEN 'user' THEN $5::int ELSE $6::int END)"
    " THEN now() + $4::int * interval '1 second'"
    " WHEN " MB_FRESH " THEN NULL ELSE f.locked_until END"
    " RETURNING f.scope, f.failures",
    6
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_throttle_clear_stmt = {
    "mb_throttle_clear",
    "DELETE FROM login_failures WHERE scope = 'user' AND key = $1",
    1
};


/* forget stale keys, a few at a time, so the table stays small */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_throttle_gc_stmt = {
    "mb_throttle_gc",
    "DELETE FROM login_failures WHERE ctid = ANY (ARRAY("
    " SELECT ctid FROM login_failures"
    " WHERE window_start < now() - $1::int * interval '1 second'"
    " AND (locked_until IS NULL OR locked_until < now()) LIMIT 100))",
    1
};


void
ngx_mikrobill_throttle_check(ngx_mikrobill_ctx_t *ctx, const char *user_key,
    ngx_mikrobill_throttle_pt handler)
{
    const char                    *values[2];
    ngx_mikrobill_throttle_req_t  *tr;

    tr = ngx_mikrobill_throttle_req(ctx, handler);

    if (tr == NULL
        || ngx_mikrobill_throttle_keys(tr, user_key,
                                       &ngx_mikrobill_throttle_check_stmt,
                                       values, ngx_mikrobill_throttle_checked)
           != NGX_OK)
    {
        handler(ctx, NGX_ERROR, 0);
    }
}


static void
ngx_mikrobill_throttle_checked(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_throttle_req_t  *tr = data;

    time_t  retry;

    if (ngx_mikrobill_throttle_result(tr, res, rc) != NGX_OK) {
        tr->handler(tr->ctx, NGX_ERROR, 0);
        return;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        tr->handler(tr->ctx, NGX_OK, 0);
        return;
    }

    retry = (time_t) ngx_atotm((u_char *) PQgetvalue(res, 0, 0),
                               PQgetlength(res, 0, 0));

    tr->handler(tr->ctx, NGX_BUSY, retry > 0 ? retry : 1);
}


void
ngx_mikrobill_throttle_fail(ngx_mikrobill_ctx_t *ctx, const char *user_key,
    ngx_mikrobill_throttle_pt handler)
{
    u_char                        *p;
    const char                    *values[6];
    ngx_mikrobill_main_conf_t     *mcf;
    ngx_mikrobill_throttle_req_t  *tr;

    mcf = ctx->mcf;

    tr = ngx_mikrobill_throttle_req(ctx, handler);
    p = ngx_pnalloc(ctx->request->pool, 4 * NGX_INT_T_LEN + 4);

    if (tr == NULL || p == NULL) {
        handler(ctx, NGX_ERROR, 0);
        return;
    }

    /* four numbers printed one after the other, each NUL-terminated */
    values[2] = (char *) p;
    p = ngx_sprintf(p, "%T%Z", mcf->login_window);
    values[3] = (char *) p;
    p = ngx_sprintf(p, "%T%Z", mcf->login_lockout);
    values[4] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", mcf->login_max_failures);
    values[5] = (char *) p;
    (void) ngx_sprintf(p, "%ui%Z", mcf->login_max_failures_addr);

    if (ngx_mikrobill_throttle_keys(tr, user_key,
                                    &ngx_mikrobill_throttle_fail_stmt,
                                    values, ngx_mikrobill_throttle_failed)
        != NGX_OK)
    {
        handler(ctx, NGX_ERROR, 0);
    }
}


static void
ngx_mikrobill_throttle_failed(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_throttle_req_t  *tr = data;

    ngx_msec_t  delay;

    if (ngx_mikrobill_throttle_result(tr, res, rc) != NGX_OK) {
        tr->handler(tr->ctx, NGX_ERROR, 0);
        return;
    }

    delay = ngx_mikrobill_throttle_delay(tr->ctx, res);

    if (delay == 0) {
        tr->handler(tr->ctx, NGX_OK, 0);
        return;
    }

    /* the request stays held; the timer answers it later */
    tr->timer.handler = ngx_mikrobill_throttle_delayed;
    tr->timer.data = tr;
    tr->timer.log = tr->ctx->request->connection->log;

    ngx_add_timer(&tr->timer, delay);
}


static ngx_msec_t
ngx_mikrobill_throttle_delay(ngx_mikrobill_ctx_t *ctx, PGresult *res)
{
    int         i;
    ngx_int_t   failures;
    ngx_msec_t  delay;

    failures = 0;

    for (i = 0; i < PQntuples(res); i++) {
        if (ngx_strcmp(PQgetvalue(res, i, 0), "user") == 0) {
            failures = ngx_atoi((u_char *) PQgetvalue(res, i, 1),
                                PQgetlength(res, i, 1));
        }
    }

    if (failures <= 0 || ctx->mcf->login_delay == 0) {
        return 0;
    }

    /* bounded before multiplying: no overflow with any configured delay */
    if (failures > NGX_MIKROBILL_THROTTLE_MAX_DELAY) {
        return NGX_MIKROBILL_THROTTLE_MAX_DELAY;
    }

    delay = (ngx_msec_t) failures * ctx->mcf->login_delay;

    return ngx_min(delay, NGX_MIKROBILL_THROTTLE_MAX_DELAY);
}


static void
ngx_mikrobill_throttle_delayed(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_mikrobill_throttle_req_t  *tr;

    tr = ev->data;
    c = tr->ctx->request->connection;

    tr->handler(tr->ctx, NGX_OK, 0);

    ngx_http_run_posted_requests(c);
}


void
ngx_mikrobill_throttle_clear(ngx_mikrobill_ctx_t *ctx, const char *user_key,
    ngx_mikrobill_throttle_pt handler)
{
    u_char                        *p;
    const char                    *values[1];
    ngx_mikrobill_throttle_req_t  *tr;

    tr = ngx_mikrobill_throttle_req(ctx, handler);
    if (tr == NULL) {
        handler(ctx, NGX_ERROR, 0);
        return;
    }

    values[0] = user_key;

    if (ngx_mikrobill_throttle_exec(tr, &ngx_mikrobill_throttle_clear_stmt,
                                    values, ngx_mikrobill_throttle_cleared)
        != NGX_OK)
    {
        handler(ctx, NGX_ERROR, 0);
        return;
    }

    /* piggy-back the cleanup on a successful login: cheap and bounded */
    p = ngx_pnalloc(ctx->request->pool, NGX_TIME_T_LEN + 1);
    if (p == NULL) {
        return;
    }

    (void) ngx_sprintf(p, "%T%Z", ctx->mcf->login_window);
    values[0] = (char *) p;

    (void) ngx_mikrobill_pg_exec(ctx->mcf->pg,
                                 &ngx_mikrobill_throttle_gc_stmt, values,
                                 ngx_mikrobill_throttle_gc_done, NULL);
}


static void
ngx_mikrobill_throttle_cleared(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_throttle_req_t  *tr = data;

    tr->handler(tr->ctx, ngx_mikrobill_throttle_result(tr, res, rc), 0);
}


/* fire and forget: the request does not wait for it, so no request here */
static void
ngx_mikrobill_throttle_gc_done(void *data, PGresult *res, ngx_int_t rc)
{
    if (rc == NGX_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "mikrobill: login_failures cleanup failed: %s",
                      PQresultErrorMessage(res));
    }
}


static ngx_mikrobill_throttle_req_t *
ngx_mikrobill_throttle_req(ngx_mikrobill_ctx_t *ctx,
    ngx_mikrobill_throttle_pt handler)
{
    ngx_pool_cleanup_t            *cln;
    ngx_mikrobill_throttle_req_t  *tr;

    tr = ngx_pcalloc(ctx->request->pool,
                     sizeof(ngx_mikrobill_throttle_req_t));
    cln = ngx_pool_cleanup_add(ctx->request->pool, 0);

    if (tr == NULL || cln == NULL) {
        return NULL;
    }

    tr->ctx = ctx;
    tr->handler = handler;

    /* a request freed early must not leave its timer armed */
    cln->handler = ngx_mikrobill_throttle_cleanup;
    cln->data = tr;

    return tr;
}


static ngx_int_t
ngx_mikrobill_throttle_exec(ngx_mikrobill_throttle_req_t *tr,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler)
{
    return ngx_mikrobill_pg_exec(tr->ctx->mcf->pg, stmt, values, handler, tr);
}


/* stmt with $1 the user key and $2 the client address, set here */
static ngx_int_t
ngx_mikrobill_throttle_keys(ngx_mikrobill_throttle_req_t *tr,
    const char *user_key, const ngx_mikrobill_pg_stmt_t *stmt,
    const char **values, ngx_mikrobill_pg_handler_pt handler)
{
    ngx_http_request_t  *r = tr->ctx->request;

    values[0] = user_key;
    values[1] = ngx_mikrobill_pstrdup0(r->pool, &r->connection->addr_text);

    if (values[1] == NULL) {
        return NGX_ERROR;
    }

    return ngx_mikrobill_throttle_exec(tr, stmt, values, handler);
}


static ngx_int_t
ngx_mikrobill_throttle_result(ngx_mikrobill_throttle_req_t *tr,
    PGresult *res, ngx_int_t rc)
{
    ExecStatusType  st;

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, tr->ctx->request->connection->log, 0,
                      "mikrobill: login throttle query failed: %s",
                      PQresultErrorMessage(res));
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mikrobill_throttle_cleanup(void *data)
{
    ngx_mikrobill_throttle_req_t  *tr = data;

    if (tr->timer.timer_set) {
        ngx_del_timer(&tr->timer);
    }
}
