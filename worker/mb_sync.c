/*
 * The sync's schedule and its fetch.  One mb_sync_t per owned router; it
 * holds a ref on the router and is itself kept alive by refs until its
 * timer is closed and every database or Redis callback is in, so a router
 * lost mid-run never leaves a callback with freed memory.  Both prints
 * are sent at once (tagged, on the one managed connection).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_log.h"
#include "mb_sync_int.h"


static const char *const  mb_sync_ppp_words[] = {
    "/ppp/active/print", "=.proplist=name,address,uptime,caller-id,service",
    NULL
};

static const char *const  mb_sync_hotspot_words[] = {
    "/ip/hotspot/active/print", "=.proplist=user,address,uptime,mac-address",
    NULL
};


static void mb_sync_run(mb_sync_t *s);


/* ---------------------------------------------------------- lifetime */


void
mb_sync_ref(mb_sync_t *s)
{
    s->refs++;
}


void
mb_sync_unref(mb_sync_t *s)
{
    if (--s->refs > 0) {
        return;
    }

    mb_sync_list_free(&s->list);
    mb_router_unref(s->r);
    free(s);
}


static void
mb_sync_timer_closed(uv_handle_t *h)
{
    mb_sync_unref(h->data);
}


static void
mb_sync_on_timer(uv_timer_t *t)
{
    mb_sync_t  *s = t->data;

    if (s->running) {
        return;                     /* a slow run: skip this tick */
    }

    s->manual = 0;
    mb_sync_run(s);
}


void
mb_sync_start(mb_router_t *r)
{
    mb_sync_t  *s;
    uint64_t    period;

    if (r->sync != NULL) {
        return;
    }

    s = calloc(1, sizeof(mb_sync_t));
    if (s == NULL) {
        mb_log_error("router %s: no memory for its sync", r->conf.name);
        return;
    }

    s->r = r;
    mb_router_ref(r);
    s->refs = 2;                    /* the router's link and the timer */
    r->sync = s;

    period = (uint64_t) r->w->cfg->sync_interval_s * 1000;
    uv_timer_init(r->w->loop, &s->timer);
    s->timer.data = s;
    /* at once: the statuses are right from the moment we own the router */
    uv_timer_start(&s->timer, mb_sync_on_timer, 0, period);
}


static void
mb_sync_cancel_fetch(mb_sync_t *s)
{
    if (s->ppp != NULL) {
        mb_ros_cancel(s->ppp);
        s->ppp = NULL;
    }
    if (s->hotspot != NULL) {
        mb_ros_cancel(s->hotspot);
        s->hotspot = NULL;
    }
}


void
mb_sync_stop(mb_router_t *r)
{
    mb_sync_t  *s = r->sync;

    if (s == NULL) {
        return;
    }

    r->sync = NULL;
    s->stopped = 1;

    /* an abandoned fetch writes nothing: the next owner syncs at once */
    if (s->ppp != NULL || s->hotspot != NULL) {
        mb_sync_cancel_fetch(s);
        s->running = 0;
    }

    uv_close((uv_handle_t *) &s->timer, mb_sync_timer_closed);
    mb_sync_unref(s);
}


int
mb_sync_now(mb_router_t *r)
{
    mb_sync_t  *s = r->sync;

    if (s == NULL || s->stopped) {
        return -1;
    }

    if (s->running) {
        s->again = 1;
        return 0;
    }

    s->manual = 1;
    mb_sync_run(s);
    return 0;
}


void
mb_sync_done(mb_sync_t *s)
{
    s->running = 0;

    if (s->again && !s->stopped) {
        s->again = 0;
        s->manual = 1;
        mb_sync_run(s);
    }
}


/* ------------------------------------------------------------- fetch */


static void
mb_sync_fail(mb_sync_t *s, mb_ros_err_e err, const char *message)
{
    if (s->error[0] != '\0') {
        return;                     /* the first failure is the reason */
    }

    snprintf(s->error, sizeof(s->error), "%s: %s", mb_ros_err_name(err),
             message && message[0] ? message : "no details");
}


static void
mb_sync_fetched(mb_sync_t *s)
{
    if (s->ppp != NULL || s->hotspot != NULL) {
        return;                     /* the other print is still running */
    }

    s->t_fetched = uv_hrtime();

    if (s->error[0] != '\0') {
        mb_sync_apply_failed(s);
        return;
    }

    if (mb_sync_list_close(&s->list) != 0) {
        snprintf(s->error, sizeof(s->error), "nomem: out of memory");
        mb_sync_apply_failed(s);
        return;
    }

    mb_sync_apply(s);
}


static void
mb_sync_item(mb_sync_t *s, int ppp, const mb_ros_sentence_t *st)
{
    if (ppp) {
        mb_sync_list_add(&s->list, "pppoe", mb_ros_attr(st, "name"),
                          mb_ros_attr(st, "address"),
                          mb_ros_attr(st, "uptime"),
                          mb_ros_attr(st, "caller-id"), s->wall0);
    } else {
        mb_sync_list_add(&s->list, "hotspot", mb_ros_attr(st, "user"),
                          mb_ros_attr(st, "address"),
                          mb_ros_attr(st, "uptime"),
                          mb_ros_attr(st, "mac-address"), s->wall0);
    }
    s->nsessions++;
}


static void
mb_sync_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    mb_sync_t  *s = data;
    int         ppp = (cmd == s->ppp);

    switch (ev->type) {

    case MB_ROS_EV_RE:
        mb_sync_item(s, ppp, ev->s);
        return;

    case MB_ROS_EV_EMPTY:
        return;

    case MB_ROS_EV_DONE:
        break;

    case MB_ROS_EV_TRAP:
        /* a router without the hotspot package has no such menu: no
         * hotspot sessions, not a failed sync */
        if (ppp) {
            mb_sync_fail(s, MB_ROS_E_PROTOCOL, ev->message);
        } else {
            mb_log_debug("router %s: hotspot print: %s", s->r->conf.name,
                         ev->message ? ev->message : "");
        }
        break;

    default:
        mb_sync_fail(s, ev->err, ev->message);
        break;
    }

    if (ppp) {
        s->ppp = NULL;
    } else {
        s->hotspot = NULL;
    }

    /* one print failed: the other's answer does not matter any more */
    if (s->error[0] != '\0') {
        mb_sync_cancel_fetch(s);
    }

    mb_sync_fetched(s);
}


static void
mb_sync_run(mb_sync_t *s)
{
    mb_ros_opts_t     opts = { 0, s->r->w->cfg->sync_timeout_ms };
    mb_ros_client_t  *c = s->r->client;

    s->running = 1;
    s->nsessions = 0;
    s->error[0] = '\0';
    s->t0 = uv_hrtime();
    s->wall0 = (long long) time(NULL);
    mb_time_rfc3339(s->started, sizeof(s->started));
    mb_sync_list_open(&s->list);

    if (c == NULL) {
        s->t_fetched = s->t0;
        snprintf(s->error, sizeof(s->error), "unavailable: the router has "
                 "no connection (see the worker log)");
        mb_sync_apply_failed(s);
        return;
    }

    s->ppp = mb_ros_send(c, mb_sync_ppp_words, &opts, mb_sync_on_event, s);
    s->hotspot = mb_ros_send(c, mb_sync_hotspot_words, &opts,
                             mb_sync_on_event, s);

    if (s->ppp == NULL || s->hotspot == NULL) {
        mb_sync_cancel_fetch(s);
        s->t_fetched = s->t0;
        snprintf(s->error, sizeof(s->error), "nomem: cannot send the "
                 "prints");
        mb_sync_apply_failed(s);
    }
}
