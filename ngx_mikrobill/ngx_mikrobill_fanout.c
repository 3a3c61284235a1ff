/*
 * Redis pub/sub fan-out for one nginx worker (docs/monitor.md, "Viewers").
 *
 * A channel record exists while it has local subscribers or a Redis
 * (un)subscription of it is in flight; the tree is keyed by the Redis
 * name ("mikrobill:traffic:<id>", or the pattern "mikrobill:traffic:*").
 * Its Redis state moves NONE -> SUBSCRIBING -> SUBSCRIBED -> UNSUBSCRIBING
 * -> NONE, one command in flight at a time: hiredis 0.14 keeps one callback
 * per channel and an UNSUBSCRIBE confirmation crossing a new SUBSCRIBE
 * would drop it, so a subscriber arriving meanwhile waits for the
 * confirmation and the channel is subscribed again then.
 *
 * A subscription is pending until Redis confirms it; its client is told
 * "subscribed" at that moment, so nothing published later is missed.
 * mikrobill:events:sync is always subscribed and goes to every client.
 *
 * Subscribe mode has no per-command timeout: a watchdog runs while
 * (un)subscriptions are unconfirmed, and a Redis that stays silent for
 * mikrobill_redis_timeout loses the connection, so that waiting clients
 * hear "unavailable" and everything is subscribed again on reconnect.
 */


#include "ngx_mikrobill_fanout.h"
#include "ngx_mikrobill_redis.h"


#define NGX_MIKROBILL_FANOUT_STAR      "*"
#define NGX_MIKROBILL_FANOUT_NAME_MAX  128
#define NGX_MIKROBILL_FANOUT_EVENT_MAX 256

#define NGX_MIKROBILL_FANOUT_UNAVAILABLE_MSG  "Redis sedang tidak tersedia"
#define NGX_MIKROBILL_FANOUT_LIMIT_MSG        "Terlalu banyak langganan"


typedef enum {
    NGX_MIKROBILL_CHANNEL_NONE = 0,
    NGX_MIKROBILL_CHANNEL_SUBSCRIBING,
    NGX_MIKROBILL_CHANNEL_SUBSCRIBED,
    NGX_MIKROBILL_CHANNEL_UNSUBSCRIBING
} ngx_mikrobill_channel_state_e;


typedef struct {
    ngx_str_node_t                  sn;       /* key: the Redis name */
    ngx_queue_t                     subs;
    ngx_uint_t                      nsubs;
    ngx_mikrobill_channel_state_e   state;
    unsigned                        pattern:1;
} ngx_mikrobill_fanout_channel_t;


typedef struct {
    ngx_queue_t                       client_link;
    ngx_queue_t                       channel_link;
    ngx_mikrobill_fanout_channel_t   *channel;
    ngx_mikrobill_fanout_client_t    *client;
    unsigned                          pending:1;
} ngx_mikrobill_fanout_sub_t;


struct ngx_mikrobill_fanout_s {
    ngx_mikrobill_redis_t            *redis;
    ngx_log_t                        *log;
    ngx_rbtree_t                      channels;
    ngx_rbtree_node_t                 sentinel;
    ngx_queue_t                       clients;
    ngx_event_t                       watchdog;
    ngx_msec_t                        timeout;
    ngx_uint_t                        inflight;  /* unconfirmed commands */
    unsigned                          up:1;
};


static void ngx_mikrobill_fanout_state(void *data, ngx_flag_t up);
static void ngx_mikrobill_fanout_up(ngx_mikrobill_fanout_t *fo);
static void ngx_mikrobill_fanout_down(ngx_mikrobill_fanout_t *fo);
static void ngx_mikrobill_fanout_reset(ngx_mikrobill_fanout_t *fo,
    ngx_flag_t resubscribe);
