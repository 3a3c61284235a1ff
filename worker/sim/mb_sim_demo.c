/*
 * --demo: a small ISP's evening.  A few dozen customers with secrets on
 * three plans log in and out over time and move traffic that drifts
 * within their plan.  Every choice comes from the seedable PRNG, so a
 * given --demo-seed replays the same evening.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdio.h>
#include <string.h>


typedef struct {
    const char      *name;
    const char      *rate;          /* rate-limit rx/tx */
    uint64_t         max_bps;        /* download cap */
} mb_sim_plan_t;

static const mb_sim_plan_t  mb_sim_plans[] = {
    { "home-10M", "5M/10M", 10000000 },
    { "home-20M", "10M/20M", 20000000 },
    { "biz-50M", "25M/50M", 50000000 },
};

#define MB_SIM_NPLANS  (sizeof(mb_sim_plans) / sizeof(mb_sim_plans[0]))
#define MB_SIM_DEMO_MAX  200

static const char  *mb_sim_demo_names[] = {
    "agus", "budi", "citra", "dewi", "eko", "fajar", "gita", "hendra",
    "indah", "joko", "kartika", "lukman", "maya", "nanda", "oki", "putri",
    "rudi", "sari", "taufik", "umi", "vina", "wahyu", "yanti", "zaki",
};

static unsigned  mb_sim_demo_n;


static uint64_t
mb_sim_demo_between(uint64_t lo, uint64_t hi)
{
    return hi > lo ? lo + mb_sim_rand() % (hi - lo) : lo;
}


static void
mb_sim_demo_name(unsigned i, char *buf, size_t len)
{
    size_t  n = sizeof(mb_sim_demo_names) / sizeof(mb_sim_demo_names[0]);

    if (i < n) {
        snprintf(buf, len, "%s", mb_sim_demo_names[i]);
    } else {
        snprintf(buf, len, "%s%zu", mb_sim_demo_names[i % n], i / n + 1);
    }
}


static void
mb_sim_demo_plans(void)
{
    mb_sim_args_t  a;
    size_t         i;

    for (i = 0; i < MB_SIM_NPLANS; i++) {
        mb_sim_args_init(&a);
        mb_sim_args_add(&a, "name", 4, mb_sim_plans[i].name);
        mb_sim_args_add(&a, "rate-limit", 10, mb_sim_plans[i].rate);
        mb_sim_table_add(&mb_sim.profiles, &a, 0, 0, NULL);
    }
}


static void
mb_sim_demo_secret(unsigned i)
{
    mb_sim_args_t  a;
    char           name[32], pass[32];

    mb_sim_demo_name(i, name, sizeof(name));
    snprintf(pass, sizeof(pass), "pw-%08llx",
             (unsigned long long) (mb_sim_rand() & 0xFFFFFFFF));
    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "name", 4, name);
    mb_sim_args_add(&a, "password", 8, pass);
    mb_sim_args_add(&a, "profile", 7,
                    mb_sim_plans[mb_sim_rand() % MB_SIM_NPLANS].name);
    mb_sim_args_add(&a, "service", 7, "pppoe");
    mb_sim_table_add(&mb_sim.secrets, &a, 0, 0, NULL);
}


static uint64_t
mb_sim_demo_cap(const char *user)
{
    mb_sim_item_t  *s = mb_sim_table_find(&mb_sim.secrets, "name", user);
    const char     *profile;
    size_t          i;

    profile = s ? mb_sim_item_get(&mb_sim.secrets, s, "profile") : "";
    for (i = 0; i < MB_SIM_NPLANS; i++) {
        if (strcmp(profile, mb_sim_plans[i].name) == 0) {
            return mb_sim_plans[i].max_bps;
        }
    }
    return 10000000;
}


/* the rate drifts: mostly browsing, now and then a video or a download */
static void
mb_sim_demo_traffic(const char *user)
{
    uint64_t  cap = mb_sim_demo_cap(user), tx;
    char      ifname[96];

    tx = mb_sim_rand() % 10 == 0 ? mb_sim_demo_between(cap / 2, cap)
                                 : mb_sim_demo_between(20000, cap / 5);
    snprintf(ifname, sizeof(ifname), "<pppoe-%s>", user);
    mb_sim_iface_rate(ifname, tx / 8 + mb_sim_demo_between(8000, 64000), tx);
}


static void
mb_sim_demo_customer(unsigned i)
{
    char  name[32];
    int   online;

    mb_sim_demo_name(i, name, sizeof(name));
    online = mb_sim_ppp_active_find(name) != NULL;
    if (online && mb_sim_rand() % 600 == 0) {
        mb_sim_ppp_logout(name);
        mb_log_debug("demo: %s logged out", name);
    } else if (!online && mb_sim_rand() % 90 == 0) {
        mb_sim_ppp_login(name, NULL, NULL, NULL, NULL);
        mb_sim_demo_traffic(name);
        mb_log_debug("demo: %s logged in", name);
    } else if (online && mb_sim_rand() % 5 == 0) {
        mb_sim_demo_traffic(name);
    }
}


void
mb_sim_demo_tick(void)
{
    unsigned  i;

    for (i = 0; i < mb_sim_demo_n; i++) {
        mb_sim_demo_customer(i);
    }
}


void
mb_sim_demo_start(uint64_t seed, unsigned customers)
{
    char      name[32], addr[32];
    unsigned  i;

    mb_sim_srand(seed);
    mb_sim_demo_n = customers > MB_SIM_DEMO_MAX ? MB_SIM_DEMO_MAX
                                                : customers;
    mb_sim_demo_plans();
    for (i = 0; i < mb_sim_demo_n; i++) {
        mb_sim_demo_secret(i);
    }
    /* most of them are online when the router comes up */
    for (i = 0; i < mb_sim_demo_n; i++) {
        if (mb_sim_rand() % 10 < 7) {
            mb_sim_demo_name(i, name, sizeof(name));
            mb_sim_ppp_login(name, NULL, NULL, NULL, NULL);
            mb_sim_demo_traffic(name);
        }
    }
    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "voucher-%u", 1001 + i);
        snprintf(addr, sizeof(addr), "10.5.50.%u", 10 + i);
        mb_sim_hotspot_login(name, addr, NULL, NULL);
    }
    mb_log_info("demo: %u customers, %zu online, seed %llu", mb_sim_demo_n,
                mb_sim.active.n, (unsigned long long) seed);
}
