/*
 * Router connection managers.  A router is tied to Redis callbacks by
 * refs, so that a row removed while a lease command is in flight is freed
 * only when the last answer is in.  The client exists only while this
 * worker owns the lease; the password is opened right before the client
 * is made (which keeps its own copy to log in again after reconnects)
 * and wiped here at once.
 */

#include "mb_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mb_lease.h"
#include "mb_log.h"
#include "mb_monitor.h"
#include "mb_redis.h"
#include "mb_registry.h"
#include "mb_sync.h"
#include "ngx_mikrobill_secret.h"


#define MB_ROUTER_CMD_MS  5000


static void mb_router_on_tick(uv_timer_t *t);


static char *
mb_router_key(const char *id, const char *suffix)
{
    char  buf[256];

    snprintf(buf, sizeof(buf), "mikrobill:router:%s:%s", id, suffix);
    return strdup(buf);
}


mb_router_t *
mb_router_create(mb_registry_t *reg, mb_router_conf_t *conf)
{
    mb_router_t  *r;
    unsigned      period;

    r = calloc(1, sizeof(mb_router_t));
    if (r == NULL) {
        return NULL;
    }

    r->reg = reg;
    r->w = mb_registry_worker(reg);
    r->conf = *conf;
    memset(conf, 0, sizeof(*conf));
    r->lease_key = mb_router_key(r->conf.id, "owner");
    r->stream = mb_router_key(r->conf.id, "commands");

    if (r->lease_key == NULL || r->stream == NULL) {
        free(r->lease_key);
        free(r->stream);
        mb_router_conf_free(&r->conf);
        free(r);
        return NULL;
    }

    r->refs = 1;                          /* the registry's */
    period = r->w->cfg->router_lease_ms / 3;
    uv_timer_init(r->w->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, mb_router_on_tick, 0, period);

    mb_log_info("router %s (%s): %s:%u%s", r->conf.name, r->conf.id,
                r->conf.host, r->conf.port, r->conf.tls ? " tls" : "");

    return r;
}


static void
mb_router_on_tick(uv_timer_t *t)
{
    mb_lease_tick(t->data);
}


void
mb_router_ref(mb_router_t *r)
{
    r->refs++;
}


static void
mb_router_closed(uv_handle_t *h)
{
    mb_router_t  *r = h->data;

    free(r->lease_key);
    free(r->stream);
    mb_router_conf_free(&r->conf);
    free(r);
}


void
mb_router_unref(mb_router_t *r)
{
    if (--r->refs == 0) {
        uv_close((uv_handle_t *) &r->timer, mb_router_closed);
    }
}


/* the client logs logins and losses itself; keep the trace for debug */
static void
mb_router_on_state(mb_ros_client_t *c, mb_ros_state_e state,
    mb_ros_err_e err, const char *reason, void *data)
{
    mb_router_t  *r = data;
    char          why[300];

    (void) c;

    snprintf(why, sizeof(why), "%s: %s", mb_ros_err_name(err),
             reason ? reason : "no details");
    mb_sync_conn_state(r, state == MB_ROS_READY, why);

    /* logged in (lease taken, settings changed, reconnect): the monitors
     * of the hash that are not running here start, and the router may be
     * another one, or upgraded, since the last login */
    if (state == MB_ROS_READY) {
        mb_monitor_resume(r);
        mb_router_info_read(r);
    }

    mb_log_debug("router %s: %s%s%s", r->conf.name,
                 state == MB_ROS_READY ? "ready" : mb_router_err_code(err),
                 reason ? ": " : "", reason ? reason : "");
}


