/*
 * /api/users: accounts CRUD for SUPERADMIN and ADMIN.
 *
 * Input is validated here, before any SQL, so that a bad value is a 400
 * naming its field rather than a database error.  The rules about who may
 * touch whom are checked twice: first against a read of the target, for
 * precise answers, then again inside the writing statement itself, so that
 * two concurrent requests cannot both pass (e.g. demoting the last two
 * SUPERADMINs at once): the active SUPERADMIN rows are locked while counted.
 */

#include "ngx_mikrobill.h"
#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"

#include <openssl/crypto.h>


#define NGX_MIKROBILL_USERS_LIMIT      50
#define NGX_MIKROBILL_USERS_LIMIT_MAX  200
#define NGX_MIKROBILL_USERS_Q_MAX      200      /* bytes, decoded */
#define NGX_MIKROBILL_FULL_NAME_MAX    100      /* characters */
#define NGX_MIKROBILL_PASSWORD_MIN     8
#define NGX_MIKROBILL_PASSWORD_MAX     256


typedef enum {
    ngx_mikrobill_users_create_e = 0,
    ngx_mikrobill_users_put_e,
    ngx_mikrobill_users_patch_e
} ngx_mikrobill_users_mode_e;


typedef struct ngx_mikrobill_users_req_s  ngx_mikrobill_users_req_t;

typedef void (*ngx_mikrobill_users_step_pt)(ngx_mikrobill_users_req_t *ur);

struct ngx_mikrobill_users_req_s {
    ngx_mikrobill_api_req_t       req;         /* first, see api.h */
    ngx_mikrobill_users_mode_e    mode;
    const char                   *username;    /* NULL: keep */
    const char                   *full_name;
    const char                   *role;
    const char                   *password;
    const char                   *outlet_id;   /* NULL with set_outlet: null */
    const char                   *active;      /* "t", "f" or NULL: keep */
    char                         *hash;        /* of the new password */
    ngx_int_t                     limit;       /* of a list */
    ngx_int_t                     offset;
    ngx_mikrobill_users_step_pt   next;        /* after hashing */
    unsigned                      set_outlet:1;
};


static ngx_mikrobill_users_req_t *ngx_mikrobill_users_req(
    ngx_mikrobill_ctx_t *ctx, ngx_uint_t need_id);
static ngx_mikrobill_users_req_t *ngx_mikrobill_users_write_req(
    ngx_mikrobill_ctx_t *ctx, ngx_mikrobill_users_mode_e mode);
static ngx_int_t ngx_mikrobill_users_validate(ngx_mikrobill_users_req_t *ur);
static const char *ngx_mikrobill_users_fields(ngx_mikrobill_users_req_t *ur,
    json_t *body, const char **message);
static const char *ngx_mikrobill_users_more(ngx_mikrobill_users_req_t *ur,
    json_t *body, const char **message);
static ngx_int_t ngx_mikrobill_users_username_ok(const char *s);
static ngx_int_t ngx_mikrobill_users_list_args(
    ngx_mikrobill_users_req_t *ur, const char **values);
