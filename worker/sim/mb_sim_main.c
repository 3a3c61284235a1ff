/*
 * mikrobill-ros-sim: options, start-up and shutdown.  Everything runs on
 * one libuv loop; SIGINT/SIGTERM and control "shutdown" stop it, and the
 * state is freed before exit so that sanitizer builds stay leak-clean.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>


mb_sim_t  mb_sim;


typedef struct {
    const char      *listen;
    const char      *tls_listen;
    const char      *tls_cert;
    const char      *tls_key;
    const char      *control;
    const char      *seed;
    unsigned         sessions;
    unsigned         demo_customers;
    uint64_t         demo_seed;
} mb_sim_opts_t;


static void
mb_sim_usage(FILE *f)
{
    fprintf(f,
        "usage: mikrobill-ros-sim --listen 127.0.0.1:PORT --user NAME:PASS\n"
        "         [--tls-listen ADDR [--tls-cert FILE --tls-key FILE]]\n"
        "         [--ros-version 6.40|6.49|7.12|7.18] [--identity NAME]\n"
        "         [--seed FILE] [--control 127.0.0.1:PORT] [--sessions N]\n"
        "         [--demo [--demo-seed N] [--demo-customers N]]\n"
        "         [--log-level error|warn|info|debug]\n"
        "  --tls-listen without a certificate offers anonymous DH only,\n"
        "  like a router whose api-ssl service has no certificate.\n"
        "  See docs/simulator.md.\n");
}


static int
mb_sim_opt_user(const char *arg)
{
    const char     *colon = strchr(arg, ':');
    mb_sim_user_t  *u;

    if (colon == NULL || colon == arg || mb_sim.nusers == MB_SIM_USERS_MAX
        || (size_t) (colon - arg) >= sizeof(u->name)
        || strlen(colon + 1) >= sizeof(u->password))
    {
        fprintf(stderr, "mikrobill-ros-sim: --user NAME:PASSWORD\n");
        return -1;
    }
    u = &mb_sim.users[mb_sim.nusers++];
    snprintf(u->name, sizeof(u->name), "%.*s", (int) (colon - arg), arg);
    snprintf(u->password, sizeof(u->password), "%s", colon + 1);
    return 0;
}


static int
mb_sim_opt_version(const char *arg)
{
    int   major, minor;
    char  tail;

    if (sscanf(arg, "%d.%d%c", &major, &minor, &tail) != 2
        || major < 6 || major > 7 || minor < 0 || minor > 99)
    {
        fprintf(stderr, "mikrobill-ros-sim: --ros-version 6.40|6.49|7.12|"
                "7.18 (MAJOR.MINOR)\n");
        return -1;
    }
    mb_sim.ver_major = major;
    mb_sim.ver_minor = minor;
    return 0;
}


static int
mb_sim_opt_uint(const char *name, const char *arg, unsigned long long max,
    unsigned long long *v)
{
    char  *end;

    *v = strtoull(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || *v > max) {
        fprintf(stderr, "mikrobill-ros-sim: --%s wants a number up to %llu\n",
                name, max);
        return -1;
    }
    return 0;
}


static int
mb_sim_opt_level(const char *arg)
{
    mb_log_level_e  level;

    if (mb_log_level_parse(arg, &level) != 0) {
        fprintf(stderr, "mikrobill-ros-sim: --log-level "
                "error|warn|info|debug\n");
        return -1;
    }
    mb_log_set_level(level);
    return 0;
}


static int
mb_sim_options(int argc, char **argv, mb_sim_opts_t *o)
{
    static const struct option  longs[] = {
        { "listen", required_argument, NULL, 'l' },
        { "tls-listen", required_argument, NULL, 'L' },
        { "tls-cert", required_argument, NULL, 'c' },
        { "tls-key", required_argument, NULL, 'k' },
        { "ros-version", required_argument, NULL, 'V' },
        { "user", required_argument, NULL, 'u' },
        { "seed", required_argument, NULL, 's' },
        { "control", required_argument, NULL, 'C' },
        { "identity", required_argument, NULL, 'i' },
        { "demo", no_argument, NULL, 'd' },
        { "demo-seed", required_argument, NULL, 'S' },
        { "demo-customers", required_argument, NULL, 'D' },
        { "sessions", required_argument, NULL, 'n' },
        { "log-level", required_argument, NULL, 'g' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };
    unsigned long long  v;
    int                 ch, rc = 0;

    while (rc == 0 && (ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'l': o->listen = optarg; break;
        case 'L': o->tls_listen = optarg; break;
        case 'c': o->tls_cert = optarg; break;
        case 'k': o->tls_key = optarg; break;
        case 'V': rc = mb_sim_opt_version(optarg); break;
        case 'u': rc = mb_sim_opt_user(optarg); break;
        case 's': o->seed = optarg; break;
        case 'C': o->control = optarg; break;
        case 'i':
            snprintf(mb_sim.identity, sizeof(mb_sim.identity), "%s", optarg);
            break;
        case 'd': mb_sim.demo = 1; break;
        case 'S':
            rc = mb_sim_opt_uint("demo-seed", optarg, UINT64_MAX, &v);
            o->demo_seed = v;
            break;
        case 'D':
            rc = mb_sim_opt_uint("demo-customers", optarg, 200, &v);
            o->demo_customers = (unsigned) v;
            break;
        case 'n':
            rc = mb_sim_opt_uint("sessions", optarg, 1000000, &v);
            o->sessions = (unsigned) v;
            break;
        case 'g': rc = mb_sim_opt_level(optarg); break;
        case 'h': mb_sim_usage(stdout); exit(0);
        case 'v': printf("mikrobill-ros-sim %s\n", MB_SIM_VERSION); exit(0);
        default: rc = -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "mikrobill-ros-sim: stray argument \"%s\"\n",
                argv[optind]);
        rc = -1;
    }
    return rc;
}


static int
mb_sim_check_options(const mb_sim_opts_t *o)
{
    if (o->listen == NULL && o->tls_listen == NULL) {
        fprintf(stderr, "mikrobill-ros-sim: --listen or --tls-listen is "
                "required\n");
        return -1;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "mikrobill-ros-sim: --tls-cert and --tls-key go "
                "together\n");
        return -1;
    }
    if (o->tls_cert != NULL && o->tls_listen == NULL) {
        fprintf(stderr, "mikrobill-ros-sim: --tls-cert without "
                "--tls-listen\n");
        return -1;
    }
    return 0;
}


/* ---- the loop ----------------------------------------------------------- */

