/*
 * /ip/firewall/address-list: the usual way an ISP isolates a customer
 * who has not paid.  An entry with a timeout is dynamic and goes away by
 * itself; the one-second tick sweeps the expired ones.
 */

#include "mb_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum {
    MB_SIM_AL_LIST = 0, MB_SIM_AL_ADDRESS, MB_SIM_AL_COMMENT,
    MB_SIM_AL_TIMEOUT, MB_SIM_AL_DISABLED, MB_SIM_AL_DYNAMIC,
    MB_SIM_AL_CREATED
};

static const mb_sim_fdef_t  mb_sim_addrlist_fields[] = {
    { "list", NULL, MB_SIM_F_REQ },
    { "address", NULL, MB_SIM_F_REQ },
    { "comment", NULL, 0 },
    { "timeout", NULL, MB_SIM_F_DYN },
    { "disabled", "false", MB_SIM_F_BOOL },
    { "dynamic", "false", MB_SIM_F_RO | MB_SIM_F_BOOL },
    { "creation-time", NULL, MB_SIM_F_RO },
};


/* ext holds the expiry in loop milliseconds, 0 for none */
#define MB_SIM_EXPIRY(it)  ((uint64_t) (uintptr_t) (it)->ext)


/* an address, a prefix, a range "a-b", or a DNS name (6.41+) */
static int
mb_sim_addrlist_address_ok(const char *v)
{
    const char  *dash = strchr(v, '-'), *p;
    char         first[32];

    if (mb_sim_ipv4_valid(v, 1)) {
        return 1;
    }
    if (dash != NULL && (size_t) (dash - v) < sizeof(first)) {
        snprintf(first, sizeof(first), "%.*s", (int) (dash - v), v);
        if (mb_sim_ipv4_valid(first, 0) && mb_sim_ipv4_valid(dash + 1, 0)) {
            return 1;
        }
    }
    /* a name has a letter somewhere and only name characters */
    if (*v == '\0' || !strpbrk(v, "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    {
        return 0;
    }
    for (p = v; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '.' && *p != '-') {
            return 0;
        }
    }
    return 1;
}


static void
mb_sim_addrlist_put(mb_sim_item_t *it, int f, const char *v)
{
    free(it->v[f]);
    it->v[f] = v ? mb_sim_strdup(v) : NULL;
}


static const char *
mb_sim_addrlist_timeout(mb_sim_item_t *nw)
{
    int64_t  ms;

    ms = mb_sim_duration_parse(nw->v[MB_SIM_AL_TIMEOUT]);
    if (ms < 0) {
        return "invalid value for argument timeout";
    }
    nw->ext = (void *) (uintptr_t) (mb_sim_now_ms() + (uint64_t) ms);
    mb_sim_addrlist_put(nw, MB_SIM_AL_TIMEOUT, NULL);
    mb_sim_addrlist_put(nw, MB_SIM_AL_DYNAMIC, "true");
    return NULL;
}


static const char *
mb_sim_addrlist_check(mb_sim_table_t *t, mb_sim_item_t *nw,
    mb_sim_item_t *old)
{
    mb_sim_item_t  *it;
    char            now[40];
    size_t          i;

    if (!mb_sim_addrlist_address_ok(nw->v[MB_SIM_AL_ADDRESS])) {
        return "invalid value for argument address";
    }
    for (i = 0; i < t->n; i++) {
        it = t->items[i];
        if (it != old && strcmp(it->v[0], nw->v[0]) == 0
            && strcmp(it->v[1], nw->v[1]) == 0)
        {
            return "failure: already have such entry";
        }
    }
    if (nw->v[MB_SIM_AL_TIMEOUT] != NULL) {
        const char  *err = mb_sim_addrlist_timeout(nw);

        if (err != NULL) {
            return err;
        }
    }
    if (old == NULL && nw->v[MB_SIM_AL_CREATED] == NULL) {
        mb_sim_time_format(mb_sim.start_unix
                           + (mb_sim_now_ms() - mb_sim.start_ms) / 1000,
                           now, sizeof(now));
        mb_sim_addrlist_put(nw, MB_SIM_AL_CREATED, now);
    }
    return NULL;
}


static const char *
mb_sim_addrlist_dyn(mb_sim_table_t *t, mb_sim_item_t *it, size_t field,
    char *buf, size_t len)
{
    uint64_t  exp = MB_SIM_EXPIRY(it), now = mb_sim_now_ms();

    (void) t;
    (void) field;
    if (exp == 0) {
        return NULL;
    }
    mb_sim_duration_format(exp > now ? exp - now : 0, buf, len);
    return buf;
}


void
mb_sim_addrlist_tick(void)
{
    uint64_t  now = mb_sim_now_ms();
    size_t    i;

    for (i = mb_sim.addrlist.n; i > 0; i--) {
        mb_sim_item_t  *it = mb_sim.addrlist.items[i - 1];

        if (MB_SIM_EXPIRY(it) != 0 && MB_SIM_EXPIRY(it) <= now) {
            mb_sim_table_remove(&mb_sim.addrlist, it);
        }
    }
}


void
mb_sim_addrlist_init(void)
{
    mb_sim_table_init(&mb_sim.addrlist, "/ip/firewall/address-list",
                      mb_sim_addrlist_fields,
                      sizeof(mb_sim_addrlist_fields)
                      / sizeof(mb_sim_addrlist_fields[0]),
                      MB_SIM_V_PRINT | MB_SIM_V_ADD | MB_SIM_V_SET
                      | MB_SIM_V_REMOVE);
    mb_sim.addrlist.check = mb_sim_addrlist_check;
    mb_sim.addrlist.dyn = mb_sim_addrlist_dyn;
}