static void ngx_mikrobill_users_listed(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_users_found(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_users_hash(ngx_mikrobill_users_req_t *ur,
    ngx_mikrobill_users_step_pt next);
static void ngx_mikrobill_users_hashed(void *data, ngx_int_t rc,
    const char *hash);
static void ngx_mikrobill_users_insert(ngx_mikrobill_users_req_t *ur);
static void ngx_mikrobill_users_saved(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_users_fetch_target(ngx_mikrobill_users_req_t *ur,
    ngx_mikrobill_users_step_pt next);
static void ngx_mikrobill_users_target(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_users_may_update(
    ngx_mikrobill_users_req_t *ur, PGresult *res);
static ngx_int_t ngx_mikrobill_users_may_delete(
    ngx_mikrobill_users_req_t *ur, PGresult *res);
static ngx_int_t ngx_mikrobill_users_last_superadmin(PGresult *res);
static void ngx_mikrobill_users_update_go(ngx_mikrobill_users_req_t *ur);
static void ngx_mikrobill_users_do_update(ngx_mikrobill_users_req_t *ur);
static void ngx_mikrobill_users_do_delete(ngx_mikrobill_users_req_t *ur);
static void ngx_mikrobill_users_deleted(void *data, PGresult *res,
    ngx_int_t rc);
static ngx_int_t ngx_mikrobill_users_exec(ngx_mikrobill_users_req_t *ur,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler);
static ngx_int_t ngx_mikrobill_users_result(ngx_mikrobill_ctx_t *ctx,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_mikrobill_users_written(ngx_mikrobill_ctx_t *ctx,
    PGresult *res, ngx_int_t rc, const char *message);


#define MB_USERNAME_MSG                                                       \
    "Username harus 3-32 karakter: huruf, angka, titik, garis bawah "         \
    "atau tanda hubung"
#define MB_PASSWORD_MSG   "Password harus 8-256 karakter"
#define MB_ROLE_MSG                                                           \
    "Role harus salah satu dari SUPERADMIN, ADMIN, TECHNICIAN, USER"
#define MB_FULL_NAME_MSG  "Nama lengkap maksimal 100 karakter"
#define MB_ACTIVE_MSG     "active harus true atau false"
#define MB_OUTLET_MSG     "outlet_id harus UUID atau null"
#define MB_ID_MSG         "ID pengguna tidak valid"
#define MB_NOT_FOUND_MSG  "Pengguna tidak ditemukan"
#define MB_FORBIDDEN_MSG  "Anda tidak berhak mengubah akun SUPERADMIN"
#define MB_CHANGED_MSG(what)                                                  \
    "Pengguna berubah atau aturan akun menolak " what " ini; muat ulang "     \
    "dan coba lagi"


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_list_stmt = {
    "mb_users_list",
    "WITH m AS (SELECT * FROM users u WHERE $1::text IS NULL"
    " OR u.username ILIKE $1 ESCAPE '\\' OR u.full_name ILIKE $1 ESCAPE '\\'),"
    " p AS (SELECT * FROM m ORDER BY lower(m.username), m.username"
    " LIMIT $2::int OFFSET $3::int)"
    " SELECT (SELECT count(*) FROM m), " NGX_MIKROBILL_USER_COLUMNS
    " FROM (SELECT 1) one LEFT JOIN p u ON true"
    " ORDER BY lower(u.username), u.username",
    3
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_get_stmt = {
    "mb_users_get",
    "SELECT " NGX_MIKROBILL_USER_COLUMNS " FROM users u WHERE u.id = $1::uuid",
    1
};


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_insert_stmt = {
    "mb_users_insert",
    "INSERT INTO users AS u"
    " (username, full_name, password_hash, role, active, outlet_id)"
    " VALUES ($1, $2, $3, $4, $5::boolean, $6::uuid)"
    " RETURNING " NGX_MIKROBILL_USER_COLUMNS,
    6
};


/* what the rules need to know about the target; $2 is the caller */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_target_stmt = {
    "mb_users_target",
    "SELECT u.role, u.active, u.id = $2::uuid,"
    " (SELECT count(*) FROM users WHERE role = 'SUPERADMIN' AND active)"
    " FROM users u WHERE u.id = $1::uuid",
    2
};


/* active SUPERADMINs, locked while they are counted */
#define MB_SUPERADMINS                                                        \
    "WITH sa AS (SELECT id FROM users"                                        \
    " WHERE role = 'SUPERADMIN' AND active FOR UPDATE)"

#define MB_NEW_ROLE    "COALESCE($4, u.role)"
#define MB_NEW_ACTIVE  "COALESCE($5::boolean, u.active)"

/*
 * NULL parameters keep the stored value.  $9: the caller is an ADMIN;
 * $10: the caller's session, spared when callers change their own
 * password; $11: the caller.  A password change ends the account's other
 * sessions, a deactivation all of them.
 */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_update_stmt = {
    "mb_users_update",
    MB_SUPERADMINS ", upd AS (UPDATE users u SET"
    " username = COALESCE($2, u.username),"
    " full_name = COALESCE($3, u.full_name),"
    " role = " MB_NEW_ROLE ", active = " MB_NEW_ACTIVE ","
    " outlet_id = CASE WHEN $6::boolean THEN $7::uuid ELSE u.outlet_id END,"
    " password_hash = COALESCE($8, u.password_hash), updated_at = now()"
    " WHERE u.id = $1::uuid"
    " AND NOT ($9::boolean AND u.role = 'SUPERADMIN')"
    " AND NOT (u.id = $11::uuid AND (" MB_NEW_ROLE " <> u.role"
    " OR NOT " MB_NEW_ACTIVE "))"
    " AND NOT (u.role = 'SUPERADMIN' AND u.active"
    " AND (" MB_NEW_ROLE " <> 'SUPERADMIN' OR NOT " MB_NEW_ACTIVE ")"
    " AND (SELECT count(*) FROM sa) <= 1)"
    " RETURNING u.*),"
    " kill AS (DELETE FROM sessions s USING upd WHERE s.user_id = upd.id"
    " AND (NOT upd.active OR ($8::text IS NOT NULL"
    " AND s.token_hash <> $10::text)))"
    " SELECT " NGX_MIKROBILL_USER_COLUMNS " FROM upd u",
    11
};


/* sessions go with the account (ON DELETE CASCADE) */
static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_users_delete_stmt = {
    "mb_users_delete",
    MB_SUPERADMINS " DELETE FROM users u"
    " WHERE u.id = $1::uuid AND u.id <> $2::uuid"
    " AND NOT ($3::boolean AND u.role = 'SUPERADMIN')"
    " AND NOT (u.role = 'SUPERADMIN' AND u.active"
    " AND (SELECT count(*) FROM sa) <= 1)"
    " RETURNING u.id",
    3
};


json_t *
ngx_mikrobill_user_json(void *data, int row, int col)
{
    PGresult  *res = data;

    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s, s:s}",
                     "id", PQgetvalue(res, row, col),
                     "username", PQgetvalue(res, row, col + 1),
                     "full_name", PQgetvalue(res, row, col + 2),
                     "role", PQgetvalue(res, row, col + 3),
                     "active", PQgetvalue(res, row, col + 4)[0] == 't',
                     "outlet_id",
                     ngx_mikrobill_json_from_field(res, row, col + 5),
                     "created_at", PQgetvalue(res, row, col + 6),
                     "updated_at", PQgetvalue(res, row, col + 7));
}


/* GET /api/users */

void
ngx_mikrobill_users_list(ngx_mikrobill_ctx_t *ctx)
{
    const char                 *values[3];
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_req(ctx, 0);
    if (ur == NULL) {
        return;
    }

    if (ngx_mikrobill_users_list_args(ur, values) != NGX_OK) {
        return;
    }

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_list_stmt,
                                    values, ngx_mikrobill_users_listed);
}


static ngx_int_t
ngx_mikrobill_users_list_args(ngx_mikrobill_users_req_t *ur,
    const char **values)
{
    const char          *q;
    ngx_http_request_t  *r = ur->req.ctx->request;

    if (ngx_mikrobill_api_num_arg(r, "limit", NGX_MIKROBILL_USERS_LIMIT,
                                  NGX_MIKROBILL_USERS_LIMIT_MAX,
                                  &ur->limit, &values[1])
        != NGX_OK
        || ur->limit < 1)
    {
        ngx_mikrobill_api_invalid(r, "limit", "limit harus 1-200");
        return NGX_ERROR;
    }

    if (ngx_mikrobill_api_num_arg(r, "offset", 0, NGX_MAX_INT32_VALUE,
                                  &ur->offset, &values[2])
        != NGX_OK)
    {
        ngx_mikrobill_api_invalid(r, "offset",
                                  "offset harus bilangan bulat >= 0");
        return NGX_ERROR;
    }

    /* "?q=" as an ILIKE pattern, NULL without it */
    q = ngx_mikrobill_api_arg(r, "q", NGX_MIKROBILL_USERS_Q_MAX);

    if (q == (const char *) NGX_CONF_ERROR) {
        ngx_mikrobill_api_invalid(r, "q", "Kata kunci pencarian tidak "
                                  "valid (maksimal 200 byte)");
        return NGX_ERROR;
    }

    values[0] = q ? ngx_mikrobill_api_pattern(r->pool, q) : NULL;

    if (q && values[0] == NULL) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mikrobill_users_listed(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (ngx_mikrobill_users_result(ctx, res, rc) != NGX_OK) {
        return;
    }

    ngx_mikrobill_api_send(ctx->request, NGX_HTTP_OK,
                           ngx_mikrobill_api_page(res, ngx_mikrobill_user_json,
                                                  ur->limit, ur->offset));
}


/* GET /api/users/{id} */

void
ngx_mikrobill_users_get(ngx_mikrobill_ctx_t *ctx)
{
    const char                 *values[1];
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_req(ctx, 1);
    if (ur == NULL) {
        return;
    }

    values[0] = ur->req.id;

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_get_stmt,
                                    values, ngx_mikrobill_users_found);
}


static void
ngx_mikrobill_users_found(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (ngx_mikrobill_users_result(ctx, res, rc) != NGX_OK
        || ngx_mikrobill_api_found(ctx->request, res, MB_NOT_FOUND_MSG)
           != NGX_OK)
    {
        return;
    }

    ngx_mikrobill_api_send(ctx->request, NGX_HTTP_OK,
                           ngx_mikrobill_user_json(res, 0, 0));
}


/* POST /api/users */

void
ngx_mikrobill_users_create(ngx_mikrobill_ctx_t *ctx)
{
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_write_req(ctx, ngx_mikrobill_users_create_e);
    if (ur == NULL) {
        return;
    }

    ngx_mikrobill_users_hash(ur, ngx_mikrobill_users_insert);
}


static void
ngx_mikrobill_users_insert(ngx_mikrobill_users_req_t *ur)
{
    const char  *values[6];

    values[0] = ur->username;
    values[1] = ur->full_name ? ur->full_name : "";
    values[2] = ur->hash;
    values[3] = ur->role;
    values[4] = ur->active ? ur->active : "t";
    values[5] = ur->outlet_id;

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_insert_stmt,
                                    values, ngx_mikrobill_users_saved);
}


/* the answer of create (201) and update (200) */
static void
ngx_mikrobill_users_saved(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (ngx_mikrobill_users_written(ctx, res, rc, MB_CHANGED_MSG("perubahan"))
        != NGX_OK)
    {
        return;
    }

    ngx_mikrobill_api_send(ctx->request,
                           ur->mode == ngx_mikrobill_users_create_e
                           ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                           ngx_mikrobill_user_json(res, 0, 0));
}


/* PUT and PATCH /api/users/{id} */

void
ngx_mikrobill_users_update(ngx_mikrobill_ctx_t *ctx)
{
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_write_req(ctx,
                                       ctx->request->method == NGX_HTTP_PATCH
                                       ? ngx_mikrobill_users_patch_e
                                       : ngx_mikrobill_users_put_e);
    if (ur == NULL) {
        return;
    }

    ngx_mikrobill_users_fetch_target(ur, ngx_mikrobill_users_update_go);
}


static void
ngx_mikrobill_users_update_go(ngx_mikrobill_users_req_t *ur)
{
    if (ur->password != NULL) {
        ngx_mikrobill_users_hash(ur, ngx_mikrobill_users_do_update);
        return;
    }

    ngx_mikrobill_users_do_update(ur);
}


static void
ngx_mikrobill_users_do_update(ngx_mikrobill_users_req_t *ur)
{
    const char           *values[11];
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    values[0] = ur->req.id;
    values[1] = ur->username;
    values[2] = ur->full_name;
    values[3] = ur->role;
    values[4] = ur->active;
    values[5] = ur->set_outlet ? "t" : "f";
    values[6] = ur->outlet_id;
    values[7] = ur->hash;
    values[8] = ctx->user.role == NGX_MIKROBILL_ROLE_ADMIN ? "t" : "f";
    values[9] = (const char *) ctx->user.session_id.data;
    values[10] = (const char *) ctx->user.id.data;

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_update_stmt,
                                    values, ngx_mikrobill_users_saved);
}


/* DELETE /api/users/{id} */

void
ngx_mikrobill_users_delete(ngx_mikrobill_ctx_t *ctx)
{
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_req(ctx, 1);
    if (ur == NULL) {
        return;
    }

    ngx_mikrobill_users_fetch_target(ur, ngx_mikrobill_users_do_delete);
}


static void
ngx_mikrobill_users_do_delete(ngx_mikrobill_users_req_t *ur)
{
    const char           *values[3];
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    values[0] = ur->req.id;
    values[1] = (const char *) ctx->user.id.data;
    values[2] = ctx->user.role == NGX_MIKROBILL_ROLE_ADMIN ? "t" : "f";

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_delete_stmt,
                                    values, ngx_mikrobill_users_deleted);
}


