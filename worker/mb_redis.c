/*
 * Reconnecting hiredis connection.  One timer per connection serves the
 * state it is in: in DOWN it is the reconnect delay, otherwise a 1 s tick
 * that enforces the connect timeout and the command deadlines.
 *
 * hiredis frees the context itself after a failed connect or a lost
 * connection (after calling our callbacks), so r->ac is cleared in those
 * callbacks and never touched afterwards.
 *
 * A host name is looked up before each attempt (mb_resolve.c; CONNECTING
 * with r->resolving set, under the same connect timeout), because
 * redisAsyncConnect() would resolve it with a blocking getaddrinfo().
 */

#include "mb_redis.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

#include "mb_backoff.h"
#include "mb_log.h"
#include "mb_resolve.h"


#define MB_REDIS_TICK_MS     1000
#define MB_REDIS_CONNECT_MS  5000


typedef enum {
    MB_REDIS_DOWN,
    MB_REDIS_CONNECTING,
    MB_REDIS_READY
} mb_redis_state_e;


typedef struct mb_redis_cmd_s  mb_redis_cmd_t;

struct mb_redis_cmd_s {
    mb_redis_t          *r;
    mb_redis_reply_pt    cb;
    void                *data;
    uint64_t             deadline;
    mb_redis_cmd_t      *prev, *next;
};


struct mb_redis_s {
    uv_loop_t            *loop;
    const mb_config_t    *cfg;
    const char           *name;
    redisAsyncContext    *ac;
    mb_resolve_t         *resolving;         /* host lookup under way */
    int                   resolve_failed;    /* logged: quiet retries */
    mb_redis_state_e      state;
    int                   closing;
    uint64_t              since;             /* connect started */
    mb_backoff_t          backoff;
    uv_timer_t            timer;
    mb_redis_cmd_t       *head, *tail;       /* oldest first */
    mb_redis_event_pt     on_up, on_down;
    void                 *data;
};


static void mb_redis_connect(mb_redis_t *r);
static void mb_redis_connect_to(mb_redis_t *r, const char *addr);
static void mb_redis_tick(uv_timer_t *t);
static void mb_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static int mb_redis_send(mb_redis_t *r, unsigned timeout_ms,
    mb_redis_reply_pt cb, void *data, const char *fmt, ...);


mb_redis_t *
mb_redis_create(uv_loop_t *loop, const mb_config_t *cfg, const char *name,
    mb_redis_event_pt on_up, mb_redis_event_pt on_down, void *data)
{
    mb_redis_t  *r;

    r = calloc(1, sizeof(mb_redis_t));
    if (r == NULL) {
        return NULL;
    }

    r->loop = loop;
    r->cfg = cfg;
    r->name = name;
    r->on_up = on_up;
    r->on_down = on_down;
    r->data = data;
    mb_backoff_init(&r->backoff, 200, 5000);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;

    return r;
}


int
mb_redis_ready(const mb_redis_t *r)
{
    return r->state == MB_REDIS_READY && r->ac != NULL;
}


void
mb_redis_start(mb_redis_t *r)
{
    mb_redis_connect(r);
}


/* the context is gone (freed by hiredis or by us): schedule a reconnect */
static void
mb_redis_lost(mb_redis_t *r)
{
    int       was_ready = r->state == MB_REDIS_READY;
    unsigned  delay;

    r->ac = NULL;
    r->state = MB_REDIS_DOWN;
    uv_timer_stop(&r->timer);

    if (r->closing) {
        return;
    }

    if (was_ready && r->on_down != NULL) {
        r->on_down(r, r->data);
    }

    delay = mb_backoff_next(&r->backoff);
    mb_log_debug("redis %s: reconnect in %u ms", r->name, delay);
    uv_timer_start(&r->timer, mb_redis_tick, delay, 0);
}


/* not from inside a hiredis callback: there redisAsyncDisconnect is used */
static void
mb_redis_drop(mb_redis_t *r)
{
    redisAsyncContext  *ac = r->ac;

    if (r->resolving != NULL) {
        mb_resolve_cancel(r->resolving);
        r->resolving = NULL;
        mb_redis_lost(r);
        return;
    }

    if (ac == NULL) {
        return;
    }

    /* calls pending callbacks and, once connected, mb_redis_on_disconnect */
    redisAsyncFree(ac);

    if (r->ac == ac) {
        mb_redis_lost(r);
    }
}


