/*
 * The live status sync of a router this worker owns: every
 * sync_interval_s and on "sync.now", /ppp/active and /ip/hotspot/active
 * are fetched on the managed connection and applied to the router's
 * customers in one transaction (sql/004_sync.sql).  A failed fetch changes
 * no customer; router_status says why.  Each run is recorded in sync_runs
 * and published on mikrobill:events:sync.  See docs/worker.md.
 */

#ifndef _MB_SYNC_H_INCLUDED_
#define _MB_SYNC_H_INCLUDED_


#include "mb_router.h"


#define MB_SYNC_CHANNEL  "mikrobill:events:sync"


/* the router is ours now: a run at once, then every sync_interval_s */
void mb_sync_start(mb_router_t *r);
/* lost, removed or shutdown: no more runs; a fetch in flight is cancelled
 * (before the client is closed) */
void mb_sync_stop(mb_router_t *r);

/* "Sync now": 0 when a run is started or queued behind the running one,
 * -1 when the router is not synced by this worker */
int mb_sync_now(mb_router_t *r);

/* the managed connection logged in (up) or went down with error */
void mb_sync_conn_state(mb_router_t *r, int up, const char *error);


#endif /* _MB_SYNC_H_INCLUDED_ */
