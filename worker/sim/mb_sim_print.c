/*
 * print: items become records (name/value lists), records are filtered
 * by the query words and written as !re sentences cut down to .proplist.
 * All replies of one input chunk go to the connection's output buffer and
 * leave in one write, so 10,000 sessions cost one syscall, not 10,000.
 */

#include "mb_sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MB_SIM_QSTACK   64


/* ---- records -------------------------------------------------------- */

void
mb_sim_rec_reset(mb_sim_rec_t *r)
{
    r->n = 0;
    r->used = 0;
}


void
mb_sim_rec_add(mb_sim_rec_t *r, const char *name, const char *value)
{
    if (r->n < MB_SIM_REC_MAX) {
        r->name[r->n] = name;
        r->value[r->n] = value;
        r->n++;
    }
}


void
mb_sim_rec_addf(mb_sim_rec_t *r, const char *name, const char *fmt, ...)
{
    va_list  ap;
    size_t   room = sizeof(r->buf) - r->used;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(r->buf + r->used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= room) {
        return;                     /* a record this big is a bug */
    }
    mb_sim_rec_add(r, name, r->buf + r->used);
    r->used += (size_t) n + 1;
}


void
mb_sim_rec_item(mb_sim_rec_t *r, mb_sim_table_t *t, mb_sim_item_t *it)
{
    char         tmp[128];
    const char  *v;
    size_t       i;

    mb_sim_rec_reset(r);
    mb_sim_rec_addf(r, ".id", "*%X", (unsigned) it->id);
    for (i = 0; i < t->nfields; i++) {
        v = it->v[i];
        if ((t->fields[i].flags & MB_SIM_F_DYN) && t->dyn) {
            v = t->dyn(t, it, i, tmp, sizeof(tmp));
            if (v == tmp) {
                mb_sim_rec_addf(r, t->fields[i].name, "%s", tmp);
                continue;
            }
        }
        if (v != NULL) {
            mb_sim_rec_add(r, t->fields[i].name, v);
        }
    }
}


static const char *
mb_sim_rec_get(const mb_sim_rec_t *r, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        if (strncmp(r->name[i], name, len) == 0 && r->name[i][len] == '\0') {
            return r->value[i];
        }
    }
    return NULL;
}


/* ---- replies ---------------------------------------------------------- */

void
mb_sim_reply_begin(mb_sim_conn_t *c, const char *type, const char *tag)
{
    mb_ros_buf_word(&c->out, type, strlen(type));
    /* RouterOS puts .tag right after the reply word */
    if (tag != NULL) {
        mb_ros_buf_attr(&c->out, ".", "tag", tag);
    }
}


void
mb_sim_reply_attr(mb_sim_conn_t *c, const char *name, const char *val)
{
    mb_ros_buf_attr(&c->out, "=", name, val);
}


void
mb_sim_reply_end(mb_sim_conn_t *c)
{
    mb_ros_buf_end(&c->out);
}


void
mb_sim_reply_done(mb_sim_req_t *r, const char *ret)
{
    mb_sim_reply_begin(r->conn, "!done", r->tag);
    if (ret != NULL) {
        mb_sim_reply_attr(r->conn, "ret", ret);
    }
    mb_sim_reply_end(r->conn);
}


/* a trap is always followed by its command's !done */
void
mb_sim_reply_trap(mb_sim_req_t *r, const char *category,
    const char *message)
{
    mb_sim_reply_begin(r->conn, "!trap", r->tag);
    if (category != NULL) {
        mb_sim_reply_attr(r->conn, "category", category);
    }
    mb_sim_reply_attr(r->conn, "message", message);
    mb_sim_reply_end(r->conn);
    mb_sim_reply_done(r, NULL);
}


void
mb_sim_reply_trapf(mb_sim_req_t *r, const char *fmt, ...)
{
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mb_sim_reply_trap(r, NULL, msg);
}


/* ---- .proplist and options ------------------------------------------- */

