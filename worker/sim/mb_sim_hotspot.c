/*
 * /ip/hotspot/active: voucher customers.  Sessions come from control
 * ("hotspot-login") or demo mode; the API can print and remove (kick).
 * Their byte counters grow from a per-session rate fixed at login.
 */

#include "mb_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    uint64_t         login_ms;
    uint64_t         in_bps, out_bps;
} mb_sim_hs_t;


static const mb_sim_fdef_t  mb_sim_hotspot_fields[] = {
    { "server", "hotspot1", MB_SIM_F_RO },
    { "user", NULL, MB_SIM_F_RO | MB_SIM_F_REQ },
    { "domain", "", MB_SIM_F_RO },
    { "address", NULL, MB_SIM_F_RO | MB_SIM_F_REQ },
    { "mac-address", NULL, MB_SIM_F_RO },
    { "login-by", "http-chap", MB_SIM_F_RO },
    { "uptime", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "idle-time", "0s", MB_SIM_F_RO },
    { "keepalive-timeout", "2m", MB_SIM_F_RO },
    { "bytes-in", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "bytes-out", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "packets-in", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "packets-out", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "radius", "false", MB_SIM_F_RO },
    { "comment", NULL, 0 },
};


static const char *
mb_sim_hotspot_dyn(mb_sim_table_t *t, mb_sim_item_t *it, size_t field,
    char *buf, size_t len)
{
    mb_sim_hs_t  *hs = it->ext;
    uint64_t      ms = mb_sim_now_ms() - hs->login_ms;
    const char   *name = t->fields[field].name;
    uint64_t      in = hs->in_bps / 8 * ms / 1000;
    uint64_t      out = hs->out_bps / 8 * ms / 1000;

    if (strcmp(name, "uptime") == 0) {
        mb_sim_duration_format(ms, buf, len);
        return buf;
    }
    if (strcmp(name, "bytes-in") == 0) {
        snprintf(buf, len, "%llu", (unsigned long long) in);
    } else if (strcmp(name, "bytes-out") == 0) {
        snprintf(buf, len, "%llu", (unsigned long long) out);
    } else if (strcmp(name, "packets-in") == 0) {
        snprintf(buf, len, "%llu", (unsigned long long) in / 300);
    } else {
        snprintf(buf, len, "%llu", (unsigned long long) out / 1200);
    }
    return buf;
}


static void
mb_sim_hotspot_removed(mb_sim_table_t *t, mb_sim_item_t *it)
{
    (void) t;
    free(it->ext);
}


const char *
mb_sim_hotspot_login(const char *user, const char *address, const char *mac,
    uint32_t *id)
{
    mb_sim_args_t   a;
    mb_sim_item_t  *it;
    mb_sim_hs_t    *hs;
    const char     *err;
    char            m[24];

    if (mb_sim_table_find(&mb_sim.hotspot, "user", user) != NULL) {
        return "already active";
    }
    if (!mb_sim_ipv4_valid(address, 0)) {
        return "bad address";
    }
    if (mac == NULL) {
        snprintf(m, sizeof(m), "B8:27:EB:%02X:%02X:%02X",
                 (mb_sim.hotspot.next_id >> 16) & 0xFF,
                 (mb_sim.hotspot.next_id >> 8) & 0xFF,
                 mb_sim.hotspot.next_id & 0xFF);
        mac = m;
    }
    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "user", 4, user);
    mb_sim_args_add(&a, "address", 7, address);
    mb_sim_args_add(&a, "mac-address", 11, mac);
    err = mb_sim_table_add(&mb_sim.hotspot, &a, 1, 0, &it);
    if (err != NULL) {
        return err;
    }
    hs = calloc(1, sizeof(mb_sim_hs_t));
    if (hs == NULL) {
        abort();
    }
    hs->login_ms = mb_sim_now_ms();
    hs->in_bps = 64000 + mb_sim_rand() % 512000;
    hs->out_bps = 512000 + mb_sim_rand() % 4000000;
    it->ext = hs;
    if (id) {
        *id = it->id;
    }
    return NULL;
}


const char *
mb_sim_hotspot_logout(const char *user)
{
    mb_sim_item_t  *it = mb_sim_table_find(&mb_sim.hotspot, "user", user);

    if (it == NULL) {
        return "not active";
    }
    mb_sim_table_remove(&mb_sim.hotspot, it);
    return NULL;
}


void
mb_sim_hotspot_init(void)
{
    mb_sim_table_init(&mb_sim.hotspot, "/ip/hotspot/active",
                      mb_sim_hotspot_fields,
                      sizeof(mb_sim_hotspot_fields)
                      / sizeof(mb_sim_hotspot_fields[0]),
                      MB_SIM_V_PRINT | MB_SIM_V_REMOVE);
    mb_sim.hotspot.dyn = mb_sim_hotspot_dyn;
    mb_sim.hotspot.removed = mb_sim_hotspot_removed;
    /* dynamic entries: high ids, as on a router */
    mb_sim.hotspot.next_id = 0x82000001u;
}
