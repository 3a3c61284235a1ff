/*
 * Customer monitors of one router.  The stream is persistent: the client
 * issues it again after a reconnect, so a router that restarts resumes
 * sending samples without anything done here but the events.
 *
 * Lifetime: a monitor is in r->monitors from its start to its end; its
 * idle timer's close callback frees it.  Redis answers never point at a
 * monitor: they carry the router (referenced), the customer id and the
 * gen, and look the run up again, so a run that ended meanwhile is left
 * alone.
 */

#include "mb_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_log.h"
#include "mb_monitor_fmt.h"
#include "mb_redis.h"
#include "mb_valid.h"


#define MB_MONITOR_REDIS_MS  5000


struct mb_monitor_s {
    mb_router_t    *r;
    json_t         *meta;           /* the entry, parsed; who points in */
    char           *value;          /* the entry as stored */
    const char     *gen;
    mb_mon_who_t    who;
    char            iface[80];
    char            channel[96];
    mb_ros_cmd_t   *cmd;
    mb_job_t       *job;            /* monitor.start awaiting a sample */
    uint64_t        seen_ms;        /* uv_now() a viewer was last seen */
    unsigned        started:1;      /* a sample came */
    unsigned        interrupted:1;  /* the connection is down */
    unsigned        resumed:1;      /* from the hash, not monitor.start */
    uv_timer_t      timer;          /* viewers and entry check */
    mb_monitor_t   *next;
};


/* a Redis answer about one run */
typedef struct {
    mb_router_t    *r;
    mb_job_t       *job;            /* monitor.start, NULL when resuming */
    char            customer_id[40];
    char            gen[72];
    long long       viewers;
    int             pending;
    int             failed;
    int             gone;           /* the entry is gone or replaced */
} mb_mon_ask_t;


/*
 * Remove the entry only while it is still this run's: its gen matches (or,
 * for an entry that is not JSON, the stored text is the same).
 */
static const char  mb_mon_cad_lua[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not v then return 0 end "
    "local ok, m = pcall(cjson.decode, v) "
    "if (ok and type(m) == 'table' and m.gen == ARGV[2]) "
    "or v == ARGV[3] then "
    "return redis.call('HDEL', KEYS[1], ARGV[1]) end "
    "return 0";


/* the values removed: every entry whose meta names router ARGV[1] */
static const char  mb_mon_forget_lua[] =
    "local t = redis.call('HGETALL', KEYS[1]) local out = {} "
    "for i = 1, #t, 2 do "
    "local ok, m = pcall(cjson.decode, t[i + 1]) "
    "if ok and type(m) == 'table' and m.router_id == ARGV[1] then "
    "redis.call('HDEL', KEYS[1], t[i]) out[#out + 1] = t[i + 1] end end "
    "return out";


/* ---------------------------------------------------------- the entry */


static void
mb_mon_cad(mb_router_t *r, const char *customer_id, const char *gen,
    const char *value)
{
    mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL,
                     "EVAL %s 1 %s %s %s %s", mb_mon_cad_lua,
                     MB_MONITOR_HASH, customer_id, gen ? gen : "",
                     value ? value : "");
}


static const char *
mb_mon_meta_str(json_t *meta, const char *name)
{
    const char  *v = json_string_value(json_object_get(meta, name));

    return v != NULL ? v : "";
}


/* 1 when meta is customer_id's with a gen and a usable interface (set in
 * iface) */
static int
mb_mon_meta_usable(json_t *meta, const char *customer_id, char *iface,
    size_t len)
{
    const char  *v, *user;

    if (meta == NULL) {
        return 0;
    }

    v = mb_mon_meta_str(meta, "interface");
    user = mb_mon_meta_str(meta, "pppoe_username");

    if (*v != '\0') {
        snprintf(iface, len, "%s", v);
    } else {
        snprintf(iface, len, "<pppoe-%s>", user);
    }

    if (!json_is_object(meta)
        || strcmp(mb_mon_meta_str(meta, "customer_id"), customer_id) != 0
        || !mb_valid_text(mb_mon_meta_str(meta, "gen"), 64)
        || (*v == '\0' && *user == '\0')
        /* "<pppoe-" + a 64-character name + ">" */
        || !mb_valid_name(iface, 72))
    {
        return 0;
    }

    return 1;
}


/* ------------------------------------------------------------ events */


