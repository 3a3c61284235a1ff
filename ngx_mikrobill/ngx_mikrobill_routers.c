/*
 * /api/routers: the MikroTik registry (sql/002_routers.sql) for the
 * settings page; "Test Koneksi" through the worker's router.test; and
 * /api/sync: "Sync Sekarang" (sync.now) and the live sync status.
 *
 * The password is write-only: sealed here with the key of
 * mikrobill_secret_key_file (AES-256-GCM, associated data
 * "router:password"), never read back; an empty or absent password on an
 * update keeps the stored one.
 */


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_command.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"
#include "ngx_mikrobill_secret.h"

#include <openssl/crypto.h>


#define MB_NAME_MSG      "Nama router wajib diisi, maksimal 64 karakter"
#define MB_HOST_MSG      "Host harus nama host atau alamat IP yang valid"
#define MB_PORT_MSG      "Port harus 1-65535"
#define MB_USER_MSG      "Username router wajib diisi, maksimal 128 karakter"
#define MB_PASS_MSG      "Password router wajib diisi (maksimal 256 byte)"
#define MB_BOOL_MSG      "Nilai harus true atau false"
#define MB_CA_MSG        "tls_ca_file harus path file atau null"
#define MB_VERIFY_MSG    "tls_verify membutuhkan tls dan tls_ca_file"
#define MB_ANON_MSG      "tls_allow_anon_dh membutuhkan tls"
#define MB_ID_MSG        "ID router tidak valid"
#define MB_NOT_FOUND_MSG "Router tidak ditemukan"
#define MB_TAKEN_MSG     "Nama router sudah dipakai"

#define MB_PASSWORD_MAX  256


typedef enum {
    mb_routers_create_e = 0,
    mb_routers_put_e,
    mb_routers_patch_e
} mb_routers_mode_e;


typedef struct {
    ngx_mikrobill_api_req_t   req;          /* first, see api.h */
    mb_routers_mode_e         mode;
    const char               *values[13];
    const char               *router_id;   /* sync */
} mb_routers_req_t;


#define MB_ROUTER_COLUMNS                                                     \
    "r.id, r.name, r.host, r.port, r.username, r.tls, r.tls_verify,"          \
    " r.tls_ca_file, r.tls_allow_anon_dh, r.enabled, "                        \
    NGX_MIKROBILL_TS("r.created_at") ", "                                     \
    NGX_MIKROBILL_TS("r.updated_at")


static const ngx_mikrobill_pg_stmt_t  mb_routers_list_stmt = {
    "mb_routers_list",
    "SELECT " MB_ROUTER_COLUMNS " FROM routers r"
    " ORDER BY lower(r.name), r.id",
    0
};


static const ngx_mikrobill_pg_stmt_t  mb_routers_get_stmt = {
    "mb_routers_get",
    "SELECT " MB_ROUTER_COLUMNS " FROM routers r WHERE r.id = $1::uuid",
    1
};


/* a NULL port takes the transport's default (trigger); $1 and $9 unused */
static const ngx_mikrobill_pg_stmt_t  mb_routers_insert_stmt = {
    "mb_routers_insert",
    "INSERT INTO routers AS r (name, host, port, username, password_enc,"
    " tls, tls_verify, tls_ca_file, tls_allow_anon_dh, enabled)"
    " SELECT $2, $3, $4::int, $5, $6, COALESCE($7::boolean, false),"
    " COALESCE($8::boolean, false), $10,"
    " COALESCE($11::boolean, false), COALESCE($12::boolean, true)"
    " WHERE $1::text IS NULL AND $9::boolean IS NOT NULL"
    " RETURNING " MB_ROUTER_COLUMNS,
    12
};


