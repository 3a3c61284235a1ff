/*
 * /api/customers: customer records (sql/003_customers.sql) with their live
 * connection status, and /api/customers/map for the map page.
 *
 * Writes are validated here before any SQL, so a bad value is a 400 that
 * names its field.  PATCH reads the stored customer, applies the body to
 * it and validates the result like a PUT, so the rules that span fields
 * (static_ip for static_ip customers, both coordinates or neither) hold
 * for partial updates too.  The live columns belong to the sync; a write
 * only resets them when what they describe changed (service type, PPPoE
 * name, router): static_ip customers are "unknown", the others "offline"
 * until the next sync.  The PPPoE password is sealed with the secret key
 * (associated data "customer:pppoe") and never returned.
 */


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"
#include "ngx_mikrobill_secret.h"

#include <stdio.h>


#define MB_LIMIT          50
#define MB_LIMIT_MAX      200
#define MB_Q_MAX          200
#define MB_PASSWORD_MAX   256

#define MB_ID_MSG         "ID pelanggan tidak valid"
#define MB_NOT_FOUND_MSG  "Pelanggan tidak ditemukan"
#define MB_NAME_MSG       "Nama wajib diisi, maksimal 120 karakter"
#define MB_USERNAME_MSG                                                       \
    "Username harus 3-64 karakter: huruf, angka, titik, garis bawah, @ "      \
    "atau tanda hubung"
#define MB_PPPOE_MSG                                                          \
    "Username PPPoE harus 1-64 karakter: huruf, angka, titik, garis bawah, "  \
    "@ atau tanda hubung"
#define MB_PPPOE_PW_MSG   "Password PPPoE maksimal 256 byte"
#define MB_SERVICE_MSG    "Jenis layanan harus pppoe, hotspot atau static_ip"
#define MB_STATUS_MSG     "Status harus active, suspended atau inactive"
#define MB_IP_MSG         "IP statis harus alamat IPv4 yang valid"
#define MB_IP_REQ_MSG     "IP statis wajib diisi untuk layanan static_ip"
#define MB_ROUTER_MSG     "router_id harus UUID router atau null"
#define MB_NO_ROUTER_MSG  "Router tidak ditemukan"
#define MB_PROFILE_MSG    "Profil maksimal 64 karakter"
#define MB_PHONE_MSG                                                          \
    "Nomor telepon harus format internasional (+62...) atau 08..."
#define MB_ADDRESS_MSG    "Alamat maksimal 500 karakter"
#define MB_LAT_MSG        "Latitude harus angka antara -90 dan 90"
#define MB_LNG_MSG        "Longitude harus angka antara -180 dan 180"
#define MB_COORD_MSG      "Latitude dan longitude harus diisi keduanya atau " \
                          "dikosongkan keduanya"


typedef enum {
    mb_cust_create_e = 0,
    mb_cust_put_e,
    mb_cust_patch_e
} mb_cust_mode_e;


typedef struct {
    ngx_mikrobill_api_req_t   req;          /* first, see api.h */
    mb_cust_mode_e            mode;
    const char               *values[14];
    ngx_int_t                 limit;
    ngx_int_t                 offset;
    json_t                   *merged;      /* PATCH: stored + body */
} mb_cust_req_t;


/*
 * A customer as the API shows it, never the PPPoE password: written by
 * PostgreSQL (c the customer, r its router; row_to_json is compact and
 * cheaper than json_build_object), so a page of 200 costs nginx a copy,
 * not 4,600 JSON values to allocate, fill and dump.
 */
#define MB_CUST_JSON                                                          \
    "(SELECT row_to_json(j)::text FROM (SELECT c.id, c.name, c.username,"     \
    " c.service_type, c.pppoe_username, host(c.static_ip) AS static_ip,"      \
    " c.router_id, r.name AS router_name, c.profile, c.phone, c.address,"     \
    " c.latitude, c.longitude, c.status, c.conn_status, "                     \
    NGX_MIKROBILL_TS("c.last_seen_at") " AS last_seen_at,"                    \
    " host(c.session_address) AS session_address,"                            \
    /* live: from the session's start (sql/004, 006, 009) */             \
    " CASE WHEN c.conn_status = 'online' AND c.session_started_at"           \
    " IS NOT NULL THEN mb_uptime(c.session_started_at) ELSE c.uptime END"     \
    " AS uptime, c.caller_id, "                                               \
    NGX_MIKROBILL_TS("c.status_changed_at") " AS status_changed_at, "         \
    NGX_MIKROBILL_TS("c.created_at") " AS created_at, "                       \
    NGX_MIKROBILL_TS("c.updated_at") " AS updated_at,"                        \
    " c.pppoe_password_enc IS NOT NULL AS has_pppoe_password) j)"

