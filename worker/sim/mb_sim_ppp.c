/*
 * /ppp/secret, /ppp/profile and /ppp/active.  A session (control "login",
 * demo mode, a seed) brings up its dynamic "<pppoe-USER>" interface; a
 * kick (/ppp/active/remove) or a logout takes both down, which also ends
 * any monitor-traffic stream on that interface.
 */

#include "mb_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


typedef struct {
    uint64_t         login_ms;
    uint32_t         iface_id;
} mb_sim_session_t;


static const mb_sim_fdef_t  mb_sim_secret_fields[] = {
    { "name", NULL, MB_SIM_F_REQ },
    { "password", "", 0 },
    { "profile", "default", 0 },
    { "service", "any", 0 },
    { "caller-id", "", 0 },
    { "local-address", NULL, MB_SIM_F_ADDR },
    { "remote-address", NULL, MB_SIM_F_ADDR },
    { "routes", "", 0 },
    { "limit-bytes-in", "0", MB_SIM_F_NUM },
    { "limit-bytes-out", "0", MB_SIM_F_NUM },
    { "disabled", "false", MB_SIM_F_BOOL },
    { "comment", NULL, 0 },
    { "last-logged-out", NULL, MB_SIM_F_RO },
};

static const mb_sim_fdef_t  mb_sim_profile_fields[] = {
    { "name", NULL, MB_SIM_F_REQ },
    { "local-address", NULL, MB_SIM_F_ADDR },
    { "remote-address", NULL, 0 },         /* an address or a pool */
    { "rate-limit", NULL, 0 },
    { "only-one", "default", 0 },
    { "address-list", "", 0 },
    { "dns-server", NULL, 0 },
    { "session-timeout", NULL, 0 },
    { "idle-timeout", NULL, 0 },
    { "use-encryption", "default", 0 },
    { "change-tcp-mss", "default", 0 },
    { "bridge", NULL, 0 },
    { "parent-queue", NULL, 0 },
    { "comment", NULL, 0 },
    { "default", "false", MB_SIM_F_RO | MB_SIM_F_BOOL },
};

static const mb_sim_fdef_t  mb_sim_active_fields[] = {
    { "name", NULL, MB_SIM_F_RO | MB_SIM_F_REQ },
    { "service", "pppoe", MB_SIM_F_RO },
    { "caller-id", "", MB_SIM_F_RO },
    { "address", NULL, MB_SIM_F_RO },
    { "uptime", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "encoding", "", MB_SIM_F_RO },
    { "session-id", NULL, MB_SIM_F_RO },
    { "limit-bytes-in", "0", MB_SIM_F_RO },
    { "limit-bytes-out", "0", MB_SIM_F_RO },
    { "radius", "false", MB_SIM_F_RO },
};

#define MB_SIM_NFIELDS(a)  (sizeof(a) / sizeof((a)[0]))

/* dynamic items get high ids on RouterOS; keeps tests honest about ids */
#define MB_SIM_ACTIVE_ID0   0x81000001u
#define MB_SIM_PROFILE_ENC  0xFFFFFFFEu

static const char *mb_sim_services[] = {
    "any", "async", "l2tp", "ovpn", "pppoe", "pptp", "sstp", NULL
};

static uint32_t  mb_sim_load_seq;


/* ---- secrets and profiles ------------------------------------------- */

