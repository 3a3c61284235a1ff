/*
 * The sync's writes: one call of mb_sync_apply() (sql/004_sync.sql) per
 * run, so the customers, router_status and the sync_runs row change in one
 * transaction and one round trip; a failed fetch calls mb_sync_failed(),
 * which touches no customer.  Then the run is logged with its phase times
 * (scripts/bench-sync reads them) and published on MB_SYNC_CHANNEL.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mb_log.h"
#include "mb_pg.h"
#include "mb_redis.h"
#include "mb_sync_int.h"


#define MB_SYNC_DB_MS     30000
#define MB_SYNC_REDIS_MS  5000


static const char  mb_sync_apply_sql[] =
    "SELECT changed, customers_online, active_connections"
    " FROM mb_sync_apply($1, $5, $6, $7, $8, $9, $10, $2, $3, $4,"
    " NULL, NULL)";

static const char  mb_sync_failed_sql[] =
    "SELECT customers_online FROM mb_sync_failed($1, $5, $2, $3, $4)";

static const char  mb_sync_state_sql[] =
    "SELECT mb_sync_conn_state($1, $2, $3, $4)";


static double
mb_sync_ms(uint64_t from, uint64_t to)
{
    return (double) (to - from) / 1e6;
}


static void
mb_sync_publish(mb_sync_t *s, long online, long changed)
{
    mb_router_t  *r = s->r;
    json_t       *ev;
    char         *text, at[40];

    mb_time_rfc3339(at, sizeof(at));
    /* "event" first: WebSocket clients tell it from monitor messages */
    ev = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s}",
                   "event", "sync", "router", r->conf.name,
                   "router_id", r->conf.id,
                   "active_connections", (json_int_t) s->nsessions,
                   "customers_online", (json_int_t) online,
                   "changed", (json_int_t) changed, "at", at,
                   "ok", s->error[0] == '\0',
                   "trigger", s->manual ? "manual" : "schedule");
    if (ev == NULL) {
        return;
    }

    if (s->error[0] != '\0') {
        json_object_set_new(ev, "error", json_string(s->error));
        json_object_set_new(ev, "active_connections", json_integer(0));
    }

    text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);

    if (text != NULL) {
        mb_redis_command(r->w->ctl, MB_SYNC_REDIS_MS, NULL, NULL,
                         "PUBLISH %s %s", MB_SYNC_CHANNEL, text);
        free(text);
    }
}


static long
mb_sync_col(PGresult *res, int col)
{
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, col)) {
        return 0;
    }
    return strtol(PQgetvalue(res, 0, col), NULL, 10);
}


static void
mb_sync_applied(PGresult *res, const char *err, void *data)
{
    mb_sync_t  *s = data;
    uint64_t    now = uv_hrtime();
    long        changed, online;

    if (err != NULL) {
        /* rolled back: nothing changed, the next run tries again */
        mb_log_error("sync %s: apply failed: %s", s->r->conf.name, err);
        mb_sync_done(s);
        mb_sync_unref(s);
        return;
    }

    changed = mb_sync_col(res, 0);
    online = mb_sync_col(res, 1);

    mb_log_info("sync %s: %zu active, %ld online, %ld changed "
                "(%s; fetch %.1f ms, apply %.1f ms, total %.1f ms)",
                s->r->conf.name, s->nsessions, online, changed,
                s->manual ? "manual" : "schedule",
                mb_sync_ms(s->t0, s->t_fetched),
                mb_sync_ms(s->t_fetched, now), mb_sync_ms(s->t0, now));

    mb_sync_publish(s, online, changed);
    mb_sync_done(s);
    mb_sync_unref(s);
}


static void
mb_sync_failed_done(PGresult *res, const char *err, void *data)
{
    mb_sync_t  *s = data;

    if (err != NULL) {
        mb_log_error("sync %s: cannot record the failure: %s",
                     s->r->conf.name, err);
    } else {
        mb_sync_publish(s, mb_sync_col(res, 0), 0);
    }

    mb_sync_done(s);
    mb_sync_unref(s);
}


/* $1 router, $2 trigger, $3 started, $4 interval, then the error ($5)
 * or the session arrays ($5..$10) */
static void
mb_sync_query(mb_sync_t *s, const char *sql, int n, const char *err,
    mb_pg_result_pt cb)
{
    mb_worker_t  *w = s->r->w;
    const char   *params[4 + MB_SYNC_NCOLS];
    char          interval[16];
    int           i;

    snprintf(interval, sizeof(interval), "%u", w->cfg->sync_interval_s);
    params[0] = s->r->conf.id;
    params[1] = s->manual ? "manual" : "schedule";
    params[2] = s->started;
    params[3] = interval;
    params[4] = err;
    for (i = 0; err == NULL && i < MB_SYNC_NCOLS; i++) {
        params[4 + i] = s->list.col[i].data;
    }

    if (mb_pg_query_params(w->pg, sql, n, params, MB_SYNC_DB_MS, cb, s)
        != 0)
    {
        mb_log_error("sync %s: the database is not connected; run lost",
                     s->r->conf.name);
        mb_sync_done(s);
        return;
    }

    mb_sync_ref(s);
}


void
mb_sync_apply(mb_sync_t *s)
{
    mb_sync_query(s, mb_sync_apply_sql, 4 + MB_SYNC_NCOLS, NULL,
                  mb_sync_applied);
}


void
mb_sync_apply_failed(mb_sync_t *s)
{
    mb_log_warn("sync %s: fetch failed after %.1f ms: %s; no customer "
                "changed", s->r->conf.name, mb_sync_ms(s->t0, s->t_fetched),
                s->error);
    mb_sync_query(s, mb_sync_failed_sql, 5, s->error, mb_sync_failed_done);
}


/* ------------------------------------------------- connection state */


static void
mb_sync_state_done(PGresult *res, const char *err, void *data)
{
    (void) res;
    (void) data;

    if (err != NULL) {
        mb_log_warn("router_status: %s", err);
    }
}


void
mb_sync_conn_state(mb_router_t *r, int up, const char *error)
{
    mb_sync_t    *s = r->sync;
    mb_worker_t  *w = r->w;
    const char   *params[4];
    char          interval[16];

    /* reconnect attempts repeat the same failure: write changes only */
    if (s == NULL || (s->conn_known && s->conn_up == up)) {
        return;
    }

    s->conn_known = 1;
    s->conn_up = up;

    snprintf(interval, sizeof(interval), "%u", w->cfg->sync_interval_s);
    params[0] = r->conf.id;
    params[1] = up ? "true" : "false";
    params[2] = up ? NULL : error;
    params[3] = interval;

    mb_pg_query_params(w->pg, mb_sync_state_sql, 4, params, MB_SYNC_DB_MS,
                       mb_sync_state_done, NULL);
}