#define MB_CUST_SEARCH                                                        \
    "(lower(c.name) || ' ' || lower(c.username) || ' '"                       \
    " || lower(coalesce(c.pppoe_username, '')))"

#define MB_CUST_FILTERS(t)                                                    \
    " ($1::text IS NULL OR " t ".conn_status = $1::text)"                     \
    " AND ($2::text IS NULL OR " t ".service_type = $2::text)"                \
    " AND ($3::uuid IS NULL OR " t ".router_id = $3::uuid)"                   \
    " AND ($4::text IS NULL OR " t ".status = $4::text)"

/*
 * A page and its total, the whole answer written by PostgreSQL.  A
 * search counts its matches (through the trigram index); a list without
 * one adds up the counts the triggers of sql/008 keep, a few rows instead
 * of a scan of every customer.
 */
#define MB_CUST_LIST_SQL(order)                                               \
    "WITH m AS NOT MATERIALIZED (SELECT c.* FROM customers c WHERE"           \
    MB_CUST_FILTERS("c")                                                      \
    " AND ($5::text IS NULL OR " MB_CUST_SEARCH                               \
    " LIKE lower($5::text) ESCAPE '\\'))"                                     \
    " SELECT '{\"data\":[' || coalesce((SELECT string_agg(" MB_CUST_JSON     \
    ", ',' ORDER BY " order ") FROM (SELECT * FROM m c ORDER BY " order       \
    " LIMIT $6::int OFFSET $7::int) c"                                        \
    " LEFT JOIN routers r ON r.id = c.router_id), '')"                        \
    " || '],\"total\":' || CASE WHEN $5::text IS NULL"                        \
    " THEN (SELECT coalesce(sum(k.n), 0)::bigint FROM customer_counts k"      \
    " WHERE" MB_CUST_FILTERS("k") ") ELSE (SELECT count(*) FROM m) END"       \
    " || ',\"limit\":' || $6::int || ',\"offset\":' || $7::int || '}'"

#define MB_CUST_LIST(name, asc, desc)                                         \
    { "mb_customers_list_" name "_asc", MB_CUST_LIST_SQL(asc), 7 },           \
    { "mb_customers_list_" name "_desc", MB_CUST_LIST_SQL(desc), 7 }


/* the sort keys, in the order of the statements below */
static const char  *mb_cust_sorts[] = {
    "name", "username", "conn_status", "last_seen_at", "created_at",
    "status_changed_at", NULL
};

static const ngx_mikrobill_pg_stmt_t  mb_cust_list_stmts[] = {
    MB_CUST_LIST("name", "lower(c.name), c.id",
                 "lower(c.name) DESC, c.id DESC"),
    MB_CUST_LIST("username", "lower(c.username), c.id",
                 "lower(c.username) DESC, c.id DESC"),
    MB_CUST_LIST("conn_status", "c.conn_status, lower(c.name), c.id",
                 "c.conn_status DESC, lower(c.name), c.id"),
    MB_CUST_LIST("last_seen_at", "c.last_seen_at NULLS LAST, c.id",
                 "c.last_seen_at DESC NULLS LAST, c.id"),
    MB_CUST_LIST("created_at", "c.created_at, c.id",
                 "c.created_at DESC, c.id DESC"),
    MB_CUST_LIST("status_changed_at", "c.status_changed_at NULLS LAST, c.id",
                 "c.status_changed_at DESC NULLS LAST, c.id")
};


static const ngx_mikrobill_pg_stmt_t  mb_cust_get_stmt = {
    "mb_customers_get",
    "SELECT " MB_CUST_JSON " FROM customers c"
    " LEFT JOIN routers r ON r.id = c.router_id WHERE c.id = $1::uuid",
    1
};