static void ngx_mikrobill_fanout_push(void *data, redisReply *reply);
static void ngx_mikrobill_fanout_sent(ngx_mikrobill_fanout_t *fo);
static void ngx_mikrobill_fanout_progress(ngx_mikrobill_fanout_t *fo);
static void ngx_mikrobill_fanout_watchdog(ngx_event_t *ev);
static void ngx_mikrobill_fanout_confirmed(ngx_mikrobill_fanout_t *fo,
    ngx_str_t *name);
static void ngx_mikrobill_fanout_unconfirmed(ngx_mikrobill_fanout_t *fo,
    ngx_str_t *name);
static void ngx_mikrobill_fanout_message(ngx_mikrobill_fanout_t *fo,
    ngx_str_t *name, redisReply *payload);
static void ngx_mikrobill_fanout_sync(ngx_mikrobill_fanout_t *fo,
    redisReply *payload);
static ngx_int_t ngx_mikrobill_fanout_name(ngx_str_t *id, u_char *buf,
    ngx_str_t *name);
static ngx_mikrobill_fanout_channel_t *ngx_mikrobill_fanout_lookup(
    ngx_mikrobill_fanout_t *fo, ngx_str_t *name);
static ngx_mikrobill_fanout_channel_t *ngx_mikrobill_fanout_channel(
    ngx_mikrobill_fanout_t *fo, ngx_str_t *name, ngx_flag_t pattern);
static void ngx_mikrobill_fanout_channel_free(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch);
static void ngx_mikrobill_fanout_release(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch);
static ngx_int_t ngx_mikrobill_fanout_redis(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch, ngx_flag_t subscribe);
static void ngx_mikrobill_fanout_fail_pending(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch);
static ngx_mikrobill_fanout_sub_t *ngx_mikrobill_fanout_find(
    ngx_mikrobill_fanout_client_t *client,
    ngx_mikrobill_fanout_channel_t *ch);
static void ngx_mikrobill_fanout_unlink(ngx_mikrobill_fanout_sub_t *sub);
static void ngx_mikrobill_fanout_remove(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_sub_t *sub);
static void ngx_mikrobill_fanout_activate(ngx_mikrobill_fanout_sub_t *sub);
static void ngx_mikrobill_fanout_event(ngx_mikrobill_ws_t *ws,
    const char *event, ngx_str_t *id);
static void ngx_mikrobill_fanout_channel_event(ngx_mikrobill_ws_t *ws,
    const char *event, ngx_mikrobill_fanout_channel_t *ch);


ngx_mikrobill_fanout_t *
ngx_mikrobill_fanout_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf)
{
    ngx_mikrobill_fanout_t  *fo;

    fo = ngx_pcalloc(cycle->pool, sizeof(ngx_mikrobill_fanout_t));
    if (fo == NULL) {
        return NULL;
    }

    fo->log = cycle->log;
    fo->timeout = mcf->redis_timeout;

    /* must not keep a gracefully exiting worker alive */
    fo->watchdog.handler = ngx_mikrobill_fanout_watchdog;
    fo->watchdog.data = fo;
    fo->watchdog.log = cycle->log;
    fo->watchdog.cancelable = 1;

    ngx_rbtree_init(&fo->channels, &fo->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&fo->clients);

    /* a connection of its own: subscribe mode allows nothing else */
    fo->redis = ngx_mikrobill_redis_create(cycle, mcf);
    if (fo->redis == NULL) {
        return NULL;
    }

    ngx_mikrobill_redis_set_subscriber(fo->redis, ngx_mikrobill_fanout_state,
                                       ngx_mikrobill_fanout_push, fo);

    return fo;
}


/* at worker exit: clients still open are not told, the process goes */

