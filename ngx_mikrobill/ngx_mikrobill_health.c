/*
 * GET /api/health: "SELECT 1" through the pool and PING to Redis, both at
 * once; 200 when both answer, 503 naming what is down.  Nothing is cached:
 * each call probes again, so the answer recovers with the services.
 */


#include "ngx_mikrobill_router.h"
#include "ngx_mikrobill_json.h"
#include "ngx_mikrobill_pg.h"
#include "ngx_mikrobill_redis.h"


typedef struct {
    ngx_mikrobill_ctx_t  *ctx;
    ngx_uint_t            pending;
    unsigned              db_up:1;
    unsigned              redis_up:1;
} ngx_mikrobill_health_t;


static void ngx_mikrobill_health_db(void *data, PGresult *res,
    ngx_int_t rc);
static void ngx_mikrobill_health_redis(void *data, redisReply *reply);
static void ngx_mikrobill_health_done(ngx_mikrobill_health_t *h);
static json_t *ngx_mikrobill_health_time(void);


static const ngx_mikrobill_pg_stmt_t  ngx_mikrobill_health_stmt = {
    "mikrobill_health", "SELECT 1", 0
};


void
ngx_mikrobill_health(ngx_mikrobill_ctx_t *ctx)
{
    ngx_mikrobill_health_t  *h;

    static const char  *ping[] = { "PING" };

    h = ngx_pcalloc(ctx->request->pool, sizeof(ngx_mikrobill_health_t));
    if (h == NULL) {
        ngx_mikrobill_respond_error(ctx->request,
                                    NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    NULL, NULL);
        return;
    }

    h->ctx = ctx;
    h->pending = 2;

    /* neither calls back before returning: both run before any answer */

    if (ngx_mikrobill_pg_exec(ctx->mcf->pg, &ngx_mikrobill_health_stmt,
                              NULL, ngx_mikrobill_health_db, h)
        != NGX_OK)
    {
        h->pending--;
    }

    if (ngx_mikrobill_redis_command(ctx->mcf->redis,
                                    ngx_mikrobill_health_redis, h,
                                    1, ping, NULL)
        != NGX_OK)
    {
        h->pending--;
    }

    if (h->pending == 0) {
        ngx_mikrobill_health_done(h);
    }
}


static void
ngx_mikrobill_health_db(void *data, PGresult *res, ngx_int_t rc)
{
    ngx_mikrobill_health_t  *h = data;

    h->db_up = (rc == NGX_OK && PQresultStatus(res) == PGRES_TUPLES_OK);

    if (--h->pending == 0) {
        ngx_mikrobill_health_done(h);
    }
}


static void
ngx_mikrobill_health_redis(void *data, redisReply *reply)
{
    ngx_mikrobill_health_t  *h = data;

    h->redis_up = (reply != NULL && reply->type == REDIS_REPLY_STATUS);

    if (--h->pending == 0) {
        ngx_mikrobill_health_done(h);
    }
}


static void
ngx_mikrobill_health_done(ngx_mikrobill_health_t *h)
{
    json_t      *json;
    const char  *db, *redis, *message;

    db = h->db_up ? "up" : "down";
    redis = h->redis_up ? "up" : "down";

    if (h->db_up && h->redis_up) {
        json = json_pack("{s:s, s:s, s:s, s:s, s:o}",
                         "status", "ok", "db", db, "redis", redis,
                         "version", NGX_MIKROBILL_VERSION,
                         "time", ngx_mikrobill_health_time());

        ngx_mikrobill_respond(h->ctx->request, NGX_HTTP_OK, json);
        return;
    }

    if (!h->db_up && !h->redis_up) {
        message = "PostgreSQL dan Redis tidak tersedia";

    } else if (!h->db_up) {
        message = "PostgreSQL tidak tersedia";

    } else {
        message = "Redis tidak tersedia";
    }

    json = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s}",
                     "status", "error", "db", db, "redis", redis,
                     "version", NGX_MIKROBILL_VERSION,
                     "time", ngx_mikrobill_health_time(),
                     "error", "service_unavailable", "message", message);

    ngx_mikrobill_respond(h->ctx->request, NGX_HTTP_SERVICE_UNAVAILABLE,
                          json);
}


/* RFC 3339, UTC, from nginx's cached time */

static json_t *
ngx_mikrobill_health_time(void)
{
    u_char    buf[sizeof("1970-01-01T00:00:00Z")];
    ngx_tm_t  tm;

    ngx_gmtime(ngx_time(), &tm);

    ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02dZ%Z",
                tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    return json_string((char *) buf);
}