/* who from the meta; interface apart: a run's own, or the meta's */
static void
mb_mon_who_set(mb_mon_who_t *who, json_t *meta, const char *interface)
{
    who->customer_id = mb_mon_meta_str(meta, "customer_id");
    who->customer_name = mb_mon_meta_str(meta, "customer_name");
    who->username = mb_mon_meta_str(meta, "username");
    who->service_type = mb_mon_meta_str(meta, "service_type");
    who->interface = interface;
}


/* text is freed */
static void
mb_mon_publish_to(mb_worker_t *w, const char *channel, char *text)
{
    if (text != NULL) {
        mb_redis_command(w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL,
                         "PUBLISH %s %s", channel, text);
        free(text);
    }
}


static void
mb_mon_publish(mb_monitor_t *m, char *text)
{
    mb_mon_publish_to(m->r->w, m->channel, text);
}


static void
mb_mon_event(mb_monitor_t *m, const char *event, const char *message)
{
    mb_mon_publish(m, mb_mon_event_json(event, &m->who, NULL, message,
                                        time(NULL)));
}


/* monitor_stopped of who on channel: a run's, or a forgotten entry's */
static void
mb_mon_stopped_to(mb_worker_t *w, const char *channel,
    const mb_mon_who_t *who, const char *reason, const char *detail)
{
    char  msg[512];

    mb_mon_stop_message(msg, sizeof(msg), reason, who,
                        w->cfg->monitor_idle_s, detail);
    mb_mon_publish_to(w, channel, mb_mon_event_json("monitor_stopped", who,
                                                    reason, msg,
                                                    time(NULL)));
}


static void
mb_mon_stopped_event(mb_monitor_t *m, const char *reason, const char *detail)
{
    mb_mon_stopped_to(m->r->w, m->channel, &m->who, reason, detail);
}


static void
mb_mon_sample(mb_monitor_t *m, const mb_ros_sentence_t *s)
{
    mb_mon_sample_t   smp;
    const char       *argv[6 + 2 * MB_MON_SAMPLE_NFIELDS] = {
        "XADD", MB_MONITOR_STREAM, "MAXLEN", "~", MB_MONITOR_MAXLEN, "*"
    };

    mb_mon_sample_fill(&smp, mb_ros_attr(s, "rx-bits-per-second"),
                       mb_ros_attr(s, "tx-bits-per-second"), time(NULL));
    mb_mon_sample_fields(&m->who, &smp, argv + 6);

    mb_redis_command_argv(m->r->w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL,
                          6 + 2 * MB_MON_SAMPLE_NFIELDS, argv, NULL);
    mb_mon_publish(m, mb_mon_sample_json(&m->who, &smp));
}


/* ----------------------------------------------------------- lifetime */


static mb_monitor_t *
mb_mon_find(mb_router_t *r, const char *customer_id)
{
    mb_monitor_t  *m;

    for (m = r->monitors; m != NULL; m = m->next) {
        if (strcmp(m->who.customer_id, customer_id) == 0) {
            return m;
        }
    }

    return NULL;
}


static void
mb_mon_unlink(mb_monitor_t *m)
{
    mb_monitor_t  **pp;

    for (pp = &m->r->monitors; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
}


static void
mb_mon_closed(uv_handle_t *h)
{
    mb_monitor_t  *m = h->data;

    json_decref(m->meta);
    free(m->value);
    free(m);
}


/* the job is freed unanswered (shutdown): stop pointing at it */
static void
mb_mon_job_gone(mb_job_t *job)
{
    mb_monitor_t  *m = job->ctx;

    m->job = NULL;
}


static mb_job_t *
mb_mon_take_job(mb_monitor_t *m)
{
    mb_job_t  *job = m->job;

    if (job != NULL) {
        job->cleanup = NULL;
        job->ctx = NULL;
        m->job = NULL;
    }

    return job;
}


/* unlink, cancel the stream, free once the timer is closed */
static void
mb_mon_free(mb_monitor_t *m)
{
    if (m->cmd != NULL) {
        mb_ros_cancel(m->cmd);
        m->cmd = NULL;
    }

    mb_mon_unlink(m);
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *) &m->timer, mb_mon_closed);
}


/*
 * The run is over for good: the waiting monitor.start gets error (and no
 * event is sent for a run nobody saw start), else viewers get
 * monitor_stopped; the entry goes.
 */
