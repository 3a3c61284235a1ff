/*
 * router.exec operations: argument checks and API words.  Field names in
 * JSON are RouterOS's ("caller-id"); "caller_id" is accepted as well.
 */

#include "mb_router_ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_valid.h"


#define MB_ROP_NAME_MAX     128
#define MB_ROP_COMMENT_MAX  255


typedef const char *(*mb_rop_pt)(json_t *p, mb_rop_plan_t *plan);


/* -------------------------------------------------------------- strv */


int
mb_strv_pushf(mb_strv_t *sv, const char *fmt, ...)
{
    va_list   ap;
    char     *s, **v;
    int       n;

    if (sv->n + 2 > sv->cap) {
        v = realloc(sv->v, (sv->cap + 8) * sizeof(char *));
        if (v == NULL) {
            return -1;
        }
        sv->v = v;
        sv->cap += 8;
    }

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);

    if (n < 0) {
        return -1;
    }

    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;

    return 0;
}


void
mb_strv_free(mb_strv_t *sv)
{
    size_t  i;

    for (i = 0; i < sv->n; i++) {
        free(sv->v[i]);
    }

    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}


void
mb_rop_plan_free(mb_rop_plan_t *plan)
{
    mb_strv_free(&plan->words);
    mb_strv_free(&plan->lookup);
    free(plan->id);
    memset(plan, 0, sizeof(*plan));
}


/* ------------------------------------------------------------ checks */


static const char *
mb_rop_str(json_t *p, const char *key)
{
    return json_string_value(json_object_get(p, key));
}


static int
mb_rop_present(json_t *p, const char *key)
{
    json_t  *v = json_object_get(p, key);

    return v != NULL && !json_is_null(v);
}


