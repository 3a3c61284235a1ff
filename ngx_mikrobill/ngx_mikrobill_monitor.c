/*
 * Traffic monitors (docs/monitor.md): POST /api/monitor/start and /stop,
 * GET /api/monitor/status.
 *
 * The running set is the Redis hash mikrobill:monitors (customer id ->
 * meta JSON).  A slot is reserved with one Lua script, so that nginx
 * workers, several nginx hosts and the workers agree on the count without
 * a lock of our own; the worker that owns the customer's router then
 * starts the RouterOS stream and answers at the first sample.
 */


#include "ngx_mikrobill_api.h"
#include "ngx_mikrobill_command.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_redis_request.h"

#include <openssl/rand.h>


#define MB_MONITORS_KEY     "mikrobill:monitors"
#define MB_GEN_BYTES        8
#define MB_STOP_TIMEOUT     3000
/* nginx names no constant for it */
#define MB_HTTP_UNPROCESSABLE  422

#define MB_ID_MSG           "customer_id harus UUID pelanggan"
#define MB_NOT_FOUND_MSG    "Pelanggan tidak ditemukan atau tidak aktif"
#define MB_NO_IFACE_MSG                                                       \
    "Gagal mendapatkan nama interface: pelanggan tidak memakai PPPoE " \
    "atau belum punya username PPPoE"
#define MB_NO_ROUTER_MSG    "Pelanggan belum terhubung ke router mana pun"
#define MB_NOT_CONN_MSG     "Router MikroTik tidak terhubung"
#define MB_OFFLINE_MSG      "Pelanggan sedang offline (tidak ada sesi PPPoE)"


/*
 * KEYS[1] the hash; ARGV customer id, meta, max.  {0, meta} running
 * already, {-1, count} full, {1, meta} reserved.
 */