static void
mb_redis_ready_now(mb_redis_t *r)
{
    r->state = MB_REDIS_READY;
    mb_backoff_reset(&r->backoff);
    mb_log_info("redis connected %s:%u (%s)", r->cfg->redis_host,
                r->cfg->redis_port, r->name);

    if (r->on_up != NULL) {
        r->on_up(r, r->data);
    }
}


static void
mb_redis_auth_done(mb_redis_t *r, redisReply *reply, void *data)
{
    (void) data;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        mb_log_error("redis %s: AUTH failed: %s", r->name, reply->str);
        redisAsyncDisconnect(r->ac);
        return;
    }

    mb_redis_ready_now(r);
}


static void
mb_redis_on_connect(const redisAsyncContext *ac, int status)
{
    mb_redis_t  *r = ac->data;

    if (status != REDIS_OK) {
        mb_log_warn("redis %s: connect to %s:%u failed: %s", r->name,
                    r->cfg->redis_host, r->cfg->redis_port, ac->errstr);
        mb_redis_lost(r);
        return;
    }

    if (r->cfg->redis_password == NULL) {
        mb_redis_ready_now(r);
        return;
    }

    /* still CONNECTING: nothing else may be sent before AUTH */
    if (mb_redis_send(r, MB_REDIS_CONNECT_MS, mb_redis_auth_done, NULL,
                      "AUTH %s", r->cfg->redis_password) != 0)
    {
        redisAsyncDisconnect(r->ac);
    }
}


static void
mb_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    mb_redis_t  *r = ac->data;

    if (!r->closing) {
        mb_log_warn("redis %s: disconnected%s%s", r->name,
                    status == REDIS_OK ? "" : ": ",
                    status == REDIS_OK ? "" : ac->errstr);
    }

    mb_redis_lost(r);
}


/* the first failure of a run is a warning, its repeats are not news */
static void
mb_redis_resolved(const char *addrs, const char *err, void *data)
{
    mb_redis_t  *r = data;

    r->resolving = NULL;

    if (err != NULL) {
        mb_log(r->resolve_failed ? MB_LOG_DEBUG : MB_LOG_WARN,
               "redis %s: %s", r->name, err);
        r->resolve_failed = 1;
        mb_redis_lost(r);
        return;
    }

    r->resolve_failed = 0;
    mb_log_debug("redis %s: %s resolved to %s", r->name, r->cfg->redis_host,
                 addrs);
    mb_redis_connect_to(r, addrs);
}


static void
mb_redis_connect(mb_redis_t *r)
{
    if (!mb_resolve_needed(r->cfg->redis_host)) {
        mb_redis_connect_to(r, r->cfg->redis_host);
        return;
    }

    r->resolving = mb_resolve_start(r->loop, r->cfg->redis_host,
                                    mb_redis_resolved, r);
    if (r->resolving == NULL) {
        mb_log_warn("redis %s: cannot resolve %s: out of memory", r->name,
                    r->cfg->redis_host);
        mb_redis_lost(r);
        return;
    }

    r->state = MB_REDIS_CONNECTING;
    r->since = uv_now(r->loop);
    uv_timer_start(&r->timer, mb_redis_tick, MB_REDIS_TICK_MS,
                   MB_REDIS_TICK_MS);
}


/* addr is numeric: hiredis' own getaddrinfo() does not block on it */
static void
mb_redis_connect_to(mb_redis_t *r, const char *addr)
{
    redisAsyncContext  *ac;

    ac = redisAsyncConnect(addr, (int) r->cfg->redis_port);
    if (ac == NULL || ac->err || redisLibuvAttach(ac, r->loop) != REDIS_OK) {
        mb_log_warn("redis %s: connect to %s:%u failed: %s", r->name,
                    r->cfg->redis_host, r->cfg->redis_port,
                    ac ? ac->errstr : "out of memory");
        if (ac != NULL) {
            redisAsyncFree(ac);
        }
        mb_redis_lost(r);
        return;
    }

    ac->data = r;
    redisAsyncSetConnectCallback(ac, mb_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, mb_redis_on_disconnect);

    r->ac = ac;
    r->state = MB_REDIS_CONNECTING;
    r->since = uv_now(r->loop);
    uv_timer_start(&r->timer, mb_redis_tick, MB_REDIS_TICK_MS,
                   MB_REDIS_TICK_MS);
}