/* NULL keeps the stored value; $9: set tls_ca_file to $10 (maybe NULL) */
static const ngx_mikrobill_pg_stmt_t  mb_routers_update_stmt = {
    "mb_routers_update",
    "UPDATE routers r SET name = COALESCE($2, r.name),"
    " host = COALESCE($3, r.host), port = COALESCE($4::int, r.port),"
    " username = COALESCE($5, r.username),"
    " password_enc = COALESCE($6, r.password_enc),"
    " tls = COALESCE($7::boolean, r.tls),"
    " tls_verify = COALESCE($8::boolean, r.tls_verify),"
    " tls_ca_file = CASE WHEN $9::boolean THEN $10 ELSE r.tls_ca_file END,"
    " tls_allow_anon_dh = COALESCE($11::boolean, r.tls_allow_anon_dh),"
    " enabled = COALESCE($12::boolean, r.enabled)"
    " WHERE r.id = $1::uuid"
    " RETURNING " MB_ROUTER_COLUMNS,
    12
};


static const ngx_mikrobill_pg_stmt_t  mb_routers_delete_stmt = {
    "mb_routers_delete",
    "DELETE FROM routers WHERE id = $1::uuid RETURNING id",
    1
};


static const ngx_mikrobill_pg_stmt_t  mb_routers_exists_stmt = {
    "mb_routers_exists",
    "SELECT 1 FROM routers WHERE id = $1::uuid",
    1
};


static const ngx_mikrobill_pg_stmt_t  mb_sync_status_stmt = {
    "mb_sync_status",
    "SELECT r.id, r.name, r.enabled, COALESCE(s.connected, false),"
    " s.last_error, COALESCE(s.interval_seconds, 120), "
    NGX_MIKROBILL_TS("s.last_sync_at") ", "
    NGX_MIKROBILL_TS("s.last_attempt_at") ","
    " COALESCE(s.active_connections, 0), COALESCE(s.customers_online, 0),"
    /* kept by the triggers of sql/008 */
    " (SELECT coalesce(sum(n), 0) FROM customer_counts),"
    " (SELECT coalesce(sum(n), 0) FROM customer_counts"
    " WHERE conn_status = 'online'), "
    NGX_MIKROBILL_TS("(SELECT max(last_sync_at) FROM router_status)") ","
    /* read by the worker at each login (worker/mb_router_info.c) */
    " s.identity, s.version"
    " FROM (SELECT 1) one LEFT JOIN (routers r"
    " LEFT JOIN router_status s ON s.router_id = r.id) ON true"
    " ORDER BY lower(r.name), r.id",
    0
};


static json_t *mb_router_json(PGresult *res, int row);
static void mb_routers_listed(void *data, PGresult *res, ngx_int_t rc);
static void mb_routers_one(void *data, PGresult *res, ngx_int_t rc);
static void mb_routers_write(ngx_mikrobill_ctx_t *ctx,
    mb_routers_mode_e mode);
static const char *mb_routers_validate(mb_routers_req_t *rr, json_t *body,
    const char **message, ngx_uint_t *status);
static const char *mb_routers_flag(json_t *body, const char *name,
    const char **value);
static void mb_routers_saved(void *data, PGresult *res, ngx_int_t rc);
static void mb_routers_deleted(void *data, PGresult *res, ngx_int_t rc);
static void mb_routers_test_send(mb_routers_req_t *rr,
    const char *router_id);
static void mb_routers_tested(void *data, json_t *reply, ngx_int_t rc);
static void mb_sync_checked(void *data, PGresult *res, ngx_int_t rc);
static void mb_sync_send(mb_routers_req_t *rr);
static void mb_sync_queued(void *data, json_t *reply, ngx_int_t rc);
static void mb_sync_status_done(void *data, PGresult *res, ngx_int_t rc);


static json_t *
mb_router_json(PGresult *res, int row)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:b, s:o, s:b, s:b,"
                     " s:s, s:s, s:b}",
                     "id", PQgetvalue(res, row, 0),
                     "name", PQgetvalue(res, row, 1),
                     "host", PQgetvalue(res, row, 2),
                     "port", ngx_mikrobill_api_json_int(res, row, 3),
                     "username", PQgetvalue(res, row, 4),
                     "tls", PQgetvalue(res, row, 5)[0] == 't',
                     "tls_verify", PQgetvalue(res, row, 6)[0] == 't',
                     "tls_ca_file",
                     ngx_mikrobill_json_from_field(res, row, 7),
                     "tls_allow_anon_dh", PQgetvalue(res, row, 8)[0] == 't',
                     "enabled", PQgetvalue(res, row, 9)[0] == 't',
                     "created_at", PQgetvalue(res, row, 10),
                     "updated_at", PQgetvalue(res, row, 11),
                     "has_password", 1);
}