static const char  mb_reserve_lua[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if cur then return {0, cur} end "
    "local n = redis.call('HLEN', KEYS[1]) "
    "if n >= tonumber(ARGV[3]) then return {-1, n} end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "return {1, ARGV[2]}";

/* remove and return the entry (nil when none) */
static const char  mb_take_lua[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if cur then redis.call('HDEL', KEYS[1], ARGV[1]) end "
    "return cur";

/* remove the entry only while it is still ours */
static const char  mb_release_lua[] =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
    "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";


static const ngx_mikrobill_pg_stmt_t  mb_monitor_customer_stmt = {
    "mb_monitor_customer",
    "SELECT c.name, c.username, c.service_type,"
    " COALESCE(c.pppoe_username, ''), COALESCE(c.router_id::text, ''),"
    " c.conn_status, COALESCE(r.enabled, false),"
    " COALESCE(c.session_name, c.pppoe_username, '')"
    " FROM customers c LEFT JOIN routers r ON r.id = c.router_id"
    " WHERE c.id = $1 AND c.status = 'active'",
    1
};


typedef struct {
    ngx_mikrobill_api_req_t   req;
    const char               *customer_id;
    const char               *router_id;
    const char               *meta;        /* as stored in the hash */
} mb_monitor_req_t;


static mb_monitor_req_t *mb_monitor_req(ngx_mikrobill_ctx_t *ctx);
static void mb_monitor_customer(void *data, PGresult *res, ngx_int_t rc);
static ngx_int_t mb_monitor_refuse(ngx_http_request_t *r, PGresult *res);
static const char *mb_monitor_meta(mb_monitor_req_t *mr, PGresult *res);
static ngx_int_t mb_monitor_eval(mb_monitor_req_t *mr, const char *script,
    const char *arg2, const char *arg3,
    ngx_mikrobill_redis_handler_pt handler);
static void mb_monitor_reserved(void *data, redisReply *reply);
static void mb_monitor_full(mb_monitor_req_t *mr, long long count);
static void mb_monitor_started(void *data, json_t *reply, ngx_int_t rc);
static void mb_monitor_failed(mb_monitor_req_t *mr, json_t *reply);
static void mb_monitor_release(mb_monitor_req_t *mr);
static void mb_monitor_ignore(void *data, redisReply *reply);
static void mb_monitor_answer(mb_monitor_req_t *mr, const char *message,
    const char *flag, ngx_flag_t value);
static void mb_monitor_taken(void *data, redisReply *reply);
static void mb_monitor_stopped(void *data, json_t *reply, ngx_int_t rc);
static void mb_monitor_listed(void *data, redisReply *reply);
static json_t *mb_monitor_status_json(ngx_mikrobill_main_conf_t *mcf,
    redisReply *reply);
static void mb_monitor_redis_down(ngx_http_request_t *r);


/* POST /api/monitor/start?customer_id=<uuid> */

void
ngx_mikrobill_monitor_start(ngx_mikrobill_ctx_t *ctx)
{
    mb_monitor_req_t  *mr;

    mr = mb_monitor_req(ctx);
    if (mr == NULL) {
        return;
    }

    (void) ngx_mikrobill_api_exec(ctx, &mb_monitor_customer_stmt,
                                  &mr->customer_id, mb_monitor_customer, mr);
}


/* the state with a valid customer_id argument; NULL when answered */
static mb_monitor_req_t *
mb_monitor_req(ngx_mikrobill_ctx_t *ctx)
{
    const char        *id;
    mb_monitor_req_t  *mr;

    mr = ngx_mikrobill_api_req(ctx, sizeof(mb_monitor_req_t), NULL);
    if (mr == NULL) {
        return NULL;
    }

    id = ngx_mikrobill_api_arg(ctx->request, "customer_id", 64);

    if (id == NULL || id == (const char *) NGX_CONF_ERROR
        || ngx_mikrobill_api_uuid_ok(id) != NGX_OK)
    {
        ngx_mikrobill_api_invalid(ctx->request, "customer_id", MB_ID_MSG);
        return NULL;
    }

    mr->customer_id = id;

    return mr;
}


static void
mb_monitor_customer(void *data, PGresult *res, ngx_int_t rc)
{
    mb_monitor_req_t  *mr = data;

    u_char               max[NGX_INT_T_LEN + 1];
    ngx_http_request_t  *r = mr->req.ctx->request;

    if (ngx_mikrobill_api_one(r, res, rc, "monitor customer",
                              MB_NOT_FOUND_MSG)
        != NGX_OK)
    {
        return;
    }

    if (mb_monitor_refuse(r, res) != NGX_OK) {
        return;
    }

    mr->meta = mb_monitor_meta(mr, res);
    if (mr->meta == NULL) {
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    ngx_sprintf(max, "%i%Z", mr->req.ctx->mcf->monitor_max);

    if (mb_monitor_eval(mr, mb_reserve_lua, mr->meta, (char *) max,
                        mb_monitor_reserved)
        != NGX_OK)
    {
        mb_monitor_redis_down(r);
    }
}


/*
 * The customer cannot be watched: no PPPoE interface to name (422), no
 * router or a disabled one, or offline at the last sync (409).  Answers
 * and returns NGX_DECLINED then.
 */
static ngx_int_t
mb_monitor_refuse(ngx_http_request_t *r, PGresult *res)
{
    if (ngx_strcmp(PQgetvalue(res, 0, 2), "pppoe") != 0
        || PQgetvalue(res, 0, 3)[0] == '\0')
    {
        ngx_mikrobill_respond_error(r, MB_HTTP_UNPROCESSABLE,
                                    "no_interface", MB_NO_IFACE_MSG);
        return NGX_DECLINED;
    }

    if (PQgetvalue(res, 0, 4)[0] == '\0') {
        ngx_mikrobill_respond_error(r, MB_HTTP_UNPROCESSABLE,
                                    "no_router", MB_NO_ROUTER_MSG);
        return NGX_DECLINED;
    }

    if (PQgetvalue(res, 0, 6)[0] != 't') {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "router_not_connected", MB_NOT_CONN_MSG);
        return NGX_DECLINED;
    }

    if (ngx_strcmp(PQgetvalue(res, 0, 5), "online") != 0) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_CONFLICT,
                                    "customer_offline", MB_OFFLINE_MSG);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the meta JSON of a new run, in the request pool */
static const char *
mb_monitor_meta(mb_monitor_req_t *mr, PGresult *res)
{
    char                *text, *copy;
    u_char               rnd[MB_GEN_BYTES], gen[MB_GEN_BYTES * 2 + 1];
    u_char               iface[80], now[sizeof("2026-01-01T00:00:00Z")];
    json_t              *meta;
    ngx_tm_t             tm;
    ngx_str_t            id, s;
    ngx_mikrobill_ctx_t *ctx = mr->req.ctx;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NULL;
    }

    *ngx_hex_dump(gen, rnd, sizeof(rnd)) = '\0';
    ngx_gmtime(ngx_time(), &tm);
    ngx_sprintf(now, "%4d-%02d-%02dT%02d:%02d:%02dZ%Z", tm.ngx_tm_year,
                tm.ngx_tm_mon, tm.ngx_tm_mday, tm.ngx_tm_hour,
                tm.ngx_tm_min, tm.ngx_tm_sec);
    /* the router's spelling of the session (sql/007), else ours */
    ngx_snprintf(iface, sizeof(iface), "<pppoe-%s>%Z",
                 PQgetvalue(res, 0, 7));

    id.data = (u_char *) PQgetvalue(res, 0, 4);
    id.len = PQgetlength(res, 0, 4);
    mr->router_id = ngx_mikrobill_pstrdup0(ctx->request->pool, &id);
    if (mr->router_id == NULL) {
        return NULL;
    }

    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s%}",
                     "customer_id", mr->customer_id,
                     "customer_name", PQgetvalue(res, 0, 0),
                     "username", PQgetvalue(res, 0, 1),
                     "service_type", PQgetvalue(res, 0, 2),
                     "pppoe_username", PQgetvalue(res, 0, 3),
                     "interface", (char *) iface,
                     "router_id", mr->router_id,
                     "gen", (char *) gen,
                     "started_at", (char *) now,
                     "started_by", ctx->user.username.data,
                     ctx->user.username.len);
    if (meta == NULL) {
        return NULL;
    }

    text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(meta);

    if (text == NULL) {
        return NULL;
    }

    s.data = (u_char *) text;
    s.len = ngx_strlen(text);
    copy = ngx_mikrobill_pstrdup0(ctx->request->pool, &s);

    free(text);

    return copy;
}


