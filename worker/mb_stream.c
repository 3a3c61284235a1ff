/*
 * Stream consumer.  Reads go on the reader connection, which a blocking
 * XREADGROUP occupies for up to 5 s; group creation and claims go on the
 * control connection.  After every (re)connect the group is ensured (a
 * Redis restart without persistence loses it) and this consumer's pending
 * entries are read again from ID 0 before new ones (">"), so that nothing
 * delivered before a disconnect is lost.  Entries already in flight are
 * skipped, so a re-delivery never runs a command twice at once.
 */

#include "mb_stream.h"

#include <stdlib.h>
#include <string.h>

#include "mb_job.h"
#include "mb_log.h"
#include "mb_redis.h"


#define MB_STREAM_COUNT     "32"
#define MB_STREAM_BLOCK_MS  5000
#define MB_STREAM_CMD_MS    5000
#define MB_STREAM_ID_LEN    64


struct mb_stream_s {
    mb_worker_t  *w;
    int           group_ready;
    int           creating;
    int           reading;
    int           claiming;
    int           stopped;
    int           history;                      /* reading own pending */
    char          cursor[MB_STREAM_ID_LEN];     /* history position */
    char          claim_cursor[MB_STREAM_ID_LEN];
    uv_timer_t    timer;                        /* claims and retries */
};


static void mb_stream_read(mb_stream_t *s);
static void mb_stream_ensure_group(mb_stream_t *s);
static void mb_stream_claim(mb_stream_t *s);


static void
mb_stream_on_timer(uv_timer_t *t)
{
    mb_stream_t  *s = t->data;

    /* also the retry path after an error reply to a read or group create */
    mb_stream_ensure_group(s);
    mb_stream_read(s);
    mb_stream_claim(s);
}


mb_stream_t *
mb_stream_create(mb_worker_t *w)
{
    mb_stream_t  *s;
    unsigned      period;

    s = calloc(1, sizeof(mb_stream_t));
    if (s == NULL) {
        return NULL;
    }

    s->w = w;
    strcpy(s->claim_cursor, "0-0");

    /* often enough that an idle entry waits at most 1.5 x claim_idle_ms */
    period = w->cfg->claim_idle_ms / 2;
    period = period < 100 ? 100 : period > 30000 ? 30000 : period;

    uv_timer_init(w->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, mb_stream_on_timer, period, period);

    return s;
}


/* runs the entries of an array; returns how many, and the last id */
static size_t
mb_stream_entries(mb_stream_t *s, const redisReply *entries, char *last)
{
    size_t             i;
    const redisReply  *e;

    if (entries->type != REDIS_REPLY_ARRAY) {
        return 0;
    }

    for (i = 0; i < entries->elements; i++) {
        e = entries->element[i];
        if (last != NULL && e->type == REDIS_REPLY_ARRAY && e->elements > 0
            && e->element[0]->type == REDIS_REPLY_STRING)
        {
            snprintf(last, MB_STREAM_ID_LEN, "%s", e->element[0]->str);
        }
        mb_job_run_entry(s->w, NULL, e);
    }

    return entries->elements;
}


static int
mb_stream_error(mb_stream_t *s, redisReply *reply, const char *what)
{
    if (reply->type != REDIS_REPLY_ERROR) {
        return 0;
    }

    if (strncmp(reply->str, "NOGROUP", 7) == 0) {
        mb_log_warn("%s: consumer group gone, creating it again", what);
        s->group_ready = 0;
        mb_stream_ensure_group(s);

    } else {
        mb_log_error("%s: %s", what, reply->str);
    }

    return 1;
}


static void
mb_stream_read_done(mb_redis_t *r, redisReply *reply, void *data)
{
    mb_stream_t  *s = data;
    size_t        n = 0;

    (void) r;
    s->reading = 0;

    /* NULL: the connection is gone, its on_up starts reading again */
    if (reply == NULL || s->stopped
        || mb_stream_error(s, reply, "XREADGROUP"))
    {
        return;
    }

    /* [[stream, [entry, ...]]], or nil when BLOCK timed out */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_ARRAY
        && reply->element[0]->elements == 2)
    {
        n = mb_stream_entries(s, reply->element[0]->element[1], s->cursor);
    }

    if (s->history && n == 0) {
        s->history = 0;
        mb_log_debug("own pending entries done, reading new ones");
    }

    mb_stream_read(s);
}


