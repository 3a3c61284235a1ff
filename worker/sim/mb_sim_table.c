/*
 * Menus with items (/ppp/secret, /ip/firewall/address-list, ...): one
 * generic store.  Items are kept sorted by id so that "=.id=*1A" is a
 * binary search even with 10,000 sessions; each menu adds its own rules
 * through the check/dyn/removed hooks.
 */

#include "mb_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


static char  mb_sim_table_err[256];


void
mb_sim_table_init(mb_sim_table_t *t, const char *path,
    const mb_sim_fdef_t *fields, size_t nfields, unsigned verbs)
{
    memset(t, 0, sizeof(*t));
    t->path = path;
    t->fields = fields;
    t->nfields = nfields < MB_SIM_FIELDS_MAX ? nfields : MB_SIM_FIELDS_MAX;
    t->verbs = verbs;
    t->next_id = 1;
}


static void
mb_sim_item_free(mb_sim_table_t *t, mb_sim_item_t *it)
{
    size_t  i;

    for (i = 0; i < t->nfields; i++) {
        free(it->v[i]);
    }
    free(it);
}


void
mb_sim_table_clear(mb_sim_table_t *t)
{
    while (t->n > 0) {
        mb_sim_table_remove(t, t->items[t->n - 1]);
    }
}


void
mb_sim_table_free(mb_sim_table_t *t)
{
    mb_sim_table_clear(t);
    free(t->items);
    t->items = NULL;
    t->cap = 0;
}


int
mb_sim_table_field(const mb_sim_table_t *t, const char *name)
{
    size_t  i;

    for (i = 0; i < t->nfields; i++) {
        if (strcmp(t->fields[i].name, name) == 0) {
            return (int) i;
        }
    }
    return -1;
}


/* index of the first item with an id >= id */
static size_t
mb_sim_table_pos(const mb_sim_table_t *t, uint32_t id)
{
    size_t  lo = 0, hi = t->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (t->items[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}


mb_sim_item_t *
mb_sim_table_get(mb_sim_table_t *t, uint32_t id)
{
    size_t  i = mb_sim_table_pos(t, id);

    return i < t->n && t->items[i]->id == id ? t->items[i] : NULL;
}


mb_sim_item_t *
mb_sim_table_find(mb_sim_table_t *t, const char *field, const char *value)
{
    int     f = mb_sim_table_field(t, field);
    size_t  i;

    if (f < 0) {
        return NULL;
    }
    for (i = 0; i < t->n; i++) {
        if (t->items[i]->v[f] && strcmp(t->items[i]->v[f], value) == 0) {
            return t->items[i];
        }
    }
    return NULL;
}


mb_sim_item_t *
mb_sim_table_lookup(mb_sim_table_t *t, const char *ref)
{
    char           *end;
    unsigned long   id;

    if (ref[0] == '*') {
        id = strtoul(ref + 1, &end, 16);
        if (ref[1] == '\0' || *end != '\0' || id > UINT32_MAX) {
            return NULL;
        }
        return mb_sim_table_get(t, (uint32_t) id);
    }
    /* RouterOS also takes an item's name where its menu has one */
    return mb_sim_table_find(t, "name", ref);
}


const char *
mb_sim_item_get(const mb_sim_table_t *t, const mb_sim_item_t *it,
    const char *field)
{
    int  f = mb_sim_table_field(t, field);

    return f < 0 ? NULL : it->v[f];
}


int
mb_sim_item_set(const mb_sim_table_t *t, mb_sim_item_t *it,
    const char *field, const char *value)
{
    int  f = mb_sim_table_field(t, field);

    if (f < 0) {
        return -1;
    }
    free(it->v[f]);
    it->v[f] = value ? mb_sim_strdup(value) : NULL;
    return 0;
}


/* ---- value checks ------------------------------------------------------ */

static const char *
mb_sim_value_bool(const char *v)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0) {
        return "true";
    }
    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0) {
        return "false";
    }
    return NULL;
}


static int
mb_sim_value_num(const char *v)
{
    if (*v == '\0') {
        return 0;
    }
    for (; *v; v++) {
        if (*v < '0' || *v > '9') {
            return 0;
        }
    }
    return 1;
}


/* the stored form of value, or NULL when the field's type refuses it */
static const char *
mb_sim_value_check(const mb_sim_fdef_t *f, const char *v)
{
    if ((f->flags & MB_SIM_F_BOOL)) {
        return mb_sim_value_bool(v);
    }
    if ((f->flags & MB_SIM_F_ADDR) && !mb_sim_ipv4_valid(v, 0)) {
        return NULL;
    }
    if ((f->flags & MB_SIM_F_NUM) && !mb_sim_value_num(v)) {
        return NULL;
    }
    return v;
}


/* apply the pairs to v[]: a trap text, or NULL */
static const char *
mb_sim_table_apply(mb_sim_table_t *t, mb_sim_item_t *it,
    const mb_sim_args_t *a, int internal)
{
    const char  *v;
    size_t       i;
    int          f;

    for (i = 0; i < a->n; i++) {
        if (a->name[i][0] == '.' || strcmp(a->name[i], "numbers") == 0) {
            continue;                 /* .id, .proplist: not a field */
        }
        f = mb_sim_table_field(t, a->name[i]);
        if (f < 0 || (!internal && (t->fields[f].flags & MB_SIM_F_RO))) {
            snprintf(mb_sim_table_err, sizeof(mb_sim_table_err),
                     "unknown parameter %s", a->name[i]);
            return mb_sim_table_err;
        }
        v = mb_sim_value_check(&t->fields[f], a->value[i]);
        if (v == NULL) {
            snprintf(mb_sim_table_err, sizeof(mb_sim_table_err),
                     "invalid value for argument %s", a->name[i]);
            return mb_sim_table_err;
        }
        free(it->v[f]);
        it->v[f] = mb_sim_strdup(v);
    }
    return NULL;
}