static void
mb_mon_end(mb_monitor_t *m, const char *reason, const char *error,
    const char *detail)
{
    mb_job_t  *job = mb_mon_take_job(m);

    mb_log_info("router %s: monitor of %s (%s) ended: %s%s%s",
                m->r->conf.name, m->who.customer_id, m->iface, reason,
                detail ? ": " : "", detail ? detail : "");

    if (job != NULL) {
        mb_job_fail(job, error, "%s", detail ? detail : reason);
    }

    if (job == NULL || m->started) {
        mb_mon_stopped_event(m, reason, detail);
    }

    mb_mon_cad(m->r, m->who.customer_id, m->gen, m->value);
    mb_mon_free(m);
}


/* ------------------------------------------------------------- stream */


static void
mb_mon_first(mb_monitor_t *m)
{
    mb_job_t  *job = mb_mon_take_job(m);
    json_t    *reply;

    m->started = 1;

    if (job != NULL) {
        reply = mb_job_ok(job);
        json_object_set_new(reply, "started", json_true());
        json_object_set_new(reply, "interface", json_string(m->iface));
        mb_job_reply(job, reply);
    }

    if (m->resumed) {
        mb_mon_event(m, "monitor_resumed", MB_MON_MSG_RESUMED);
    } else {
        mb_mon_event(m, "monitor_started", NULL);
    }
}


static void
mb_mon_on_re(mb_monitor_t *m, const mb_ros_sentence_t *s)
{
    if (!m->started) {
        mb_mon_first(m);

    } else if (m->interrupted) {
        mb_log_info("router %s: monitor of %s resumed", m->r->conf.name,
                    m->who.customer_id);
        mb_mon_event(m, "monitor_resumed", MB_MON_MSG_RESUMED);
    }

    m->interrupted = 0;
    mb_mon_sample(m, s);
}


static void
mb_mon_on_interrupted(mb_monitor_t *m, const mb_ros_event_t *ev)
{
    mb_log_debug("router %s: monitor of %s interrupted: %s",
                 m->r->conf.name, m->who.customer_id,
                 ev->message ? ev->message : "");

    if (m->started && !m->interrupted) {
        mb_mon_event(m, "monitor_interrupted", MB_MON_MSG_INTERRUPTED);
    }

    m->interrupted = 1;
}


static void
mb_mon_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    mb_monitor_t  *m = data;

    (void) cmd;

    switch (ev->type) {

    case MB_ROS_EV_RE:
        mb_mon_on_re(m, ev->s);
        return;

    case MB_ROS_EV_EMPTY:
    case MB_ROS_EV_RESUMED:
        /* the first sample after it says monitor_resumed */
        return;

    case MB_ROS_EV_INTERRUPTED:
        mb_mon_on_interrupted(m, ev);
        return;

    case MB_ROS_EV_TRAP:
        /* the interface is gone: the PPPoE session ended (or never was) */
        m->cmd = NULL;
        mb_mon_end(m, "offline", "trap", ev->message ? ev->message
                                                     : "interface not found");
        return;

    case MB_ROS_EV_DONE:
        m->cmd = NULL;
        mb_mon_end(m, "error", "trap", "the router ended the stream");
        return;

    default:
        m->cmd = NULL;
        mb_mon_end(m, "error", mb_router_err_code(ev->err),
                   ev->message ? ev->message : mb_ros_err_name(ev->err));
        return;
    }
}


/* ---------------------------------------------------------- idle check */


static mb_mon_ask_t *
mb_mon_ask_new(mb_router_t *r, const char *customer_id, const char *gen,
    mb_job_t *job)
{
    mb_mon_ask_t  *a = calloc(1, sizeof(mb_mon_ask_t));

    if (a != NULL) {
        a->r = r;
        a->job = job;
        snprintf(a->customer_id, sizeof(a->customer_id), "%s", customer_id);
        snprintf(a->gen, sizeof(a->gen), "%s", gen ? gen : "");
        mb_router_ref(r);
    }

    return a;
}


static void
mb_mon_ask_free(mb_mon_ask_t *a)
{
    mb_router_unref(a->r);
    free(a);
}