void
ngx_mikrobill_fanout_destroy(ngx_mikrobill_fanout_t *fo)
{
    ngx_queue_t                     *q;
    ngx_rbtree_node_t               *node;
    ngx_mikrobill_fanout_client_t   *client;
    ngx_mikrobill_fanout_channel_t  *ch;
    ngx_mikrobill_fanout_sub_t      *sub;

    if (fo->watchdog.timer_set) {
        ngx_del_timer(&fo->watchdog);
    }

    ngx_mikrobill_redis_destroy(fo->redis);

    while (fo->channels.root != fo->channels.sentinel) {
        node = ngx_rbtree_min(fo->channels.root, fo->channels.sentinel);
        ch = (ngx_mikrobill_fanout_channel_t *) node;

        while (!ngx_queue_empty(&ch->subs)) {
            q = ngx_queue_head(&ch->subs);
            sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t,
                                 channel_link);
            ngx_mikrobill_fanout_unlink(sub);
        }

        ngx_mikrobill_fanout_channel_free(fo, ch);
    }

    while (!ngx_queue_empty(&fo->clients)) {
        q = ngx_queue_head(&fo->clients);
        client = ngx_queue_data(q, ngx_mikrobill_fanout_client_t, link);
        ngx_queue_remove(q);
        client->joined = 0;
    }
}


void
ngx_mikrobill_fanout_join(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client)
{
    ngx_queue_init(&client->subs);
    ngx_queue_insert_tail(&fo->clients, &client->link);
    client->joined = 1;
}


void
ngx_mikrobill_fanout_leave(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client)
{
    ngx_queue_t                 *q;
    ngx_mikrobill_fanout_sub_t  *sub;

    if (!client->joined) {
        return;
    }

    while (!ngx_queue_empty(&client->subs)) {
        q = ngx_queue_head(&client->subs);
        sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t, client_link);
        ngx_mikrobill_fanout_remove(fo, sub);
    }

    ngx_queue_remove(&client->link);
    client->joined = 0;
}


void
ngx_mikrobill_fanout_subscribe(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client, ngx_str_t *id)
{
    u_char                           buf[NGX_MIKROBILL_FANOUT_NAME_MAX];
    ngx_str_t                        name;
    ngx_mikrobill_fanout_sub_t      *sub;
    ngx_mikrobill_fanout_channel_t  *ch;

    if (!fo->up) {
        ngx_mikrobill_fanout_error(client->ws, "unavailable",
                                   NGX_MIKROBILL_FANOUT_UNAVAILABLE_MSG);
        return;
    }

    if (ngx_mikrobill_fanout_name(id, buf, &name) != NGX_OK) {
        ngx_mikrobill_fanout_error(client->ws, "bad_request",
                                   "Saluran tidak valid");
        return;
    }

    ch = ngx_mikrobill_fanout_lookup(fo, &name);

    if (ch) {
        sub = ngx_mikrobill_fanout_find(client, ch);

        if (sub) {
            /* again: answered now, or when the first one is confirmed */
            if (!sub->pending) {
                ngx_mikrobill_fanout_event(client->ws, "subscribed", id);
            }

            return;
        }
    }

    if (client->nsubs >= NGX_MIKROBILL_FANOUT_MAX_SUBS) {
        ngx_mikrobill_fanout_error(client->ws, "limit",
                                   NGX_MIKROBILL_FANOUT_LIMIT_MSG);
        return;
    }

    if (ch == NULL) {
        ch = ngx_mikrobill_fanout_channel(fo, &name, id->len == 1);
    }

    sub = ngx_calloc(sizeof(ngx_mikrobill_fanout_sub_t), fo->log);

    if (ch == NULL || sub == NULL) {
        if (sub) {
            ngx_free(sub);
        }

        if (ch) {
            ngx_mikrobill_fanout_release(fo, ch);
        }

        ngx_mikrobill_fanout_error(client->ws, "unavailable",
                                   NGX_MIKROBILL_FANOUT_UNAVAILABLE_MSG);
        return;
    }

    sub->channel = ch;
    sub->client = client;
    sub->pending = 1;
    ngx_queue_insert_tail(&ch->subs, &sub->channel_link);
    ngx_queue_insert_tail(&client->subs, &sub->client_link);
    ch->nsubs++;
    client->nsubs++;

    switch (ch->state) {

    case NGX_MIKROBILL_CHANNEL_SUBSCRIBED:
        ngx_mikrobill_fanout_activate(sub);
        break;

    case NGX_MIKROBILL_CHANNEL_NONE:
        if (ngx_mikrobill_fanout_redis(fo, ch, 1) != NGX_OK) {
            ngx_mikrobill_fanout_fail_pending(fo, ch);
        }
        break;

    default:
        /* confirmed (or subscribed again) when Redis answers */
        break;
    }
}


