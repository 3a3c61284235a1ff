/*
 * --seed FILE: the router's starting state as JSON (docs/simulator.md).
 * Table entries go through the same checks as an API add, so a seed with
 * a duplicate or a bad value fails loudly instead of building a router
 * RouterOS would never have.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>


/* JSON scalars as RouterOS text: true -> yes, 12 -> "12" */
static const char *
mb_sim_seed_text(json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long) json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) {
        return json_is_true(v) ? "yes" : "no";
    }
    return NULL;
}


static int
mb_sim_seed_args(json_t *obj, mb_sim_args_t *a, char bufs[][32])
{
    const char  *key, *text;
    json_t      *v;
    size_t       i = 0;

    mb_sim_args_init(a);
    json_object_foreach(obj, key, v) {
        if (i == MB_SIM_ARGS_MAX) {
            return -1;
        }
        text = mb_sim_seed_text(v, bufs[i], 32);
        if (text == NULL || mb_sim_args_add(a, key, strlen(key), text)) {
            mb_log_error("seed: bad value for \"%s\"", key);
            return -1;
        }
        i++;
    }
    return 0;
}


static int
mb_sim_seed_table(json_t *root, const char *key, mb_sim_table_t *t)
{
    json_t         *arr = json_object_get(root, key), *obj;
    mb_sim_args_t   a;
    char            bufs[MB_SIM_ARGS_MAX][32];
    const char     *err;
    size_t          i;

    json_array_foreach(arr, i, obj) {
        if (!json_is_object(obj) || mb_sim_seed_args(obj, &a, bufs) != 0) {
            mb_log_error("seed: %s[%zu] is not an object of values", key, i);
            return -1;
        }
        err = mb_sim_table_add(t, &a, 0, 0, NULL);
        if (err != NULL) {
            mb_log_error("seed: %s[%zu]: %s", key, i, err);
            return -1;
        }
    }
    return 0;
}


static const char *
mb_sim_seed_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}


static int
mb_sim_seed_session(json_t *obj, size_t i)
{
    const char  *name = mb_sim_seed_str(obj, "name"), *err;
    char         ifname[128];
    json_t      *rx = json_object_get(obj, "rx-bps");
    json_t      *tx = json_object_get(obj, "tx-bps");

    if (name == NULL) {
        mb_log_error("seed: active[%zu] has no name", i);
        return -1;
    }
    err = mb_sim_ppp_login(name, mb_sim_seed_str(obj, "address"),
                           mb_sim_seed_str(obj, "caller-id"),
                           mb_sim_seed_str(obj, "service"), NULL);
    if (err != NULL) {
        mb_log_error("seed: active[%zu] %s: %s", i, name, err);
        return -1;
    }
    snprintf(ifname, sizeof(ifname), "<%s-%s>",
             mb_sim_seed_str(obj, "service") ? mb_sim_seed_str(obj, "service")
                                             : "pppoe", name);
    mb_sim_iface_rate(ifname, (uint64_t) json_integer_value(rx),
                      (uint64_t) json_integer_value(tx));
    return 0;
}


static int
mb_sim_seed_sessions(json_t *root)
{
    json_t       *obj;
    const char   *err;
    size_t        i;

    json_array_foreach(json_object_get(root, "active"), i, obj) {
        if (mb_sim_seed_session(obj, i) != 0) {
            return -1;
        }
    }
    json_array_foreach(json_object_get(root, "hotspot"), i, obj) {
        err = mb_sim_hotspot_login(mb_sim_seed_str(obj, "user")
                                   ? mb_sim_seed_str(obj, "user") : "",
                                   mb_sim_seed_str(obj, "address")
                                   ? mb_sim_seed_str(obj, "address") : "",
                                   mb_sim_seed_str(obj, "mac-address"),
                                   NULL);
        if (err != NULL) {
            mb_log_error("seed: hotspot[%zu]: %s", i, err);
            return -1;
        }
    }
    return 0;
}


static int
mb_sim_seed_users(json_t *root)
{
    json_t         *obj;
    mb_sim_user_t  *u;
    size_t          i;

    json_array_foreach(json_object_get(root, "users"), i, obj) {
        if (mb_sim.nusers == MB_SIM_USERS_MAX
            || mb_sim_seed_str(obj, "name") == NULL
            || mb_sim_seed_str(obj, "password") == NULL)
        {
            mb_log_error("seed: users[%zu] needs name and password", i);
            return -1;
        }
        u = &mb_sim.users[mb_sim.nusers++];
        snprintf(u->name, sizeof(u->name), "%s",
                 mb_sim_seed_str(obj, "name"));
        snprintf(u->password, sizeof(u->password), "%s",
                 mb_sim_seed_str(obj, "password"));
    }
    return 0;
}


int
mb_sim_seed_load(const char *file)
{
    json_error_t  jerr;
    json_t       *root;
    const char   *id;
    int           rc = -1;

    root = json_load_file(file, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        mb_log_error("seed %s: line %d: %s", file, jerr.line,
                     root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    id = mb_sim_seed_str(root, "identity");
    if (id != NULL) {
        snprintf(mb_sim.identity, sizeof(mb_sim.identity), "%s", id);
    }
    if (mb_sim_seed_users(root) == 0
        && mb_sim_seed_table(root, "profiles", &mb_sim.profiles) == 0
        && mb_sim_seed_table(root, "secrets", &mb_sim.secrets) == 0
        && mb_sim_seed_table(root, "address-list", &mb_sim.addrlist) == 0
        && mb_sim_seed_sessions(root) == 0)
    {
        rc = 0;
        mb_log_info("seed %s: %zu profiles, %zu secrets, %zu sessions",
                    file, mb_sim.profiles.n, mb_sim.secrets.n,
                    mb_sim.active.n);
    }
    json_decref(root);
    return rc;
}