static const char *
mb_sim_table_defaults(mb_sim_table_t *t, mb_sim_item_t *it)
{
    size_t  i;

    for (i = 0; i < t->nfields; i++) {
        if (it->v[i] == NULL && t->fields[i].def != NULL) {
            it->v[i] = mb_sim_strdup(t->fields[i].def);
        }
        if (it->v[i] == NULL && (t->fields[i].flags & MB_SIM_F_REQ)) {
            snprintf(mb_sim_table_err, sizeof(mb_sim_table_err),
                     "missing value(s) of argument(s) %s",
                     t->fields[i].name);
            return mb_sim_table_err;
        }
    }
    return NULL;
}


static void
mb_sim_table_insert(mb_sim_table_t *t, mb_sim_item_t *it)
{
    size_t  pos;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->items = realloc(t->items, t->cap * sizeof(mb_sim_item_t *));
        if (t->items == NULL) {
            abort();
        }
    }
    pos = mb_sim_table_pos(t, it->id);
    memmove(&t->items[pos + 1], &t->items[pos],
            (t->n - pos) * sizeof(mb_sim_item_t *));
    t->items[pos] = it;
    t->n++;
    if (it->id >= t->next_id) {
        t->next_id = it->id + 1;
    }
}


const char *
mb_sim_table_add(mb_sim_table_t *t, const mb_sim_args_t *a, int internal,
    uint32_t id, mb_sim_item_t **out)
{
    mb_sim_item_t  *it;
    const char     *err;

    it = calloc(1, sizeof(mb_sim_item_t));
    if (it == NULL) {
        abort();
    }
    err = mb_sim_table_apply(t, it, a, internal);
    if (err == NULL) {
        err = mb_sim_table_defaults(t, it);
    }
    if (err == NULL && t->check) {
        err = t->check(t, it, NULL);
    }
    if (err != NULL) {
        mb_sim_item_free(t, it);
        return err;
    }
    it->id = id ? id : t->next_id;
    mb_sim_table_insert(t, it);
    if (out) {
        *out = it;
    }
    if (t->changed) {
        t->changed(t, it);
    }
    return NULL;
}


/* a set is tried on a copy, so that a refused set changes nothing */
const char *
mb_sim_table_set(mb_sim_table_t *t, mb_sim_item_t *it,
    const mb_sim_args_t *a, int internal)
{
    mb_sim_item_t   tmp;
    const char     *err;
    size_t          i;

    tmp = *it;
    for (i = 0; i < t->nfields; i++) {
        tmp.v[i] = it->v[i] ? mb_sim_strdup(it->v[i]) : NULL;
    }
    err = mb_sim_table_apply(t, &tmp, a, internal);
    if (err == NULL && t->check) {
        err = t->check(t, &tmp, it);
    }
    for (i = 0; i < t->nfields; i++) {
        char  *drop = err ? tmp.v[i] : it->v[i];

        free(drop);
        if (err == NULL) {
            it->v[i] = tmp.v[i];
        }
    }
    if (err == NULL) {
        it->ext = tmp.ext;
        if (t->changed) {
            t->changed(t, it);
        }
    }
    return err;
}


void
mb_sim_table_remove(mb_sim_table_t *t, mb_sim_item_t *it)
{
    size_t  pos = mb_sim_table_pos(t, it->id);

    if (pos >= t->n || t->items[pos] != it) {
        return;
    }
    memmove(&t->items[pos], &t->items[pos + 1],
            (t->n - pos - 1) * sizeof(mb_sim_item_t *));
    t->n--;
    if (t->removed) {
        t->removed(t, it);
    }
    mb_sim_item_free(t, it);
}


/* ---- name/value pairs ------------------------------------------------ */

void
mb_sim_args_init(mb_sim_args_t *a)
{
    a->n = 0;
    a->used = 0;
}


int
mb_sim_args_add(mb_sim_args_t *a, const char *name, size_t nlen,
    const char *value)
{
    if (a->n == MB_SIM_ARGS_MAX || a->used + nlen + 1 > sizeof(a->scratch)) {
        return -1;
    }
    memcpy(a->scratch + a->used, name, nlen);
    a->scratch[a->used + nlen] = '\0';
    a->name[a->n] = a->scratch + a->used;
    a->value[a->n] = value;
    a->used += nlen + 1;
    a->n++;
    return 0;
}


const char *
mb_sim_args_get(const mb_sim_args_t *a, const char *name)
{
    size_t  i;

    for (i = 0; i < a->n; i++) {
        if (strcmp(a->name[i], name) == 0) {
            return a->value[i];
        }
    }
    return NULL;
}


int
mb_sim_args_from(mb_sim_args_t *a, const mb_ros_sentence_t *s)
{
    const char  *w, *eq;
    size_t       i;

    mb_sim_args_init(a);
    for (i = 1; i < s->nwords; i++) {
        w = s->words[i].data;
        if (w[0] != '=' || w[1] == '\0') {
            continue;
        }
        /* "=name=value": the value may hold '=' or be empty; "=name"
         * alone is a flag with an empty value */
        eq = strchr(w + 1, '=');
        if (eq == NULL) {
            eq = w + s->words[i].len;
        }
        if (mb_sim_args_add(a, w + 1, (size_t) (eq - w - 1),
                            *eq ? eq + 1 : eq) != 0)
        {
            return -1;
        }
    }
    return 0;
}