void
ngx_mikrobill_fanout_unsubscribe(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client, ngx_str_t *id)
{
    u_char                           buf[NGX_MIKROBILL_FANOUT_NAME_MAX];
    ngx_str_t                        name;
    ngx_mikrobill_fanout_sub_t      *sub;
    ngx_mikrobill_fanout_channel_t  *ch;

    if (ngx_mikrobill_fanout_name(id, buf, &name) != NGX_OK) {
        ngx_mikrobill_fanout_error(client->ws, "bad_request",
                                   "Saluran tidak valid");
        return;
    }

    ch = ngx_mikrobill_fanout_lookup(fo, &name);
    sub = ch ? ngx_mikrobill_fanout_find(client, ch) : NULL;

    if (sub) {
        ngx_mikrobill_fanout_remove(fo, sub);
    }

    /* also for a channel it did not have: the outcome is the same */
    ngx_mikrobill_fanout_event(client->ws, "unsubscribed", id);
}


static void
ngx_mikrobill_fanout_state(void *data, ngx_flag_t up)
{
    ngx_mikrobill_fanout_t  *fo = data;

    if (up) {
        ngx_mikrobill_fanout_up(fo);

    } else {
        ngx_mikrobill_fanout_down(fo);
    }
}


/* (re)connected: the sync channel, then every channel with subscribers */

static void
ngx_mikrobill_fanout_up(ngx_mikrobill_fanout_t *fo)
{
    const char  *argv[2];

    fo->up = 1;

    argv[0] = "SUBSCRIBE";
    argv[1] = NGX_MIKROBILL_FANOUT_SYNC;

    if (ngx_mikrobill_redis_push_command(fo->redis, 2, argv, NULL)
        == NGX_OK)
    {
        ngx_mikrobill_fanout_sent(fo);

    } else {
        ngx_log_error(NGX_LOG_ERR, fo->log, 0,
                      "mikrobill fanout: cannot subscribe to the sync events");
    }

    ngx_mikrobill_fanout_reset(fo, 1);
}


/*
 * Lost: pending subscriptions are refused ("unavailable"); live ones stay
 * and are subscribed again on reconnect.
 */

static void
ngx_mikrobill_fanout_down(ngx_mikrobill_fanout_t *fo)
{
    fo->up = 0;
    fo->inflight = 0;

    if (fo->watchdog.timer_set) {
        ngx_del_timer(&fo->watchdog);
    }

    ngx_mikrobill_fanout_reset(fo, 0);
}


/*
 * Every channel starts over as not subscribed: with resubscribe, those
 * with subscribers are subscribed again and the others go; without, the
 * pending subscribes are refused (a channel nobody else is on goes).
 */
static void
ngx_mikrobill_fanout_reset(ngx_mikrobill_fanout_t *fo,
    ngx_flag_t resubscribe)
{
    ngx_rbtree_node_t               *node, *next;
    ngx_mikrobill_fanout_channel_t  *ch;

    if (fo->channels.root == fo->channels.sentinel) {
        return;
    }

    node = ngx_rbtree_min(fo->channels.root, fo->channels.sentinel);

    while (node) {
        next = ngx_rbtree_next(&fo->channels, node);
        ch = (ngx_mikrobill_fanout_channel_t *) node;

        ch->state = NGX_MIKROBILL_CHANNEL_NONE;

        if (!resubscribe) {
            ngx_mikrobill_fanout_fail_pending(fo, ch);

        } else if (ch->nsubs == 0) {
            ngx_mikrobill_fanout_channel_free(fo, ch);

        } else if (ngx_mikrobill_fanout_redis(fo, ch, 1) != NGX_OK) {
            ngx_mikrobill_fanout_fail_pending(fo, ch);
        }

        node = next;
    }
}