/*
 * The whole answer, built by PostgreSQL in one pass: compact arrays
 * [id, name, lat, lng, conn_status], coordinates to 6 decimals (~0.1 m).
 */
static const ngx_mikrobill_pg_stmt_t  mb_cust_map_stmt = {
    "mb_customers_map",
    "SELECT '{\"data\":[' || coalesce(string_agg(format('[%s,%s,%s,%s,%s]',"
    " to_json(c.id::text), to_json(c.name),"
    " trim_scale(round(c.latitude::numeric, 6)),"
    " trim_scale(round(c.longitude::numeric, 6)),"
    " to_json(c.conn_status)), ','), '') || ']}'"
    " FROM customers c WHERE c.latitude IS NOT NULL",
    0
};


/*
 * $2 name, $3 username, $4 service_type, $5 pppoe_username, $6
 * pppoe_password_enc (NULL: keep), $7 static_ip, $8 router_id, $9 profile,
 * $10 phone, $11 address, $12 latitude, $13 longitude, $14 status.
 */
static const ngx_mikrobill_pg_stmt_t  mb_cust_insert_stmt = {
    "mb_customers_insert",
    "WITH c AS (INSERT INTO customers (name, username, service_type,"
    " pppoe_username, pppoe_password_enc, static_ip, router_id, profile,"
    " phone, address, latitude, longitude, status, conn_status)"
    " VALUES ($2::text, $3::text, $4::text, $5::text, $6::text, $7::inet,"
    " $8::uuid, $9::text, $10::text, $11::text, $12::float8, $13::float8,"
    " $14::text, CASE WHEN $4::text = 'static_ip' THEN 'unknown'"
    " ELSE 'offline' END) RETURNING *)"
    " SELECT " MB_CUST_JSON " FROM c"
    " LEFT JOIN routers r ON r.id = c.router_id"
    " WHERE $1::text IS NULL",
    14
};


/* the live status after an edit, from the row before it (c) */
#define MB_NEW_CONN                                                           \
    "(CASE WHEN $4::text = 'static_ip' THEN 'unknown'"                        \
    " WHEN $5::text IS NULL THEN 'offline'"                                   \
    " WHEN c.service_type IS DISTINCT FROM $4::text"                          \
    " OR lower(c.pppoe_username) IS DISTINCT FROM lower($5::text)"            \
    " OR c.router_id IS DISTINCT FROM $8::uuid THEN 'offline'"                \
    " ELSE c.conn_status END)"

static const ngx_mikrobill_pg_stmt_t  mb_cust_update_stmt = {
    "mb_customers_update",
    "WITH c AS (UPDATE customers c SET name = $2::text,"
    " username = $3::text, service_type = $4::text,"
    " pppoe_username = $5::text,"
    " pppoe_password_enc = COALESCE($6::text, c.pppoe_password_enc),"
    " static_ip = $7::inet, router_id = $8::uuid, profile = $9::text,"
    " phone = $10::text, address = $11::text, latitude = $12::float8,"
    " longitude = $13::float8, status = $14::text,"
    " conn_status = " MB_NEW_CONN ","
    " status_changed_at = CASE WHEN " MB_NEW_CONN " <> c.conn_status"
    " THEN now() ELSE c.status_changed_at END,"
    " session_address = CASE WHEN " MB_NEW_CONN " = 'online'"
    " THEN c.session_address END,"
    " uptime = CASE WHEN " MB_NEW_CONN " = 'online' THEN c.uptime END,"
    " session_started_at = CASE WHEN " MB_NEW_CONN " = 'online'"
    " THEN c.session_started_at END,"
    " caller_id = CASE WHEN " MB_NEW_CONN " = 'online' THEN c.caller_id END,"
    " updated_at = now()"
    " WHERE c.id = $1::uuid RETURNING c.*)"
    " SELECT " MB_CUST_JSON " FROM c"
    " LEFT JOIN routers r ON r.id = c.router_id",
    14
};


static const ngx_mikrobill_pg_stmt_t  mb_cust_delete_stmt = {
    "mb_customers_delete",
    "DELETE FROM customers WHERE id = $1::uuid RETURNING id",
    1
};


