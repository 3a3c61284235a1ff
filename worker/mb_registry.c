/*
 * Router registry.  A reload reads every enabled row and reconciles:
 * new rows get a router, changed rows are updated in place (the lease is
 * kept), rows gone or disabled are removed (the lease is released).
 * NOTIFY is the fast path; the periodic reload covers notifications lost
 * while the database connection was down, and rows changed by hand with
 * triggers disabled.
 */

#include "mb_registry.h"
#include "mb_monitor.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mb_job.h"
#include "mb_log.h"
#include "mb_pg.h"
#include "mb_redis.h"
#include "ngx_mikrobill_secret.h"


#define MB_REGISTRY_CHANNEL     "mikrobill_routers"
#define MB_REGISTRY_QUERY_MS    5000
#define MB_REGISTRY_DEBOUNCE_MS 50
#define MB_REGISTRY_BLOCK_MS    1000
#define MB_REGISTRY_RETRY_MS    1000
#define MB_REGISTRY_MAX_STREAMS 4096


struct mb_registry_s {
    mb_worker_t     *w;
    mb_router_t     *routers;
    unsigned char    key[NGX_MIKROBILL_SECRET_KEY_LEN];
    int              have_key;
    char             key_err[512];
    int              loading;
    int              reload_again;
    int              reading;
    int              stopped;
    unsigned         releasing;
    unsigned         nclosing;
    mb_redis_t      *reader;          /* blocking reads of router streams */
    uv_timer_t       reload_timer;    /* every router_reload_s */
    uv_timer_t       soon_timer;      /* NOTIFY debounce, read retries */
};


static void mb_registry_reload(mb_registry_t *reg);
static void mb_registry_read(mb_registry_t *reg);
static void mb_registry_reader_up(mb_redis_t *r, void *data);


static void
mb_registry_load_key(mb_registry_t *reg)
{
    const char  *path = reg->w->cfg->secret_key_file;

    if (path == NULL) {
        snprintf(reg->key_err, sizeof(reg->key_err),
                 "secret_key_file is not set in the configuration");
        return;
    }

    reg->have_key = ngx_mikrobill_secret_key_load(path, reg->key,
                        reg->key_err, sizeof(reg->key_err)) == 0;
    if (!reg->have_key) {
        mb_log_error("%s: routers cannot be connected", reg->key_err);
    }
}


mb_registry_t *
mb_registry_create(mb_worker_t *w)
{
    mb_registry_t  *reg;

    reg = calloc(1, sizeof(mb_registry_t));
    if (reg == NULL) {
        return NULL;
    }

    reg->w = w;
    reg->reader = mb_redis_create(w->loop, w->cfg, "routers",
                                  mb_registry_reader_up, NULL, reg);
    if (reg->reader == NULL) {
        free(reg);
        return NULL;
    }

    mb_registry_load_key(reg);
    uv_timer_init(w->loop, &reg->reload_timer);
    uv_timer_init(w->loop, &reg->soon_timer);
    reg->reload_timer.data = reg;
    reg->soon_timer.data = reg;

    return reg;
}


mb_worker_t *
mb_registry_worker(mb_registry_t *reg)
{
    return reg->w;
}


const unsigned char *
mb_registry_key(mb_registry_t *reg, const char **err)
{
    if (!reg->have_key) {
        *err = reg->key_err;
        return NULL;
    }

    *err = NULL;
    return reg->key;
}


mb_router_t *
mb_registry_routers(mb_registry_t *reg)
{
    return reg->routers;
}


mb_router_t *
mb_registry_find(mb_registry_t *reg, const char *id)
{
    mb_router_t  *r;

    for (r = reg->routers; r != NULL; r = r->next) {
        if (strcasecmp(r->conf.id, id) == 0) {
            return r;
        }
    }

    return NULL;
}


/* ------------------------------------------------------------- reload */


static char *
mb_registry_col(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}


static int
mb_registry_row(PGresult *res, int i, mb_router_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->id = mb_registry_col(res, i, 0);
    c->name = mb_registry_col(res, i, 1);
    c->host = mb_registry_col(res, i, 2);
    c->port = (unsigned) atoi(PQgetvalue(res, i, 3));
    c->username = mb_registry_col(res, i, 4);
    c->password_enc = mb_registry_col(res, i, 5);
    c->tls = PQgetvalue(res, i, 6)[0] == 't';
    c->tls_verify = PQgetvalue(res, i, 7)[0] == 't';
    c->tls_ca_file = mb_registry_col(res, i, 8);
    c->tls_anon_dh = PQgetvalue(res, i, 9)[0] == 't';
    c->updated_at = mb_registry_col(res, i, 10);

    if (c->id == NULL || c->name == NULL || c->host == NULL
        || c->username == NULL || c->password_enc == NULL
        || c->updated_at == NULL)
    {
        mb_router_conf_free(c);
        return -1;
    }

    return 0;
}