/* EVAL script 1 mikrobill:monitors <customer id> [arg2 [arg3]] */
static ngx_int_t
mb_monitor_eval(mb_monitor_req_t *mr, const char *script, const char *arg2,
    const char *arg3, ngx_mikrobill_redis_handler_pt handler)
{
    int          argc;
    const char  *argv[7];

    argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = "1";
    argv[argc++] = MB_MONITORS_KEY;
    argv[argc++] = mr->customer_id;

    if (arg2 != NULL) {
        argv[argc++] = arg2;
    }

    if (arg3 != NULL) {
        argv[argc++] = arg3;
    }

    return ngx_mikrobill_redis_request(mr->req.ctx->request, handler, mr,
                                       argc, argv, NULL);
}


static void
mb_monitor_reserved(void *data, redisReply *reply)
{
    mb_monitor_req_t  *mr = data;

    json_t              *payload;
    ngx_int_t            rc;
    long long            code;
    ngx_http_request_t  *r = mr->req.ctx->request;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        mb_monitor_redis_down(r);
        return;
    }

    code = reply->element[0]->integer;

    if (code == 0) {
        mb_monitor_answer(mr, "Monitoring started", "already_running", 1);
        return;
    }

    if (code < 0) {
        mb_monitor_full(mr, reply->element[1]->integer);
        return;
    }

    payload = json_pack("{s:s, s:s}", "customer_id", mr->customer_id,
                        "router_id", mr->router_id);

    rc = payload ? ngx_mikrobill_command(r, "monitor.start", payload, 0,
                                         mb_monitor_started, mr)
                 : NGX_ERROR;
    json_decref(payload);

    if (rc != NGX_OK) {
        mb_monitor_release(mr);
        ngx_mikrobill_api_send(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
    }
}


static void
mb_monitor_full(mb_monitor_req_t *mr, long long count)
{
    u_char               msg[128];
    ngx_http_request_t  *r = mr->req.ctx->request;

    ngx_snprintf(msg, sizeof(msg),
                 "Slot monitor penuh: %L dari %i sedang dipakai%Z", count,
                 mr->req.ctx->mcf->monitor_max);

    ngx_mikrobill_respond_error(r, NGX_HTTP_TOO_MANY_REQUESTS, "no_slot",
                                (char *) msg);
}


