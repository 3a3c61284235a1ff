/*
 * Redis for one nginx worker: a hiredis 0.14 async context driven by nginx
 * events (the adapter below), reconnected with exponential backoff, every
 * command bounded by a timer.
 *
 * A command record lives on the heap until both its handler has been
 * called and hiredis has let go of it, so a reply arriving after the
 * timeout, or the NULL replies hiredis hands out when a context is freed,
 * find it valid.
 */


#include "ngx_mikrobill_redis.h"

#include <sys/ioctl.h>


#define NGX_MIKROBILL_REDIS_BACKOFF_MIN   100
#define NGX_MIKROBILL_REDIS_BACKOFF_MAX   5000
#define NGX_MIKROBILL_REDIS_DEMAND_MIN    200     /* see _command() */
#define NGX_MIKROBILL_REDIS_READ_LOOPS    16      /* see _read_handler() */


typedef enum {
    NGX_MIKROBILL_REDIS_DISCONNECTED = 0,
    NGX_MIKROBILL_REDIS_CONNECTING,
    NGX_MIKROBILL_REDIS_CONNECTED
} ngx_mikrobill_redis_state_e;


/* ac->ev.data: one per hiredis context, freed in its cleanup hook */
typedef struct {
    ngx_mikrobill_redis_t            *redis;
    redisAsyncContext                *ac;
    ngx_connection_t                 *c;
    ngx_uint_t                        gen;
} ngx_mikrobill_redis_adapter_t;


struct ngx_mikrobill_redis_s {
    ngx_mikrobill_main_conf_t        *mcf;
    ngx_log_t                        *log;

    redisAsyncContext                *ac;      /* current, or NULL */
    ngx_uint_t                        gen;     /* bumped per context */
    ngx_mikrobill_redis_state_e       state;

    ngx_event_t                       reconnect;
    ngx_event_t                       connect_timer;
    ngx_msec_t                        backoff;
    ngx_msec_t                        last_attempt;

    ngx_queue_t                       commands;
    unsigned                          destroying:1;

    /* subscribe mode only */
    ngx_mikrobill_redis_state_pt      state_handler;
    ngx_mikrobill_redis_handler_pt    push_handler;
    void                             *sub_data;
};


typedef struct {
    ngx_queue_t                       queue;
    ngx_mikrobill_redis_t            *redis;
    ngx_mikrobill_redis_handler_pt    handler;
    void                             *data;
    ngx_event_t                       ev;      /* timeout, or failure */
    unsigned                          done:1;     /* handler called */
    unsigned                          queued:1;   /* hiredis holds it */
} ngx_mikrobill_redis_cmd_t;


static void ngx_mikrobill_redis_connect(ngx_mikrobill_redis_t *redis);
static ngx_int_t ngx_mikrobill_redis_attach(ngx_mikrobill_redis_t *redis,
    redisAsyncContext *ac);
static void ngx_mikrobill_redis_detach(ngx_mikrobill_redis_t *redis,
    const redisAsyncContext *ac);
static void ngx_mikrobill_redis_drop(ngx_mikrobill_redis_t *redis);
static void ngx_mikrobill_redis_schedule(ngx_mikrobill_redis_t *redis);
static void ngx_mikrobill_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_mikrobill_redis_connect_timeout(ngx_event_t *ev);
static void ngx_mikrobill_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_mikrobill_redis_on_disconnect(const redisAsyncContext *ac,
    int status);

static void ngx_mikrobill_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_mikrobill_redis_push(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_mikrobill_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_mikrobill_redis_cmd_failed(ngx_event_t *ev);
static void ngx_mikrobill_redis_cmd_free(ngx_mikrobill_redis_cmd_t *cmd);

static void ngx_mikrobill_redis_add_read(void *privdata);
static void ngx_mikrobill_redis_del_read(void *privdata);
static void ngx_mikrobill_redis_add_write(void *privdata);
static void ngx_mikrobill_redis_del_write(void *privdata);
static void ngx_mikrobill_redis_cleanup(void *privdata);
static void ngx_mikrobill_redis_read_handler(ngx_event_t *ev);
static void ngx_mikrobill_redis_write_handler(ngx_event_t *ev);
static ngx_flag_t ngx_mikrobill_redis_current(ngx_mikrobill_redis_t *redis,
    ngx_uint_t gen);


ngx_mikrobill_redis_t *
ngx_mikrobill_redis_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf)
{
    ngx_mikrobill_redis_t  *redis;

    redis = ngx_pcalloc(cycle->pool, sizeof(ngx_mikrobill_redis_t));
    if (redis == NULL) {
        return NULL;
    }

    redis->mcf = mcf;
    redis->log = cycle->log;
    redis->backoff = NGX_MIKROBILL_REDIS_BACKOFF_MIN;

    ngx_queue_init(&redis->commands);

    /* these timers must not keep a gracefully exiting worker alive */

    redis->reconnect.data = redis;
    redis->reconnect.log = cycle->log;
    redis->reconnect.handler = ngx_mikrobill_redis_reconnect_handler;
    redis->reconnect.cancelable = 1;

    redis->connect_timer.data = redis;
    redis->connect_timer.log = cycle->log;
    redis->connect_timer.handler = ngx_mikrobill_redis_connect_timeout;
    redis->connect_timer.cancelable = 1;

    ngx_mikrobill_redis_connect(redis);

    return redis;
}


