/*
 * Looks up the names of a host list on libuv's thread pool, one at a time,
 * and builds the matching list of numeric addresses.  The request lives
 * until libuv calls back, even when cancelled, so that the owner can go
 * away at any time.
 */

#include "mb_resolve.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct mb_resolve_s {
    uv_loop_t         *loop;
    uv_getaddrinfo_t   req;
    mb_resolve_pt      cb;
    void              *data;
    int                cancelled;
    char              *hosts;      /* a copy, its commas turned into NULs */
    char              *end;        /* of the copy */
    char              *name;       /* the element being looked up */
    char              *out;        /* the addresses so far */
    size_t             len;
    unsigned           count;      /* elements in out */
};


static void mb_resolve_done(uv_getaddrinfo_t *req, int status,
    struct addrinfo *res);


/* an element that hiredis or libpq would not look up */
static int
mb_resolve_literal(const char *host)
{
    unsigned char  buf[sizeof(struct in6_addr)];

    return host[0] == '\0' || host[0] == '/' || host[0] == '@'
           || inet_pton(AF_INET, host, buf) == 1
           || inet_pton(AF_INET6, host, buf) == 1;
}


int
mb_resolve_needed(const char *hosts)
{
    char  *copy, *p, *comma;
    int    needed;

    copy = strdup(hosts);
    if (copy == NULL) {
        return 1;           /* mb_resolve_start() then reports it */
    }

    needed = 0;

    for (p = copy; p != NULL && !needed; p = comma) {
        comma = strchr(p, ',');
        if (comma != NULL) {
            *comma++ = '\0';
        }

        needed = !mb_resolve_literal(p);
    }

    free(copy);

    return needed;
}


static void
mb_resolve_free(mb_resolve_t *rs)
{
    free(rs->hosts);
    free(rs->out);
    free(rs);
}


static void
mb_resolve_append(mb_resolve_t *rs, const char *addr)
{
    size_t  n = strlen(addr);

    if (rs->count++ > 0) {
        rs->out[rs->len++] = ',';
    }

    memcpy(rs->out + rs->len, addr, n);
    rs->len += n;
    rs->out[rs->len] = '\0';
}


/* libpq and hiredis try IPv4 first too; -1 when there is no address */
static int
mb_resolve_first(mb_resolve_t *rs, const struct addrinfo *res)
{
    const struct addrinfo  *ai, *v6;
    char                    buf[INET6_ADDRSTRLEN];

    v6 = NULL;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            uv_ip4_name((const struct sockaddr_in *) ai->ai_addr, buf,
                        sizeof(buf));
            mb_resolve_append(rs, buf);
            return 0;
        }

        if (ai->ai_family == AF_INET6 && v6 == NULL) {
            v6 = ai;
        }
    }

    if (v6 == NULL) {
        return -1;
    }

    uv_ip6_name((const struct sockaddr_in6 *) v6->ai_addr, buf, sizeof(buf));
    mb_resolve_append(rs, buf);

    return 0;
}


/*
 * Copies the literal elements from rs->name on, then starts the lookup of
 * the next name.  0: a lookup is under way; 1: the list is complete; a
 * libuv error code when the lookup cannot start.
 */
static int
mb_resolve_next(mb_resolve_t *rs)
{
    struct addrinfo  hints;

    for ( ;; ) {
        if (rs->name > rs->end) {
            return 1;
        }

        if (!mb_resolve_literal(rs->name)) {
            break;
        }

        /* a Unix socket has no address: an empty element */
        mb_resolve_append(rs, rs->name[0] == '/' || rs->name[0] == '@'
                              ? "" : rs->name);
        rs->name += strlen(rs->name) + 1;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    return uv_getaddrinfo(rs->loop, &rs->req, mb_resolve_done, rs->name,
                          NULL, &hints);
}


mb_resolve_t *
mb_resolve_start(uv_loop_t *loop, const char *hosts, mb_resolve_pt cb,
    void *data)
{
    size_t         n, len;
    char          *p;
    const char    *c;
    mb_resolve_t  *rs;

    len = strlen(hosts);
    n = 1;

    for (c = hosts; *c != '\0'; c++) {
        n += (*c == ',');
    }

    rs = calloc(1, sizeof(mb_resolve_t));
    if (rs == NULL) {
        return NULL;
    }

    /* each element becomes at most its own text or an address */
    rs->hosts = strdup(hosts);
    rs->out = malloc(len + n * INET6_ADDRSTRLEN + 1);

    if (rs->hosts == NULL || rs->out == NULL) {
        mb_resolve_free(rs);
        return NULL;
    }

    for (p = rs->hosts; *p != '\0'; p++) {
        if (*p == ',') {
            *p = '\0';
        }
    }

    rs->loop = loop;
    rs->cb = cb;
    rs->data = data;
    rs->name = rs->hosts;
    rs->end = rs->hosts + len;
    rs->req.data = rs;
    rs->out[0] = '\0';

    /* without a name to look up cb would have to be called right now */
    if (mb_resolve_next(rs) != 0) {
        mb_resolve_free(rs);
        return NULL;
    }

    return rs;
}


static void
mb_resolve_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    mb_resolve_t  *rs = req->data;
    char           err[320];
    int            rc;

    if (rs->cancelled) {
        uv_freeaddrinfo(res);
        mb_resolve_free(rs);
        return;
    }

    rc = status;

    if (rc == 0 && mb_resolve_first(rs, res) != 0) {
        rc = UV_EAI_NODATA;
    }

    uv_freeaddrinfo(res);

    if (rc == 0) {
        rs->name += strlen(rs->name) + 1;
        rc = mb_resolve_next(rs);

        if (rc == 0) {
            return;                 /* the next name */
        }
    }

    if (rc == 1) {
        rs->cb(rs->out, NULL, rs->data);

    } else {
        snprintf(err, sizeof(err), "cannot resolve %s: %s", rs->name,
                 uv_strerror(rc));
        rs->cb(NULL, err, rs->data);
    }

    mb_resolve_free(rs);
}


void
mb_resolve_cancel(mb_resolve_t *rs)
{
    rs->cancelled = 1;

    /* fails when the lookup already runs: then it just ends unheard */
    (void) uv_cancel((uv_req_t *) &rs->req);
}