static void
ngx_mikrobill_fanout_push(void *data, redisReply *reply)
{
    ngx_mikrobill_fanout_t  *fo = data;

    char        *type;
    ngx_str_t    name;
    redisReply  *e;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, fo->log, 0,
                          "mikrobill fanout: redis error: %s", reply->str);
        }

        return;
    }

    type = reply->element[0]->str;
    e = reply->element[1];

    name.data = (u_char *) e->str;
    name.len = e->len;

    if (ngx_strcmp(type, "message") == 0) {
        ngx_mikrobill_fanout_message(fo, &name, reply->element[2]);

    } else if (ngx_strcmp(type, "pmessage") == 0 && reply->elements == 4) {
        /* the pattern decides who gets it, not the channel */
        ngx_mikrobill_fanout_message(fo, &name, reply->element[3]);

    } else if (ngx_strcmp(type, "subscribe") == 0
               || ngx_strcmp(type, "psubscribe") == 0)
    {
        ngx_mikrobill_fanout_progress(fo);
        ngx_mikrobill_fanout_confirmed(fo, &name);

    } else if (ngx_strcmp(type, "unsubscribe") == 0
               || ngx_strcmp(type, "punsubscribe") == 0)
    {
        ngx_mikrobill_fanout_progress(fo);
        ngx_mikrobill_fanout_unconfirmed(fo, &name);
    }
}


/* one command a channel: one confirmation each */

static void
ngx_mikrobill_fanout_sent(ngx_mikrobill_fanout_t *fo)
{
    fo->inflight++;

    if (!fo->watchdog.timer_set) {
        ngx_add_timer(&fo->watchdog, fo->timeout);
    }
}


static void
ngx_mikrobill_fanout_progress(ngx_mikrobill_fanout_t *fo)
{
    if (fo->inflight == 0) {
        return;
    }

    if (--fo->inflight == 0) {
        if (fo->watchdog.timer_set) {
            ngx_del_timer(&fo->watchdog);
        }

        return;
    }

    /* Redis answers: the rest gets a new period */
    ngx_add_timer(&fo->watchdog, fo->timeout);
}


static void
ngx_mikrobill_fanout_watchdog(ngx_event_t *ev)
{
    ngx_mikrobill_fanout_t  *fo = ev->data;

    ngx_log_error(NGX_LOG_ERR, fo->log, 0,
                  "mikrobill fanout: redis confirmed no subscription for "
                  "%M ms, reconnecting", fo->timeout);

    /* the state hook runs fanout_down(): waiting clients are answered */
    ngx_mikrobill_redis_reset(fo->redis);
}


static void
ngx_mikrobill_fanout_confirmed(ngx_mikrobill_fanout_t *fo, ngx_str_t *name)
{
    ngx_queue_t                     *q;
    ngx_mikrobill_fanout_sub_t      *sub;
    ngx_mikrobill_fanout_channel_t  *ch;

    ch = ngx_mikrobill_fanout_lookup(fo, name);

    if (ch == NULL || ch->state != NGX_MIKROBILL_CHANNEL_SUBSCRIBING) {
        return;
    }

    ch->state = NGX_MIKROBILL_CHANNEL_SUBSCRIBED;

    for (q = ngx_queue_head(&ch->subs);
         q != ngx_queue_sentinel(&ch->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t, channel_link);

        if (sub->pending) {
            ngx_mikrobill_fanout_activate(sub);
        }
    }

    /* everybody left while it was on its way */
    ngx_mikrobill_fanout_release(fo, ch);
}


