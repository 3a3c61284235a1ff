/*
 * "monitor.start" {"customer_id", "router_id"} and "monitor.stop"
 * {"customer_id", "router_id", "gen"} (docs/monitor.md).  Only the
 * router's lease holder runs a monitor: any other worker routes the
 * command to the router's own stream exactly as router.exec does.
 */

#include <string.h>

#include "mb_job.h"
#include "mb_monitor.h"
#include "mb_registry.h"
#include "mb_router.h"
#include "mb_valid.h"


/* the router owned here, or NULL after routing the job elsewhere */
static mb_router_t *
mb_cmon_owner(mb_job_t *job, int with_gen)
{
    json_t       *p = job->payload;
    const char   *cid = json_string_value(json_object_get(p, "customer_id"));
    const char   *rid = json_string_value(json_object_get(p, "router_id"));
    json_t       *gen = json_object_get(p, "gen");
    mb_router_t  *r;

    if (!json_is_object(p) || !mb_valid_uuid(cid) || !mb_valid_uuid(rid)
        || (with_gen && gen != NULL && !json_is_null(gen)
            && !mb_valid_text(json_string_value(gen), 64)))
    {
        mb_job_fail(job, "bad_request", "payload must be an object with a "
                    "customer_id and a router_id (uuids)%s",
                    with_gen ? " and the run's gen" : "");
        return NULL;
    }

    r = mb_registry_find(job->worker->registry, rid);

    if (r != NULL && r->owner) {
        return r;
    }

    mb_router_route(job, r, rid);
    return NULL;
}


void
mb_cmd_monitor_start(mb_job_t *job)
{
    mb_router_t  *r = mb_cmon_owner(job, 0);

    if (r != NULL) {
        mb_monitor_start(r, json_string_value(
                         json_object_get(job->payload, "customer_id")), job);
    }
}


void
mb_cmd_monitor_stop(mb_job_t *job)
{
    mb_router_t  *r = mb_cmon_owner(job, 1);

    if (r != NULL) {
        mb_monitor_stop(r, json_string_value(
                        json_object_get(job->payload, "customer_id")),
                        json_string_value(json_object_get(job->payload,
                                                          "gen")), job);
    }
}
