/*
 * /system/identity and /system/resource: single-item menus (no .id), the
 * first thing a client reads after logging in ("router.test").  The
 * resource figures move with the number of sessions so that a dashboard
 * shows something alive.
 */

#include "mb_sim.h"

#include <stdio.h>
#include <string.h>


#define MB_SIM_TOTAL_MEM   1073741824ull


static void
mb_sim_system_print(mb_sim_req_t *r, const mb_sim_rec_t *rec)
{
    mb_sim_print_t  p;

    mb_sim_print_init(&p, r);
    if (mb_sim_print_match(&p, rec)) {
        mb_sim_print_rec(&p, rec);
    }
    mb_sim_print_done(&p);
}


static void
mb_sim_identity(mb_sim_req_t *r, const char *verb)
{
    mb_sim_rec_t  rec;
    const char   *name;

    if (strcmp(verb, "set") == 0) {
        name = mb_sim_args_get(&r->args, "name");
        if (name != NULL) {
            snprintf(mb_sim.identity, sizeof(mb_sim.identity), "%s", name);
        }
        mb_sim_reply_done(r, NULL);
        return;
    }
    mb_sim_rec_reset(&rec);
    mb_sim_rec_add(&rec, "name", mb_sim.identity);
    mb_sim_system_print(r, &rec);
}


static void
mb_sim_resource(mb_sim_req_t *r)
{
    mb_sim_rec_t  rec;
    char          up[64];
    size_t        sessions = mb_sim.active.n + mb_sim.hotspot.n;
    unsigned      load = 2 + (unsigned) (sessions / 150)
                         + (unsigned) mb_sim_stream_count();

    mb_sim_duration_format(mb_sim_now_ms() - mb_sim.start_ms, up,
                           sizeof(up));
    mb_sim_rec_reset(&rec);
    mb_sim_rec_add(&rec, "uptime", up);
    mb_sim_rec_add(&rec, "version", mb_sim.version);
    mb_sim_rec_add(&rec, "build-time", mb_sim.ver_major >= 7
                   ? "2023-11-09 11:42:03" : "Aug/16/2018 10:30:33");
    mb_sim_rec_add(&rec, "factory-software", "6.44.6");
    mb_sim_rec_addf(&rec, "free-memory", "%llu",
                    MB_SIM_TOTAL_MEM - 180000000ull
                    - (unsigned long long) sessions * 24576);
    mb_sim_rec_addf(&rec, "total-memory", "%llu", MB_SIM_TOTAL_MEM);
    mb_sim_rec_add(&rec, "cpu", "ARMv7");
    mb_sim_rec_add(&rec, "cpu-count", "4");
    mb_sim_rec_add(&rec, "cpu-frequency", "1400");
    mb_sim_rec_addf(&rec, "cpu-load", "%u", load > 100 ? 100 : load);
    mb_sim_rec_add(&rec, "free-hdd-space", "470810624");
    mb_sim_rec_add(&rec, "total-hdd-space", "536870912");
    mb_sim_rec_add(&rec, "architecture-name", "arm");
    mb_sim_rec_add(&rec, "board-name", "RB4011iGS+");
    mb_sim_rec_add(&rec, "platform", "MikroTik");
    mb_sim_system_print(r, &rec);
}


/* 1 handled, 0 a known menu without that verb, -1 an unknown menu */
int
mb_sim_system_command(mb_sim_req_t *r, const char *menu, const char *verb)
{
    int  print = strcmp(verb, "print") == 0 || strcmp(verb, "getall") == 0;

    if (strcmp(menu, "/system/identity") == 0) {
        if (!print && strcmp(verb, "set") != 0) {
            return 0;
        }
        mb_sim_identity(r, verb);
        return 1;
    }
    if (strcmp(menu, "/system/resource") == 0) {
        if (!print) {
            return 0;
        }
        mb_sim_resource(r);
        return 1;
    }
    return -1;
}


void
mb_sim_system_init(void)
{
    static const struct { int major, minor; const char *text; } vers[] = {
        { 6, 40, "6.40.9 (bugfix)" },
        { 6, 49, "6.49.10 (long-term)" },
        { 7, 12, "7.12 (stable)" },
        { 7, 18, "7.18.2 (stable)" },
    };
    size_t  i;

    for (i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
        if (vers[i].major == mb_sim.ver_major
            && vers[i].minor == mb_sim.ver_minor)
        {
            snprintf(mb_sim.version, sizeof(mb_sim.version), "%s",
                     vers[i].text);
            return;
        }
    }
    snprintf(mb_sim.version, sizeof(mb_sim.version), "%d.%d (stable)",
             mb_sim.ver_major, mb_sim.ver_minor);
}
