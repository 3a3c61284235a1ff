/*
 * Helpers shared by the resource handlers (routers, customers, sync, users).
 */


#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_secret.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>


void *
ngx_mikrobill_api_req(ngx_mikrobill_ctx_t *ctx, size_t size,
    const char *id_message)
{
    const char               *id;
    ngx_mikrobill_api_req_t  *req;

    req = ngx_pcalloc(ctx->request->pool, size);
    if (req == NULL) {
        ngx_mikrobill_api_send(ctx->request, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               NULL);
        return NULL;
    }

    req->ctx = ctx;
    ctx->data = req;

    if (id_message != NULL) {
        /* on failure the request is answered and its pool (req) gone */
        id = ngx_mikrobill_api_path_uuid(ctx, id_message);
        if (id == NULL) {
            return NULL;
        }

        req->id = id;
    }

    return req;
}


ngx_int_t
ngx_mikrobill_api_str(json_t *body, const char *name, const char **out)
{
    json_t  *v;

    *out = NULL;
    v = json_object_get(body, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    /* PostgreSQL text cannot hold NUL: refuse "\u0000" here */
    if (!json_is_string(v)
        || ngx_strlen(json_string_value(v)) != json_string_length(v))
    {
        return NGX_ERROR;
    }

    *out = json_string_value(v);

    return NGX_OK;
}


ngx_int_t
ngx_mikrobill_api_bool(json_t *body, const char *name, ngx_flag_t *out)
{
    json_t  *v;

    v = json_object_get(body, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    if (!json_is_boolean(v)) {
        return NGX_ERROR;
    }

    *out = json_is_true(v);

    return NGX_OK;
}


const char *
ngx_mikrobill_api_seal(ngx_mikrobill_ctx_t *ctx, const char *s,
    const char *purpose, const char **message, ngx_uint_t *status)
{
    char                       *sealed;
    size_t                      len, n;
    ngx_mikrobill_main_conf_t  *mcf = ctx->mcf;

    if (!mcf->has_secret_key) {
        *status = NGX_HTTP_SERVICE_UNAVAILABLE;
        *message = "Kunci enkripsi belum dikonfigurasi "
                   "(mikrobill_secret_key_file)";
        return NULL;
    }

    len = ngx_strlen(s);
    n = ngx_mikrobill_secret_sealed_size(len);

    sealed = ngx_pnalloc(ctx->request->pool, n);
    if (sealed == NULL
        || ngx_mikrobill_secret_seal(mcf->secret_key, purpose,
                                     (const u_char *) s, len, sealed, n)
           != 0)
    {
        *message = NGX_MIKROBILL_INTERNAL_MSG;
        return NULL;
    }

    /* do not leave the secret in the parsed body */
    OPENSSL_cleanse((void *) s, len);

    return sealed;
}


ngx_uint_t
ngx_mikrobill_api_chars(const char *s)
{
    ngx_uint_t  n;

    for (n = 0; *s; s++) {
        if (((u_char) *s & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


ngx_int_t
ngx_mikrobill_api_uuid_ok(const char *s)
{
    size_t  i;
    u_char  ch;

    if (s == NULL || ngx_strlen(s) != 36) {
        return NGX_DECLINED;
    }

    for (i = 0; i < 36; i++) {
        ch = (u_char) s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-') {
                return NGX_DECLINED;
            }

            continue;
        }

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')
              || (ch >= 'A' && ch <= 'F')))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_mikrobill_api_ipv4_ok(const char *s)
{
    struct in_addr  a;

    if (s == NULL || inet_pton(AF_INET, s, &a) != 1) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* RFC 1123 labels of letters, digits and '-', 1-63 each, 253 in all */
ngx_int_t
ngx_mikrobill_api_host_ok(const char *s)
{
    size_t           len, label;
    u_char           ch, prev;
    struct in6_addr  a6;

    if (s == NULL) {
        return NGX_DECLINED;
    }

    len = ngx_strlen(s);

    if (len == 0 || len > 253) {
        return NGX_DECLINED;
    }

    if (ngx_mikrobill_api_ipv4_ok(s) == NGX_OK
        || inet_pton(AF_INET6, s, &a6) == 1)
    {
        return NGX_OK;
    }

    label = 0;
    prev = '.';

    for ( /* void */ ; *s; s++) {
        ch = (u_char) *s;

        if (ch == '.') {
            if (label == 0 || prev == '-') {
                return NGX_DECLINED;
            }

            label = 0;
            prev = ch;
            continue;
        }

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '-'))
        {
            return NGX_DECLINED;
        }

        if (ch == '-' && label == 0) {
            return NGX_DECLINED;
        }

        if (++label > 63) {
            return NGX_DECLINED;
        }

        prev = ch;
    }

    /* a trailing dot is allowed; a trailing '-' is not */
    if (prev == '-') {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


const char *
ngx_mikrobill_api_path_uuid(ngx_mikrobill_ctx_t *ctx, const char *message)
{
    char  *id;

    id = ngx_mikrobill_pstrdup0(ctx->request->pool, &ctx->path_id);

    if (id == NULL || ngx_mikrobill_api_uuid_ok(id) != NGX_OK) {
        ngx_mikrobill_api_invalid(ctx->request, "id", message);
        return NULL;
    }

    return id;
}


ngx_int_t
ngx_mikrobill_api_num_arg(ngx_http_request_t *r, const char *name,
    ngx_int_t def, ngx_int_t max, ngx_int_t *n, const char **out)
{
    u_char     *p;
    ngx_str_t   v;

    *n = def;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &v) == NGX_OK) {
        *n = ngx_atoi(v.data, v.len);
    }

    if (*n == NGX_ERROR || *n > max) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(p, "%i%Z", *n);
    *out = (const char *) p;

    return NGX_OK;
}


const char *
ngx_mikrobill_api_arg(ngx_http_request_t *r, const char *name, size_t max)
{
    u_char     *src, *dst, *buf;
    size_t      i, len;
    json_t     *check;
    ngx_str_t   v;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &v) != NGX_OK
        || v.len == 0)
    {
        return NULL;
    }

    buf = ngx_pnalloc(r->pool, v.len + 1);
    if (buf == NULL) {
        return (const char *) NGX_CONF_ERROR;
    }

    for (i = 0; i < v.len; i++) {
        buf[i] = v.data[i] == '+' ? ' ' : v.data[i];
    }

    src = buf;
    dst = buf;
    ngx_unescape_uri(&dst, &src, v.len, 0);
    len = dst - buf;

    /* jansson refuses invalid UTF-8, which PostgreSQL would refuse too */
    check = json_stringn((const char *) buf, len);
    if (check == NULL || len > max
        || ngx_strlchr(buf, buf + len, '\0') != NULL)
    {
        json_decref(check);
        return (const char *) NGX_CONF_ERROR;
    }

    json_decref(check);

    buf[len] = '\0';

    return len ? (const char *) buf : NULL;
}


const char *
ngx_mikrobill_api_pattern(ngx_pool_t *pool, const char *s)
{
    u_char  *q, *p;
    size_t   len;

    len = ngx_strlen(s);

    q = ngx_pnalloc(pool, 2 * len + 3);
    if (q == NULL) {
        return NULL;
    }

    p = q;
    *p++ = '%';

    for ( /* void */ ; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\') {
            *p++ = '\\';
        }

        *p++ = *s;
    }

    *p++ = '%';
    *p = '\0';

    return (const char *) q;
}


