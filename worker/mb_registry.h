/*
 * The router registry of a running worker: the enabled rows of the
 * routers table, re-read at start, on NOTIFY mikrobill_routers and every
 * router_reload_s seconds; one mb_router_t each.  It also reads the
 * command streams of the routers whose lease this worker holds, on a
 * Redis connection of its own (a blocking XREADGROUP occupies it).
 */

#ifndef _MB_REGISTRY_H_INCLUDED_
#define _MB_REGISTRY_H_INCLUDED_


#include <hiredis/hiredis.h>

#include "mb_router.h"
#include "mb_worker.h"


mb_registry_t *mb_registry_create(mb_worker_t *w);
void mb_registry_start(mb_registry_t *reg);

mb_worker_t *mb_registry_worker(mb_registry_t *reg);
/* the routers of the latest reload, by id; NULL when unknown */
mb_router_t *mb_registry_find(mb_registry_t *reg, const char *id);
/* the first router of the latest reload (then r->next); skip removed */
mb_router_t *mb_registry_routers(mb_registry_t *reg);
/* the secret key, or NULL (why in err) when it could not be loaded */
const unsigned char *mb_registry_key(mb_registry_t *reg, const char **err);

/* a router started owning or stopped: read its stream, or not */
void mb_registry_streams_changed(mb_registry_t *reg);
/* runs [[entry-id, [field, value, ...]], ...] read from a router stream */
void mb_registry_dispatch(mb_registry_t *reg, const char *stream,
    const redisReply *entries);

/* a reload soon (a router.exec for an id not loaded yet) */
void mb_registry_reload_soon(mb_registry_t *reg);

/* lease releases in flight or started by mb_registry_stop() */
void mb_registry_release_begin(mb_registry_t *reg);
void mb_registry_release_end(mb_registry_t *reg);
int mb_registry_busy(const mb_registry_t *reg);

/* shutdown: stop reading, remove every router (releasing leases) */
void mb_registry_stop(mb_registry_t *reg);
/* frees reg once its handles are closed; after mb_registry_stop() */
void mb_registry_close(mb_registry_t *reg);


#endif /* _MB_REGISTRY_H_INCLUDED_ */