static void
ngx_mikrobill_users_deleted(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (ngx_mikrobill_users_written(ctx, res, rc,
                                    MB_CHANGED_MSG("penghapusan"))
        == NGX_OK)
    {
        ngx_mikrobill_api_deleted(ctx->request);
    }
}


/* the target's role and state, then the rules, then next */

static void
ngx_mikrobill_users_fetch_target(ngx_mikrobill_users_req_t *ur,
    ngx_mikrobill_users_step_pt next)
{
    const char  *values[2];

    ur->next = next;
    values[0] = ur->req.id;
    values[1] = (const char *) ur->req.ctx->user.id.data;

    (void) ngx_mikrobill_users_exec(ur, &ngx_mikrobill_users_target_stmt,
                                    values, ngx_mikrobill_users_target);
}


static void
ngx_mikrobill_users_target(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_int_t             ok;
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (ngx_mikrobill_users_result(ctx, res, rc) != NGX_OK
        || ngx_mikrobill_api_found(ctx->request, res, MB_NOT_FOUND_MSG)
           != NGX_OK)
    {
        return;
    }

    if (ngx_strcmp(PQgetvalue(res, 0, 0), "SUPERADMIN") == 0
        && ctx->user.role != NGX_MIKROBILL_ROLE_SUPERADMIN)
    {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                    "forbidden", MB_FORBIDDEN_MSG);
        return;
    }

    ok = ur->next == ngx_mikrobill_users_do_delete
         ? ngx_mikrobill_users_may_delete(ur, res)
         : ngx_mikrobill_users_may_update(ur, res);

    if (ok == NGX_OK) {
        ur->next(ur);
    }
}


