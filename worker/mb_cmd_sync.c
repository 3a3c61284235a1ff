/*
 * "sync.now": payload {"router_id"} or none for every router.  Only the
 * lease holder syncs a router: as with router.exec, a worker that does not
 * hold the lease forwards the command to the router's own stream, which
 * the owner reads.  For "every router" each router not owned here gets its
 * own sync.now (without reply_to) on its stream.  The answer,
 * {"ok":true,"queued":N}, says how many routers will sync; the results
 * come as events on mikrobill:events:sync.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_job.h"
#include "mb_log.h"
#include "mb_redis.h"
#include "mb_registry.h"
#include "mb_router.h"
#include "mb_sync.h"
#include "mb_valid.h"


#define MB_CSYNC_REDIS_MS  5000


static void
mb_csync_queued(mb_job_t *job, long n)
{
    json_t  *reply = mb_job_ok(job);

    json_object_set_new(reply, "queued", json_integer(n));
    mb_job_reply(job, reply);
}


/* one router's sync.now for its owner, fire and forget */
static void
mb_csync_pass_on(mb_worker_t *w, const mb_router_t *r)
{
    char  payload[128];

    snprintf(payload, sizeof(payload), "{\"router_id\":\"%s\"}",
             r->conf.id);

    if (mb_redis_command(w->ctl, MB_CSYNC_REDIS_MS, NULL, NULL,
                         "XADD %s MAXLEN ~ " MB_ROUTER_STREAM_MAXLEN
                         " * type sync.now payload %s", r->stream,
                         payload) != 0)
    {
        mb_log_warn("sync.now: redis down, router %s not synced",
                    r->conf.name);
    }
}


static void
mb_csync_all(mb_job_t *job)
{
    mb_worker_t  *w = job->worker;
    mb_router_t  *r;
    long          n = 0;

    for (r = mb_registry_routers(w->registry); r != NULL; r = r->next) {
        if (r->removed) {
            continue;
        }
        if (r->owner && mb_sync_now(r) == 0) {
            n++;
        } else if (!r->owner) {
            mb_csync_pass_on(w, r);
            n++;
        }
    }

    mb_csync_queued(job, n);
}


void
mb_cmd_sync_now(mb_job_t *job)
{
    json_t       *p = job->payload;
    json_t       *jid = json_object_get(p, "router_id");
    const char   *id = json_string_value(jid);
    mb_router_t  *r;

    if ((p != NULL && !json_is_object(p))
        || (jid != NULL && !json_is_null(jid) && !mb_valid_uuid(id)))
    {
        mb_job_fail(job, "bad_request", "payload must be empty or an "
                    "object with a router_id (uuid)");
        return;
    }

    if (id == NULL) {
        mb_csync_all(job);
        return;
    }

    r = mb_registry_find(job->worker->registry, id);

    if (r != NULL && r->owner) {
        if (mb_sync_now(r) != 0) {
            mb_job_fail(job, "unavailable", "the router is not synced by "
                        "this worker");
            return;
        }
        mb_csync_queued(job, 1);

    } else {
        mb_router_route(job, r, id);
    }
}