static void
mb_registry_apply_row(mb_registry_t *reg, mb_router_conf_t *c)
{
    mb_router_t  *r = mb_registry_find(reg, c->id);

    if (r != NULL) {
        if (mb_router_conf_differs(&r->conf, c)) {
            mb_router_update(r, c);
        }
        r->seen = 1;
        mb_router_conf_free(c);
        return;
    }

    r = mb_router_create(reg, c);
    if (r == NULL) {
        mb_log_error("router %s: out of memory", c->id);
        mb_router_conf_free(c);
        return;
    }

    r->seen = 1;
    r->next = reg->routers;
    reg->routers = r;
}


static void
mb_registry_sweep(mb_registry_t *reg)
{
    mb_router_t  **pp = &reg->routers, *r;

    while ((r = *pp) != NULL) {
        if (r->seen) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        mb_monitor_forget(r);
        mb_router_remove(r);
    }

    mb_registry_streams_changed(reg);
}


static void
mb_registry_loaded(PGresult *res, const char *err, void *data)
{
    mb_registry_t     *reg = data;
    mb_router_conf_t   c;
    mb_router_t       *r;
    int                i;

    reg->loading = 0;

    if (reg->stopped) {
        return;
    }

    if (err != NULL) {
        /* keep what we have: a database hiccup must not drop routers */
        mb_log_warn("routers: reload failed: %s", err);
        return;
    }

    for (r = reg->routers; r != NULL; r = r->next) {
        r->seen = 0;
    }

    for (i = 0; i < PQntuples(res); i++) {
        if (mb_registry_row(res, i, &c) == 0) {
            mb_registry_apply_row(reg, &c);
        }
    }

    mb_registry_sweep(reg);
    mb_log_debug("routers: %d enabled", PQntuples(res));

    if (reg->reload_again) {
        reg->reload_again = 0;
        mb_registry_reload(reg);
    }
}


static void
mb_registry_reload(mb_registry_t *reg)
{
    if (reg->stopped) {
        return;
    }

    if (reg->loading) {
        reg->reload_again = 1;
        return;
    }

    reg->loading = mb_pg_query(reg->w->pg,
        "SELECT id, name, host, port, username, password_enc, tls,"
        " tls_verify, tls_ca_file, tls_allow_anon_dh, updated_at"
        " FROM routers WHERE enabled ORDER BY id",
        MB_REGISTRY_QUERY_MS, mb_registry_loaded, reg) == 0;
}


static void
mb_registry_on_soon(uv_timer_t *t)
{
    mb_registry_t  *reg = t->data;

    mb_registry_reload(reg);
    mb_registry_read(reg);
}


void
mb_registry_reload_soon(mb_registry_t *reg)
{
    if (!reg->stopped) {
        uv_timer_start(&reg->soon_timer, mb_registry_on_soon,
                       MB_REGISTRY_DEBOUNCE_MS, 0);
    }
}


static void
mb_registry_on_reload(uv_timer_t *t)
{
    mb_registry_reload(t->data);
}


static void
mb_registry_listened(PGresult *res, const char *err, void *data)
{
    (void) res;
    (void) data;

    if (err != NULL) {
        mb_log_warn("LISTEN " MB_REGISTRY_CHANNEL ": %s", err);
    }
}


/* every (re)connect: notifications sent while down are lost, so re-read */
static void
mb_registry_pg_ready(mb_pg_t *pg, void *data)
{
    mb_registry_t  *reg = data;

    mb_pg_query(pg, "LISTEN " MB_REGISTRY_CHANNEL, MB_REGISTRY_QUERY_MS,
                mb_registry_listened, reg);
    mb_registry_reload(reg);
}


static void
mb_registry_notify(const char *channel, const char *payload, void *data)
{
    mb_registry_t  *reg = data;

    if (strcmp(channel, MB_REGISTRY_CHANNEL) == 0) {
        mb_log_debug("routers: changed (%s)", payload);
        /* a burst of row changes becomes one reload */
        mb_registry_reload_soon(reg);
    }
}


void
mb_registry_start(mb_registry_t *reg)
{
    unsigned  period = reg->w->cfg->router_reload_s * 1000;

    mb_pg_listen(reg->w->pg, mb_registry_pg_ready, mb_registry_notify, reg);
    uv_timer_start(&reg->reload_timer, mb_registry_on_reload, period,
                   period);
    mb_redis_start(reg->reader);
}


/* ------------------------------------------------------- router streams */


