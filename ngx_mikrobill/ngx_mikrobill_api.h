/*
 * Helpers shared by the resource handlers (routers, customers, sync):
 * body fields, query arguments, validation answers, query results.
 */

#ifndef _NGX_MIKROBILL_API_H_INCLUDED_
#define _NGX_MIKROBILL_API_H_INCLUDED_


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_pg.h"


#define NGX_MIKROBILL_ADMINS                                                  \
    (NGX_MIKROBILL_ROLE_SUPERADMIN | NGX_MIKROBILL_ROLE_ADMIN)

/* timestamps as the API shows them: UTC ISO 8601 with milliseconds */
#define NGX_MIKROBILL_TS(col)                                                 \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define NGX_MIKROBILL_BUSY_MSG      "Layanan tidak tersedia, coba lagi nanti"
#define NGX_MIKROBILL_INTERNAL_MSG  "Kesalahan internal"


/* NGX_OK: a string; NGX_DECLINED: absent or null; NGX_ERROR: other type */
ngx_int_t ngx_mikrobill_api_str(json_t *body, const char *name,
    const char **out);

/* NGX_OK: a boolean (*out set); NGX_DECLINED: absent or null; NGX_ERROR */
ngx_int_t ngx_mikrobill_api_bool(json_t *body, const char *name,
    ngx_flag_t *out);

/* characters, not bytes (valid UTF-8) */
ngx_uint_t ngx_mikrobill_api_chars(const char *s);

ngx_int_t ngx_mikrobill_api_uuid_ok(const char *s);

/* a host name or an IPv4/IPv6 address */
ngx_int_t ngx_mikrobill_api_host_ok(const char *s);

/* a dotted-quad IPv4 address */
ngx_int_t ngx_mikrobill_api_ipv4_ok(const char *s);

/* the path id as a C string when it is a UUID; answers 400 otherwise */
const char *ngx_mikrobill_api_path_uuid(ngx_mikrobill_ctx_t *ctx,
    const char *message);

/* a non-negative integer argument up to max, also as text for SQL */
ngx_int_t ngx_mikrobill_api_num_arg(ngx_http_request_t *r,
    const char *name, ngx_int_t def, ngx_int_t max, ngx_int_t *n,
    const char **out);

/*
 * The decoded argument as a C string: NULL when absent or empty,
 * NGX_CONF_ERROR when unusable (longer than max bytes, not UTF-8, NUL).
 */
const char *ngx_mikrobill_api_arg(ngx_http_request_t *r, const char *name,
    size_t max);

/* an ILIKE/LIKE pattern "%s%" with s's own wildcards escaped by '\' */
const char *ngx_mikrobill_api_pattern(ngx_pool_t *pool, const char *s);

/* 400 {"error":"validation_failed","message","field"} */
void ngx_mikrobill_api_invalid(ngx_http_request_t *r, const char *field,
    const char *message);

/* send json; NULL (out of memory) becomes a 500 */
void ngx_mikrobill_api_send(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json);

/* the same with reals at full precision (coordinates) */
void ngx_mikrobill_api_send_precise(ngx_http_request_t *r,
    ngx_uint_t status, json_t *json);

/*
 * The outcome of a query: NGX_OK (rows or command), NGX_DECLINED (an SQL
 * error, not answered: the caller looks at its SQLSTATE), NGX_ERROR
 * (answered 503).
 */
ngx_int_t ngx_mikrobill_api_pg_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc);

/* run a statement; answers 503 and returns NGX_ERROR when it cannot */
ngx_int_t ngx_mikrobill_api_exec(ngx_mikrobill_ctx_t *ctx,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler, void *data);

/* log an unexpected SQL error and answer 500 */
void ngx_mikrobill_api_sql_failed(ngx_http_request_t *r, PGresult *res,
    const char *what);

/* json number from a float8 field, null for SQL NULL */
json_t *ngx_mikrobill_api_json_real(PGresult *res, int row, int col);

/* json integer from an integer field, null for SQL NULL */
json_t *ngx_mikrobill_api_json_int(PGresult *res, int row, int col);


/* route handlers */
void ngx_mikrobill_routers_list(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_get(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_create(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_update(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_delete(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_test(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_routers_test_form(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_sync_now(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_sync_status(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_list(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_map(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_get(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_create(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_update(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_customers_delete(ngx_mikrobill_ctx_t *ctx);


#endif /* _NGX_MIKROBILL_API_H_INCLUDED_ */
