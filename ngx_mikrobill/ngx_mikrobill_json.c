/*
 * JSON answers (jansson) and request body parsing.
 */


#include "ngx_mikrobill_json.h"

#include <libpq-fe.h>


typedef struct {
    ngx_uint_t   status;
    const char  *code;
    const char  *message;
} ngx_mikrobill_status_t;


static const ngx_mikrobill_status_t *ngx_mikrobill_status(
    ngx_uint_t status);
static ngx_int_t ngx_mikrobill_body_bytes(ngx_http_request_t *r,
    ngx_str_t *out);
static void ngx_mikrobill_json_cleanup(void *data);
static void ngx_mikrobill_json_free(void *data);


static const ngx_mikrobill_status_t  ngx_mikrobill_statuses[] = {
    { 400, "bad_request", "Permintaan tidak valid" },
    { 401, "unauthorized", "Silakan login terlebih dahulu" },
    { 403, "forbidden", "Akses ditolak" },
    { 404, "not_found", "Tidak ditemukan" },
    { 405, "method_not_allowed", "Metode tidak diizinkan" },
    { 408, "request_timeout", "Waktu permintaan habis" },
    { 409, "conflict", "Terjadi konflik data" },
    { 411, "length_required", "Content-Length diperlukan" },
    { 413, "payload_too_large", "Isi permintaan terlalu besar" },
    { 414, "uri_too_long", "URI permintaan terlalu panjang" },
    { 415, "unsupported_media_type", "Tipe konten tidak didukung" },
    { 422, "unprocessable", "Data tidak dapat diproses" },
    { 429, "too_many_requests", "Terlalu banyak permintaan, coba lagi nanti" },
    { 494, "request_header_too_large", "Header permintaan terlalu besar" },
    { 500, "internal_error", "Terjadi kesalahan pada server" },
    { 501, "not_implemented", "Belum didukung" },
    { 502, "bad_gateway", "Gateway bermasalah" },
    { 503, "service_unavailable", "Layanan sedang tidak tersedia" },
    { 504, "gateway_timeout", "Gateway tidak menjawab" },
    { 0, NULL, NULL }
};


static u_char  ngx_mikrobill_oom_body[] =
    "{\"error\":\"internal_error\",\"message\":\"Out of memory\"}";


void
ngx_mikrobill_respond(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    ngx_str_t  body;

    if (ngx_mikrobill_json_dump(r->pool, json,
                                JSON_COMPACT | JSON_REAL_PRECISION(6), &body)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mikrobill: cannot serialize the answer");
        ngx_mikrobill_respond_raw(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  ngx_mikrobill_oom_body,
                                  sizeof(ngx_mikrobill_oom_body) - 1);
        return;
    }

    ngx_mikrobill_respond_raw(r, status, body.data, body.len);
}


/*
 * jansson's malloc'ed text is the body itself, freed with the pool: an
 * answer (a list can be large) is not copied once more.
 */

ngx_int_t
ngx_mikrobill_json_dump(ngx_pool_t *pool, json_t *json, size_t flags,
    ngx_str_t *out)
{
    char                *s;
    ngx_pool_cleanup_t  *cln;

    s = json ? json_dumps(json, flags) : NULL;

    json_decref(json);

    if (s == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        free(s);
        return NGX_ERROR;
    }

    cln->handler = ngx_mikrobill_json_free;
    cln->data = s;

    out->data = (u_char *) s;
    out->len = ngx_strlen(s);

    return NGX_OK;
}


void
ngx_mikrobill_respond_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    const ngx_mikrobill_status_t  *st;

    if (code == NULL) {
        code = ngx_mikrobill_error_code(status);
    }

    if (message == NULL) {
        st = ngx_mikrobill_status(status);
        message = st ? st->message : "Error";
    }

    ngx_mikrobill_respond(r, status,
                          json_pack("{s:s, s:s}", "error", code,
                                    "message", message));
}


const char *
ngx_mikrobill_error_code(ngx_uint_t status)
{
    const ngx_mikrobill_status_t  *st;

    st = ngx_mikrobill_status(status);

    if (st != NULL) {
        return st->code;
    }

    return status >= 500 ? "internal_error" : "bad_request";
}


static const ngx_mikrobill_status_t *
ngx_mikrobill_status(ngx_uint_t status)
{
    const ngx_mikrobill_status_t  *st;

    for (st = ngx_mikrobill_statuses; st->status; st++) {
        if (st->status == status) {
            return st;
        }
    }

    return NULL;
}


/*
 * Send the answer and finalize the request.  The finalization may come
 * from a PostgreSQL, Redis or thread pool event rather than the request's
 * own, so posted (sub)requests are run here as nginx's upstream does.
 */

void
ngx_mikrobill_respond_raw(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_int_t          rc;
    ngx_buf_t         *b;
    ngx_chain_t        out;
    ngx_connection_t  *c;

    c = r->connection;

    if (r->header_sent) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "mikrobill: answer after the header was sent");
        ngx_http_finalize_request(r, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    ngx_str_set(&r->headers_out.content_type,
                "application/json; charset=utf-8");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_mikrobill_header_out(r, "Cache-Control", (u_char *) "no-store",
                                 sizeof("no-store") - 1)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || len == 0) {
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
        return;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


json_t *
ngx_mikrobill_json_parse_body(ngx_http_request_t *r, const char **message)
{
    json_t              *json;
    ngx_str_t            body;
    json_error_t         err;
    ngx_pool_cleanup_t  *cln;

    *message = NULL;

    if (ngx_mikrobill_body_bytes(r, &body) != NGX_OK) {
        *message = "Isi permintaan tidak dapat dibaca";
        return NULL;
    }

    if (body.len == 0) {
        *message = "A JSON object body is required";
        return NULL;
    }

    json = json_loadb((const char *) body.data, body.len,
                      JSON_REJECT_DUPLICATES, &err);

    if (json == NULL) {
        *message = "Isi permintaan bukan JSON yang valid";
        return NULL;
    }

    if (!json_is_object(json)) {
        json_decref(json);
        *message = "Isi permintaan harus berupa objek JSON";
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        json_decref(json);
        *message = "Out of memory";
        return NULL;
    }

    cln->handler = ngx_mikrobill_json_cleanup;
    cln->data = json;

    return json;
}


/*
 * The body as one run of bytes: in memory, or in a temporary file when it
 * outgrew client_body_buffer_size (a bounded local read, as nginx's own
 * modules do with their temp files).
 */

static ngx_int_t
ngx_mikrobill_body_bytes(ngx_http_request_t *r, ngx_str_t *out)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    out->len = 0;
    out->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        out->data = cl->buf->pos;
        out->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    out->len = p - out->data;

    return NGX_OK;
}


static void
ngx_mikrobill_json_cleanup(void *data)
{
    json_decref(data);
}


static void
ngx_mikrobill_json_free(void *data)
{
    free(data);
}


char *
ngx_mikrobill_pstrdup0(ngx_pool_t *pool, ngx_str_t *s)
{
    char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return p;
}


json_t *
ngx_mikrobill_json_from_field(void *res, int row, int col)
{
    json_t  *v;

    if (PQgetisnull(res, row, col)) {
        return json_null();
    }

    v = json_stringn(PQgetvalue(res, row, col), PQgetlength(res, row, col));

    /* not UTF-8 (cannot happen with a UTF8 database): no value at all */

    return v ? v : json_null();
}