void
mb_sim_print_proplist(mb_sim_print_t *p, const char *list)
{
    const char  *s = list, *comma;

    p->has_props = 1;
    while (*s && p->nprops < MB_SIM_REC_MAX) {
        comma = strchr(s, ',');
        if (comma == NULL) {
            comma = s + strlen(s);
        }
        if (comma > s) {
            p->props[p->nprops] = s;
            p->plen[p->nprops] = (size_t) (comma - s);
            p->nprops++;
        }
        s = *comma ? comma + 1 : comma;
    }
}


void
mb_sim_print_init(mb_sim_print_t *p, mb_sim_req_t *r)
{
    const char  *v;

    memset(p, 0, sizeof(*p));
    p->req = r;
    p->s = r ? r->s : NULL;
    if (r == NULL) {
        return;
    }
    v = mb_sim_args_get(&r->args, ".proplist");
    if (v != NULL) {
        mb_sim_print_proplist(p, v);
    }
    v = mb_sim_args_get(&r->args, "count-only");
    p->count_only = v != NULL && strcmp(v, "no") != 0
                    && strcmp(v, "false") != 0;
}


static int
mb_sim_print_wanted(const mb_sim_print_t *p, const char *name)
{
    size_t  i;

    if (!p->has_props) {
        return 1;
    }
    for (i = 0; i < p->nprops; i++) {
        if (strncmp(p->props[i], name, p->plen[i]) == 0
            && name[p->plen[i]] == '\0')
        {
            return 1;
        }
    }
    return 0;
}


void
mb_sim_emit_rec(mb_sim_conn_t *c, const char *tag, const mb_sim_print_t *p,
    const mb_sim_rec_t *rec)
{
    size_t  i;

    mb_sim_reply_begin(c, "!re", tag);
    for (i = 0; i < rec->n; i++) {
        if (mb_sim_print_wanted(p, rec->name[i])) {
            mb_sim_reply_attr(c, rec->name[i], rec->value[i]);
        }
    }
    mb_sim_reply_end(c);
}


/* ---- queries: a stack machine over the ?words ------------------------- */

static int
mb_sim_query_cmp(const char *a, const char *b)
{
    char       *ea, *eb;
    long long   x, y;

    /* ids and numbers compare as numbers, everything else as text */
    if (a[0] == '*' && b[0] == '*') {
        x = strtoll(a + 1, &ea, 16);
        y = strtoll(b + 1, &eb, 16);
    } else {
        x = strtoll(a, &ea, 10);
        y = strtoll(b, &eb, 10);
    }
    if (*a && *b && *ea == '\0' && *eb == '\0') {
        return (x > y) - (x < y);
    }
    return strcmp(a, b);
}


static int
mb_sim_query_eq(const char *have, const char *want)
{
    /* booleans print as true/false but are asked as yes/no too */
    if (strcmp(want, "yes") == 0) {
        want = "true";
    } else if (strcmp(want, "no") == 0) {
        want = "false";
    }
    return strcmp(have, want) == 0;
}


/* one "?name=x", "?-name", "?<name=x", "?>name=x" or "?name" word */
static int
mb_sim_query_term(const char *w, const mb_sim_rec_t *rec)
{
    const char  *eq, *have;
    char         op = '=';
    size_t       nlen;

    if (*w == '-' || *w == '<' || *w == '>' || *w == '=') {
        op = *w++;
    }
    eq = strchr(w, '=');
    nlen = eq ? (size_t) (eq - w) : strlen(w);
    have = mb_sim_rec_get(rec, w, nlen);

    if (op == '-') {
        return have == NULL;
    }
    if (have == NULL) {
        return 0;
    }
    if (eq == NULL) {
        return 1;                   /* "?name": the item has it */
    }
    if (op == '<') {
        return mb_sim_query_cmp(have, eq + 1) < 0;
    }
    if (op == '>') {
        return mb_sim_query_cmp(have, eq + 1) > 0;
    }
    return mb_sim_query_eq(have, eq + 1);
}