static void
mb_router_connect(mb_router_t *r)
{
    mb_ros_client_conf_t   cc;
    const unsigned char   *key;
    const char            *why = NULL;
    char                   pw[NGX_MIKROBILL_SECRET_MAX + 1], err[256];

    key = mb_registry_key(r->reg, &why);

    if (mb_router_client_conf(&r->conf, key, pw, sizeof(pw), &cc, err,
                              sizeof(err)) != 0)
    {
        mb_log_error("router %s: %s%s%s", r->conf.name, err,
                     why ? ": " : "", why ? why : "");
        return;
    }

    r->client = mb_ros_client_create(r->w->loop, &cc, mb_router_on_state, r);
    OPENSSL_cleanse(pw, sizeof(pw));

    if (r->client == NULL) {
        mb_log_error("router %s: cannot create its client", r->conf.name);
    }
}


static void
mb_router_disconnect(mb_router_t *r)
{
    mb_ros_client_t  *c = r->client;

    if (c == NULL) {
        return;
    }

    /* pending commands fail with "closed" from inside the close */
    mb_monitor_drop_all(r);
    r->client = NULL;
    mb_ros_client_close(c);
}


static void
mb_router_claimed(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_router_t  *r = data;

    (void) rd;

    /* [next-cursor, [entries], [deleted ids]] */
    if (!r->removed && r->owner && reply != NULL
        && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2)
    {
        mb_registry_dispatch(r->reg, r->stream, reply->element[1]);
    }

    mb_router_unref(r);
}


/* a previous owner's unacknowledged commands are ours now */
static void
mb_router_claim(mb_router_t *r)
{
    mb_worker_t  *w = r->w;

    if (mb_redis_command(w->ctl, MB_ROUTER_CMD_MS, mb_router_claimed, r,
                         "XAUTOCLAIM %s %s %s 0 0-0 COUNT 100", r->stream,
                         w->cfg->group, w->cfg->consumer_name) == 0)
    {
        mb_router_ref(r);
    }
}


static void
mb_router_group_done(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_router_t  *r = data;

    (void) rd;

    if (!r->removed && r->owner && reply != NULL
        && (reply->type != REDIS_REPLY_ERROR
            || strncmp(reply->str, "BUSYGROUP", 9) == 0))
    {
        r->group_ready = 1;
        mb_router_claim(r);
        mb_registry_streams_changed(r->reg);

    } else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        mb_log_error("router %s: XGROUP CREATE %s: %s", r->conf.name,
                     r->stream, reply->str);
    }

    mb_router_unref(r);
}


void
mb_router_ensure_group(mb_router_t *r)
{
    mb_worker_t  *w = r->w;

    if (mb_redis_command(w->ctl, MB_ROUTER_CMD_MS, mb_router_group_done, r,
                         "XGROUP CREATE %s %s 0 MKSTREAM", r->stream,
                         w->cfg->group) == 0)
    {
        mb_router_ref(r);
    }
}


void
mb_router_owned(mb_router_t *r)
{
    mb_router_connect(r);
    mb_router_ensure_group(r);
    mb_sync_start(r);
}


void
mb_router_lost(mb_router_t *r, const char *why)
{
    if (!r->owner) {
        return;
    }

    mb_log_warn("router %s (%s): %s; disconnecting", r->conf.name,
                r->conf.id, why);
    r->owner = 0;
    r->group_ready = 0;
    mb_sync_stop(r);
    mb_router_disconnect(r);
    mb_registry_streams_changed(r->reg);
}


void
mb_router_update(mb_router_t *r, mb_router_conf_t *conf)
{
    mb_log_info("router %s (%s): settings changed", conf->name, conf->id);

    mb_router_conf_free(&r->conf);
    r->conf = *conf;
    memset(conf, 0, sizeof(*conf));

    if (r->owner) {
        mb_sync_stop(r);
        mb_router_disconnect(r);
        mb_router_connect(r);
        mb_sync_start(r);
    }
}


void
mb_router_remove(mb_router_t *r)
{
    mb_log_info("router %s (%s): removed from this worker", r->conf.name,
                r->conf.id);

    uv_timer_stop(&r->timer);
    r->group_ready = 0;
    mb_sync_stop(r);
    mb_router_disconnect(r);
    mb_lease_release(r);
    r->removed = 1;
    mb_router_unref(r);
}
