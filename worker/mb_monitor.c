/*
 * monitor-traffic streams of one router.  A stream is persistent: the
 * client issues it again after a reconnect, so a router that restarts
 * resumes sending samples without anything done here.
 */

#include "mb_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_log.h"
#include "mb_redis.h"
#include "mb_valid.h"


#define MB_MONITOR_REDIS_MS  5000


struct mb_monitor_s {
    mb_router_t    *r;
    char           *iface;
    mb_ros_cmd_t   *cmd;
    mb_job_t       *job;            /* monitor.start awaiting a sample */
    mb_monitor_t   *next;
};


static mb_monitor_t *
mb_monitor_find(mb_router_t *r, const char *iface)
{
    mb_monitor_t  *m;

    for (m = r->monitors; m != NULL; m = m->next) {
        if (strcmp(m->iface, iface) == 0) {
            return m;
        }
    }

    return NULL;
}


static void
mb_monitor_unlink(mb_monitor_t *m)
{
    mb_monitor_t  **pp;

    for (pp = &m->r->monitors; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
}


/* the job is freed unanswered (shutdown): stop pointing at it */
static void
mb_monitor_job_gone(mb_job_t *job)
{
    mb_monitor_t  *m = job->ctx;

    m->job = NULL;
}


static mb_job_t *
mb_monitor_take_job(mb_monitor_t *m)
{
    mb_job_t  *job = m->job;

    if (job != NULL) {
        job->cleanup = NULL;
        m->job = NULL;
    }

    return job;
}


static void
mb_monitor_free(mb_monitor_t *m, const char *error, const char *message)
{
    mb_job_t  *job = mb_monitor_take_job(m);

    if (job != NULL) {
        mb_job_fail(job, error, "%s", message);
    }

    mb_monitor_unlink(m);
    free(m->iface);
    free(m);
}


static void
mb_monitor_set(mb_router_t *r, const char *op, const char *iface)
{
    mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL, "%s %s %s",
                     op, r->monitor_key, iface);
}


static const char *
mb_monitor_num(const mb_ros_sentence_t *s, const char *name)
{
    const char  *v = mb_ros_attr(s, name);

    return v != NULL && *v != '\0' ? v : "0";
}


static void
mb_monitor_sample(mb_monitor_t *m, const mb_ros_sentence_t *s)
{
    mb_router_t      *r = m->r;
    struct timespec   ts;
    char              now[24], *text;
    json_t           *j;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now, sizeof(now), "%lld",
             (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);

    mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL,
        "XADD " MB_MONITOR_STREAM " MAXLEN ~ " MB_MONITOR_MAXLEN " *"
        " router_id %s interface %s rx_bps %s tx_bps %s rx_pps %s"
        " tx_pps %s time %s", r->conf.id, m->iface,
        mb_monitor_num(s, "rx-bits-per-second"),
        mb_monitor_num(s, "tx-bits-per-second"),
        mb_monitor_num(s, "rx-packets-per-second"),
        mb_monitor_num(s, "tx-packets-per-second"), now);

    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                  "router_id", r->conf.id, "interface", m->iface,
                  "rx_bps", mb_monitor_num(s, "rx-bits-per-second"),
                  "tx_bps", mb_monitor_num(s, "tx-bits-per-second"),
                  "rx_pps", mb_monitor_num(s, "rx-packets-per-second"),
                  "tx_pps", mb_monitor_num(s, "tx-packets-per-second"),
                  "time", now);
    text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);

    if (text != NULL) {
        mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, NULL, NULL,
                         "PUBLISH " MB_MONITOR_CHANNEL " %s", text);
        free(text);
    }
}


static void
mb_monitor_first(mb_monitor_t *m)
{
    mb_job_t  *job = mb_monitor_take_job(m);
    json_t    *reply;

    if (job != NULL) {
        reply = mb_job_ok(job);
        json_object_set_new(reply, "interface", json_string(m->iface));
        json_object_set_new(reply, "started", json_true());
        mb_job_reply(job, reply);
    }
}


/* a final event: the stream is over */
static void
mb_monitor_ended(mb_monitor_t *m, const mb_ros_event_t *ev)
{
    mb_router_t  *r = m->r;
    const char   *msg = ev->message ? ev->message : "";

    if (ev->type == MB_ROS_EV_TRAP) {
        /* the interface is gone or never was: stop asking for it */
        mb_log_warn("router %s: monitor %s: %s", r->conf.name, m->iface,
                    msg);
        mb_monitor_set(r, "SREM", m->iface);
        mb_monitor_free(m, "trap", msg);

    } else {
        mb_log_warn("router %s: monitor %s ended: %s", r->conf.name,
                    m->iface, ev->type == MB_ROS_EV_ERROR
                              ? mb_router_err_code(ev->err) : "done");
        mb_monitor_free(m, ev->type == MB_ROS_EV_ERROR
                           ? mb_router_err_code(ev->err) : "ended",
                        ev->type == MB_ROS_EV_ERROR ? msg
                                                    : "the stream ended");
    }
}


