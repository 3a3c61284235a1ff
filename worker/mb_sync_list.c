/*
 * The fetched sessions as the parallel array literals mb_sync_apply()
 * takes ({"a","b",NULL}), written straight into growing buffers: 10,000
 * sessions make about 600 kB, and array input parses several times faster
 * than JSON on the server.  A byte the server's UTF-8 input would refuse
 * is replaced by '?': such names can never match (pppoe_username is
 * ASCII), and one odd session must not fail the whole run.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_sync_int.h"


static void
mb_sync_buf_put(mb_sync_buf_t *b, const char *p, size_t n)
{
    size_t   cap;
    char    *d;

    if (b->failed) {
        return;
    }

    if (b->len + n > b->cap) {
        cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
}


/* one element: quoted with \ before " and \, or NULL */
static void
mb_sync_buf_elem(mb_sync_buf_t *b, const char *v)
{
    const unsigned char  *p, *run;

    if (b->len > 1) {
        mb_sync_buf_put(b, ",", 1);
    }

    if (v == NULL) {
        mb_sync_buf_put(b, "NULL", 4);
        return;
    }

    mb_sync_buf_put(b, "\"", 1);

    for (p = run = (const unsigned char *) v; *p; p++) {
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
            continue;
        }
        mb_sync_buf_put(b, (const char *) run, (size_t) (p - run));
        if (*p == '"' || *p == '\\') {
            mb_sync_buf_put(b, "\\", 1);
            mb_sync_buf_put(b, (const char *) p, 1);
        } else {
            mb_sync_buf_put(b, "?", 1);
        }
        run = p + 1;
    }

    mb_sync_buf_put(b, (const char *) run, (size_t) (p - run));
    mb_sync_buf_put(b, "\"", 1);
}


/*
 * RouterOS uptime ("1w2d3h4m5s", "4m5s"; "2d03:04:05" on old versions) in
 * seconds, -1 when it is neither: the session's start is what tells a new
 * session from the same one, since the uptime itself grows every second.
 */
long
mb_sync_uptime_s(const char *u)
{
    long         total = 0, v, m, sec;
    const char  *p = u;
    char        *end;

    if (u == NULL || *u == '\0') {
        return -1;
    }

    while (*p) {
        if (!isdigit((unsigned char) *p)) {
            return -1;
        }
        v = strtol(p, &end, 10);
        p = end;
        switch (*p) {
        case 'w': total += v * 604800; break;
        case 'd': total += v * 86400; break;
        case 'h': total += v * 3600; break;
        case 's': total += v; break;
        case 'm':
            if (p[1] == 's') {              /* "500ms" */
                p++;
                break;
            }
            total += v * 60;
            break;
        case ':':
            if (sscanf(p, ":%ld:%ld", &m, &sec) != 2) {
                return -1;
            }
            return total + v * 3600 + m * 60 + sec;
        default:
            return -1;
        }
        p++;
    }

    return total;
}


void
mb_sync_list_open(mb_sync_list_t *l)
{
    int  i;

    for (i = 0; i < MB_SYNC_NCOLS; i++) {
        l->col[i].len = 0;
        l->col[i].failed = 0;
        mb_sync_buf_put(&l->col[i], "{", 1);
    }
}


void
mb_sync_list_add(mb_sync_list_t *l, const char *kind, const char *name,
    const char *address, const char *uptime, const char *caller,
    long long now_s)
{
    unsigned char  bin[16];
    char           start[32];
    long           up = mb_sync_uptime_s(uptime);

    /* a bad address would fail the whole statement's ::inet cast */
    if (address != NULL && inet_pton(AF_INET, address, bin) != 1
        && inet_pton(AF_INET6, address, bin) != 1)
    {
        address = NULL;
    }

    snprintf(start, sizeof(start), "%lld", now_s - up);

    mb_sync_buf_elem(&l->col[0], kind);
    mb_sync_buf_elem(&l->col[1], name);
    mb_sync_buf_elem(&l->col[2], address);
    mb_sync_buf_elem(&l->col[3], uptime);
    mb_sync_buf_elem(&l->col[4], caller);
    mb_sync_buf_elem(&l->col[5], up >= 0 ? start : NULL);
}


/* 0, or -1 out of memory */
int
mb_sync_list_close(mb_sync_list_t *l)
{
    int  i, failed = 0;

    for (i = 0; i < MB_SYNC_NCOLS; i++) {
        mb_sync_buf_put(&l->col[i], "}", 2);       /* with the NUL */
        failed |= l->col[i].failed;
    }

    return failed ? -1 : 0;
}


void
mb_sync_list_free(mb_sync_list_t *l)
{
    int  i;

    for (i = 0; i < MB_SYNC_NCOLS; i++) {
        free(l->col[i].data);
    }
    memset(l, 0, sizeof(*l));
}
