/*
 * Names of the Redis and PostgreSQL hosts, resolved while the
 * configuration is read.  hiredis resolves its host with getaddrinfo() on
 * every connect, and so does libpq for a "host" without "hostaddr"; in a
 * worker that would stall every request of the process for as long as DNS
 * takes.  Reading the configuration may block, the event loop may not, so
 * this is done once at start and on each reload, as nginx does for the
 * servers of an "upstream" without a "resolver".  A name that moves to
 * another address is followed by a reload.
 *
 * libpq still gets "host" for TLS verification, .pgpass and Kerberos; the
 * connection itself goes to "hostaddr".
 */


#include "ngx_mikrobill_resolve.h"

#include <libpq-fe.h>


static ngx_int_t ngx_mikrobill_resolve_host(ngx_conf_t *cf, ngx_str_t *host,
    ngx_str_t *addr, const char *what);
static ngx_int_t ngx_mikrobill_resolve_list(ngx_conf_t *cf, ngx_str_t *hosts,
    ngx_str_t *addrs, const char *what);
static ngx_int_t ngx_mikrobill_resolve_pg_options(ngx_conf_t *cf,
    ngx_mikrobill_main_conf_t *mcf, PQconninfoOption *opts);
static const char *ngx_mikrobill_resolve_option(PQconninfoOption *opts,
    const char *keyword);


ngx_int_t
ngx_mikrobill_resolve_redis(ngx_conf_t *cf, ngx_mikrobill_main_conf_t *mcf)
{
    ngx_int_t  rc;

    rc = ngx_mikrobill_resolve_host(cf, &mcf->redis_host, &mcf->redis_addr,
                                    "mikrobill_redis");

    if (rc == NGX_DECLINED) {
        /* numeric: the host text is NUL-terminated already */
        mcf->redis_addr = mcf->redis_host;
        return NGX_OK;
    }

    return rc;
}


