/*
 * Host names of PostgreSQL and Redis looked up on libuv's thread pool
 * (uv_getaddrinfo) before each connect: hiredis and libpq would otherwise
 * call a blocking getaddrinfo() inside the loop.  They are then given the
 * numeric address (libpq as "hostaddr", next to the "host" it keeps for
 * TLS and passwords).  Looking up again on every reconnect follows DNS
 * changes.
 */

#ifndef _MB_RESOLVE_H_INCLUDED_
#define _MB_RESOLVE_H_INCLUDED_


#include <uv.h>


typedef struct mb_resolve_s  mb_resolve_t;

/*
 * addrs: the numeric address of each element of hosts, comma-separated
 * like a libpq "hostaddr" list (empty for Unix sockets); valid during the
 * call.  On failure addrs is NULL and err says which name failed.
 */
typedef void (*mb_resolve_pt)(const char *addrs, const char *err,
    void *data);


/*
 * 1 when hosts (one host, or a libpq comma-separated host list) holds a
 * name to look up; 0 when it is only numeric addresses, Unix socket paths
 * ("/..." or "@...") and empty elements.
 */
int mb_resolve_needed(const char *hosts);

/*
 * Looks up the names of hosts one after the other.  cb is called exactly
 * once, later, unless cancelled.  NULL when the lookup cannot start (out
 * of memory): cb is then not called.
 */
mb_resolve_t *mb_resolve_start(uv_loop_t *loop, const char *hosts,
    mb_resolve_pt cb, void *data);

/* cb is never called after this; rs is freed once libuv lets it go */
void mb_resolve_cancel(mb_resolve_t *rs);


#endif /* _MB_RESOLVE_H_INCLUDED_ */