static void
mb_monitor_started(void *data, json_t *reply, ngx_int_t rc)
{
    mb_monitor_req_t  *mr = data;

    ngx_http_request_t  *r = mr->req.ctx->request;

    if (rc == NGX_ERROR) {
        mb_monitor_release(mr);
        mb_monitor_redis_down(r);
        return;
    }

    if (rc == NGX_DECLINED) {
        /* nobody runs it: give the slot back rather than hold it */
        mb_monitor_release(mr);
        ngx_mikrobill_respond_error(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                    "worker_timeout",
                                    NGX_MIKROBILL_NO_WORKER_MSG);
        return;
    }

    if (!json_is_true(json_object_get(reply, "ok"))) {
        /*
         * The owner removes the entry itself, but a job that failed on
         * the way there (router gone, database down) did not reach it.
         */
        mb_monitor_release(mr);
        mb_monitor_failed(mr, reply);
        return;
    }

    mb_monitor_answer(mr, "Monitoring started", "already_running",
                      json_is_false(json_object_get(reply, "started")));
}


/* the worker's refusal as an HTTP answer */
static void
mb_monitor_failed(mb_monitor_req_t *mr, json_t *reply)
{
    u_char               msg[256];
    const char          *error, *detail;
    ngx_http_request_t  *r = mr->req.ctx->request;

    error = json_string_value(json_object_get(reply, "error"));
    detail = json_string_value(json_object_get(reply, "message"));
    error = error ? error : "";
    detail = detail ? detail : "";

    if (ngx_strcmp(error, "unavailable") == 0) {
        ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "router_not_connected", MB_NOT_CONN_MSG);
        return;
    }

    if (ngx_strcmp(error, "trap") == 0
        || ngx_strcmp(error, "not_found") == 0)
    {
        ngx_snprintf(msg, sizeof(msg) - 1, "%s: %s%Z", MB_OFFLINE_MSG,
                     detail);
        msg[sizeof(msg) - 1] = '\0';
        ngx_mikrobill_respond_error(r, NGX_HTTP_CONFLICT, "customer_offline",
                                    (char *) msg);
        return;
    }

    ngx_snprintf(msg, sizeof(msg) - 1, "Router menolak monitor: %s%Z",
                 detail);
    msg[sizeof(msg) - 1] = '\0';
    ngx_mikrobill_respond_error(r, NGX_HTTP_BAD_GATEWAY, "router_error",
                                (char *) msg);
}


/* compare-and-delete on our meta, not tied to the request */
static void
mb_monitor_release(mb_monitor_req_t *mr)
{
    const char  *argv[6];

    argv[0] = "EVAL";
    argv[1] = mb_release_lua;
    argv[2] = "1";
    argv[3] = MB_MONITORS_KEY;
    argv[4] = mr->customer_id;
    argv[5] = mr->meta;

    (void) ngx_mikrobill_redis_command(mr->req.ctx->mcf->redis,
                                       mb_monitor_ignore, NULL, 6, argv,
                                       NULL);
}


static void
mb_monitor_ignore(void *data, redisReply *reply)
{
    (void) data;
    (void) reply;
}


/* 200 {"status":"success","message","customer_id",flag} */
static void
mb_monitor_answer(mb_monitor_req_t *mr, const char *message,
    const char *flag, ngx_flag_t value)
{
    ngx_mikrobill_api_send(mr->req.ctx->request, NGX_HTTP_OK,
                           json_pack("{s:s, s:s, s:s, s:b}",
                                     "status", "success",
                                     "message", message,
                                     "customer_id", mr->customer_id,
                                     flag, (int) value));
}


/* POST /api/monitor/stop?customer_id=<uuid> */

void
ngx_mikrobill_monitor_stop(ngx_mikrobill_ctx_t *ctx)
{
    mb_monitor_req_t  *mr;

    mr = mb_monitor_req(ctx);
    if (mr == NULL) {
        return;
    }

    if (mb_monitor_eval(mr, mb_take_lua, NULL, NULL, mb_monitor_taken)
        != NGX_OK)
    {
        mb_monitor_redis_down(ctx->request);
    }
}