/* "?#|&!." and digits; -1 on a stack underflow */
static int
mb_sim_query_ops(const char *ops, int *st, size_t *sp)
{
    size_t  k;

    for (; *ops; ops++) {
        if (*ops == '!' && *sp >= 1) {
            st[*sp - 1] = !st[*sp - 1];
        } else if ((*ops == '|' || *ops == '&') && *sp >= 2) {
            (*sp)--;
            st[*sp - 1] = *ops == '|' ? (st[*sp - 1] || st[*sp])
                                      : (st[*sp - 1] && st[*sp]);
        } else if (*ops == '.' && *sp >= 1 && *sp < MB_SIM_QSTACK) {
            st[*sp] = st[*sp - 1];
            (*sp)++;
        } else if (*ops >= '0' && *ops <= '9' && *sp < MB_SIM_QSTACK
                   && (size_t) (*ops - '0') < *sp)
        {
            /* a digit copies the value that many places below the top */
            k = (size_t) (*ops - '0');
            st[*sp] = st[*sp - 1 - k];
            (*sp)++;
        } else {
            return -1;
        }
    }
    return 0;
}


int
mb_sim_print_match(mb_sim_print_t *p, const mb_sim_rec_t *rec)
{
    int          st[MB_SIM_QSTACK];
    size_t       sp = 0, i;
    const char  *w;

    if (p->s == NULL) {
        return 1;
    }
    for (i = 1; i < p->s->nwords; i++) {
        w = p->s->words[i].data;
        if (w[0] != '?') {
            continue;
        }
        if (w[1] == '#') {
            if (mb_sim_query_ops(w + 2, st, &sp) != 0) {
                p->err = "invalid query";
                return 0;
            }
            continue;
        }
        if (sp == MB_SIM_QSTACK) {
            p->err = "invalid query";
            return 0;
        }
        st[sp++] = mb_sim_query_term(w + 1, rec);
    }
    /* what is left on the stack is ANDed */
    for (i = 0; i < sp; i++) {
        if (!st[i]) {
            return 0;
        }
    }
    return 1;
}


void
mb_sim_print_rec(mb_sim_print_t *p, const mb_sim_rec_t *rec)
{
    p->count++;
    if (!p->count_only) {
        mb_sim_emit_rec(p->req->conn, p->req->tag, p, rec);
    }
}


void
mb_sim_print_done(mb_sim_print_t *p)
{
    char  n[32];

    if (p->err != NULL) {
        /* the !re already written stay: RouterOS checks while it goes */
        mb_sim_reply_trap(p->req, NULL, p->err);
        return;
    }
    if (p->count_only) {
        snprintf(n, sizeof(n), "%zu", p->count);
        mb_sim_reply_done(p->req, n);
        return;
    }
    /* 7.18 says "nothing" with !empty before the !done */
    if (p->count == 0 && mb_sim_ver_at_least(7, 18)) {
        mb_sim_reply_begin(p->req->conn, "!empty", p->req->tag);
        mb_sim_reply_end(p->req->conn);
    }
    mb_sim_reply_done(p->req, NULL);
}


void
mb_sim_print_table(mb_sim_req_t *r, mb_sim_table_t *t)
{
    mb_sim_print_t  p;
    mb_sim_rec_t    rec;
    uint64_t        t0 = uv_hrtime();
    size_t          i, before = r->conn->out.len;

    mb_sim_print_init(&p, r);
    for (i = 0; i < t->n && p.err == NULL; i++) {
        mb_sim_rec_item(&rec, t, t->items[i]);
        if (mb_sim_print_match(&p, &rec)) {
            mb_sim_print_rec(&p, &rec);
        }
    }
    mb_sim_print_done(&p);

    /* for control "selftime": what building this reply cost */
    mb_sim.last_print_items = p.count;
    mb_sim.last_print_bytes = r->conn->out.len - before;
    mb_sim.last_print_build_ns = uv_hrtime() - t0;
    mb_sim.last_print_t0 = t0;
    mb_sim.last_print_written = 0;
    r->conn->time_write = 1;
}