static void
ngx_mikrobill_fanout_unconfirmed(ngx_mikrobill_fanout_t *fo,
    ngx_str_t *name)
{
    ngx_mikrobill_fanout_channel_t  *ch;

    ch = ngx_mikrobill_fanout_lookup(fo, name);

    if (ch == NULL || ch->state != NGX_MIKROBILL_CHANNEL_UNSUBSCRIBING) {
        return;
    }

    ch->state = NGX_MIKROBILL_CHANNEL_NONE;

    if (ch->nsubs == 0) {
        ngx_mikrobill_fanout_channel_free(fo, ch);
        return;
    }

    /* subscribers came while it was being dropped */
    if (ngx_mikrobill_fanout_redis(fo, ch, 1) != NGX_OK) {
        ngx_mikrobill_fanout_fail_pending(fo, ch);
    }
}


/* one frame for everybody; a client on "*" gets it through the pattern */

static void
ngx_mikrobill_fanout_message(ngx_mikrobill_fanout_t *fo, ngx_str_t *name,
    redisReply *payload)
{
    ngx_queue_t                     *q;
    ngx_mikrobill_ws_frame_t        *frame;
    ngx_mikrobill_fanout_sub_t      *sub;
    ngx_mikrobill_fanout_channel_t  *ch;

    if (payload->type != REDIS_REPLY_STRING) {
        return;
    }

    if (name->len == sizeof(NGX_MIKROBILL_FANOUT_SYNC) - 1
        && ngx_strncmp(name->data, NGX_MIKROBILL_FANOUT_SYNC, name->len) == 0)
    {
        ngx_mikrobill_fanout_sync(fo, payload);
        return;
    }

    ch = ngx_mikrobill_fanout_lookup(fo, name);

    if (ch == NULL || ch->state != NGX_MIKROBILL_CHANNEL_SUBSCRIBED) {
        return;
    }

    frame = NULL;

    for (q = ngx_queue_head(&ch->subs);
         q != ngx_queue_sentinel(&ch->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t, channel_link);

        if (sub->pending || (!ch->pattern && sub->client->star)) {
            continue;
        }

        if (frame == NULL) {
            frame = ngx_mikrobill_ws_frame(NGX_MIKROBILL_WS_TEXT,
                                           (u_char *) payload->str,
                                           payload->len);
            if (frame == NULL) {
                return;
            }
        }

        ngx_mikrobill_ws_send(sub->client->ws, frame);
    }

    if (frame) {
        ngx_mikrobill_ws_frame_release(frame);
    }
}


static void
ngx_mikrobill_fanout_sync(ngx_mikrobill_fanout_t *fo, redisReply *payload)
{
    ngx_queue_t                    *q;
    ngx_mikrobill_ws_frame_t       *frame;
    ngx_mikrobill_fanout_client_t  *client;

    if (ngx_queue_empty(&fo->clients)) {
        return;
    }

    frame = ngx_mikrobill_ws_frame(NGX_MIKROBILL_WS_TEXT,
                                   (u_char *) payload->str, payload->len);
    if (frame == NULL) {
        return;
    }

    for (q = ngx_queue_head(&fo->clients);
         q != ngx_queue_sentinel(&fo->clients);
         q = ngx_queue_next(q))
    {
        client = ngx_queue_data(q, ngx_mikrobill_fanout_client_t, link);
        ngx_mikrobill_ws_send(client->ws, frame);
    }

    ngx_mikrobill_ws_frame_release(frame);
}


/* "<uuid>" -> "mikrobill:traffic:<uuid>", "*" -> the pattern */

static ngx_int_t
ngx_mikrobill_fanout_name(ngx_str_t *id, u_char *buf, ngx_str_t *name)
{
    if (id->len == 0
        || id->len > NGX_MIKROBILL_FANOUT_NAME_MAX
                     - sizeof(NGX_MIKROBILL_FANOUT_PREFIX))
    {
        return NGX_ERROR;
    }

    name->data = buf;
    name->len = ngx_cpymem(ngx_cpymem(buf, NGX_MIKROBILL_FANOUT_PREFIX,
                                      sizeof(NGX_MIKROBILL_FANOUT_PREFIX) - 1),
                           id->data, id->len)
                - buf;

    return NGX_OK;
}