void
ngx_mikrobill_api_field_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *field, const char *message)
{
    ngx_mikrobill_api_send(r, status,
                           json_pack("{s:s, s:s, s:s}", "error", error,
                                     "message", message, "field", field));
}


void
ngx_mikrobill_api_invalid(ngx_http_request_t *r, const char *field,
    const char *message)
{
    ngx_mikrobill_api_field_error(r, NGX_HTTP_BAD_REQUEST,
                                  "validation_failed", field, message);
}


void
ngx_mikrobill_api_conflict(ngx_http_request_t *r, const char *field,
    const char *message)
{
    ngx_mikrobill_api_field_error(r, NGX_HTTP_CONFLICT, "conflict", field,
                                  message);
}


void
ngx_mikrobill_api_no_body(ngx_http_request_t *r)
{
    ngx_mikrobill_respond_error(r, NGX_HTTP_BAD_REQUEST, "validation_failed",
                                "Body harus berupa objek JSON");
}


void
ngx_mikrobill_api_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *field, const char *message)
{
    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        ngx_mikrobill_respond_error(r, status, "not_configured", message);
        return;
    }

    ngx_mikrobill_api_invalid(r, field, message);
}


void
ngx_mikrobill_api_deleted(ngx_http_request_t *r)
{
    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           json_pack("{s:s}", "status", "deleted"));
}