static void
mb_mon_checked(mb_mon_ask_t *a)
{
    mb_router_t   *r = a->r;
    mb_monitor_t  *m;
    uint64_t       now = uv_now(r->w->loop);

    m = r->removed || !r->owner ? NULL : mb_mon_find(r, a->customer_id);

    if (m == NULL || strcmp(m->gen, a->gen) != 0 || a->failed) {
        return;
    }

    if (a->gone) {
        /* a monitor.stop that never came here: the entry says it all */
        mb_mon_end(m, "stopped", "not_found", NULL);
        return;
    }

    if (a->viewers > 0) {
        m->seen_ms = now;

    } else if (now - m->seen_ms
               >= (uint64_t) r->w->cfg->monitor_idle_s * 1000)
    {
        mb_mon_end(m, "idle", "not_found", NULL);
    }
}


static void
mb_mon_check_reply(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_mon_ask_t  *a = data;
    json_t        *meta;

    (void) rd;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        a->failed = 1;

    } else if (reply->type == REDIS_REPLY_INTEGER) {
        a->viewers += reply->integer;               /* NUMPAT */

    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
               && reply->element[1]->type == REDIS_REPLY_INTEGER)
    {
        a->viewers += reply->element[1]->integer;   /* NUMSUB */

    } else if (reply->type == REDIS_REPLY_NIL) {
        a->gone = 1;

    } else if (reply->type == REDIS_REPLY_STRING) {
        meta = json_loads(reply->str, 0, NULL);
        a->gone = strcmp(mb_mon_meta_str(meta, "gen"), a->gen) != 0;
        json_decref(meta);
    }

    if (--a->pending == 0) {
        mb_mon_checked(a);
        mb_mon_ask_free(a);
    }
}


static void
mb_mon_check_send(mb_mon_ask_t *a, mb_redis_t *ctl, const char *fmt,
    const char *arg)
{
    if (mb_redis_command(ctl, MB_MONITOR_REDIS_MS, mb_mon_check_reply, a,
                         fmt, arg) == 0)
    {
        a->pending++;
    } else {
        a->failed = 1;
    }
}


/* viewers (PUBSUB NUMSUB + NUMPAT) and the entry, then decide */
static void
mb_mon_on_tick(uv_timer_t *t)
{
    mb_monitor_t  *m = t->data;
    mb_redis_t    *ctl = m->r->w->ctl;
    mb_mon_ask_t  *a;

    a = mb_mon_ask_new(m->r, m->who.customer_id, m->gen, NULL);
    if (a == NULL) {
        return;
    }

    a->pending = 1;                 /* until every command is sent */
    mb_mon_check_send(a, ctl, "PUBSUB NUMSUB %s", m->channel);
    mb_mon_check_send(a, ctl, "PUBSUB NUMPAT", NULL);
    mb_mon_check_send(a, ctl, "HGET " MB_MONITOR_HASH " %s",
                      m->who.customer_id);

    if (--a->pending == 0) {
        mb_mon_ask_free(a);
    }
}


/* ---------------------------------------------------------------- run */


static void
mb_mon_who(mb_monitor_t *m)
{
    mb_mon_who_set(&m->who, m->meta, m->iface);
    m->gen = mb_mon_meta_str(m->meta, "gen");
}


/* the next run of a running customer: its entry is the new truth */
static void
mb_mon_adopt(mb_monitor_t *m, json_t *meta, char *value, const char *iface)
{
    if (strcmp(iface, m->iface) != 0) {
        mb_log_warn("router %s: monitor of %s: interface %s kept, not %s",
                    m->r->conf.name, m->who.customer_id, m->iface, iface);
    }
    json_decref(m->meta);
    free(m->value);
    m->meta = meta;
    m->value = value;
    mb_mon_who(m);
}


static mb_monitor_t *
mb_mon_new(mb_router_t *r, json_t *meta, char *value, const char *iface)
{
    static const mb_ros_opts_t  opts = {
        MB_ROS_STREAM | MB_ROS_PERSISTENT, 0
    };

    mb_monitor_t  *m;
    unsigned       idle = r->w->cfg->monitor_idle_s, every;
    char           word[96];
    const char    *words[3] = { "/interface/monitor-traffic", word, NULL };

    m = calloc(1, sizeof(mb_monitor_t));
    if (m == NULL) {
        return NULL;
    }

    m->r = r;
    m->meta = meta;
    m->value = value;
    snprintf(m->iface, sizeof(m->iface), "%s", iface);
    mb_mon_who(m);
    snprintf(m->channel, sizeof(m->channel), MB_MONITOR_CHANNEL "%s",
             m->who.customer_id);
    snprintf(word, sizeof(word), "=interface=%s", m->iface);

    m->cmd = mb_ros_send(r->client, words, &opts, mb_mon_on_event, m);
    if (m->cmd == NULL) {
        free(m);
        return NULL;
    }

    m->seen_ms = uv_now(r->w->loop);
    every = idle / 5 < 1 ? 1 : idle / 5 > 30 ? 30 : idle / 5;
    uv_timer_init(r->w->loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, mb_mon_on_tick, every * 1000, every * 1000);

    m->next = r->monitors;
    r->monitors = m;

    return m;
}