static int
mb_rop_service_ok(const char *s)
{
    static const char  *services[] = {
        "any", "async", "l2tp", "ovpn", "pppoe", "pptp", "sstp"
    };
    size_t              i;

    for (i = 0; s != NULL && i < sizeof(services) / sizeof(services[0]);
         i++)
    {
        if (strcmp(s, services[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* "=.proplist=a,b" from ["a", "b"]: names only, no separators */
static const char *
mb_rop_proplist(json_t *p, mb_strv_t *w)
{
    json_t  *list = json_object_get(p, "proplist");
    json_t  *v;
    size_t   i;
    char     buf[1024] = "";
    size_t   len = 0;

    if (list == NULL) {
        return NULL;
    }

    if (!json_is_array(list) || json_array_size(list) == 0) {
        return "proplist must be a non-empty array of property names";
    }

    json_array_foreach(list, i, v) {
        const char  *s = json_string_value(v);

        if (s == NULL || *s == '\0'
            || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.")
               != strlen(s)
            || len + strlen(s) + 2 > sizeof(buf))
        {
            return "proplist must be a non-empty array of property names";
        }
        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                 i ? "," : "", s);
    }

    return mb_strv_pushf(w, "=.proplist=%s", buf) ? "out of memory" : NULL;
}


/* ------------------------------------------------------------- prints */


static const char *
mb_rop_print(json_t *p, mb_rop_plan_t *plan, const char *menu,
    const char *def_proplist)
{
    const char  *name = mb_rop_str(p, "name");
    const char  *bad;

    plan->kind = MB_ROP_PRINT;

    if (mb_strv_pushf(&plan->words, "%s/print", menu) != 0) {
        return "out of memory";
    }

    if (mb_rop_present(p, "name")) {
        if (!mb_valid_name(name, MB_ROP_NAME_MAX)) {
            return "name must be 1 to 128 printable bytes";
        }
        if (mb_strv_pushf(&plan->words, "?name=%s", name) != 0) {
            return "out of memory";
        }
    }

    bad = mb_rop_proplist(p, &plan->words);
    if (bad != NULL || json_object_get(p, "proplist") != NULL
        || def_proplist == NULL)
    {
        return bad;
    }

    return mb_strv_pushf(&plan->words, "=.proplist=%s", def_proplist)
           ? "out of memory" : NULL;
}


static const char *
mb_rop_active_print(json_t *p, mb_rop_plan_t *plan)
{
    return mb_rop_print(p, plan, "/ppp/active", NULL);
}


/* passwords only when asked for by name in proplist */
static const char *
mb_rop_secret_print(json_t *p, mb_rop_plan_t *plan)
{
    return mb_rop_print(p, plan, "/ppp/secret",
               ".id,name,service,caller-id,profile,local-address,"
               "remote-address,routes,limit-bytes-in,limit-bytes-out,"
               "disabled,comment,last-logged-out,last-caller-id,"
               "last-disconnect-reason");
}


static const char *
mb_rop_profile_print(json_t *p, mb_rop_plan_t *plan)
{
    return mb_rop_print(p, plan, "/ppp/profile", NULL);
}


/* ------------------------------------------------------------ secrets */


/*
 * A secret field and its check: ok, or with ok NULL a name of 1..name_max
 * bytes, or else printable text of at most text_max bytes (may be empty)
 */
typedef struct {
    const char  *name;
    int          (*ok)(json_t *v);
    unsigned     name_max;
    unsigned     text_max;
    const char  *what;
} mb_rop_field_t;


static int
mb_rop_f_service(json_t *v)
{
    return mb_rop_service_ok(json_string_value(v));
}

/* an address, or "" to clear it */
static int
mb_rop_f_addr(json_t *v)
{
    const char  *s = json_string_value(v);

    return s != NULL && (*s == '\0' || mb_valid_address(s));
}

static int
mb_rop_f_bool(json_t *v)
{
    return json_is_boolean(v);
}

static int
mb_rop_f_uint(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}


static int
mb_rop_field_ok(const mb_rop_field_t *f, json_t *v)
{
    if (f->ok != NULL) {
        return f->ok(v);
    }

    return f->name_max != 0
           ? mb_valid_name(json_string_value(v), f->name_max)
           : mb_valid_text0(json_string_value(v), f->text_max);
}


static const mb_rop_field_t  mb_rop_secret_fields[] = {
    { "name", NULL, MB_ROP_NAME_MAX, 0,
      "name must be 1 to 128 printable bytes" },
    { "password", NULL, 0, 256, "password must be printable text" },
    { "profile", NULL, 64, 0, "profile must be 1 to 64 printable bytes" },
    { "service", mb_rop_f_service, 0, 0, "service must be any, async, "
                                         "l2tp, ovpn, pppoe, pptp or sstp" },
    { "comment", NULL, 0, MB_ROP_COMMENT_MAX, "comment must be printable "
                                              "text of at most 255 bytes" },
    { "caller-id", NULL, 0, 64, "caller-id must be printable text" },
    { "local-address", mb_rop_f_addr, 0, 0, "local-address must be an IP "
                                            "address" },
    { "remote-address", mb_rop_f_addr, 0, 0, "remote-address must be an "
                                             "IP address" },
    { "limit-bytes-in", mb_rop_f_uint, 0, 0, "limit-bytes-in must be an "
                                             "integer >= 0" },
    { "limit-bytes-out", mb_rop_f_uint, 0, 0, "limit-bytes-out must be an "
                                              "integer >= 0" },
    { "disabled", mb_rop_f_bool, 0, 0, "disabled must be a boolean" },
};

#define MB_ROP_NSECRET  \
    (sizeof(mb_rop_secret_fields) / sizeof(mb_rop_secret_fields[0]))


static const mb_rop_field_t *
mb_rop_secret_field(const char *key, char *norm, size_t len)
{
    size_t  i;

    snprintf(norm, len, "%s", key);
    for (i = 0; norm[i] != '\0'; i++) {
        norm[i] = norm[i] == '_' ? '-' : norm[i];
    }

    for (i = 0; i < MB_ROP_NSECRET; i++) {
        if (strcmp(norm, mb_rop_secret_fields[i].name) == 0) {
            return &mb_rop_secret_fields[i];
        }
    }

    return NULL;
}


static int
mb_rop_push_value(mb_strv_t *w, const char *name, json_t *v)
{
    if (json_is_boolean(v)) {
        return mb_strv_pushf(w, "=%s=%s", name, json_is_true(v) ? "yes"
                                                                : "no");
    }

    if (json_is_integer(v)) {
        return mb_strv_pushf(w, "=%s=%lld", name,
                             (long long) json_integer_value(v));
    }

    return mb_strv_pushf(w, "=%s=%s", name, json_string_value(v));
}


/* every key of fields (skipping skip, a key of the op itself) */
static const char *
mb_rop_secret_words(json_t *fields, mb_strv_t *w, const char *skip[],
    int *count)
{
    const char            *key;
    json_t                *v;
    const mb_rop_field_t  *f;
    char                   norm[64], msg[128];
    static char            bad[160];
    size_t                 i;

    json_object_foreach(fields, key, v) {
        for (i = 0; skip != NULL && skip[i] != NULL; i++) {
            if (strcmp(key, skip[i]) == 0) {
                break;
            }
        }
        if (skip != NULL && skip[i] != NULL) {
            continue;
        }

        f = mb_rop_secret_field(key, norm, sizeof(norm));
        if (f == NULL) {
            snprintf(msg, sizeof(msg), "%.60s", key);
            snprintf(bad, sizeof(bad), "unknown secret field \"%s\"", msg);
            return bad;
        }
        if (!mb_rop_field_ok(f, v)) {
            return f->what;
        }
        if (mb_rop_push_value(w, f->name, v) != 0) {
            return "out of memory";
        }
        (*count)++;
    }

    return NULL;
}


static const char *
mb_rop_secret_add(json_t *p, mb_rop_plan_t *plan)
{
    static const char  *skip[] = { "router_id", "op", NULL };
    int                 n = 0;

    plan->kind = MB_ROP_ADD;

    if (!mb_rop_present(p, "name") || !mb_rop_present(p, "password")) {
        return "secret.add needs name and password";
    }

    if (mb_strv_pushf(&plan->words, "/ppp/secret/add") != 0) {
        return "out of memory";
    }

    return mb_rop_secret_words(p, &plan->words, skip, &n);
}


/*
 * An "id" in p (a RouterOS *ID) as the target of plan: 1 when p has one,
 * with *err NULL or why it is refused; 0 when it has none
 */
static int
mb_rop_by_id(json_t *p, mb_rop_plan_t *plan, const char **err)
{
    const char  *id = mb_rop_str(p, "id");

    if (!mb_rop_present(p, "id")) {
        return 0;
    }

    if (!mb_valid_ros_id(id)) {
        *err = "id must be a RouterOS id such as \"*1A\"";
    } else {
        plan->id = strdup(id);
        *err = plan->id ? NULL : "out of memory";
    }

    return 1;
}


/* "id" (a RouterOS *ID) or "name": the target of set/remove ops */
static const char *
mb_rop_target(json_t *p, mb_rop_plan_t *plan, const char *menu,
    const char *action)
{
    const char  *err;
    const char  *name = mb_rop_str(p, "name");

    plan->kind = MB_ROP_BY_ID;

    if (mb_strv_pushf(&plan->words, "%s/%s", menu, action) != 0) {
        return "out of memory";
    }

    if (mb_rop_by_id(p, plan, &err)) {
        return err;
    }

    if (!mb_valid_name(name, MB_ROP_NAME_MAX)) {
        return "name (1 to 128 printable bytes) or id is required";
    }

    if (mb_strv_pushf(&plan->lookup, "%s/print", menu) != 0
        || mb_strv_pushf(&plan->lookup, "?name=%s", name) != 0
        || mb_strv_pushf(&plan->lookup, "=.proplist=.id") != 0)
    {
        return "out of memory";
    }

    return NULL;
}


static const char *
mb_rop_secret_set(json_t *p, mb_rop_plan_t *plan)
{
    json_t      *fields = json_object_get(p, "fields");
    const char  *bad;
    int          n = 0;

    if (!json_is_object(fields)) {
        return "secret.set needs a fields object";
    }

    bad = mb_rop_target(p, plan, "/ppp/secret", "set");
    if (bad == NULL) {
        bad = mb_rop_secret_words(fields, &plan->words, NULL, &n);
    }

    plan->need_one = 1;
    return bad != NULL ? bad : n == 0 ? "fields is empty" : NULL;
}


static const char *
mb_rop_secret_remove(json_t *p, mb_rop_plan_t *plan)
{
    return mb_rop_target(p, plan, "/ppp/secret", "remove");
}


static const char *
mb_rop_active_remove(json_t *p, mb_rop_plan_t *plan)
{
    return mb_rop_target(p, plan, "/ppp/active", "remove");
}


/* ------------------------------------------------------ address lists */


static int
mb_rop_list_address(const char *s)
{
    return s != NULL && (mb_valid_address(s) || mb_valid_host(s));
}


static const char *
mb_rop_addr_add(json_t *p, mb_rop_plan_t *plan)
{
    const char  *list = mb_rop_str(p, "list");
    const char  *addr = mb_rop_str(p, "address");
    const char  *comment = mb_rop_str(p, "comment");
    const char  *timeout = mb_rop_str(p, "timeout");
    mb_strv_t   *w = &plan->words;

    plan->kind = MB_ROP_ADD;

    if (!mb_valid_name(list, 64)) {
        return "list must be 1 to 64 printable bytes";
    }
    if (!mb_rop_list_address(addr)) {
        return "address must be an IP address, prefix, range or host name";
    }
    if (mb_rop_present(p, "comment")
        && !mb_valid_text0(comment, MB_ROP_COMMENT_MAX))
    {
        return "comment must be printable text of at most 255 bytes";
    }
    if (mb_rop_present(p, "timeout") && !mb_valid_duration(timeout)) {
        return "timeout must be a RouterOS time such as 1d2h or 00:30:00";
    }

    if (mb_strv_pushf(w, "/ip/firewall/address-list/add") != 0
        || mb_strv_pushf(w, "=list=%s", list) != 0
        || mb_strv_pushf(w, "=address=%s", addr) != 0
        || (comment && mb_strv_pushf(w, "=comment=%s", comment) != 0)
        || (timeout && mb_strv_pushf(w, "=timeout=%s", timeout) != 0))
    {
        return "out of memory";
    }

    return NULL;
}


static const char *
mb_rop_addr_remove(json_t *p, mb_rop_plan_t *plan)
{
    const char  *list = mb_rop_str(p, "list");
    const char  *addr = mb_rop_str(p, "address");
    const char  *err;

    plan->kind = MB_ROP_BY_ID;

    if (mb_strv_pushf(&plan->words, "/ip/firewall/address-list/remove")
        != 0)
    {
        return "out of memory";
    }

    if (mb_rop_by_id(p, plan, &err)) {
        return err;
    }

    if (!mb_valid_name(list, 64) || !mb_rop_list_address(addr)) {
        return "list and address, or id, are required";
    }

    if (mb_strv_pushf(&plan->lookup, "/ip/firewall/address-list/print")
        || mb_strv_pushf(&plan->lookup, "?list=%s", list)
        || mb_strv_pushf(&plan->lookup, "?address=%s", addr)
        || mb_strv_pushf(&plan->lookup, "=.proplist=.id"))
    {
        return "out of memory";
    }

    return NULL;
}


static const struct {
    const char  *op;
    mb_rop_pt    plan;
} mb_rops[] = {
    { "active.print", mb_rop_active_print },
    { "active.remove", mb_rop_active_remove },
    { "secret.print", mb_rop_secret_print },
    { "secret.add", mb_rop_secret_add },
    { "secret.set", mb_rop_secret_set },
    { "secret.remove", mb_rop_secret_remove },
    { "profile.print", mb_rop_profile_print },
    { "address_list.add", mb_rop_addr_add },
    { "address_list.remove", mb_rop_addr_remove },
};


const char *
mb_rop_plan(const char *op, json_t *payload, mb_rop_plan_t *plan)
{
    size_t  i;

    memset(plan, 0, sizeof(*plan));

    for (i = 0; op != NULL && i < sizeof(mb_rops) / sizeof(mb_rops[0]); i++)
    {
        if (strcmp(op, mb_rops[i].op) == 0) {
            return mb_rops[i].plan(payload, plan);
        }
    }

    return "op must be one of active.print, active.remove, secret.print, "
           "secret.add, secret.set, secret.remove, profile.print, "
           "address_list.add, address_list.remove";
}