/* columns of the target query: 0 role, 1 active, 2 is self, 3 superadmins */
static ngx_int_t
ngx_mikrobill_users_may_update(ngx_mikrobill_users_req_t *ur, PGresult *res)
{
    ngx_uint_t            self, demoted, deactivated;
    const char           *role;
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    role = PQgetvalue(res, 0, 0);
    self = PQgetvalue(res, 0, 2)[0] == 't';
    demoted = ur->role != NULL && ngx_strcmp(ur->role, role) != 0;
    deactivated = ur->active != NULL && ur->active[0] == 'f'
                  && PQgetvalue(res, 0, 1)[0] == 't';

    if (self && (demoted || deactivated)) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_CONFLICT,
                                    "cannot_modify_self",
                                    demoted ? "Anda tidak dapat mengubah "
                                              "role akun sendiri"
                                            : "Anda tidak dapat "
                                              "menonaktifkan akun sendiri");
        return NGX_DECLINED;
    }

    if ((demoted || deactivated)
        && ngx_mikrobill_users_last_superadmin(res) == NGX_OK)
    {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_CONFLICT,
                                    "last_superadmin",
                                    "SUPERADMIN aktif terakhir tidak dapat "
                                    "diturunkan atau dinonaktifkan");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_mikrobill_users_may_delete(ngx_mikrobill_users_req_t *ur, PGresult *res)
{
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    if (PQgetvalue(res, 0, 2)[0] == 't') {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_CONFLICT,
                                    "cannot_modify_self",
                                    "Anda tidak dapat menghapus akun "
                                    "sendiri");
        return NGX_DECLINED;
    }

    if (ngx_mikrobill_users_last_superadmin(res) == NGX_OK) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_CONFLICT,
                                    "last_superadmin",
                                    "SUPERADMIN aktif terakhir tidak dapat "
                                    "dihapus");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* NGX_OK when the target is the one active SUPERADMIN left */