static int
mb_sim_word_in(const char *w, const char **list)
{
    for (; *list; list++) {
        if (strcmp(w, *list) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
mb_sim_name_taken(mb_sim_table_t *t, mb_sim_item_t *nw, mb_sim_item_t *old)
{
    mb_sim_item_t  *other = mb_sim_table_find(t, "name", nw->v[0]);

    return other != NULL && other != old;
}


static const char *
mb_sim_secret_check(mb_sim_table_t *t, mb_sim_item_t *nw, mb_sim_item_t *old)
{
    const char  *profile = mb_sim_item_get(t, nw, "profile");

    if (nw->v[0][0] == '\0') {
        return "invalid value for argument name";
    }
    if (mb_sim_name_taken(t, nw, old)) {
        return "failure: secret with the same name already exists";
    }
    if (mb_sim_table_find(&mb_sim.profiles, "name", profile) == NULL) {
        return "input does not match any value of profile";
    }
    if (!mb_sim_word_in(mb_sim_item_get(t, nw, "service"), mb_sim_services)) {
        return "invalid value for argument service";
    }
    return NULL;
}


static const char *
mb_sim_profile_check(mb_sim_table_t *t, mb_sim_item_t *nw,
    mb_sim_item_t *old)
{
    if (nw->v[0][0] == '\0') {
        return "invalid value for argument name";
    }
    if (mb_sim_name_taken(t, nw, old)) {
        return "failure: profile with the same name already exists";
    }
    if (old != NULL && strcmp(old->v[0], nw->v[0]) != 0
        && mb_sim_table_find(&mb_sim.secrets, "profile", old->v[0]))
    {
        return "failure: profile is in use";
    }
    return NULL;
}


/* ---- active sessions ---------------------------------------------------- */

static const char *
mb_sim_active_dyn(mb_sim_table_t *t, mb_sim_item_t *it, size_t field,
    char *buf, size_t len)
{
    mb_sim_session_t  *s = it->ext;

    (void) t;
    (void) field;
    mb_sim_duration_format(mb_sim_now_ms() - s->login_ms, buf, len);
    return buf;
}


static void
mb_sim_active_removed(mb_sim_table_t *t, mb_sim_item_t *it)
{
    mb_sim_session_t  *s = it->ext;
    mb_sim_item_t     *iface, *secret;
    char               when[40];

    iface = mb_sim_table_get(&mb_sim.ifaces, s->iface_id);
    if (iface != NULL) {
        mb_sim_iface_remove(iface);
    }
    secret = mb_sim_table_find(&mb_sim.secrets, "name",
                               mb_sim_item_get(t, it, "name"));
    if (secret != NULL) {
        mb_sim_time_format(mb_sim.start_unix
                           + (mb_sim_now_ms() - mb_sim.start_ms) / 1000,
                           when, sizeof(when));
        mb_sim_item_set(&mb_sim.secrets, secret, "last-logged-out", when);
    }
    free(s);
}


mb_sim_item_t *
mb_sim_ppp_active_find(const char *user)
{
    return mb_sim_table_find(&mb_sim.active, "name", user);
}


/* 10.0.0.0/8 from a counter: unique and stable for a given order */
static void
mb_sim_ppp_address(const mb_sim_item_t *secret, char *buf, size_t len)
{
    static uint32_t  next = 2;
    const char      *ra = secret
                          ? mb_sim_item_get(&mb_sim.secrets, secret,
                                            "remote-address")
                          : NULL;
    uint32_t         n;

    if (ra != NULL) {
        snprintf(buf, len, "%s", ra);
        return;
    }
    n = next++;
    snprintf(buf, len, "10.%u.%u.%u", (n >> 16) & 0xFF, (n >> 8) & 0xFF,
             n & 0xFF);
    if ((n & 0xFF) == 0 || (n & 0xFF) == 255) {
        mb_sim_ppp_address(secret, buf, len);
    }
}


static void
mb_sim_ppp_mac(uint32_t n, char *buf, size_t len)
{
    snprintf(buf, len, "4C:5E:0C:%02X:%02X:%02X", (n >> 16) & 0xFF,
             (n >> 8) & 0xFF, n & 0xFF);
}


static const char *
mb_sim_ppp_add_session(const char *user, const char *address,
    const char *caller_id, const char *service, uint32_t *id)
{
    mb_sim_args_t      a;
    mb_sim_item_t     *it, *iface;
    mb_sim_session_t  *s;
    const char        *err;
    char               ifname[96], type[32], sid[16];

    snprintf(sid, sizeof(sid), "0x%X", mb_sim.active.next_id);
    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "name", 4, user);
    mb_sim_args_add(&a, "address", 7, address);
    mb_sim_args_add(&a, "caller-id", 9, caller_id);
    mb_sim_args_add(&a, "service", 7, service);
    mb_sim_args_add(&a, "session-id", 10, sid);
    err = mb_sim_table_add(&mb_sim.active, &a, 1, 0, &it);
    if (err != NULL) {
        return err;
    }

    s = calloc(1, sizeof(mb_sim_session_t));
    if (s == NULL) {
        abort();
    }
    s->login_ms = mb_sim_now_ms();
    snprintf(ifname, sizeof(ifname), "<%s-%s>", service, user);
    snprintf(type, sizeof(type), "%s-in", service);
    iface = mb_sim_iface_add_dynamic(ifname, type);
    s->iface_id = iface ? iface->id : 0;
    it->ext = s;
    if (id) {
        *id = it->id;
    }
    return NULL;
}


const char *
mb_sim_ppp_login(const char *user, const char *address,
    const char *caller_id, const char *service, uint32_t *id)
{
    mb_sim_item_t  *secret;
    char            addr[32], mac[32];

    if (mb_sim_ppp_active_find(user) != NULL) {
        return "already active";
    }
    secret = mb_sim_table_find(&mb_sim.secrets, "name", user);
    if (address == NULL || strcmp(address, "-") == 0) {
        mb_sim_ppp_address(secret, addr, sizeof(addr));
        address = addr;
    } else if (!mb_sim_ipv4_valid(address, 0)) {
        return "bad address";
    }
    if (caller_id == NULL || strcmp(caller_id, "-") == 0) {
        mb_sim_ppp_mac(mb_sim.active.next_id, mac, sizeof(mac));
        caller_id = mac;
    }
    if (service == NULL || strcmp(service, "-") == 0) {
        service = "pppoe";
    } else if (!mb_sim_word_in(service, mb_sim_services)
               || strcmp(service, "any") == 0)
    {
        return "bad service";
    }
    return mb_sim_ppp_add_session(user, address, caller_id, service, id);
}


const char *
mb_sim_ppp_logout(const char *user)
{
    mb_sim_item_t  *it = mb_sim_ppp_active_find(user);

    if (it == NULL) {
        return "not active";
    }
    mb_sim_table_remove(&mb_sim.active, it);
    return NULL;
}


/* control "load N [RX TX]": N more sessions, fast (no name search per
 * session: the "load-" names come from a counter of their own), each
 * with that traffic rate */
const char *
mb_sim_ppp_load(unsigned n, uint64_t rx_bps, uint64_t tx_bps,
    unsigned *loaded)
{
    char            name[32], addr[32], mac[32];
    const char     *err;
    unsigned        i;
    uint32_t        k, id;
    mb_sim_item_t  *it;

    for (i = 0; i < n; i++) {
        k = ++mb_sim_load_seq;
        snprintf(name, sizeof(name), "load-%05u", k);
        snprintf(addr, sizeof(addr), "100.%u.%u.%u", 64 + ((k >> 16) & 63),
                 (k >> 8) & 0xFF, k & 0xFF);
        mb_sim_ppp_mac(0x800000 + k, mac, sizeof(mac));
        err = mb_sim_ppp_add_session(name, addr, mac, "pppoe", &id);
        if (err != NULL) {
            *loaded = i;
            return err;
        }
        it = mb_sim_table_get(&mb_sim.active, id);
        if (it != NULL && (rx_bps || tx_bps)) {
            mb_sim_iface_rate_id(((mb_sim_session_t *) it->ext)->iface_id,
                                 rx_bps, tx_bps);
        }
    }
    *loaded = n;
    return NULL;
}


/* ---- init --------------------------------------------------------------- */

static void
mb_sim_ppp_default_profile(const char *name, uint32_t id, const char *enc)
{
    mb_sim_args_t  a;

    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "name", 4, name);
    mb_sim_args_add(&a, "use-encryption", 14, enc);
    mb_sim_args_add(&a, "default", 7, "true");
    /* id 0 means "the next one" to table_add: steer next_id instead */
    mb_sim.profiles.next_id = id;
    mb_sim_table_add(&mb_sim.profiles, &a, 1, 0, NULL);
}


void
mb_sim_ppp_init(void)
{
    mb_sim_table_init(&mb_sim.secrets, "/ppp/secret", mb_sim_secret_fields,
                      MB_SIM_NFIELDS(mb_sim_secret_fields),
                      MB_SIM_V_PRINT | MB_SIM_V_ADD | MB_SIM_V_SET
                      | MB_SIM_V_REMOVE);
    mb_sim.secrets.check = mb_sim_secret_check;

    mb_sim_table_init(&mb_sim.profiles, "/ppp/profile",
                      mb_sim_profile_fields,
                      MB_SIM_NFIELDS(mb_sim_profile_fields),
                      MB_SIM_V_PRINT | MB_SIM_V_ADD | MB_SIM_V_SET
                      | MB_SIM_V_REMOVE);
    mb_sim.profiles.check = mb_sim_profile_check;
    /* RouterOS's two built-in profiles: *0 and *FFFFFFFE */
    mb_sim_ppp_default_profile("default", 0, "default");
    mb_sim_ppp_default_profile("default-encryption", MB_SIM_PROFILE_ENC,
                               "yes");
    mb_sim.profiles.next_id = 1;

    mb_sim_table_init(&mb_sim.active, "/ppp/active", mb_sim_active_fields,
                      MB_SIM_NFIELDS(mb_sim_active_fields),
                      MB_SIM_V_PRINT | MB_SIM_V_REMOVE);
    mb_sim.active.next_id = MB_SIM_ACTIVE_ID0;
    mb_sim.active.dyn = mb_sim_active_dyn;
    mb_sim.active.removed = mb_sim_active_removed;
}