static void
mb_redis_tick(uv_timer_t *t)
{
    mb_redis_t  *r = t->data;
    uint64_t     now = uv_now(r->loop);

    if (r->state == MB_REDIS_DOWN) {
        mb_redis_connect(r);

    } else if (r->state == MB_REDIS_CONNECTING
               && now - r->since > MB_REDIS_CONNECT_MS)
    {
        mb_log_warn("redis %s: connect timed out", r->name);
        mb_redis_drop(r);

    } else if (r->head != NULL && now > r->head->deadline) {
        mb_log_warn("redis %s: no answer in time, reconnecting", r->name);
        mb_redis_drop(r);
    }
}


static void
mb_redis_unlink(mb_redis_t *r, mb_redis_cmd_t *c)
{
    if (c->prev) c->prev->next = c->next; else r->head = c->next;
    if (c->next) c->next->prev = c->prev; else r->tail = c->prev;
}


static void
mb_redis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    mb_redis_cmd_t  *c = privdata;

    (void) ac;

    mb_redis_unlink(c->r, c);
    if (c->cb != NULL) {
        c->cb(c->r, reply, c->data);
    }
    free(c);
}


static mb_redis_cmd_t *
mb_redis_cmd_new(mb_redis_t *r, unsigned timeout_ms, mb_redis_reply_pt cb,
    void *data)
{
    mb_redis_cmd_t  *c = calloc(1, sizeof(mb_redis_cmd_t));

    if (c != NULL) {
        c->r = r;
        c->cb = cb;
        c->data = data;
        c->deadline = uv_now(r->loop) + timeout_ms;
    }

    return c;
}


/* hiredis took the command: its deadline now counts, oldest first */
static void
mb_redis_cmd_link(mb_redis_t *r, mb_redis_cmd_t *c)
{
    c->prev = r->tail;
    if (r->tail) r->tail->next = c; else r->head = c;
    r->tail = c;
}


static int
mb_redis_vsend(mb_redis_t *r, unsigned timeout_ms, mb_redis_reply_pt cb,
    void *data, const char *fmt, va_list ap)
{
    mb_redis_cmd_t  *c = mb_redis_cmd_new(r, timeout_ms, cb, data);

    if (c == NULL) {
        return -1;
    }

    if (redisvAsyncCommand(r->ac, mb_redis_reply, c, fmt, ap) != REDIS_OK) {
        free(c);
        return -1;
    }

    mb_redis_cmd_link(r, c);

    return 0;
}


static int
mb_redis_send(mb_redis_t *r, unsigned timeout_ms, mb_redis_reply_pt cb,
    void *data, const char *fmt, ...)
{
    va_list  ap;
    int      rc;

    va_start(ap, fmt);
    rc = mb_redis_vsend(r, timeout_ms, cb, data, fmt, ap);
    va_end(ap);

    return rc;
}


int
mb_redis_command(mb_redis_t *r, unsigned timeout_ms, mb_redis_reply_pt cb,
    void *data, const char *fmt, ...)
{
    va_list  ap;
    int      rc;

    if (!mb_redis_ready(r)) {
        return -1;
    }

    va_start(ap, fmt);
    rc = mb_redis_vsend(r, timeout_ms, cb, data, fmt, ap);
    va_end(ap);

    return rc;
}


int
mb_redis_command_argv(mb_redis_t *r, unsigned timeout_ms,
    mb_redis_reply_pt cb, void *data, int argc, const char **argv,
    const size_t *argvlen)
{
    mb_redis_cmd_t  *c;

    if (!mb_redis_ready(r)
        || (c = mb_redis_cmd_new(r, timeout_ms, cb, data)) == NULL)
    {
        return -1;
    }

    if (redisAsyncCommandArgv(r->ac, mb_redis_reply, c, argc, argv, argvlen)
        != REDIS_OK)
    {
        free(c);
        return -1;
    }

    mb_redis_cmd_link(r, c);

    return 0;
}


static void
mb_redis_closed(uv_handle_t *h)
{
    free(h->data);
}


void
mb_redis_close(mb_redis_t *r)
{
    r->closing = 1;
    mb_redis_drop(r);
    uv_close((uv_handle_t *) &r->timer, mb_redis_closed);
}
