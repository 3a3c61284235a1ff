/*
 * Customer traffic monitors (docs/monitor.md) on the router's lease
 * owner: one /interface/monitor-traffic =interface=<pppoe-USER> stream per
 * customer, tagged and persistent on the router's managed connection.
 * Each sample goes to the Redis stream mikrotik:traffic:customers (XADD
 * MAXLEN ~ 100000) and to the channel mikrobill:traffic:<customer_id>,
 * with the monitor's events.  The set of running monitors is the Redis
 * hash mikrobill:monitors (customer_id -> meta JSON, written by nginx),
 * so that a worker that takes a router over, or restarts, starts them
 * again; an entry is removed only by compare-and-delete on its gen.
 */

#ifndef _MB_MONITOR_H_INCLUDED_
#define _MB_MONITOR_H_INCLUDED_


#include "mb_job.h"
#include "mb_router.h"


#define MB_MONITOR_HASH      "mikrobill:monitors"
#define MB_MONITOR_STREAM    "mikrotik:traffic:customers"
#define MB_MONITOR_MAXLEN    "100000"
#define MB_MONITOR_CHANNEL   "mikrobill:traffic:"     /* + customer_id */


/*
 * monitor.start of customer_id on a router owned here: reads the meta,
 * starts the stream and answers job at the first sample, or with
 * unavailable, trap or not_found (the entry is then removed).
 */
void mb_monitor_start(mb_router_t *r, const char *customer_id,
    mb_job_t *job);
/* monitor.stop: gen NULL stops whatever run of customer_id is going */
void mb_monitor_stop(mb_router_t *r, const char *customer_id,
    const char *gen, mb_job_t *job);

/* the connection is going (lease lost, settings changed, shutdown):
 * cancel and forget the streams; the hash keeps them for the next owner */
void mb_monitor_drop_all(mb_router_t *r);
/* the connection is logged in: start every monitor of the hash that has
 * this router and is not running here */
void mb_monitor_resume(mb_router_t *r);
/* the router left the database (deleted or disabled): its entries go,
 * with a monitor_stopped "error" event each, so no slot stays taken */
void mb_monitor_forget(mb_router_t *r);


#endif /* _MB_MONITOR_H_INCLUDED_ */