/* at worker exit: handlers are not called any more, records are freed */

void
ngx_mikrobill_redis_destroy(ngx_mikrobill_redis_t *redis)
{
    ngx_queue_t                *q;
    ngx_mikrobill_redis_cmd_t  *cmd;

    redis->destroying = 1;

    if (redis->reconnect.timer_set) {
        ngx_del_timer(&redis->reconnect);
    }

    if (redis->reconnect.posted) {
        ngx_delete_posted_event(&redis->reconnect);
    }

    ngx_mikrobill_redis_drop(redis);

    while (!ngx_queue_empty(&redis->commands)) {
        q = ngx_queue_head(&redis->commands);
        cmd = ngx_queue_data(q, ngx_mikrobill_redis_cmd_t, queue);
        ngx_mikrobill_redis_cmd_free(cmd);
    }
}


ngx_flag_t
ngx_mikrobill_redis_connected(ngx_mikrobill_redis_t *redis)
{
    return redis && redis->state == NGX_MIKROBILL_REDIS_CONNECTED;
}


ngx_int_t
ngx_mikrobill_redis_command(ngx_mikrobill_redis_t *redis,
    ngx_mikrobill_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_log_t                  *log;
    ngx_mikrobill_redis_cmd_t  *cmd;

    log = redis ? redis->log : ngx_cycle->log;

    cmd = ngx_calloc(sizeof(ngx_mikrobill_redis_cmd_t), log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->redis = redis;
    cmd->handler = handler;
    cmd->data = data;
    cmd->ev.data = cmd;
    cmd->ev.log = log;

    ngx_queue_init(&cmd->queue);

    if (redis == NULL) {
        cmd->ev.handler = ngx_mikrobill_redis_cmd_failed;
        ngx_post_event(&cmd->ev, &ngx_posted_events);
        return NGX_OK;
    }

    ngx_queue_insert_tail(&redis->commands, &cmd->queue);

    /*
     * Down and backing off: a request pulls the next attempt forward (at
     * most one per NGX_MIKROBILL_REDIS_DEMAND_MIN), so traffic finds a
     * restarted Redis quickly while an idle worker keeps to the backoff.
     */

    if (redis->state == NGX_MIKROBILL_REDIS_DISCONNECTED
        && redis->reconnect.timer_set
        && ngx_current_msec - redis->last_attempt
           >= NGX_MIKROBILL_REDIS_DEMAND_MIN)
    {
        ngx_del_timer(&redis->reconnect);
        ngx_mikrobill_redis_connect(redis);
    }

    /* while connecting, hiredis buffers the command until connected */

    if (redis->ac == NULL
        || redisAsyncCommandArgv(redis->ac, ngx_mikrobill_redis_reply, cmd,
                                 argc, argv, argvlen)
           != REDIS_OK)
    {
        cmd->ev.handler = ngx_mikrobill_redis_cmd_failed;
        ngx_post_event(&cmd->ev, &ngx_posted_events);
        return NGX_OK;
    }

    cmd->queued = 1;
    cmd->ev.handler = ngx_mikrobill_redis_cmd_timeout;
    ngx_add_timer(&cmd->ev, redis->mcf->redis_timeout);

    return NGX_OK;
}


static void
ngx_mikrobill_redis_connect(ngx_mikrobill_redis_t *redis)
{
    redisAsyncContext  *ac;

    redis->last_attempt = ngx_current_msec;

    /* an address resolved at configuration time: hiredis must not block */
    ac = redisAsyncConnect((const char *) redis->mcf->redis_addr.data,
                           (int) redis->mcf->redis_port);

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                      "mikrobill redis: cannot allocate a context");
        ngx_mikrobill_redis_schedule(redis);
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                      "mikrobill redis: cannot connect to %V:%i: %s",
                      &redis->mcf->redis_host, redis->mcf->redis_port,
                      ac->errstr);
        redisAsyncFree(ac);
        ngx_mikrobill_redis_schedule(redis);
        return;
    }

    if (ngx_mikrobill_redis_attach(redis, ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_mikrobill_redis_schedule(redis);
        return;
    }

    redis->ac = ac;
    redis->state = NGX_MIKROBILL_REDIS_CONNECTING;

    ac->data = redis;

    /* the connect callback arms the write event: adapter first */

    redisAsyncSetConnectCallback(ac, ngx_mikrobill_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_mikrobill_redis_on_disconnect);

    ngx_add_timer(&redis->connect_timer, redis->mcf->redis_timeout);
}


