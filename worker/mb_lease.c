/*
 * Router leases on the control connection.  The time a lease may be
 * trusted to runs from when the command was *sent*, not answered: Redis
 * started the TTL somewhere in between, so this errs on the safe side.
 */

#include "mb_lease.h"

#include <stdio.h>
#include <string.h>

#include "mb_log.h"
#include "mb_redis.h"
#include "mb_registry.h"


#define MB_LEASE_CMD_MS  3000

/* 1: ours now (taken or renewed), 0: another worker's */
static const char  mb_lease_take_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then "
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 "
    "end "
    "if v then return 0 end "
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "  return 1 "
    "end "
    "return 0";

static const char  mb_lease_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  return redis.call('DEL', KEYS[1]) "
    "end "
    "return 0";


static void
mb_lease_taken(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_router_t  *r = data;
    unsigned      ttl = r->w->cfg->router_lease_ms;

    (void) rd;
    r->lease_busy = 0;

    if (r->removed || reply == NULL) {
        mb_router_unref(r);
        return;
    }

    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        /* a margin of a fifth: give up before the key can expire */
        r->lease_until = r->lease_sent + ttl - ttl / 5;
        if (!r->owner) {
            r->owner = 1;
            mb_log_info("router %s (%s): lease taken", r->conf.name,
                        r->conf.id);
            mb_router_owned(r);
        }

    } else if (reply->type == REDIS_REPLY_INTEGER && r->owner) {
        mb_router_lost(r, "lease taken by another worker");

    } else if (reply->type == REDIS_REPLY_ERROR) {
        mb_log_error("router %s: lease: %s", r->conf.name, reply->str);
    }

    mb_router_unref(r);
}


void
mb_lease_tick(mb_router_t *r)
{
    mb_worker_t  *w = r->w;
    char          ttl[16];

    if (r->owner && uv_now(w->loop) > r->lease_until) {
        /* Redis did not answer the renewals: another may take it soon */
        mb_router_lost(r, "lease could not be renewed in time");
    }

    if (r->lease_busy || r->removed) {
        return;
    }

    snprintf(ttl, sizeof(ttl), "%u", w->cfg->router_lease_ms);
    r->lease_sent = uv_now(w->loop);

    if (mb_redis_command(w->ctl, MB_LEASE_CMD_MS, mb_lease_taken, r,
                         "EVAL %s 1 %s %s %s", mb_lease_take_lua,
                         r->lease_key, w->cfg->consumer_name, ttl) == 0)
    {
        r->lease_busy = 1;
        mb_router_ref(r);
    }
}


static void
mb_lease_released(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_router_t    *r = data;
    mb_registry_t  *reg = r->reg;

    (void) rd;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        mb_log_info("router %s (%s): lease released", r->conf.name,
                    r->conf.id);
    }

    mb_router_unref(r);
    mb_registry_release_end(reg);
}


void
mb_lease_release(mb_router_t *r)
{
    mb_worker_t  *w = r->w;

    if (!r->owner) {
        return;
    }

    r->owner = 0;

    if (mb_redis_command(w->ctl, MB_LEASE_CMD_MS, mb_lease_released, r,
                         "EVAL %s 1 %s %s", mb_lease_release_lua,
                         r->lease_key, w->cfg->consumer_name) == 0)
    {
        mb_router_ref(r);
        mb_registry_release_begin(r->reg);
    }
}