static ngx_int_t
ngx_mikrobill_users_last_superadmin(PGresult *res)
{
    if (ngx_strcmp(PQgetvalue(res, 0, 0), "SUPERADMIN") == 0
        && PQgetvalue(res, 0, 1)[0] == 't'
        && ngx_atoi((u_char *) PQgetvalue(res, 0, 3),
                    PQgetlength(res, 0, 3)) <= 1)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* hashing a new password on the thread pool */

static void
ngx_mikrobill_users_hash(ngx_mikrobill_users_req_t *ur,
    ngx_mikrobill_users_step_pt next)
{
    ur->next = next;

    if (ngx_mikrobill_hash_password(ur->req.ctx->request, ur->password,
                                    ngx_mikrobill_users_hashed, ur)
        != NGX_OK)
    {
        ngx_mikrobill_api_send(ur->req.ctx->request,
                               NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    /* the task has its own copy; do not leave one in the parsed body */
    OPENSSL_cleanse((void *) ur->password, ngx_strlen(ur->password));
}


static void
ngx_mikrobill_users_hashed(void *data, ngx_int_t rc, const char *hash)
{
    ngx_mikrobill_users_req_t  *ur = data;

    ngx_str_t  s;

    if (rc == NGX_OK) {
        s.data = (u_char *) hash;
        s.len = ngx_strlen(hash);
        ur->hash = ngx_mikrobill_pstrdup0(ur->req.ctx->request->pool, &s);
    }

    if (rc != NGX_OK || ur->hash == NULL) {
        ngx_mikrobill_api_send(ur->req.ctx->request,
                               NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    ur->next(ur);
}


/* request state, the caller's role and the path id; answers on failure */

static ngx_mikrobill_users_req_t *
ngx_mikrobill_users_req(ngx_mikrobill_ctx_t *ctx, ngx_uint_t need_id)
{
    /* the route table says the same; a second look costs nothing */
    if (!ctx->user.authenticated || !(ctx->user.role & NGX_MIKROBILL_ADMINS))
    {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                    "forbidden", "Akses ditolak");
        return NULL;
    }

    return ngx_mikrobill_api_req(ctx, sizeof(ngx_mikrobill_users_req_t),
                                 need_id ? MB_ID_MSG : NULL);
}


/* request state of a write, its body validated; NULL when answered */

static ngx_mikrobill_users_req_t *
ngx_mikrobill_users_write_req(ngx_mikrobill_ctx_t *ctx,
    ngx_mikrobill_users_mode_e mode)
{
    ngx_mikrobill_users_req_t  *ur;

    ur = ngx_mikrobill_users_req(ctx, mode != ngx_mikrobill_users_create_e);
    if (ur == NULL) {
        return NULL;
    }

    ur->mode = mode;

    return ngx_mikrobill_users_validate(ur) == NGX_OK ? ur : NULL;
}


/* validation of the body; answers 400 (or 403) itself */

static ngx_int_t
ngx_mikrobill_users_validate(ngx_mikrobill_users_req_t *ur)
{
    json_t               *body;
    const char           *field, *message;
    ngx_mikrobill_ctx_t  *ctx = ur->req.ctx;

    body = ctx->body;

    if (body == NULL || !json_is_object(body)) {
        ngx_mikrobill_api_no_body(ctx->request);
        return NGX_DECLINED;
    }

    field = ngx_mikrobill_users_fields(ur, body, &message);
    if (field == NULL) {
        field = ngx_mikrobill_users_more(ur, body, &message);
    }

    if (field != NULL) {
        ngx_mikrobill_api_invalid(ctx->request, field, message);
        return NGX_DECLINED;
    }

    if (ur->role != NULL && ngx_strcmp(ur->role, "SUPERADMIN") == 0
        && ctx->user.role != NGX_MIKROBILL_ROLE_SUPERADMIN)
    {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_FORBIDDEN,
                                    "forbidden", "Anda tidak berhak "
                                    "memberikan role SUPERADMIN");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* username, password, role: the field at fault, or NULL */
static const char *
ngx_mikrobill_users_fields(ngx_mikrobill_users_req_t *ur, json_t *body,
    const char **message)
{
    ngx_int_t   rc;
    ngx_uint_t  n, required;

    required = ur->mode != ngx_mikrobill_users_patch_e;

    rc = ngx_mikrobill_api_str(body, "username", &ur->username);
    if (rc == NGX_ERROR || (rc == NGX_DECLINED && required)
        || (rc == NGX_OK
            && ngx_mikrobill_users_username_ok(ur->username) != NGX_OK))
    {
        *message = MB_USERNAME_MSG;
        return "username";
    }

    rc = ngx_mikrobill_api_str(body, "password", &ur->password);
    n = rc == NGX_OK ? ngx_mikrobill_api_chars(ur->password) : 0;
    if (rc == NGX_ERROR
        || (rc == NGX_DECLINED && ur->mode == ngx_mikrobill_users_create_e)
        || (rc == NGX_OK && (n < NGX_MIKROBILL_PASSWORD_MIN
                             || n > NGX_MIKROBILL_PASSWORD_MAX)))
    {
        *message = MB_PASSWORD_MSG;
        return "password";
    }

    rc = ngx_mikrobill_api_str(body, "role", &ur->role);
    if (rc == NGX_ERROR || (rc == NGX_DECLINED && required)
        || (rc == NGX_OK && ngx_mikrobill_role_parse(ur->role) == 0))
    {
        *message = MB_ROLE_MSG;
        return "role";
    }

    return NULL;
}


/* full_name, active, outlet_id: the field at fault, or NULL */
static const char *
ngx_mikrobill_users_more(ngx_mikrobill_users_req_t *ur, json_t *body,
    const char **message)
{
    json_t     *v;
    ngx_int_t   rc;

    rc = ngx_mikrobill_api_str(body, "full_name", &ur->full_name);
    if (rc == NGX_ERROR
        || (rc == NGX_OK && ngx_mikrobill_api_chars(ur->full_name)
                            > NGX_MIKROBILL_FULL_NAME_MAX))
    {
        *message = MB_FULL_NAME_MSG;
        return "full_name";
    }

    if (ur->full_name == NULL && (json_is_null(json_object_get(body,
                                                               "full_name"))
                                  || ur->mode == ngx_mikrobill_users_put_e))
    {
        ur->full_name = "";
    }

    v = json_object_get(body, "active");
    if (v != NULL && !json_is_boolean(v)) {
        *message = MB_ACTIVE_MSG;
        return "active";
    }

    ur->active = v ? (json_is_true(v) ? "t" : "f")
                 : (ur->mode == ngx_mikrobill_users_put_e ? "t" : NULL);

    v = json_object_get(body, "outlet_id");
    rc = ngx_mikrobill_api_str(body, "outlet_id", &ur->outlet_id);
    if (rc == NGX_ERROR
        || (rc == NGX_OK
            && ngx_mikrobill_api_uuid_ok(ur->outlet_id) != NGX_OK))
    {
        *message = MB_OUTLET_MSG;
        return "outlet_id";
    }

    ur->set_outlet = v != NULL || ur->mode == ngx_mikrobill_users_put_e;

    return NULL;
}


/* ^[A-Za-z0-9._-]{3,32}$ */
static ngx_int_t
ngx_mikrobill_users_username_ok(const char *s)
{
    size_t  i, len;
    u_char  ch;

    len = ngx_strlen(s);
    if (len < 3 || len > 32) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        ch = (u_char) s[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
              || ch == '-'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* queries and answers */

static ngx_int_t
ngx_mikrobill_users_exec(ngx_mikrobill_users_req_t *ur,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler)
{
    return ngx_mikrobill_api_exec(ur->req.ctx, stmt, values, handler, ur);
}


/* answers 503, 409 or 500 itself when the query did not work out */
static ngx_int_t
ngx_mikrobill_users_result(ngx_mikrobill_ctx_t *ctx, PGresult *res,
    ngx_int_t rc)
{
    const char          *state;
    ngx_http_request_t  *r = ctx->request;

    rc = ngx_mikrobill_api_pg_result(r, res, rc);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    state = ngx_mikrobill_pg_sqlstate(res);

    if (ngx_strcmp(state, "23505") == 0) {
        ngx_mikrobill_api_conflict(r, "username", "Username sudah dipakai");
        return NGX_ERROR;
    }

    /* sql/005: a concurrent change already removed the other one */
    if (ngx_strcmp(state, "MBSA1") == 0) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_CONFLICT, "last_superadmin",
                                    "SUPERADMIN aktif terakhir tidak boleh "
                                    "dihapus, diturunkan atau dinonaktifkan");
        return NGX_ERROR;
    }

    ngx_mikrobill_api_sql_failed(r, res, "users");

    return NGX_ERROR;
}


/*
 * A write's one row; none means that the target changed between the check
 * and the write, or that the statement's own rules refused it: a 409.
 */
static ngx_int_t
ngx_mikrobill_users_written(ngx_mikrobill_ctx_t *ctx, PGresult *res,
    ngx_int_t rc, const char *message)
{
    if (ngx_mikrobill_users_result(ctx, res, rc) != NGX_OK) {
        return NGX_ERROR;
    }

    if (PQntuples(res) != 1) {
        ngx_mikrobill_respond_error(ctx->request, NGX_HTTP_CONFLICT,
                                    "conflict", message);
        return NGX_DECLINED;
    }

    return NGX_OK;
}