/* GET /api/routers */

void
ngx_mikrobill_routers_list(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), NULL);
    if (rr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_routers_list_stmt, NULL,
                                  mb_routers_listed, rr);
}


static void
mb_routers_listed(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    int                  i, n;
    json_t              *arr, *one;
    ngx_http_request_t  *r = rr->req.ctx->request;

    if (ngx_mikrobill_api_rows(r, res, rc, "routers") != NGX_OK) {
        return;
    }

    arr = json_array();
    n = PQntuples(res);

    for (i = 0; arr != NULL && i < n; i++) {
        one = mb_router_json(res, i);

        if (one == NULL || json_array_append_new(arr, one) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           arr ? json_pack("{s:o, s:i, s:i, s:i}",
                                           "data", arr, "total", n,
                                           "limit", n, "offset", 0)
                               : NULL);
}


/* GET /api/routers/{id} */

void
ngx_mikrobill_routers_get(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), MB_ID_MSG);
    if (rr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_routers_get_stmt, &rr->req.id,
                                  mb_routers_one, rr);
}


static void
mb_routers_one(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    ngx_http_request_t  *r = rr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "routers", MB_NOT_FOUND_MSG)
        == NGX_OK)
    {
        ngx_mikrobill_api_send(r, NGX_HTTP_OK, mb_router_json(res, 0));
    }
}


/* POST /api/routers, PUT/PATCH /api/routers/{id} */

void
ngx_mikrobill_routers_create(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_write(ctx, mb_routers_create_e);
}


void
ngx_mikrobill_routers_update(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_write(ctx, ctx->request->method == NGX_HTTP_PUT
                          ? mb_routers_put_e : mb_routers_patch_e);
}


static void
mb_routers_write(ngx_mikrobill_ctx_t *ctx, mb_routers_mode_e mode)
{
    const char          *field, *message;
    ngx_uint_t           status;
    mb_routers_req_t    *rr;
    ngx_http_request_t  *r = ctx->request;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t),
                               mode != mb_routers_create_e ? MB_ID_MSG : NULL);
    if (rr == NULL) {
        return;
    }

    rr->mode = mode;

    if (ctx->body == NULL) {
        ngx_mikrobill_api_no_body(r);
        return;
    }

    status = NGX_HTTP_BAD_REQUEST;
    message = NULL;

    field = mb_routers_validate(rr, ctx->body, &message, &status);

    if (field != NULL) {
        ngx_mikrobill_api_refuse(r, status, field, message);
        return;
    }

    rr->values[0] = rr->req.id;

    (void) ngx_mikrobill_api_exec(ctx,
                                  mode == mb_routers_create_e
                                  ? &mb_routers_insert_stmt
                                  : &mb_routers_update_stmt,
                                  rr->values, mb_routers_saved, rr);
}


/*
 * values: $2 name, $3 host, $4 port, $5 username, $6 password_enc, $7 tls,
 * $8 tls_verify, $9 set tls_ca_file, $10 tls_ca_file, $11
 * tls_allow_anon_dh, $12 enabled.  The field at fault, or NULL.
 */
