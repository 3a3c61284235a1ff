/*
 * A router's lease in Redis: key mikrobill:router:<id>:owner holding the
 * owner's consumer name with a TTL of router_lease_ms.  Taken with
 * SET key owner NX PX ttl and renewed with PEXPIRE only while the value is
 * still ours (a Lua script, so that the check and the renewal are one
 * step); released with a compare-and-delete on shutdown.  A worker that
 * cannot renew in time gives the router up before the key can expire, so
 * two workers never both believe they own it for longer than a tick.
 */

#ifndef _MB_LEASE_H_INCLUDED_
#define _MB_LEASE_H_INCLUDED_


#include "mb_router.h"


/* every router_lease_ms / 3: take the lease if free, renew it if ours */
void mb_lease_tick(mb_router_t *r);
/* give it back when ours (shutdown, row removed) */
void mb_lease_release(mb_router_t *r);


#endif /* _MB_LEASE_H_INCLUDED_ */