static void mb_cust_send(ngx_http_request_t *r, ngx_uint_t status,
    PGresult *res);
static void mb_cust_listed(void *data, PGresult *res, ngx_int_t rc);
static void mb_cust_mapped(void *data, PGresult *res, ngx_int_t rc);
static void mb_cust_found(void *data, PGresult *res, ngx_int_t rc);
static void mb_cust_patch_base(void *data, PGresult *res, ngx_int_t rc);
static void mb_cust_write(mb_cust_req_t *cr, json_t *body);
static const char *mb_cust_validate(mb_cust_req_t *cr, json_t *body,
    const char **message, ngx_uint_t *status);
static const char *mb_cust_validate_more(mb_cust_req_t *cr, json_t *body,
    const char **message);
static ngx_int_t mb_cust_opt(json_t *body, const char *name,
    const char **out);
static ngx_int_t mb_cust_name_ok(const char *s, size_t min, size_t max);
static const char *mb_cust_phone(ngx_pool_t *pool, const char *s);
static const char *mb_cust_coord(ngx_pool_t *pool, json_t *v, double max);
static void mb_cust_saved(void *data, PGresult *res, ngx_int_t rc);
static void mb_cust_deleted(void *data, PGresult *res, ngx_int_t rc);


/* the index of s in the NULL-terminated allowed, or NGX_ERROR */
static ngx_int_t
mb_cust_one_of(const char *s, const char *const *allowed)
{
    ngx_int_t  i;

    for (i = 0; allowed[i]; i++) {
        if (ngx_strcmp(s, allowed[i]) == 0) {
            return i;
        }
    }

    return NGX_ERROR;
}


/* GET /api/customers */

static const char *
mb_cust_enum_arg(ngx_http_request_t *r, const char *name,
    const char *const *allowed, ngx_int_t *index)
{
    const char  *v;
    ngx_int_t    i;

    v = ngx_mikrobill_api_arg(r, name, 64);

    if (v == NULL || v == (const char *) NGX_CONF_ERROR) {
        return v;
    }

    i = mb_cust_one_of(v, allowed);
    if (i == NGX_ERROR) {
        return (const char *) NGX_CONF_ERROR;
    }

    if (index) {
        *index = i;
    }

    return allowed[i];
}


static const char  *mb_conn_statuses[] = {
    "online", "offline", "unknown", NULL
};

static const char  *mb_service_types[] = {
    "pppoe", "hotspot", "static_ip", NULL
};

static const char  *mb_statuses[] = {
    "active", "suspended", "inactive", NULL
};

static const char  *mb_orders[] = { "asc", "desc", NULL };


void
ngx_mikrobill_customers_list(ngx_mikrobill_ctx_t *ctx)
{
    const char          *q, **values;
    ngx_int_t            sort, order;
    mb_cust_req_t       *cr;
    ngx_http_request_t  *r = ctx->request;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), NULL);
    if (cr == NULL) {
        return;
    }

    values = cr->values;

