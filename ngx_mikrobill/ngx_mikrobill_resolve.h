/*
 * Host names of mikrobill_pg and mikrobill_redis, resolved once while the
 * configuration is read (as nginx does for upstream servers without a
 * "resolver"), so that neither hiredis nor libpq calls a blocking
 * getaddrinfo() in a worker's event loop.
 */

#ifndef _NGX_MIKROBILL_RESOLVE_H_INCLUDED_
#define _NGX_MIKROBILL_RESOLVE_H_INCLUDED_


#include "ngx_mikrobill.h"


/*
 * Sets mcf->redis_addr from mcf->redis_host: the host itself when it is a
 * numeric address, else its first address (IPv4 first).  NGX_ERROR, with
 * an emerg message naming the host, when it cannot be resolved.
 */
ngx_int_t ngx_mikrobill_resolve_redis(ngx_conf_t *cf,
    ngx_mikrobill_main_conf_t *mcf);

/*
 * Sets mcf->pg_hostaddr (and mcf->pg_host when the hosts come from
 * PGHOST) when the connection string names hosts by name; both stay NULL
 * when libpq needs no lookup.  NGX_ERROR, with an emerg message naming the
 * host (never the connection string), on a bad string or unknown name.
 */
ngx_int_t ngx_mikrobill_resolve_pg(ngx_conf_t *cf,
    ngx_mikrobill_main_conf_t *mcf);


#endif /* _NGX_MIKROBILL_RESOLVE_H_INCLUDED_ */