ngx_int_t
ngx_mikrobill_resolve_pg(ngx_conf_t *cf, ngx_mikrobill_main_conf_t *mcf)
{
    char              *err, *p;
    u_char            *conninfo;
    ngx_int_t          rc;
    PQconninfoOption  *opts;

    conninfo = ngx_pnalloc(cf->pool, mcf->pg_conninfo.len + 1);
    if (conninfo == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(conninfo, mcf->pg_conninfo.data, mcf->pg_conninfo.len + 1);

    err = NULL;
    opts = PQconninfoParse((const char *) conninfo, &err);

    if (opts == NULL) {
        /* libpq names the bad keyword or syntax, not the values */
        if (err != NULL && (p = strchr(err, '\n')) != NULL) {
            *p = '\0';
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mikrobill_pg: invalid connection string: %s",
                           err ? err : "out of memory");
        PQfreemem(err);
        return NGX_ERROR;
    }

    rc = ngx_mikrobill_resolve_pg_options(cf, mcf, opts);

    PQconninfoFree(opts);

    return rc;
}


static ngx_int_t
ngx_mikrobill_resolve_pg_options(ngx_conf_t *cf,
    ngx_mikrobill_main_conf_t *mcf, PQconninfoOption *opts)
{
    const char  *host, *hostaddr, *what;
    ngx_int_t    rc;
    ngx_str_t    hosts, addrs;
    ngx_flag_t   from_env;

    /* addresses given already: libpq looks nothing up */

    hostaddr = ngx_mikrobill_resolve_option(opts, "hostaddr");

    if (hostaddr == NULL) {
        hostaddr = getenv("PGHOSTADDR");
    }

    if (hostaddr != NULL && hostaddr[0] != '\0') {
        return NGX_OK;
    }

    what = "mikrobill_pg";
    host = ngx_mikrobill_resolve_option(opts, "host");
    from_env = (host == NULL);

    if (from_env) {
        /*
         * libpq would take PGHOST.  nginx workers see only the variables
         * named by "env", so the hosts looked up here are also passed on
         * explicitly (mcf->pg_host): the worker then connects where the
         * addresses were resolved for, whatever its environment.
         */
        host = getenv("PGHOST");
        what = "mikrobill_pg (PGHOST)";
    }

    if (host == NULL || host[0] == '\0') {
        return NGX_OK;      /* libpq's default: a Unix socket */
    }

    hosts.len = ngx_strlen(host);
    hosts.data = ngx_pnalloc(cf->pool, hosts.len + 1);
    if (hosts.data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(hosts.data, (u_char *) host, hosts.len + 1);

    rc = ngx_mikrobill_resolve_list(cf, &hosts, &addrs, what);

    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? NGX_OK : NGX_ERROR;
    }

    mcf->pg_hostaddr = (const char *) addrs.data;

    if (from_env) {
        mcf->pg_host = (const char *) hosts.data;
    }

    return NGX_OK;
}


/* NULL when the string does not set it */

static const char *
ngx_mikrobill_resolve_option(PQconninfoOption *opts, const char *keyword)
{
    PQconninfoOption  *o;

    for (o = opts; o->keyword != NULL; o++) {
        if (ngx_strcmp(o->keyword, keyword) == 0) {
            return o->val;
        }
    }

    return NULL;
}


/*
 * A libpq host list ("a,b,/run/postgresql") to the matching "hostaddr"
 * list: numeric addresses as they are, an empty element for Unix sockets
 * (and for empty elements, which mean libpq's default), the first address
 * of each name.  NGX_DECLINED when the list holds no name at all.
 */

static ngx_int_t
ngx_mikrobill_resolve_list(ngx_conf_t *cf, ngx_str_t *hosts,
    ngx_str_t *addrs, const char *what)
{
    u_char      *p, *end, *comma, *out;
    ngx_int_t    rc;
    ngx_str_t    host, addr;
    ngx_uint_t   n, names;

    n = 1;

    for (p = hosts->data; p < hosts->data + hosts->len; p++) {
        n += (*p == ',');
    }

    /* each element becomes at most its own length or an address */

    out = ngx_pnalloc(cf->pool, hosts->len + n * NGX_SOCKADDR_STRLEN + 1);
    if (out == NULL) {
        return NGX_ERROR;
    }

    addrs->data = out;
    names = 0;

    p = hosts->data;
    end = hosts->data + hosts->len;

    for ( ;; ) {
        comma = ngx_strlchr(p, end, ',');

        host.data = p;
        host.len = (comma ? comma : end) - p;

        if (host.len > 0 && host.data[0] != '/' && host.data[0] != '@') {

            rc = ngx_mikrobill_resolve_host(cf, &host, &addr, what);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_DECLINED) {
                addr = host;

            } else {
                names++;
            }

            out = ngx_cpymem(out, addr.data, addr.len);
        }

        if (comma == NULL) {
            break;
        }

        *out++ = ',';
        p = comma + 1;
    }

    *out = '\0';
    addrs->len = out - addrs->data;

    return names ? NGX_OK : NGX_DECLINED;
}


/*
 * NGX_DECLINED: host is a numeric IPv4 or IPv6 address, addr untouched.
 * NGX_OK: addr is the first address of the name as NUL-terminated text;
 * ngx_inet_resolve_host() lists IPv4 addresses first, as hiredis and most
 * servers configured for "localhost" expect.
 */

static ngx_int_t
ngx_mikrobill_resolve_host(ngx_conf_t *cf, ngx_str_t *host, ngx_str_t *addr,
    const char *what)
{
    u_char      *text;
    ngx_url_t    u;
    ngx_addr_t   numeric;

    switch (ngx_parse_addr(cf->pool, &numeric, host->data, host->len)) {

    case NGX_OK:
        return NGX_DECLINED;

    case NGX_DECLINED:
        break;

    default:
        return NGX_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.host = *host;

    if (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: cannot resolve host \"%V\": %s", what, host,
                           u.err ? u.err : "no address");
        return NGX_ERROR;
    }

    text = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (text == NULL) {
        return NGX_ERROR;
    }

    addr->len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, text,
                              NGX_SOCKADDR_STRLEN, 0);
    addr->data = text;
    text[addr->len] = '\0';

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "%s: \"%V\" resolved to %V", what, host, addr);

    return NGX_OK;
}