#define MB_BAD(v)  ((v) == (const char *) NGX_CONF_ERROR)

    values[0] = mb_cust_enum_arg(r, "conn_status", mb_conn_statuses, NULL);
    if (MB_BAD(values[0])) {
        ngx_mikrobill_api_invalid(r, "conn_status", "conn_status harus "
                                  "online, offline atau unknown");
        return;
    }

    values[1] = mb_cust_enum_arg(r, "service_type", mb_service_types, NULL);
    if (MB_BAD(values[1])) {
        ngx_mikrobill_api_invalid(r, "service_type", MB_SERVICE_MSG);
        return;
    }

    values[2] = ngx_mikrobill_api_arg(r, "router_id", 64);
    if (MB_BAD(values[2])
        || (values[2] && ngx_mikrobill_api_uuid_ok(values[2]) != NGX_OK))
    {
        ngx_mikrobill_api_invalid(r, "router_id", MB_ROUTER_MSG);
        return;
    }

    values[3] = mb_cust_enum_arg(r, "status", mb_statuses, NULL);
    if (MB_BAD(values[3])) {
        ngx_mikrobill_api_invalid(r, "status", MB_STATUS_MSG);
        return;
    }

    q = ngx_mikrobill_api_arg(r, "q", MB_Q_MAX);
    if (MB_BAD(q)) {
        ngx_mikrobill_api_invalid(r, "q", "Kata kunci pencarian tidak valid "
                                  "(maksimal 200 byte)");
        return;
    }

    values[4] = q ? ngx_mikrobill_api_pattern(r->pool, q) : NULL;
    if (q && values[4] == NULL) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    if (ngx_mikrobill_api_num_arg(r, "limit", MB_LIMIT, MB_LIMIT_MAX,
                                  &cr->limit, &values[5])
        != NGX_OK
        || cr->limit < 1)
    {
        ngx_mikrobill_api_invalid(r, "limit", "limit harus 1-200");
        return;
    }

    if (ngx_mikrobill_api_num_arg(r, "offset", 0, NGX_MAX_INT32_VALUE,
                                  &cr->offset, &values[6])
        != NGX_OK)
    {
        ngx_mikrobill_api_invalid(r, "offset",
                                  "offset harus bilangan bulat >= 0");
        return;
    }

    sort = 0;
    order = 0;

    if (MB_BAD(mb_cust_enum_arg(r, "sort", mb_cust_sorts, &sort))) {
        ngx_mikrobill_api_invalid(r, "sort", "sort harus salah satu dari "
                                  "name, username, conn_status, "
                                  "last_seen_at, created_at, "
                                  "status_changed_at");
        return;
    }

    if (MB_BAD(mb_cust_enum_arg(r, "order", mb_orders, &order))) {
        ngx_mikrobill_api_invalid(r, "order", "order harus asc atau desc");
        return;
    }

#undef MB_BAD

    (void) ngx_mikrobill_api_exec(ctx, &mb_cust_list_stmts[sort * 2 + order],
                                  values, mb_cust_listed, cr);
}


static void
mb_cust_listed(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    ngx_http_request_t  *r = cr->req.ctx->request;

    if (ngx_mikrobill_api_rows(r, res, rc, "customers") != NGX_OK) {
        return;
    }

    mb_cust_send(r, NGX_HTTP_OK, res);
}


/* GET /api/customers/map */

void
ngx_mikrobill_customers_map(ngx_mikrobill_ctx_t *ctx)
{
    mb_cust_req_t  *cr;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), NULL);
    if (cr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_cust_map_stmt, NULL,
                                  mb_cust_mapped, cr);
}


static void
mb_cust_mapped(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    ngx_http_request_t  *r = cr->req.ctx->request;

    if (ngx_mikrobill_api_rows(r, res, rc, "customers") == NGX_OK) {
        mb_cust_send(r, NGX_HTTP_OK, res);
    }
}


/* an answer PostgreSQL wrote whole: one row, one column */

static void
mb_cust_send(ngx_http_request_t *r, ngx_uint_t status, PGresult *res)
{
    size_t   len;
    u_char  *p;

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ngx_mikrobill_api_sql_failed(r, NULL, "customers");
        return;
    }

    len = PQgetlength(res, 0, 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    ngx_memcpy(p, PQgetvalue(res, 0, 0), len);

    ngx_mikrobill_respond_raw(r, status, p, len);
}


/* GET /api/customers/{id} */

void
ngx_mikrobill_customers_get(ngx_mikrobill_ctx_t *ctx)
{
    mb_cust_req_t  *cr;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), MB_ID_MSG);
    if (cr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_cust_get_stmt, &cr->req.id,
                                  mb_cust_found, cr);
}


static void
mb_cust_found(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    ngx_http_request_t  *r = cr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "customers", MB_NOT_FOUND_MSG)
        == NGX_OK)
    {
        mb_cust_send(r, NGX_HTTP_OK, res);
    }
}


/* POST /api/customers, PUT/PATCH /api/customers/{id} */

void
ngx_mikrobill_customers_create(ngx_mikrobill_ctx_t *ctx)
{
    mb_cust_req_t  *cr;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), NULL);
    if (cr == NULL) {
        return;
    }

    cr->mode = mb_cust_create_e;
    mb_cust_write(cr, ctx->body);
}