static void
mb_monitor_taken(void *data, redisReply *reply)
{
    mb_monitor_req_t  *mr = data;

    json_t              *meta, *payload;
    ngx_int_t            rc;
    json_error_t         err;
    ngx_http_request_t  *r = mr->req.ctx->request;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        mb_monitor_redis_down(r);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        mb_monitor_answer(mr, "Monitoring stopped", "was_running", 0);
        return;
    }

    /* the slot is free now; tell the router's owner to end the stream */
    meta = json_loadb(reply->str, reply->len, 0, &err);
    payload = json_pack("{s:s, s:O?, s:O?}", "customer_id", mr->customer_id,
                        "router_id", json_object_get(meta, "router_id"),
                        "gen", json_object_get(meta, "gen"));
    json_decref(meta);

    rc = payload ? ngx_mikrobill_command(r, "monitor.stop", payload,
                                         MB_STOP_TIMEOUT,
                                         mb_monitor_stopped, mr)
                 : NGX_ERROR;
    json_decref(payload);

    if (rc != NGX_OK) {
        mb_monitor_answer(mr, "Monitoring stopped", "was_running", 1);
    }
}


/*
 * Stopped either way: without an answer the worker's own check ends the
 * stream whose entry is gone (docs/monitor.md, "Viewers").
 */
static void
mb_monitor_stopped(void *data, json_t *reply, ngx_int_t rc)
{
    mb_monitor_req_t  *mr = data;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, mr->req.ctx->request->connection->log,
                      0, "mikrobill: monitor.stop %s: no answer from a "
                      "worker", mr->customer_id);
    }

    (void) reply;
    mb_monitor_answer(mr, "Monitoring stopped", "was_running", 1);
}


/* GET /api/monitor/status */

void
ngx_mikrobill_monitor_status(ngx_mikrobill_ctx_t *ctx)
{
    static const char  *argv[] = { "HGETALL", MB_MONITORS_KEY };

    mb_monitor_req_t  *mr;

    mr = ngx_mikrobill_api_req(ctx, sizeof(mb_monitor_req_t), NULL);
    if (mr == NULL) {
        return;
    }

    if (ngx_mikrobill_redis_request(ctx->request, mb_monitor_listed, mr, 2,
                                    argv, NULL)
        != NGX_OK)
    {
        mb_monitor_redis_down(ctx->request);
    }
}


static void
mb_monitor_listed(void *data, redisReply *reply)
{
    mb_monitor_req_t  *mr = data;

    ngx_http_request_t  *r = mr->req.ctx->request;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        mb_monitor_redis_down(r);
        return;
    }

    ngx_mikrobill_api_send(r, NGX_HTTP_OK,
                           mb_monitor_status_json(mr->req.ctx->mcf, reply));
}


/* the spec's shape, plus "monitors" with what the dashboard shows */
static json_t *
mb_monitor_status_json(ngx_mikrobill_main_conf_t *mcf, redisReply *reply)
{
    size_t         i;
    json_t        *ids, *list, *meta;
    json_int_t     count, max;
    json_error_t   err;
    redisReply    *v;

    ids = json_array();
    list = json_array();

    for (i = 0; ids && list && i + 1 < reply->elements; i += 2) {
        v = reply->element[i + 1];
        if (reply->element[i]->type != REDIS_REPLY_STRING
            || v->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        json_array_append_new(ids, json_stringn(reply->element[i]->str,
                                                reply->element[i]->len));

        meta = json_loadb(v->str, v->len, 0, &err);
        if (json_is_object(meta)) {
            json_object_del(meta, "gen");
            json_array_append(list, meta);
        }

        json_decref(meta);
    }

    count = (json_int_t) (reply->elements / 2);
    max = (json_int_t) mcf->monitor_max;

    return json_pack("{s:s, s:o*, s:I, s:I, s:I, s:o*}",
                     "status", "ok", "active_monitors", ids,
                     "monitor_count", count, "max_concurrent", max,
                     "slots_available", count < max ? max - count : 0,
                     "monitors", list);
}


static void
mb_monitor_redis_down(ngx_http_request_t *r)
{
    ngx_mikrobill_respond_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "service_unavailable",
                                NGX_MIKROBILL_REDIS_MSG);
}