static ngx_mikrobill_fanout_channel_t *
ngx_mikrobill_fanout_lookup(ngx_mikrobill_fanout_t *fo, ngx_str_t *name)
{
    uint32_t  hash;

    hash = ngx_crc32_short(name->data, name->len);

    return (ngx_mikrobill_fanout_channel_t *)
               ngx_str_rbtree_lookup(&fo->channels, name, hash);
}


static ngx_mikrobill_fanout_channel_t *
ngx_mikrobill_fanout_channel(ngx_mikrobill_fanout_t *fo, ngx_str_t *name,
    ngx_flag_t pattern)
{
    u_char                          *p;
    ngx_mikrobill_fanout_channel_t  *ch;

    /* the name follows the record, NUL-terminated for hiredis */
    ch = ngx_calloc(sizeof(ngx_mikrobill_fanout_channel_t) + name->len + 1,
                    fo->log);
    if (ch == NULL) {
        return NULL;
    }

    p = (u_char *) (ch + 1);
    ngx_memcpy(p, name->data, name->len);
    p[name->len] = '\0';

    ch->sn.str.data = p;
    ch->sn.str.len = name->len;
    ch->sn.node.key = ngx_crc32_short(p, name->len);
    ch->pattern = pattern ? 1 : 0;
    ch->state = NGX_MIKROBILL_CHANNEL_NONE;

    ngx_queue_init(&ch->subs);
    ngx_rbtree_insert(&fo->channels, &ch->sn.node);

    return ch;
}


static void
ngx_mikrobill_fanout_channel_free(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch)
{
    ngx_rbtree_delete(&fo->channels, &ch->sn.node);
    ngx_free(ch);
}


/* the last local subscriber is gone: drop the Redis subscription */

static void
ngx_mikrobill_fanout_release(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch)
{
    if (ch->nsubs > 0) {
        return;
    }

    switch (ch->state) {

    case NGX_MIKROBILL_CHANNEL_SUBSCRIBED:
        if (ngx_mikrobill_fanout_redis(fo, ch, 0) == NGX_OK) {
            break;
        }

        /* the connection is gone: nothing to undo on Redis */
        ngx_mikrobill_fanout_channel_free(fo, ch);
        break;

    case NGX_MIKROBILL_CHANNEL_NONE:
        ngx_mikrobill_fanout_channel_free(fo, ch);
        break;

    default:
        /* decided when the command in flight is confirmed */
        break;
    }
}