static void
mb_stream_read(mb_stream_t *s)
{
    mb_worker_t        *w = s->w;
    const mb_config_t  *cfg = w->cfg;
    int                 rc;

    if (s->reading || s->stopped || !s->group_ready
        || !mb_redis_ready(w->reader))
    {
        return;
    }

    if (s->history) {
        rc = mb_redis_command(w->reader, MB_STREAM_CMD_MS,
                 mb_stream_read_done, s,
                 "XREADGROUP GROUP %s %s COUNT " MB_STREAM_COUNT
                 " STREAMS %s %s", cfg->group, cfg->consumer_name,
                 cfg->stream, s->cursor);
    } else {
        rc = mb_redis_command(w->reader, MB_STREAM_BLOCK_MS + MB_STREAM_CMD_MS,
                 mb_stream_read_done, s,
                 "XREADGROUP GROUP %s %s BLOCK %d COUNT " MB_STREAM_COUNT
                 " STREAMS %s >", cfg->group, cfg->consumer_name,
                 MB_STREAM_BLOCK_MS, cfg->stream);
    }

    s->reading = rc == 0;
}


static void
mb_stream_group_done(mb_redis_t *r, redisReply *reply, void *data)
{
    mb_stream_t  *s = data;

    (void) r;
    s->creating = 0;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        mb_log_error("XGROUP CREATE %s %s: %s", s->w->cfg->stream,
                     s->w->cfg->group, reply->str);
        return;
    }

    mb_log_info("consumer group %s on %s ready, consumer %s",
                s->w->cfg->group, s->w->cfg->stream,
                s->w->cfg->consumer_name);

    s->group_ready = 1;
    s->history = 1;
    strcpy(s->cursor, "0");
    mb_stream_read(s);
    mb_stream_claim(s);
}


static void
mb_stream_ensure_group(mb_stream_t *s)
{
    mb_worker_t  *w = s->w;

    if (s->group_ready || s->creating || s->stopped
        || !mb_redis_ready(w->ctl))
    {
        return;
    }

    /*
     * Start at 0, not $: a missing group means a new stream or a Redis that
     * lost its data, and commands queued before any worker came up must
     * still be delivered.
     */
    s->creating = mb_redis_command(w->ctl, MB_STREAM_CMD_MS,
                      mb_stream_group_done, s,
                      "XGROUP CREATE %s %s 0 MKSTREAM", w->cfg->stream,
                      w->cfg->group) == 0;
}


static void
mb_stream_claim_done(mb_redis_t *r, redisReply *reply, void *data)
{
    mb_stream_t  *s = data;
    size_t        n;

    (void) r;
    s->claiming = 0;

    if (reply == NULL || s->stopped || mb_stream_error(s, reply, "XAUTOCLAIM")
        || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    n = mb_stream_entries(s, reply->element[1], NULL);
    if (n > 0) {
        mb_log_info("claimed %zu idle entr%s from other consumers", n,
                    n == 1 ? "y" : "ies");
    }

    /* "0-0": the whole pending list was scanned; else go on at once */
    snprintf(s->claim_cursor, sizeof(s->claim_cursor), "%s",
             reply->element[0]->str);
    if (strcmp(s->claim_cursor, "0-0") != 0) {
        mb_stream_claim(s);
    }
}


static void
mb_stream_claim(mb_stream_t *s)
{
    mb_worker_t        *w = s->w;
    const mb_config_t  *cfg = w->cfg;

    if (s->claiming || s->stopped || !s->group_ready
        || !mb_redis_ready(w->ctl))
    {
        return;
    }

    s->claiming = mb_redis_command(w->ctl, MB_STREAM_CMD_MS,
                      mb_stream_claim_done, s,
                      "XAUTOCLAIM %s %s %s %u %s COUNT " MB_STREAM_COUNT,
                      cfg->stream, cfg->group, cfg->consumer_name,
                      cfg->claim_idle_ms, s->claim_cursor) == 0;
}


void
mb_stream_redis_up(mb_redis_t *r, void *data)
{
    mb_stream_t  *s = data;

    (void) r;

    mb_stream_ensure_group(s);
    mb_stream_read(s);
}


void
mb_stream_redis_down(mb_redis_t *r, void *data)
{
    mb_stream_t  *s = data;

    (void) r;

    /* after a reconnect: ensure the group, re-read own pending entries */
    s->group_ready = 0;
}


void
mb_stream_stop(mb_stream_t *s)
{
    s->stopped = 1;
    uv_timer_stop(&s->timer);
}


static void
mb_stream_closed(uv_handle_t *h)
{
    free(h->data);
}


void
mb_stream_close(mb_stream_t *s)
{
    mb_stream_stop(s);
    uv_close((uv_handle_t *) &s->timer, mb_stream_closed);
}