static int
mb_mon_ready(mb_router_t *r)
{
    return r->owner && !r->removed && r->client != NULL
           && mb_ros_client_state(r->client) == MB_ROS_READY;
}


static void
mb_mon_reply_running(mb_job_t *job, mb_monitor_t *m)
{
    json_t  *reply = mb_job_ok(job);

    json_object_set_new(reply, "started", json_false());
    json_object_set_new(reply, "interface", json_string(m->iface));
    mb_job_reply(job, reply);
}


/*
 * A start whose meta is read: value and meta (value parsed, or NULL to
 * parse it here) are moved in.
 */
static void
mb_mon_run(mb_router_t *r, const char *customer_id, char *value,
    json_t *meta, mb_job_t *job)
{
    mb_monitor_t  *m;
    char           iface[80];

    if (meta == NULL) {
        meta = json_loads(value, 0, NULL);
    }

    if (!mb_mon_meta_usable(meta, customer_id, iface, sizeof(iface))) {
        json_decref(meta);
        if (job != NULL) {
            mb_job_fail(job, "not_found", "the monitor's entry is not "
                        "usable (no gen or interface)");
        }
        mb_mon_cad(r, customer_id, NULL, value);
        free(value);
        return;
    }

    if (!mb_mon_ready(r)) {
        if (job != NULL) {
            mb_job_fail(job, "unavailable", "MikroTik client not connected");
        }
        mb_mon_cad(r, customer_id, mb_mon_meta_str(meta, "gen"), value);
        json_decref(meta);
        free(value);
        return;
    }

    m = mb_mon_find(r, customer_id);
    if (m != NULL) {
        mb_mon_adopt(m, meta, value, iface);
        if (job != NULL) {
            mb_mon_reply_running(job, m);
        }
        return;
    }

    m = mb_mon_new(r, meta, value, iface);
    if (m == NULL) {
        if (job != NULL) {
            mb_job_fail(job, "internal", "cannot start the monitor");
        }
        mb_mon_cad(r, customer_id, mb_mon_meta_str(meta, "gen"), value);
        json_decref(meta);
        free(value);
        return;
    }

    mb_log_info("router %s: monitor of %s (%s) started%s", r->conf.name,
                customer_id, iface, job ? "" : " from the hash");

    m->resumed = job == NULL;
    if (job != NULL) {
        m->job = job;
        job->ctx = m;
        job->cleanup = mb_mon_job_gone;
    }
}


/* ------------------------------------------------------------- start */


static void
mb_mon_ask_job_gone(mb_job_t *job)
{
    mb_mon_ask_t  *a = job->ctx;

    a->job = NULL;
}


static void
mb_mon_got_meta(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_mon_ask_t  *a = data;
    mb_job_t      *job = a->job;
    char          *value;

    (void) rd;

    if (job == NULL) {
        mb_mon_ask_free(a);           /* answered at shutdown already */
        return;
    }

    job->cleanup = NULL;
    job->ctx = NULL;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        mb_job_fail(job, "unavailable", "redis: %s",
                    reply ? reply->str : "connection lost");

    } else if (reply->type != REDIS_REPLY_STRING) {
        mb_job_fail(job, "not_found", "no monitor entry for this customer "
                    "(stopped meanwhile)");

    } else if ((value = strdup(reply->str)) == NULL) {
        mb_job_fail(job, "internal", "out of memory");

    } else {
        mb_mon_run(a->r, a->customer_id, value, NULL, job);
    }

    mb_mon_ask_free(a);
}


void
mb_monitor_start(mb_router_t *r, const char *customer_id, mb_job_t *job)
{
    mb_mon_ask_t  *a = mb_mon_ask_new(r, customer_id, NULL, job);

    if (a == NULL) {
        mb_job_fail(job, "internal", "out of memory");
        return;
    }

    job->ctx = a;
    job->cleanup = mb_mon_ask_job_gone;

    if (mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, mb_mon_got_meta, a,
                         "HGET " MB_MONITOR_HASH " %s", customer_id) != 0)
    {
        job->cleanup = NULL;
        job->ctx = NULL;
        mb_mon_ask_free(a);
        mb_job_fail(job, "unavailable", "redis is not connected");
    }
}