/* the nginx side of the adapter: hooks plus a connection for the fd */

static ngx_int_t
ngx_mikrobill_redis_attach(ngx_mikrobill_redis_t *redis,
    redisAsyncContext *ac)
{
    ngx_connection_t               *c;
    ngx_mikrobill_redis_adapter_t  *a;

    a = ngx_alloc(sizeof(ngx_mikrobill_redis_adapter_t), redis->log);
    if (a == NULL) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, redis->log);
    if (c == NULL) {
        ngx_free(a);
        return NGX_ERROR;
    }

    /* hiredis owns the fd and closes it after the cleanup hook */
    c->shared = 1;
    c->data = a;

    c->read->log = redis->log;
    c->write->log = redis->log;
    c->read->handler = ngx_mikrobill_redis_read_handler;
    c->write->handler = ngx_mikrobill_redis_write_handler;

    a->redis = redis;
    a->ac = ac;
    a->c = c;
    a->gen = ++redis->gen;

    ac->ev.data = a;
    ac->ev.addRead = ngx_mikrobill_redis_add_read;
    ac->ev.delRead = ngx_mikrobill_redis_del_read;
    ac->ev.addWrite = ngx_mikrobill_redis_add_write;
    ac->ev.delWrite = ngx_mikrobill_redis_del_write;
    ac->ev.cleanup = ngx_mikrobill_redis_cleanup;

    return NGX_OK;
}


/*
 * The context ac is going away (hiredis frees it itself): forget it and
 * plan the next attempt.  Called from every path that learns of it, so it
 * must be idempotent and ignore contexts that are no longer current.
 */

static void
ngx_mikrobill_redis_detach(ngx_mikrobill_redis_t *redis,
    const redisAsyncContext *ac)
{
    ngx_flag_t  was_up;

    if (redis->ac != ac || ac == NULL) {
        return;
    }

    was_up = (redis->state == NGX_MIKROBILL_REDIS_CONNECTED);

    redis->ac = NULL;
    redis->state = NGX_MIKROBILL_REDIS_DISCONNECTED;

    if (redis->connect_timer.timer_set) {
        ngx_del_timer(&redis->connect_timer);
    }

    ngx_mikrobill_redis_schedule(redis);

    if (was_up && redis->state_handler && !redis->destroying) {
        redis->state_handler(redis->sub_data, 0);
    }
}


/* we give up on the current context: free it now */

static void
ngx_mikrobill_redis_drop(ngx_mikrobill_redis_t *redis)
{
    redisAsyncContext  *ac;

    ac = redis->ac;

    if (ac == NULL) {
        return;
    }

    ngx_mikrobill_redis_detach(redis, ac);

    /* pending commands get NULL replies, the cleanup hook runs */
    redisAsyncFree(ac);
}


static void
ngx_mikrobill_redis_schedule(ngx_mikrobill_redis_t *redis)
{
    if (redis->destroying || redis->reconnect.timer_set) {
        return;
    }

    ngx_add_timer(&redis->reconnect, redis->backoff);

    redis->backoff *= 2;

    if (redis->backoff > NGX_MIKROBILL_REDIS_BACKOFF_MAX) {
        redis->backoff = NGX_MIKROBILL_REDIS_BACKOFF_MAX;
    }
}


static void
ngx_mikrobill_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_mikrobill_redis_t  *redis = ev->data;

    if (redis->ac == NULL && !redis->destroying) {
        ngx_mikrobill_redis_connect(redis);
    }
}