static void
mb_sim_tick(uv_timer_t *t)
{
    (void) t;
    mb_sim_addrlist_tick();
    if (mb_sim.demo) {
        mb_sim_demo_tick();
    }
    mb_sim_iface_tick();
}


static void
mb_sim_signal(uv_signal_t *s, int signum)
{
    (void) s;
    mb_log_info("signal %d, stopping", signum);
    uv_stop(mb_sim.loop);
}


static void
mb_sim_close_handle(uv_handle_t *h, void *arg)
{
    mb_sim_conn_t  *c;

    (void) arg;
    if (uv_is_closing(h)) {
        return;
    }
    /* connections free themselves through their own close path */
    for (c = mb_sim.conns; c != NULL; c = c->next) {
        if (h == (uv_handle_t *) &c->tcp) {
            mb_sim_conn_close(c);
            return;
        }
    }
    if (h->type == UV_TIMER && h->data != NULL && h->data != &mb_sim) {
        return;                 /* a stream timer: its connection closes it */
    }
    if (h->type == UV_TCP && h->data != NULL && h->data != &mb_sim) {
        uv_close(h, (uv_close_cb) free);    /* a control connection */
        return;
    }
    uv_close(h, NULL);
}


static void
mb_sim_shutdown(void)
{
    uv_walk(mb_sim.loop, mb_sim_close_handle, NULL);
    uv_run(mb_sim.loop, UV_RUN_DEFAULT);
    mb_sim_table_free(&mb_sim.active);
    mb_sim_table_free(&mb_sim.hotspot);
    mb_sim_table_free(&mb_sim.ifaces);
    mb_sim_table_free(&mb_sim.secrets);
    mb_sim_table_free(&mb_sim.profiles);
    mb_sim_table_free(&mb_sim.addrlist);
    uv_loop_close(mb_sim.loop);
    mb_sim_tls_cleanup();
}


static int
mb_sim_start(const mb_sim_opts_t *o)
{
    unsigned  loaded;

    if (o->seed != NULL && mb_sim_seed_load(o->seed) != 0) {
        return -1;
    }
    if (mb_sim.nusers == 0) {
        mb_log_error("no API user: give --user NAME:PASSWORD (or users in "
                     "the seed)");
        return -1;
    }
    if (mb_sim.demo) {
        mb_sim_demo_start(o->demo_seed, o->demo_customers);
    }
    if (o->sessions > 0
        && mb_sim_ppp_load(o->sessions, 0, 0, &loaded) != NULL)
    {
        return -1;
    }
    if (o->tls_listen && mb_sim_tls_init(o->tls_cert, o->tls_key) != 0) {
        return -1;
    }
    if ((o->listen && mb_sim_conn_listen(o->listen, 0) != 0)
        || (o->tls_listen && mb_sim_conn_listen(o->tls_listen, 1) != 0)
        || (o->control && mb_sim_control_listen(o->control) != 0))
    {
        return -1;
    }
    return 0;
}


int
main(int argc, char **argv)
{
    mb_sim_opts_t  o;
    uv_signal_t    sigint, sigterm;
    int            rc;

    memset(&o, 0, sizeof(o));
    o.demo_customers = 36;
    o.demo_seed = 1;
    mb_sim.ver_major = 7;
    mb_sim.ver_minor = 12;
    mb_sim.cut_after = -1;
    snprintf(mb_sim.identity, sizeof(mb_sim.identity), "MikroTik");
    if (mb_sim_options(argc, argv, &o) != 0 || mb_sim_check_options(&o)) {
        mb_sim_usage(stderr);
        return 2;
    }

    mb_sim.loop = uv_default_loop();
    mb_sim.start_ms = uv_now(mb_sim.loop);
    mb_sim.start_unix = (uint64_t) time(NULL);
    uv_timer_init(mb_sim.loop, &mb_sim.stall_timer);
    uv_timer_init(mb_sim.loop, &mb_sim.tick);
    mb_sim.stall_timer.data = &mb_sim;
    mb_sim.tick.data = &mb_sim;
    mb_sim_system_init();
    mb_sim_ppp_init();
    mb_sim_iface_init();
    mb_sim_addrlist_init();
    mb_sim_hotspot_init();

    rc = mb_sim_start(&o);
    if (rc == 0) {
        uv_timer_start(&mb_sim.tick, mb_sim_tick, 1000, 1000);
        uv_signal_init(mb_sim.loop, &sigint);
        uv_signal_init(mb_sim.loop, &sigterm);
        sigint.data = sigterm.data = &mb_sim;
        uv_signal_start(&sigint, mb_sim_signal, SIGINT);
        uv_signal_start(&sigterm, mb_sim_signal, SIGTERM);
        mb_log_info("RouterOS %s simulator \"%s\" ready", mb_sim.version,
                    mb_sim.identity);
        uv_run(mb_sim.loop, UV_RUN_DEFAULT);
    }
    mb_sim_shutdown();
    return rc == 0 ? 0 : 1;
}