void
ngx_mikrobill_api_send(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    if (json == NULL) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal_error",
                                    NGX_MIKROBILL_INTERNAL_MSG);
        return;
    }

    ngx_mikrobill_respond(r, status, json);
}


void
ngx_mikrobill_api_send_precise(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    ngx_str_t  body;

    if (ngx_mikrobill_json_dump(r->pool, json,
                                JSON_COMPACT | JSON_REAL_PRECISION(15), &body)
        != NGX_OK)
    {
        ngx_mikrobill_api_send(r, status, NULL);
        return;
    }

    ngx_mikrobill_respond_raw(r, status, body.data, body.len);
}


ngx_int_t
ngx_mikrobill_api_pg_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ExecStatusType  st;

    if (rc != NGX_OK) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "service_unavailable",
                                    NGX_MIKROBILL_BUSY_MSG);
        return NGX_ERROR;
    }

    st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_mikrobill_api_rows(ngx_http_request_t *r, PGresult *res, ngx_int_t rc,
    const char *what)
{
    rc = ngx_mikrobill_api_pg_result(r, res, rc);

    if (rc == NGX_DECLINED) {
        ngx_mikrobill_api_sql_failed(r, res, what);
        return NGX_ERROR;
    }

    return rc;
}


ngx_int_t
ngx_mikrobill_api_found(ngx_http_request_t *r, PGresult *res,
    const char *message)
{
    if (PQntuples(res) != 1) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                    message);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_mikrobill_api_one(ngx_http_request_t *r, PGresult *res, ngx_int_t rc,
    const char *what, const char *not_found)
{
    if (ngx_mikrobill_api_rows(r, res, rc, what) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_mikrobill_api_found(r, res, not_found);
}


json_t *
ngx_mikrobill_api_page(PGresult *res, ngx_mikrobill_api_row_pt row,
    ngx_int_t limit, ngx_int_t offset)
{
    int      i;
    json_t  *data, *one;

    data = json_array();
    if (data == NULL || PQntuples(res) < 1) {
        json_decref(data);
        return NULL;
    }

    for (i = 0; i < PQntuples(res); i++) {

        /* the one row of an empty page has only the total */
        if (PQgetisnull(res, i, 1)) {
            continue;
        }

        one = row(res, i, 1);
        if (one == NULL || json_array_append_new(data, one) != 0) {
            json_decref(data);
            return NULL;
        }
    }

    return json_pack("{s:o, s:I, s:I, s:I}", "data", data,
                     "total", (json_int_t) atoll(PQgetvalue(res, 0, 0)),
                     "limit", (json_int_t) limit,
                     "offset", (json_int_t) offset);
}


ngx_int_t
ngx_mikrobill_api_exec(ngx_mikrobill_ctx_t *ctx,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler, void *data)
{
    if (ctx->mcf->pg == NULL
        || ngx_mikrobill_pg_exec(ctx->mcf->pg, stmt, values, handler, data)
           != NGX_OK)
    {
        ngx_mikrobill_respond_error(ctx->request,
                                    NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "service_unavailable",
                                    NGX_MIKROBILL_BUSY_MSG);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_mikrobill_api_sql_failed(ngx_http_request_t *r, PGresult *res,
    const char *what)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "mikrobill: %s query failed: %s", what,
                  res ? PQresultErrorMessage(res) : "");

    ngx_mikrobill_respond_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "internal_error", NGX_MIKROBILL_INTERNAL_MSG);
}


json_t *
ngx_mikrobill_api_json_int(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        return json_null();
    }

    return json_integer(strtoll(PQgetvalue(res, row, col), NULL, 10));
}