static const char *
mb_routers_validate(mb_routers_req_t *rr, json_t *body, const char **message,
    ngx_uint_t *status)
{
    json_t       *v;
    u_char       *p;
    ngx_int_t     rc;
    ngx_flag_t    required, tls, verify, anon;
    const char   *s, *field;
    ngx_pool_t   *pool = rr->req.ctx->request->pool;
    const char  **values = rr->values;

    required = rr->mode != mb_routers_patch_e;

    rc = ngx_mikrobill_api_str(body, "name", &values[1]);
    if (rc == NGX_ERROR || (rc == NGX_DECLINED && required)
        || (rc == NGX_OK && (values[1][0] == '\0'
                             || ngx_mikrobill_api_chars(values[1]) > 64)))
    {
        *message = MB_NAME_MSG;
        return "name";
    }

    rc = ngx_mikrobill_api_str(body, "host", &values[2]);
    if (rc == NGX_ERROR || (rc == NGX_DECLINED && required)
        || (rc == NGX_OK && ngx_mikrobill_api_host_ok(values[2]) != NGX_OK))
    {
        *message = MB_HOST_MSG;
        return "host";
    }

    v = json_object_get(body, "port");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > 65535)
        {
            *message = MB_PORT_MSG;
            return "port";
        }

        p = ngx_pnalloc(pool, NGX_INT_T_LEN + 1);
        if (p == NULL) {
            *message = NGX_MIKROBILL_INTERNAL_MSG;
            return "port";
        }

        (void) ngx_sprintf(p, "%i%Z", (ngx_int_t) json_integer_value(v));
        values[3] = (const char *) p;
    }

    rc = ngx_mikrobill_api_str(body, "username", &values[4]);
    if (rc == NGX_ERROR || (rc == NGX_DECLINED && required)
        || (rc == NGX_OK && (values[4][0] == '\0'
                             || ngx_mikrobill_api_chars(values[4]) > 128)))
    {
        *message = MB_USER_MSG;
        return "username";
    }

    field = mb_routers_flag(body, "tls", &values[6]);
    if (field == NULL) {
        field = mb_routers_flag(body, "tls_verify", &values[7]);
    }
    if (field == NULL) {
        field = mb_routers_flag(body, "tls_allow_anon_dh", &values[10]);
    }
    if (field == NULL) {
        field = mb_routers_flag(body, "enabled", &values[11]);
    }
    if (field != NULL) {
        *message = MB_BOOL_MSG;
        return field;
    }

    /* PUT replaces: absent flags take their defaults */
    if (rr->mode == mb_routers_put_e) {
        values[6] = values[6] ? values[6] : "f";
        values[7] = values[7] ? values[7] : "f";
        values[10] = values[10] ? values[10] : "f";
        values[11] = values[11] ? values[11] : "t";
    }

    v = json_object_get(body, "tls_ca_file");
    rc = ngx_mikrobill_api_str(body, "tls_ca_file", &values[9]);
    if (rc == NGX_ERROR
        || (rc == NGX_OK && (values[9][0] == '\0'
                             || ngx_strlen(values[9]) > 4096)))
    {
        *message = MB_CA_MSG;
        return "tls_ca_file";
    }

    values[8] = (v != NULL || rr->mode == mb_routers_put_e) ? "t" : "f";

    /* the table's CHECKs, said in words when the body alone shows it */
    tls = values[6] && values[6][0] == 't';
    verify = values[7] && values[7][0] == 't';
    anon = values[10] && values[10][0] == 't';

    if (rr->mode != mb_routers_patch_e) {
        if (verify && (!tls || values[9] == NULL)) {
            *message = MB_VERIFY_MSG;
            return "tls_verify";
        }

        if (anon && !tls) {
            *message = MB_ANON_MSG;
            return "tls_allow_anon_dh";
        }
    }

    rc = ngx_mikrobill_api_str(body, "password", &s);
    if (rc == NGX_ERROR
        || (rc != NGX_OK && rr->mode == mb_routers_create_e)
        || (rc == NGX_OK && rr->mode == mb_routers_create_e && s[0] == '\0')
        || (rc == NGX_OK && ngx_strlen(s) > MB_PASSWORD_MAX))
    {
        *message = MB_PASS_MSG;
        return "password";
    }

    if (rc == NGX_OK && s[0] != '\0') {
        values[5] = ngx_mikrobill_api_seal(rr->req.ctx, s,
                                           NGX_MIKROBILL_SECRET_ROUTER_PASSWORD,
                                           message, status);
        if (values[5] == NULL) {
            return "password";
        }
    }

    return NULL;
}


/* "t", "f" or NULL (absent); the name on a type error */
static const char *
mb_routers_flag(json_t *body, const char *name, const char **value)
{
    ngx_int_t   rc;
    ngx_flag_t  f;

    f = 0;
    rc = ngx_mikrobill_api_bool(body, name, &f);

    if (rc == NGX_ERROR) {
        return name;
    }

    *value = rc == NGX_OK ? (f ? "t" : "f") : NULL;

    return NULL;
}