static ngx_int_t
ngx_mikrobill_fanout_redis(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch, ngx_flag_t subscribe)
{
    size_t       lens[2];
    const char  *argv[2];

    if (subscribe) {
        argv[0] = ch->pattern ? "PSUBSCRIBE" : "SUBSCRIBE";

    } else {
        argv[0] = ch->pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
    }

    lens[0] = ngx_strlen(argv[0]);
    argv[1] = (const char *) ch->sn.str.data;
    lens[1] = ch->sn.str.len;

    if (ngx_mikrobill_redis_push_command(fo->redis, 2, argv, lens)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_mikrobill_fanout_sent(fo);

    ch->state = subscribe ? NGX_MIKROBILL_CHANNEL_SUBSCRIBING
                          : NGX_MIKROBILL_CHANNEL_UNSUBSCRIBING;

    return NGX_OK;
}


/* Redis cannot take the subscription now: tell who waits for it */

static void
ngx_mikrobill_fanout_fail_pending(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_channel_t *ch)
{
    ngx_queue_t                 *q, *next;
    ngx_mikrobill_fanout_sub_t  *sub;

    for (q = ngx_queue_head(&ch->subs);
         q != ngx_queue_sentinel(&ch->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t, channel_link);

        if (!sub->pending) {
            continue;
        }

        ngx_mikrobill_fanout_error(sub->client->ws, "unavailable",
                                   NGX_MIKROBILL_FANOUT_UNAVAILABLE_MSG);

        ngx_mikrobill_fanout_unlink(sub);
    }

    if (ch->nsubs == 0 && ch->state == NGX_MIKROBILL_CHANNEL_NONE) {
        ngx_mikrobill_fanout_channel_free(fo, ch);
    }
}


/*
 * The client's subscription to ch, if any.  Either list answers: walk the
 * shorter, as a client may hold NGX_MIKROBILL_FANOUT_MAX_SUBS channels and
 * "*" may hold every client of the worker.
 */

static ngx_mikrobill_fanout_sub_t *
ngx_mikrobill_fanout_find(ngx_mikrobill_fanout_client_t *client,
    ngx_mikrobill_fanout_channel_t *ch)
{
    ngx_queue_t                 *q;
    ngx_mikrobill_fanout_sub_t  *sub;

    if (ch->nsubs < client->nsubs) {
        for (q = ngx_queue_head(&ch->subs);
             q != ngx_queue_sentinel(&ch->subs);
             q = ngx_queue_next(q))
        {
            sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t,
                                 channel_link);

            if (sub->client == client) {
                return sub;
            }
        }

        return NULL;
    }

    for (q = ngx_queue_head(&client->subs);
         q != ngx_queue_sentinel(&client->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_mikrobill_fanout_sub_t, client_link);

        if (sub->channel == ch) {
            return sub;
        }
    }

    return NULL;
}


/* off both lists, counts kept in step; the channel is the caller's */

static void
ngx_mikrobill_fanout_unlink(ngx_mikrobill_fanout_sub_t *sub)
{
    ngx_queue_remove(&sub->channel_link);
    ngx_queue_remove(&sub->client_link);
    sub->client->nsubs--;
    sub->channel->nsubs--;
    ngx_free(sub);
}


static void
ngx_mikrobill_fanout_remove(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_sub_t *sub)
{
    ngx_mikrobill_fanout_channel_t  *ch;

    ch = sub->channel;

    if (ch->pattern) {
        sub->client->star = 0;
    }

    ngx_mikrobill_fanout_unlink(sub);
    ngx_mikrobill_fanout_release(fo, ch);
}


static void
ngx_mikrobill_fanout_activate(ngx_mikrobill_fanout_sub_t *sub)
{
    sub->pending = 0;

    if (sub->channel->pattern) {
        sub->client->star = 1;
    }

    ngx_mikrobill_fanout_channel_event(sub->client->ws, "subscribed",
                                       sub->channel);
}


static void
ngx_mikrobill_fanout_channel_event(ngx_mikrobill_ws_t *ws,
    const char *event, ngx_mikrobill_fanout_channel_t *ch)
{
    ngx_str_t  id;

    id.data = ch->sn.str.data + sizeof(NGX_MIKROBILL_FANOUT_PREFIX) - 1;
    id.len = ch->sn.str.len - (sizeof(NGX_MIKROBILL_FANOUT_PREFIX) - 1);

    ngx_mikrobill_fanout_event(ws, event, &id);
}


/* {"event":"subscribed","channel":"<id>"}; ids are UUIDs or "*" */

static void
ngx_mikrobill_fanout_event(ngx_mikrobill_ws_t *ws, const char *event,
    ngx_str_t *id)
{
    u_char  buf[NGX_MIKROBILL_FANOUT_EVENT_MAX], *p;

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"event\":\"%s\",\"channel\":\"%V\"}", event, id);

    ngx_mikrobill_ws_send_text(ws, buf, p - buf);
}


void
ngx_mikrobill_fanout_error(ngx_mikrobill_ws_t *ws, const char *error,
    const char *message)
{
    u_char  buf[NGX_MIKROBILL_FANOUT_EVENT_MAX], *p;

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"event\":\"error\",\"error\":\"%s\","
                     "\"message\":\"%s\"}", error, message);

    ngx_mikrobill_ws_send_text(ws, buf, p - buf);
}