void
mb_registry_dispatch(mb_registry_t *reg, const char *stream,
    const redisReply *entries)
{
    size_t  i;

    if (reg->stopped || reg->w->stopping
        || entries->type != REDIS_REPLY_ARRAY)
    {
        return;
    }

    for (i = 0; i < entries->elements; i++) {
        mb_job_run_entry(reg->w, stream, entries->element[i]);
    }
}


static void
mb_registry_regroup(mb_registry_t *reg)
{
    mb_router_t  *r;

    for (r = reg->routers; r != NULL; r = r->next) {
        if (r->owner) {
            r->group_ready = 0;
            mb_router_ensure_group(r);
        }
    }
}


static void
mb_registry_read_done(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_registry_t     *reg = data;
    const redisReply  *s;
    size_t             i;

    (void) rd;
    reg->reading = 0;

    if (reply == NULL || reg->stopped) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        mb_log_warn("router streams: %s", reply->str);
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            mb_registry_regroup(reg);
        }
        uv_timer_start(&reg->soon_timer, mb_registry_on_soon,
                       MB_REGISTRY_RETRY_MS, 0);
        return;
    }

    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
    {
        s = reply->element[i];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2
            && s->element[0]->type == REDIS_REPLY_STRING)
        {
            mb_registry_dispatch(reg, s->element[0]->str, s->element[1]);
        }
    }

    mb_registry_read(reg);
}


static size_t
mb_registry_owned(mb_registry_t *reg, const char **names, size_t max)
{
    mb_router_t  *r;
    size_t        n = 0;

    for (r = reg->routers; r != NULL && n < max; r = r->next) {
        if (r->owner && r->group_ready) {
            names[n++] = r->stream;
        }
    }

    return n;
}


/* XREADGROUP GROUP g c BLOCK ms COUNT n STREAMS s1 .. sN > .. > */
static void
mb_registry_read(mb_registry_t *reg)
{
    const mb_config_t  *cfg = reg->w->cfg;
    const char        **argv;
    size_t              n, i;

    if (reg->reading || reg->stopped || !mb_redis_ready(reg->reader)) {
        return;
    }

    argv = malloc((9 + 2 * MB_REGISTRY_MAX_STREAMS) * sizeof(char *));
    if (argv == NULL) {
        return;
    }

    n = mb_registry_owned(reg, argv + 9, MB_REGISTRY_MAX_STREAMS);
    if (n > 0) {
        argv[0] = "XREADGROUP"; argv[1] = "GROUP"; argv[2] = cfg->group;
        argv[3] = cfg->consumer_name; argv[4] = "BLOCK"; argv[5] = "1000";
        argv[6] = "COUNT"; argv[7] = "32"; argv[8] = "STREAMS";
        for (i = 0; i < n; i++) {
            argv[9 + n + i] = ">";
        }
        reg->reading = mb_redis_command_argv(reg->reader,
                           MB_REGISTRY_BLOCK_MS + 5000, mb_registry_read_done,
                           reg, (int) (9 + 2 * n), argv, NULL) == 0;
    }

    free(argv);
}


void
mb_registry_streams_changed(mb_registry_t *reg)
{
    /* a blocked read picks the new set up within MB_REGISTRY_BLOCK_MS */
    mb_registry_read(reg);
}


static void
mb_registry_reader_up(mb_redis_t *r, void *data)
{
    (void) r;
    mb_registry_read(data);
}


/* ------------------------------------------------------------- shutdown */


void
mb_registry_release_begin(mb_registry_t *reg)
{
    reg->releasing++;
}


void
mb_registry_release_end(mb_registry_t *reg)
{
    reg->releasing--;
    mb_worker_job_done(reg->w);
}


int
mb_registry_busy(const mb_registry_t *reg)
{
    return reg->releasing > 0;
}


void
mb_registry_stop(mb_registry_t *reg)
{
    mb_router_t  *r;

    if (reg->stopped) {
        return;
    }

    reg->stopped = 1;
    uv_timer_stop(&reg->reload_timer);
    uv_timer_stop(&reg->soon_timer);
    mb_pg_listen(reg->w->pg, NULL, NULL, NULL);
    mb_redis_close(reg->reader);

    while ((r = reg->routers) != NULL) {
        reg->routers = r->next;
        mb_router_remove(r);
    }
}


static void
mb_registry_closed(uv_handle_t *h)
{
    mb_registry_t  *reg = h->data;

    if (--reg->nclosing == 0) {
        OPENSSL_cleanse(reg->key, sizeof(reg->key));
        free(reg);
    }
}


void
mb_registry_close(mb_registry_t *reg)
{
    mb_registry_stop(reg);
    reg->nclosing = 2;
    uv_close((uv_handle_t *) &reg->reload_timer, mb_registry_closed);
    uv_close((uv_handle_t *) &reg->soon_timer, mb_registry_closed);
}