static void
mb_routers_saved(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    ngx_int_t            st;
    const char          *state;
    ngx_http_request_t  *r = rr->req.ctx->request;

    st = ngx_mikrobill_api_pg_result(r, res, rc);
    if (st == NGX_ERROR) {
        return;
    }

    if (st != NGX_OK) {
        state = ngx_mikrobill_pg_sqlstate(res);

        if (ngx_strcmp(state, "23505") == 0) {
            ngx_mikrobill_api_conflict(r, "name", MB_TAKEN_MSG);
            return;
        }

        if (ngx_strcmp(state, "23514") == 0) {
            ngx_mikrobill_api_invalid(r, "tls",
                                      "Kombinasi TLS tidak valid: "
                                      MB_VERIFY_MSG "; " MB_ANON_MSG);
            return;
        }

        ngx_mikrobill_api_sql_failed(r, res, "routers");
        return;
    }

    if (ngx_mikrobill_api_found(r, res, MB_NOT_FOUND_MSG) != NGX_OK) {
        return;
    }

    ngx_mikrobill_api_send(r, rr->mode == mb_routers_create_e
                              ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                           mb_router_json(res, 0));
}


/* DELETE /api/routers/{id} */

void
ngx_mikrobill_routers_delete(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), MB_ID_MSG);
    if (rr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_routers_delete_stmt, &rr->req.id,
                                  mb_routers_deleted, rr);
}


static void
mb_routers_deleted(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    ngx_http_request_t  *r = rr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "routers", MB_NOT_FOUND_MSG)
        == NGX_OK)
    {
        ngx_mikrobill_api_deleted(r);
    }
}


/*
 * POST /api/routers/{id}/test and POST /api/routers/test: router.test.
 * The form's fields go to the worker as they are (it validates them and
 * answers {ok:false, error:"invalid", ...}); only their types are checked
 * here.  A saved router's form may leave the password empty.
 */

static const char  *mb_test_strings[] = {
    "host", "username", "password", "tls_ca_file", NULL
};

static const char  *mb_test_flags[] = {
    "tls", "tls_verify", "tls_allow_anon_dh", NULL
};


static json_t *
mb_routers_test_payload(ngx_mikrobill_ctx_t *ctx, const char *router_id,
    const char **field)
{
    json_t       *payload, *v, *body;
    const char  **name;

    body = ctx->body;
    payload = json_object();

    if (payload == NULL) {
        return NULL;
    }

    if (router_id != NULL) {
        json_object_set_new(payload, "router_id", json_string(router_id));
    }

    if (body == NULL) {
        return payload;
    }

    for (name = mb_test_strings; *name; name++) {
        v = json_object_get(body, *name);

        if (v == NULL) {
            continue;
        }

        if (!json_is_string(v) && !json_is_null(v)) {
            *field = *name;
            json_decref(payload);
            return NULL;
        }

        json_object_set(payload, *name, v);
    }

    for (name = mb_test_flags; *name; name++) {
        v = json_object_get(body, *name);

        if (v == NULL || json_is_null(v)) {
            continue;
        }

        if (!json_is_boolean(v)) {
            *field = *name;
            json_decref(payload);
            return NULL;
        }

        json_object_set(payload, *name, v);
    }

    v = json_object_get(body, "port");

    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > 65535)
        {
            *field = "port";
            json_decref(payload);
            return NULL;
        }

        json_object_set(payload, "port", v);
    }

    return payload;
}


void
ngx_mikrobill_routers_test(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), MB_ID_MSG);
    if (rr == NULL) {
        return;
    }

    /*
     * The saved settings only: overrides with the stored password go
     * through POST /api/routers/test (ADMIN), since a changed host would
     * hand the stored password to that host.
     */
    ctx->body = NULL;

    mb_routers_test_send(rr, rr->req.id);
}