void
ngx_mikrobill_customers_update(ngx_mikrobill_ctx_t *ctx)
{
    mb_cust_req_t  *cr;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), MB_ID_MSG);
    if (cr == NULL) {
        return;
    }

    if (ctx->request->method == NGX_HTTP_PUT) {
        cr->mode = mb_cust_put_e;
        mb_cust_write(cr, ctx->body);
        return;
    }

    cr->mode = mb_cust_patch_e;

    if (ctx->body == NULL) {
        ngx_mikrobill_api_no_body(ctx->request);
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_cust_get_stmt, &cr->req.id,
                                  mb_cust_patch_base, cr);
}


static void
mb_cust_merged_cleanup(void *data)
{
    json_decref((json_t *) data);
}


static void
mb_cust_patch_base(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    json_t              *stored;
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r = cr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "customers", MB_NOT_FOUND_MSG)
        != NGX_OK)
    {
        return;
    }

    stored = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (stored == NULL || cln == NULL
        || json_object_update(stored, cr->req.ctx->body) != 0)
    {
        json_decref(stored);
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    cln->handler = mb_cust_merged_cleanup;
    cln->data = stored;
    cr->merged = stored;

    mb_cust_write(cr, stored);
}


static void
mb_cust_write(mb_cust_req_t *cr, json_t *body)
{
    const char          *field, *message;
    ngx_uint_t           status;
    ngx_http_request_t  *r = cr->req.ctx->request;

    if (body == NULL || !json_is_object(body)) {
        ngx_mikrobill_api_no_body(r);
        return;
    }

    status = NGX_HTTP_BAD_REQUEST;
    message = NULL;

    field = mb_cust_validate(cr, body, &message, &status);

    if (field != NULL) {
        ngx_mikrobill_api_refuse(r, status, field, message);
        return;
    }

    cr->values[0] = cr->req.id;

    (void) ngx_mikrobill_api_exec(cr->req.ctx,
                                  cr->mode == mb_cust_create_e
                                  ? &mb_cust_insert_stmt
                                  : &mb_cust_update_stmt,
                                  cr->values, mb_cust_saved, cr);
}


/* the field at fault, or NULL with cr->values[1..13] set */
static const char *
mb_cust_validate(mb_cust_req_t *cr, json_t *body, const char **message,
    ngx_uint_t *status)
{
    ngx_int_t     rc;
    const char   *s, **values = cr->values;

    rc = ngx_mikrobill_api_str(body, "name", &values[1]);
    if (rc != NGX_OK || values[1][0] == '\0'
        || ngx_mikrobill_api_chars(values[1]) > 120)
    {
        *message = MB_NAME_MSG;
        return "name";
    }

    rc = ngx_mikrobill_api_str(body, "username", &values[2]);
    if (rc != NGX_OK || mb_cust_name_ok(values[2], 3, 64) != NGX_OK) {
        *message = MB_USERNAME_MSG;
        return "username";
    }

    rc = ngx_mikrobill_api_str(body, "service_type", &s);
    values[3] = rc == NGX_DECLINED ? "pppoe" : s;
    if (rc == NGX_ERROR
        || (rc == NGX_OK && mb_cust_one_of(s, mb_service_types) == NGX_ERROR))
    {
        *message = MB_SERVICE_MSG;
        return "service_type";
    }

    rc = mb_cust_opt(body, "pppoe_username", &values[4]);
    if (rc == NGX_ERROR
        || (values[4] && mb_cust_name_ok(values[4], 1, 64) != NGX_OK))
    {
        *message = MB_PPPOE_MSG;
        return "pppoe_username";
    }

    rc = ngx_mikrobill_api_str(body, "pppoe_password", &s);
    if (rc == NGX_ERROR || (rc == NGX_OK && ngx_strlen(s) > MB_PASSWORD_MAX))
    {
        *message = MB_PPPOE_PW_MSG;
        return "pppoe_password";
    }

    if (rc == NGX_OK && s[0] != '\0') {
        values[5] = ngx_mikrobill_api_seal(cr->req.ctx, s,
                                           NGX_MIKROBILL_SECRET_CUSTOMER_PPPOE,
                                           message, status);
        if (values[5] == NULL) {
            return "pppoe_password";
        }
    }

    return mb_cust_validate_more(cr, body, message);
}