static void
ngx_mikrobill_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_mikrobill_redis_t  *redis = ev->data;

    ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                  "mikrobill redis: connect to %V:%i timed out",
                  &redis->mcf->redis_host, redis->mcf->redis_port);

    ngx_mikrobill_redis_drop(redis);
}


static void
ngx_mikrobill_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_mikrobill_redis_t  *redis = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                      "mikrobill redis: cannot connect to %V:%i: %s",
                      &redis->mcf->redis_host, redis->mcf->redis_port,
                      ac->errstr);

        /* hiredis frees the context when this returns */
        ngx_mikrobill_redis_detach(redis, ac);
        return;
    }

    if (redis->ac != ac) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, redis->log, 0,
                  "mikrobill redis: connected to %V:%i",
                  &redis->mcf->redis_host, redis->mcf->redis_port);

    redis->state = NGX_MIKROBILL_REDIS_CONNECTED;
    redis->backoff = NGX_MIKROBILL_REDIS_BACKOFF_MIN;

    if (redis->connect_timer.timer_set) {
        ngx_del_timer(&redis->connect_timer);
    }

    if (redis->state_handler) {
        redis->state_handler(redis->sub_data, 1);
    }
}


static void
ngx_mikrobill_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_mikrobill_redis_t  *redis = ac->data;

    if (status != REDIS_OK && !redis->destroying) {
        ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                      "mikrobill redis: connection lost: %s", ac->errstr);
    }

    ngx_mikrobill_redis_detach(redis, ac);
}


/* hiredis' reply callback: a reply, or NULL when the context goes */

static void
ngx_mikrobill_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_mikrobill_redis_cmd_t  *cmd = privdata;

    ngx_mikrobill_redis_t  *redis;

    redis = cmd->redis;
    cmd->queued = 0;

    if (r == NULL) {
        /* the connection is gone; new commands must not use it */
        ngx_mikrobill_redis_detach(redis, ac);
    }

    if (cmd->done || redis->destroying) {
        ngx_mikrobill_redis_cmd_free(cmd);
        return;
    }

    cmd->done = 1;

    if (cmd->ev.timer_set) {
        ngx_del_timer(&cmd->ev);
    }

    cmd->handler(cmd->data, r);

    ngx_mikrobill_redis_cmd_free(cmd);
}


void
ngx_mikrobill_redis_set_subscriber(ngx_mikrobill_redis_t *redis,
    ngx_mikrobill_redis_state_pt state, ngx_mikrobill_redis_handler_pt push,
    void *data)
{
    redis->state_handler = state;
    redis->push_handler = push;
    redis->sub_data = data;
}


void
ngx_mikrobill_redis_reset(ngx_mikrobill_redis_t *redis)
{
    if (!redis->destroying) {
        ngx_mikrobill_redis_drop(redis);
    }
}


/*
 * hiredis keeps the callback of a (P)SUBSCRIBE per channel and calls it
 * for the confirmation, every message and the unsubscribe confirmation;
 * its privdata is the redis object, which outlives every context.
 */