void
ngx_mikrobill_routers_test_form(ngx_mikrobill_ctx_t *ctx)
{
    json_t            *v;
    const char        *router_id;
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), NULL);
    if (rr == NULL) {
        return;
    }

    router_id = NULL;

    if (ctx->body != NULL) {
        v = json_object_get(ctx->body, "router_id");

        if (v != NULL && !json_is_null(v)) {
            router_id = json_string_value(v);

            if (ngx_mikrobill_api_uuid_ok(router_id) != NGX_OK) {
                ngx_mikrobill_api_invalid(ctx->request, "router_id",
                                          MB_ID_MSG);
                return;
            }
        }
    }

    if (router_id == NULL
        && (ctx->body == NULL
            || !json_is_string(json_object_get(ctx->body, "host"))))
    {
        ngx_mikrobill_api_invalid(ctx->request, "host", MB_HOST_MSG);
        return;
    }

    mb_routers_test_send(rr, router_id);
}


/* the payload from ctx->body, checked, to the worker */
static void
mb_routers_test_send(mb_routers_req_t *rr, const char *router_id)
{
    json_t              *payload, *pw;
    ngx_int_t            rc;
    const char          *field;
    ngx_http_request_t  *r = rr->req.ctx->request;

    field = NULL;
    payload = mb_routers_test_payload(rr->req.ctx, router_id, &field);

    if (payload == NULL) {
        if (field) {
            ngx_mikrobill_api_invalid(r, field, "Tipe nilai tidak valid");
        } else {
            ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        }
        return;
    }

    rc = ngx_mikrobill_command(r, "router.test", payload, 0,
                               mb_routers_tested, rr);

    pw = json_object_get(payload, "password");
    if (json_is_string(pw)) {
        OPENSSL_cleanse((void *) json_string_value(pw),
                        json_string_length(pw));
    }

    json_decref(payload);

    if (rc != NGX_OK) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
    }
}


static json_t *
mb_reply_field(json_t *reply, const char *name)
{
    json_t  *v = json_object_get(reply, name);

    return v ? json_incref(v) : json_null();
}


static void
mb_routers_tested(void *data, json_t *reply, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    ngx_http_request_t  *r = rr->req.ctx->request;

    if (rc == NGX_ERROR) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "service_unavailable",
                                    NGX_MIKROBILL_REDIS_MSG);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                    "worker_timeout",
                                    NGX_MIKROBILL_NO_WORKER_MSG);
        return;
    }

    if (json_is_true(json_object_get(reply, "ok"))) {
        ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                               json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}",
                                         "ok", 1,
                                         "identity",
                                         mb_reply_field(reply, "identity"),
                                         "version",
                                         mb_reply_field(reply, "version"),
                                         "board",
                                         mb_reply_field(reply, "board"),
                                         "uptime",
                                         mb_reply_field(reply, "uptime"),
                                         "rtt_ms",
                                         mb_reply_field(reply, "rtt_ms")));
        return;
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           json_pack("{s:b, s:o, s:o}", "ok", 0,
                                     "error", mb_reply_field(reply, "error"),
                                     "message",
                                     mb_reply_field(reply, "message")));
}


/* POST /api/sync[?router_id=uuid] */

void
ngx_mikrobill_sync_now(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), NULL);
    if (rr == NULL) {
        return;
    }

    rr->router_id = ngx_mikrobill_api_arg(ctx->request, "router_id", 64);

    if (rr->router_id == NULL) {
        mb_sync_send(rr);
        return;
    }

    if (rr->router_id == (const char *) NGX_CONF_ERROR
        || ngx_mikrobill_api_uuid_ok(rr->router_id) != NGX_OK)
    {
        ngx_mikrobill_api_invalid(ctx->request, "router_id", MB_ID_MSG);
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_routers_exists_stmt,
                                  &rr->router_id, mb_sync_checked, rr);
}


static void
mb_sync_checked(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    if (ngx_mikrobill_api_one(rr->req.ctx->request, res, rc, "sync",
                              MB_NOT_FOUND_MSG)
        == NGX_OK)
    {
        mb_sync_send(rr);
    }
}


