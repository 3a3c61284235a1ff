/*
 * Traffic monitors: /interface/monitor-traffic streams on a router's
 * managed connection.  Each sample goes to the Redis stream
 * mikrotik:traffic:customers (XADD MAXLEN ~ 100000) and is published on
 * mikrotik:traffic for live views.  The set of monitored interfaces lives
 * in Redis (mikrobill:router:<id>:monitors), so a worker that takes over a
 * router's lease starts them again.
 */

#ifndef _MB_MONITOR_H_INCLUDED_
#define _MB_MONITOR_H_INCLUDED_


#include "mb_job.h"
#include "mb_router.h"


#define MB_MONITOR_STREAM    "mikrotik:traffic:customers"
#define MB_MONITOR_CHANNEL   "mikrotik:traffic"
#define MB_MONITOR_MAXLEN    "100000"


/*
 * Starts (or finds) the monitor of iface.  With a job, the job is answered
 * at the first sample, or with the router's trap; without one (a restart
 * after a lease take-over) failures are only logged.
 */
void mb_monitor_start(mb_router_t *r, const char *iface, mb_job_t *job);
/* 1 when a monitor was running */
int mb_monitor_stop(mb_router_t *r, const char *iface);

/* the connection is going: cancel and forget the streams (the Redis set
 * stays); before the client is closed */
void mb_monitor_drop_all(mb_router_t *r);
/* a new connection (lease taken, settings changed): start what the Redis
 * set lists */
void mb_monitor_resume(mb_router_t *r);


#endif /* _MB_MONITOR_H_INCLUDED_ */