/* -------------------------------------------------------------- stop */


void
mb_monitor_stop(mb_router_t *r, const char *customer_id, const char *gen,
    mb_job_t *job)
{
    mb_monitor_t  *m = mb_mon_find(r, customer_id);
    mb_job_t      *start;
    json_t        *reply;
    int            stopped = 0;

    if (m != NULL && (gen == NULL || strcmp(m->gen, gen) == 0)) {
        start = mb_mon_take_job(m);
        if (start != NULL) {
            mb_job_fail(start, "not_found", "stopped before the first "
                        "sample");
        }
        mb_log_info("router %s: monitor of %s (%s) stopped",
                    r->conf.name, customer_id, m->iface);
        mb_mon_stopped_event(m, "stopped", NULL);
        mb_mon_cad(r, customer_id, m->gen, m->value);
        mb_mon_free(m);
        stopped = 1;
    }

    reply = mb_job_ok(job);
    json_object_set_new(reply, "stopped", json_boolean(stopped));
    mb_job_reply(job, reply);
}


/* --------------------------------------------------- connection state */


void
mb_monitor_drop_all(mb_router_t *r)
{
    mb_monitor_t  *m;
    mb_job_t      *job;

    while ((m = r->monitors) != NULL) {
        job = mb_mon_take_job(m);
        if (job != NULL) {
            mb_job_fail(job, "unavailable", "the router connection was "
                        "closed");
            mb_mon_cad(r, m->who.customer_id, m->gen, m->value);

        } else if (m->started && !m->interrupted) {
            /* the next owner (or this worker again) says resumed */
            mb_mon_event(m, "monitor_interrupted", MB_MON_MSG_INTERRUPTED);
        }
        mb_mon_free(m);
    }
}


static void
mb_mon_entries(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_mon_ask_t  *a = data;
    mb_router_t   *r = a->r;
    redisReply    *f, *v;
    json_t        *meta;
    char          *value;
    size_t         i;

    (void) rd;

    for (i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY
                && i + 1 < reply->elements && mb_mon_ready(r); i += 2)
    {
        f = reply->element[i];
        v = reply->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING
            || mb_mon_find(r, f->str) != NULL)
        {
            continue;
        }

        /* most entries belong to other routers; ours are parsed once */
        meta = json_loads(v->str, 0, NULL);
        if (strcmp(mb_mon_meta_str(meta, "router_id"), r->conf.id) == 0
            && (value = strdup(v->str)) != NULL)
        {
            mb_mon_run(r, f->str, value, meta, NULL);
        } else {
            json_decref(meta);
        }
    }

    mb_mon_ask_free(a);
}


void
mb_monitor_resume(mb_router_t *r)
{
    mb_mon_ask_t  *a;

    if (!mb_mon_ready(r)) {
        return;
    }

    a = mb_mon_ask_new(r, "", NULL, NULL);
    if (a == NULL) {
        return;
    }

    if (mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, mb_mon_entries, a,
                         "HGETALL " MB_MONITOR_HASH) != 0)
    {
        mb_mon_ask_free(a);
    }
}


/* each removed entry: tell its viewers why the monitor is gone */
static void
mb_mon_forgotten(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_worker_t   *w = data;
    size_t         i;
    char           channel[128];
    json_t        *meta;
    mb_mon_who_t   who;

    (void) rd;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        meta = json_loads(reply->element[i]->str, 0, NULL);
        if (meta == NULL) {
            continue;
        }

        mb_mon_who_set(&who, meta, mb_mon_meta_str(meta, "interface"));

        if (mb_valid_text(who.customer_id, 64)) {
            snprintf(channel, sizeof(channel), MB_MONITOR_CHANNEL "%s",
                     who.customer_id);
            mb_mon_stopped_to(w, channel, &who, "error", "router tidak lagi "
                              "terdaftar atau dinonaktifkan");
        }

        json_decref(meta);
    }
}


void
mb_monitor_forget(mb_router_t *r)
{
    mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, mb_mon_forgotten, r->w,
                     "EVAL %s 1 %s %s", mb_mon_forget_lua, MB_MONITOR_HASH,
                     r->conf.id);
}