static void
mb_monitor_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    mb_monitor_t  *m = data;

    (void) cmd;

    switch (ev->type) {

    case MB_ROS_EV_RE:
        mb_monitor_first(m);
        mb_monitor_sample(m, ev->s);
        break;

    case MB_ROS_EV_EMPTY:
        break;

    case MB_ROS_EV_INTERRUPTED:
        mb_log_debug("router %s: monitor %s interrupted: %s",
                     m->r->conf.name, m->iface,
                     ev->message ? ev->message : "");
        break;

    case MB_ROS_EV_RESUMED:
        mb_log_info("router %s: monitor %s resumed", m->r->conf.name,
                    m->iface);
        break;

    default:
        m->cmd = NULL;
        mb_monitor_ended(m, ev);
        break;
    }
}


static mb_monitor_t *
mb_monitor_new(mb_router_t *r, const char *iface)
{
    static const mb_ros_opts_t  opts = {
        MB_ROS_STREAM | MB_ROS_PERSISTENT, 0
    };

    mb_monitor_t  *m;
    char           word[128];
    const char    *words[3] = { "/interface/monitor-traffic", word, NULL };

    m = calloc(1, sizeof(mb_monitor_t));
    if (m == NULL || (m->iface = strdup(iface)) == NULL) {
        free(m);
        return NULL;
    }

    m->r = r;
    snprintf(word, sizeof(word), "=interface=%s", iface);

    m->cmd = mb_ros_send(r->client, words, &opts, mb_monitor_on_event, m);
    if (m->cmd == NULL) {
        free(m->iface);
        free(m);
        return NULL;
    }

    m->next = r->monitors;
    r->monitors = m;

    return m;
}


void
mb_monitor_start(mb_router_t *r, const char *iface, mb_job_t *job)
{
    mb_monitor_t  *m;
    json_t        *reply;

    if (r->client == NULL) {
        if (job != NULL) {
            mb_job_fail(job, "unavailable", "router %s has no connection",
                        r->conf.name);
        }
        return;
    }

    if (mb_monitor_find(r, iface) != NULL) {
        if (job != NULL) {
            reply = mb_job_ok(job);
            json_object_set_new(reply, "interface", json_string(iface));
            json_object_set_new(reply, "started", json_false());
            mb_job_reply(job, reply);
        }
        return;
    }

    m = mb_monitor_new(r, iface);
    if (m == NULL) {
        if (job != NULL) {
            mb_job_fail(job, "internal", "cannot start the monitor");
        }
        return;
    }

    mb_log_info("router %s: monitor %s started", r->conf.name, iface);

    if (job != NULL) {
        mb_monitor_set(r, "SADD", iface);
        m->job = job;
        job->ctx = m;
        job->cleanup = mb_monitor_job_gone;
    }
}


int
mb_monitor_stop(mb_router_t *r, const char *iface)
{
    mb_monitor_t  *m = mb_monitor_find(r, iface);

    mb_monitor_set(r, "SREM", iface);

    if (m == NULL) {
        return 0;
    }

    if (m->cmd != NULL) {
        mb_ros_cancel(m->cmd);
    }

    mb_log_info("router %s: monitor %s stopped", r->conf.name, iface);
    mb_monitor_free(m, "cancelled", "monitor.stop came first");

    return 1;
}


void
mb_monitor_drop_all(mb_router_t *r)
{
    while (r->monitors != NULL) {
        if (r->monitors->cmd != NULL) {
            mb_ros_cancel(r->monitors->cmd);
        }
        mb_monitor_free(r->monitors, "unavailable",
                        "the router connection was closed");
    }
}


static void
mb_monitor_members(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_router_t  *r = data;
    size_t        i;

    (void) rd;

    if (!r->removed && r->owner && reply != NULL
        && reply->type == REDIS_REPLY_ARRAY)
    {
        for (i = 0; i < reply->elements; i++) {
            if (reply->element[i]->type == REDIS_REPLY_STRING
                && mb_valid_name(reply->element[i]->str, 64))
            {
                mb_monitor_start(r, reply->element[i]->str, NULL);
            }
        }
    }

    mb_router_unref(r);
}


void
mb_monitor_resume(mb_router_t *r)
{
    if (r->client == NULL) {
        return;
    }

    if (mb_redis_command(r->w->ctl, MB_MONITOR_REDIS_MS, mb_monitor_members,
                         r, "SMEMBERS %s", r->monitor_key) == 0)
    {
        mb_router_ref(r);
    }
}