static void
mb_sync_send(mb_routers_req_t *rr)
{
    json_t              *payload;
    ngx_int_t            rc;
    ngx_http_request_t  *r = rr->req.ctx->request;

    payload = rr->router_id
              ? json_pack("{s:s}", "router_id", rr->router_id)
              : json_object();

    rc = payload ? ngx_mikrobill_command_post(r, "sync.now", payload,
                                              mb_sync_queued, rr)
                 : NGX_ERROR;

    json_decref(payload);

    if (rc != NGX_OK) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
    }
}


static void
mb_sync_queued(void *data, json_t *reply, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    ngx_http_request_t  *r = rr->req.ctx->request;

    (void) reply;

    if (rc != NGX_OK) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "service_unavailable",
                                    NGX_MIKROBILL_REDIS_MSG);
        return;
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_ACCEPTED,
                           json_pack("{s:s, s:o}", "status", "accepted",
                                     "router_id",
                                     rr->router_id
                                     ? json_string(rr->router_id)
                                     : json_null()));
}


/* GET /api/sync/status */

void
ngx_mikrobill_sync_status(ngx_mikrobill_ctx_t *ctx)
{
    mb_routers_req_t  *rr;

    rr = ngx_mikrobill_api_req(ctx, sizeof(mb_routers_req_t), NULL);
    if (rr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_sync_status_stmt, NULL,
                                  mb_sync_status_done, rr);
}


static void
mb_sync_status_done(void *data, PGresult *res, ngx_int_t rc)
{
    mb_routers_req_t  *rr = data;

    int                  i, n;
    json_t              *routers, *one, *totals;
    json_int_t           connected, active;
    ngx_http_request_t  *r = rr->req.ctx->request;

    if (ngx_mikrobill_api_rows(r, res, rc, "sync status") != NGX_OK) {
        return;
    }

    if (PQntuples(res) < 1) {
        ngx_mikrobill_api_sql_failed(r, res, "sync status");
        return;
    }

    routers = json_array();
    n = PQntuples(res);
    connected = 0;
    active = 0;

    for (i = 0; routers != NULL && i < n; i++) {

        /* the one row without routers carries only the totals */
        if (PQgetisnull(res, i, 0)) {
            continue;
        }

        if (PQgetvalue(res, i, 3)[0] == 't') {
            connected++;
        }

        active += strtoll(PQgetvalue(res, i, 8), NULL, 10);

        one = json_pack("{s:s, s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o,"
                        " s:o, s:o}",
                        "router_id", PQgetvalue(res, i, 0),
                        "name", PQgetvalue(res, i, 1),
                        "enabled", PQgetvalue(res, i, 2)[0] == 't',
                        "connected", PQgetvalue(res, i, 3)[0] == 't',
                        "last_error",
                        ngx_mikrobill_json_from_field(res, i, 4),
                        "interval_seconds",
                        ngx_mikrobill_api_json_int(res, i, 5),
                        "last_sync_at",
                        ngx_mikrobill_json_from_field(res, i, 6),
                        "last_attempt_at",
                        ngx_mikrobill_json_from_field(res, i, 7),
                        "active_connections",
                        ngx_mikrobill_api_json_int(res, i, 8),
                        "customers_online",
                        ngx_mikrobill_api_json_int(res, i, 9),
                        "identity",
                        ngx_mikrobill_json_from_field(res, i, 13),
                        "version",
                        ngx_mikrobill_json_from_field(res, i, 14));

        if (one == NULL || json_array_append_new(routers, one) != 0) {
            json_decref(routers);
            routers = NULL;
        }
    }

    totals = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}",
                       "routers", (json_int_t) json_array_size(routers),
                       "connected", connected,
                       "active_connections", active,
                       "customers_online",
                       ngx_mikrobill_api_json_int(res, 0, 11),
                       "customers",
                       ngx_mikrobill_api_json_int(res, 0, 10),
                       "last_sync_at",
                       ngx_mikrobill_json_from_field(res, 0, 12));

    if (routers == NULL || totals == NULL) {
        json_decref(routers);
        json_decref(totals);
        ngx_mikrobill_api_send(r, NGX_HTTP_OK, NULL);
        return;
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           json_pack("{s:o, s:o}", "routers", routers,
                                     "totals", totals));
}