static const char *
mb_cust_validate_more(mb_cust_req_t *cr, json_t *body, const char **message)
{
    json_t       *lat, *lng;
    ngx_int_t     rc;
    const char   *s, **values = cr->values;
    ngx_pool_t   *pool = cr->req.ctx->request->pool;

    rc = mb_cust_opt(body, "static_ip", &values[6]);
    if (rc == NGX_ERROR
        || (values[6] && ngx_mikrobill_api_ipv4_ok(values[6]) != NGX_OK))
    {
        *message = MB_IP_MSG;
        return "static_ip";
    }

    if (values[6] == NULL && ngx_strcmp(values[3], "static_ip") == 0) {
        *message = MB_IP_REQ_MSG;
        return "static_ip";
    }

    rc = mb_cust_opt(body, "router_id", &values[7]);
    if (rc == NGX_ERROR
        || (values[7] && ngx_mikrobill_api_uuid_ok(values[7]) != NGX_OK))
    {
        *message = MB_ROUTER_MSG;
        return "router_id";
    }

    rc = mb_cust_opt(body, "profile", &values[8]);
    if (rc == NGX_ERROR
        || (values[8] && ngx_mikrobill_api_chars(values[8]) > 64))
    {
        *message = MB_PROFILE_MSG;
        return "profile";
    }

    rc = mb_cust_opt(body, "phone", &s);
    if (rc == NGX_ERROR) {
        *message = MB_PHONE_MSG;
        return "phone";
    }

    if (s != NULL) {
        values[9] = mb_cust_phone(pool, s);

        if (values[9] == NULL) {
            *message = MB_PHONE_MSG;
            return "phone";
        }
    }

    rc = ngx_mikrobill_api_str(body, "address", &values[10]);
    if (rc == NGX_ERROR
        || (rc == NGX_OK && ngx_mikrobill_api_chars(values[10]) > 500))
    {
        *message = MB_ADDRESS_MSG;
        return "address";
    }

    if (values[10] == NULL) {
        values[10] = "";
    }

    lat = json_object_get(body, "latitude");
    lng = json_object_get(body, "longitude");

    if (lat != NULL && !json_is_null(lat)) {
        values[11] = mb_cust_coord(pool, lat, 90);

        if (values[11] == NULL) {
            *message = MB_LAT_MSG;
            return "latitude";
        }
    }

    if (lng != NULL && !json_is_null(lng)) {
        values[12] = mb_cust_coord(pool, lng, 180);

        if (values[12] == NULL) {
            *message = MB_LNG_MSG;
            return "longitude";
        }
    }

    if ((values[11] == NULL) != (values[12] == NULL)) {
        *message = MB_COORD_MSG;
        return values[11] ? "longitude" : "latitude";
    }

    rc = ngx_mikrobill_api_str(body, "status", &s);
    values[13] = rc == NGX_DECLINED ? "active" : s;
    if (rc == NGX_ERROR
        || (rc == NGX_OK && mb_cust_one_of(s, mb_statuses) == NGX_ERROR))
    {
        *message = MB_STATUS_MSG;
        return "status";
    }

    return NULL;
}