ngx_int_t
ngx_mikrobill_redis_push_command(ngx_mikrobill_redis_t *redis, int argc,
    const char **argv, const size_t *argvlen)
{
    if (redis->state != NGX_MIKROBILL_REDIS_CONNECTED || redis->ac == NULL) {
        return NGX_ERROR;
    }

    if (redisAsyncCommandArgv(redis->ac, ngx_mikrobill_redis_push, redis,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* NULL replies come when a context is freed: the state hook tells that */

static void
ngx_mikrobill_redis_push(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_mikrobill_redis_t  *redis = privdata;

    if (r == NULL || redis->destroying || redis->push_handler == NULL
        || redis->ac != ac)
    {
        return;
    }

    redis->push_handler(redis->sub_data, r);
}


/*
 * A command that takes this long means a stuck or unreachable server (a
 * half-open TCP connection is never noticed otherwise): reconnect.  hiredis
 * still holds the record; its NULL reply frees it.
 */

static void
ngx_mikrobill_redis_cmd_timeout(ngx_event_t *ev)
{
    ngx_mikrobill_redis_cmd_t  *cmd = ev->data;

    ngx_mikrobill_redis_t  *redis;

    redis = cmd->redis;

    ngx_log_error(NGX_LOG_ERR, redis->log, 0,
                  "mikrobill redis: command timed out");

    cmd->done = 1;
    cmd->handler(cmd->data, NULL);

    ngx_mikrobill_redis_drop(redis);
}


static void
ngx_mikrobill_redis_cmd_failed(ngx_event_t *ev)
{
    ngx_mikrobill_redis_cmd_t  *cmd = ev->data;

    ngx_mikrobill_redis_handler_pt   handler;
    void                            *data;

    handler = cmd->handler;
    data = cmd->data;

    cmd->done = 1;
    ngx_mikrobill_redis_cmd_free(cmd);

    handler(data, NULL);
}


static void
ngx_mikrobill_redis_cmd_free(ngx_mikrobill_redis_cmd_t *cmd)
{
    if (cmd->ev.timer_set) {
        ngx_del_timer(&cmd->ev);
    }

    if (cmd->ev.posted) {
        ngx_delete_posted_event(&cmd->ev);
    }

    ngx_queue_remove(&cmd->queue);

    ngx_free(cmd);
}


/* adapter hooks; CLEAR (edge-triggered) events as nginx uses them */

static void
ngx_mikrobill_redis_add_read(void *privdata)
{
    ngx_mikrobill_redis_adapter_t  *a = privdata;

    if (!a->c->read->active) {
        if (ngx_add_event(a->c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, a->redis->log, 0,
                          "mikrobill redis: cannot add read event");
        }
    }
}


static void
ngx_mikrobill_redis_del_read(void *privdata)
{
    ngx_mikrobill_redis_adapter_t  *a = privdata;

    if (a->c->read->active) {
        (void) ngx_del_event(a->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_mikrobill_redis_add_write(void *privdata)
{
    ngx_mikrobill_redis_adapter_t  *a = privdata;

    if (!a->c->write->active) {
        if (ngx_add_event(a->c->write, NGX_WRITE_EVENT, NGX_CLEAR_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, a->redis->log, 0,
                          "mikrobill redis: cannot add write event");
        }
    }
}


static void
ngx_mikrobill_redis_del_write(void *privdata)
{
    ngx_mikrobill_redis_adapter_t  *a = privdata;

    if (a->c->write->active) {
        (void) ngx_del_event(a->c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis is freeing the context and will close the fd right after */

static void
ngx_mikrobill_redis_cleanup(void *privdata)
{
    ngx_mikrobill_redis_adapter_t  *a = privdata;

    ngx_connection_t       *c;
    ngx_mikrobill_redis_t  *redis;

    redis = a->redis;
    c = a->c;

    ngx_mikrobill_redis_del_read(a);
    ngx_mikrobill_redis_del_write(a);

    /* c->shared: ngx_close_connection() frees c and leaves the fd */
    ngx_close_connection(c);

    ngx_mikrobill_redis_detach(redis, a->ac);

    ngx_free(a);
}


/*
 * hiredis reads at most 16 KB per call and the event is edge-triggered:
 * keep reading while the socket has data, and once more after a FIN seen
 * with the data, so that the disconnect is noticed now.  A busy subscriber
 * context could keep the socket full forever: after a bounded number of
 * rounds the rest waits for the next loop iteration, as other events do.
 */

static void
ngx_mikrobill_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    int                             n;
    ngx_uint_t                      gen, i;
    redisAsyncContext              *ac;
    ngx_mikrobill_redis_t          *redis;
    ngx_mikrobill_redis_adapter_t  *a;

    a = c->data;
    redis = a->redis;
    ac = a->ac;
    gen = a->gen;

    for (i = 0; i < NGX_MIKROBILL_REDIS_READ_LOOPS; i++) {
        redisAsyncHandleRead(ac);

        if (!ngx_mikrobill_redis_current(redis, gen)) {
            return;
        }

        if (ioctl(c->fd, FIONREAD, &n) == -1 || n <= 0) {
            if (ev->pending_eof) {
                redisAsyncHandleRead(ac);
            }

            return;
        }
    }

    /*
     * still more: no new edge will come for it (if the context goes
     * meanwhile, ngx_close_connection() drops the posted event)
     */

    ngx_post_event(ev, &ngx_posted_events);
}


static void
ngx_mikrobill_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    ngx_mikrobill_redis_adapter_t  *a;

    a = c->data;

    redisAsyncHandleWrite(a->ac);
}


/*
 * After a call into hiredis the context (and our adapter with it) may be
 * gone, and a handler may even have started a new one: go on only when
 * the context we called is still the current one.
 */

static ngx_flag_t
ngx_mikrobill_redis_current(ngx_mikrobill_redis_t *redis, ngx_uint_t gen)
{
    return redis->ac != NULL && redis->gen == gen;
}
