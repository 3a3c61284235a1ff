/*
 * Helpers shared by the resource handlers (routers, customers, sync, users):
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
/* answers of the worker commands (503 and 504) */
#define NGX_MIKROBILL_NO_WORKER_MSG                                           \
    "Worker tidak menjawab; pastikan mikrobill-worker berjalan"
#define NGX_MIKROBILL_REDIS_MSG   "Antrean perintah (Redis) tidak tersedia"


/*
 * The first member of each resource's per-request state, so that
 * ngx_mikrobill_api_req() can fill it in whatever follows.
 */
typedef struct {
    ngx_mikrobill_ctx_t  *ctx;
    const char           *id;          /* the path id, when asked for */
} ngx_mikrobill_api_req_t;

/* a row of a result (a PGresult) as json, its columns from col on */
typedef json_t *(*ngx_mikrobill_api_row_pt)(void *res, int row, int col);


/*
 * Zeroed state of size bytes that starts with an ngx_mikrobill_api_req_t,
 * as ctx->data; with id_message the path id must be a UUID.  NULL when
 * answered (500, or 400 naming "id" with id_message).
 */
void *ngx_mikrobill_api_req(ngx_mikrobill_ctx_t *ctx, size_t size,
    const char *id_message);

/* NGX_OK: a string; NGX_DECLINED: absent or null; NGX_ERROR: other type */
ngx_int_t ngx_mikrobill_api_str(json_t *body, const char *name,
    const char **out);

/* NGX_OK: a boolean (*out set); NGX_DECLINED: absent or null; NGX_ERROR */
ngx_int_t ngx_mikrobill_api_bool(json_t *body, const char *name,
    ngx_flag_t *out);

/*
 * The secret s sealed with the key of mikrobill_secret_key_file for
 * purpose, as text for SQL, and wiped from the parsed body.  NULL with
 * *message set, and *status 503 when no key is configured.
 */
const char *ngx_mikrobill_api_seal(ngx_mikrobill_ctx_t *ctx, const char *s,
    const char *purpose, const char **message, ngx_uint_t *status);

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

/* status {"error","message","field"} */
void ngx_mikrobill_api_field_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *field, const char *message);

/* 400 {"error":"validation_failed","message","field"} */
void ngx_mikrobill_api_invalid(ngx_http_request_t *r, const char *field,
    const char *message);

/* 409 {"error":"conflict","message","field"} */
void ngx_mikrobill_api_conflict(ngx_http_request_t *r, const char *field,
    const char *message);

/* 400: the body is not a JSON object */
void ngx_mikrobill_api_no_body(ngx_http_request_t *r);

/*
 * A validator's refusal of field: 503 "not_configured" when it set status
 * so (no secret key), else 400 as ngx_mikrobill_api_invalid().
 */
void ngx_mikrobill_api_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *field, const char *message);

/* 200 {"status":"deleted"} */
void ngx_mikrobill_api_deleted(ngx_http_request_t *r);

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

/* NGX_OK when the query worked; else answered 503, or 500 (logged) */
ngx_int_t ngx_mikrobill_api_rows(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc, const char *what);

/* NGX_OK with exactly one row, else answered 404 with message */
ngx_int_t ngx_mikrobill_api_found(ngx_http_request_t *r, PGresult *res,
    const char *message);

/* the two above: NGX_OK with the one row of a query that worked */
ngx_int_t ngx_mikrobill_api_one(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc, const char *what, const char *not_found);

/*
 * {"data":[...], "total", "limit", "offset"} from a page query: column 0
 * is the total, the rows start at column 1, and an empty page is one row
 * with the total only.  NULL when out of memory or without that row.
 */
json_t *ngx_mikrobill_api_page(PGresult *res, ngx_mikrobill_api_row_pt row,
    ngx_int_t limit, ngx_int_t offset);

/* run a statement; answers 503 and returns NGX_ERROR when it cannot */
ngx_int_t ngx_mikrobill_api_exec(ngx_mikrobill_ctx_t *ctx,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler, void *data);

/* log an unexpected SQL error and answer 500 */
void ngx_mikrobill_api_sql_failed(ngx_http_request_t *r, PGresult *res,
    const char *what);

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
void ngx_mikrobill_monitor_start(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_monitor_stop(ngx_mikrobill_ctx_t *ctx);
void ngx_mikrobill_monitor_status(ngx_mikrobill_ctx_t *ctx);


#endif /* _NGX_MIKROBILL_API_H_INCLUDED_ */