/* an optional text: absent, null and "" are all NULL */
static ngx_int_t
mb_cust_opt(json_t *body, const char *name, const char **out)
{
    ngx_int_t  rc;

    rc = ngx_mikrobill_api_str(body, name, out);

    if (rc == NGX_OK && (*out)[0] == '\0') {
        *out = NULL;
    }

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* ^[A-Za-z0-9._@-]{min,max}$ */
static ngx_int_t
mb_cust_name_ok(const char *s, size_t min, size_t max)
{
    size_t  i, len;
    u_char  ch;

    len = ngx_strlen(s);
    if (len < min || len > max) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        ch = (u_char) s[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
              || ch == '@' || ch == '-'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * A WhatsApp number as digits only: "+<E.164>" keeps its digits, "08..."
 * becomes "628...", digits already starting with "62" stay.  Blanks, '-',
 * '.' and parentheses are ignored.  8-15 digits, no leading zero.
 */
static const char *
mb_cust_phone(ngx_pool_t *pool, const char *s)
{
    u_char      *out, *p;
    size_t       n;
    ngx_flag_t   plus;

    out = ngx_pnalloc(pool, ngx_strlen(s) + 2);
    if (out == NULL) {
        return NULL;
    }

    p = out;
    plus = 0;
    n = 0;

    for ( /* void */ ; *s; s++) {
        if (*s == ' ' || *s == '-' || *s == '.' || *s == '(' || *s == ')') {
            continue;
        }

        if (*s == '+' && n == 0 && !plus) {
            plus = 1;
            continue;
        }

        if (*s < '0' || *s > '9') {
            return NULL;
        }

        if (n == 0 && !plus && *s == '0') {
            /* national form: 08... -> 628... */
            *p++ = '6';
            *p++ = '2';
            n = 2;

            if (s[1] != '8') {
                return NULL;
            }

            continue;
        }

        if (n == 0 && *s == '0') {
            return NULL;
        }

        if (n == 0 && !plus && !(s[0] == '6' && s[1] == '2')) {
            return NULL;
        }

        *p++ = *s;
        n++;
    }

    if (n < 8 || n > 15) {
        return NULL;
    }

    *p = '\0';

    return (const char *) out;
}


static const char *
mb_cust_coord(ngx_pool_t *pool, json_t *v, double max)
{
    char    *buf;
    double   d;

    if (!json_is_number(v)) {
        return NULL;
    }

    d = json_number_value(v);

    if (!(d >= -max && d <= max)) {
        return NULL;
    }

    buf = ngx_pnalloc(pool, 32);
    if (buf == NULL) {
        return NULL;
    }

    snprintf(buf, 32, "%.17g", d);

    return buf;
}


static void
mb_cust_saved(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    const char          *state, *constraint;
    ngx_http_request_t  *r = cr->req.ctx->request;

    rc = ngx_mikrobill_api_pg_result(r, res, rc);
    if (rc == NGX_ERROR) {
        return;
    }

    if (rc != NGX_OK) {
        state = ngx_mikrobill_pg_sqlstate(res);
        constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

        if (constraint == NULL) {
            constraint = "";
        }

        if (ngx_strcmp(state, "23505") == 0) {
            if (ngx_strstr(constraint, "pppoe") != NULL) {
                ngx_mikrobill_api_conflict(r, "pppoe_username",
                                           "Username PPPoE sudah dipakai "
                                           "di router ini");
            } else {
                ngx_mikrobill_api_conflict(r, "username",
                                           "Username pelanggan sudah "
                                           "dipakai");
            }

            return;
        }

        if (ngx_strcmp(state, "23503") == 0) {
            ngx_mikrobill_api_field_error(r, 422, "validation_failed",
                                          "router_id", MB_NO_ROUTER_MSG);
            return;
        }

        if (ngx_strcmp(state, "23514") == 0) {
            ngx_mikrobill_api_invalid(r, constraint,
                                      "Data pelanggan tidak valid");
            return;
        }

        ngx_mikrobill_api_sql_failed(r, res, "customers");
        return;
    }

    if (ngx_mikrobill_api_found(r, res, MB_NOT_FOUND_MSG) != NGX_OK) {
        return;
    }

    mb_cust_send(r, cr->mode == mb_cust_create_e
                    ? NGX_HTTP_CREATED : NGX_HTTP_OK, res);
}


/* DELETE /api/customers/{id} */

void
ngx_mikrobill_customers_delete(ngx_mikrobill_ctx_t *ctx)
{
    mb_cust_req_t  *cr;

    cr = ngx_mikrobill_api_req(ctx, sizeof(mb_cust_req_t), MB_ID_MSG);
    if (cr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_cust_delete_stmt, &cr->req.id,
                                  mb_cust_deleted, cr);
}


static void
mb_cust_deleted(void *data, PGresult *res, ngx_int_t rc)
{
    mb_cust_req_t  *cr = data;

    ngx_http_request_t  *r = cr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "customers", MB_NOT_FOUND_MSG)
        == NGX_OK)
    {
        ngx_mikrobill_api_deleted(r);
    }
}
