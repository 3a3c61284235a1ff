/*
 * "mikrobill-worker run": the long-running process.  Builds the loop and
 * the connections, and stops cleanly on SIGTERM/SIGINT: no new reads, the
 * jobs in flight get a short grace period to reply, then every handle is
 * closed and the loop itself, so that ASan sees no leak.
 */

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mb_cli.h"
#include "mb_job.h"
#include "mb_log.h"
#include "mb_pg.h"
#include "mb_redis.h"
#include "mb_registry.h"
#include "mb_stream.h"
#include "mb_worker.h"


#define MB_RUN_GRACE_MS  3000


static void
mb_run_finish(uv_timer_t *t)
{
    mb_worker_t  *w = t->data;

    w->stopping = 2;

    /* failing the database queries lets their jobs reply first */
    mb_pg_close(w->pg);
    mb_redis_close(w->ctl);

    while (w->jobs != NULL) {
        mb_log_warn("entry %s: unfinished at exit; it stays pending",
                    w->jobs->entry);
        mb_job_free(w->jobs);
    }

    mb_registry_close(w->registry);

    mb_stream_close(w->stream);
    uv_close((uv_handle_t *) &w->sigterm, NULL);
    uv_close((uv_handle_t *) &w->sigint, NULL);
    uv_close((uv_handle_t *) &w->stop_timer, NULL);
}


void
mb_worker_job_done(mb_worker_t *w)
{
    /* finish from the timer, never from inside a hiredis callback */
    if (w->stopping == 1 && w->njobs == 0 && !mb_registry_busy(w->registry))
    {
        uv_timer_start(&w->stop_timer, mb_run_finish, 0, 0);
    }
}


static void
mb_run_on_signal(uv_signal_t *sig, int signum)
{
    mb_worker_t  *w = sig->data;

    if (w->stopping) {
        mb_log_info("%s again: already stopping", strsignal(signum));
        return;
    }

    w->stopping = 1;
    mb_log_info("stopping on %s, %u command%s in flight", strsignal(signum),
                w->njobs, w->njobs == 1 ? "" : "s");

    mb_stream_stop(w->stream);
    mb_redis_close(w->reader);
    /* router connections close, leases are given back at once, so that
     * another worker can take the routers over without waiting for TTLs */
    mb_registry_stop(w->registry);

    uv_timer_start(&w->stop_timer, mb_run_finish,
                   w->njobs || mb_registry_busy(w->registry)
                   ? MB_RUN_GRACE_MS : 0, 0);
}


static int
mb_run_init(mb_worker_t *w, uv_loop_t *loop, mb_config_t *cfg)
{
    memset(w, 0, sizeof(*w));
    w->loop = loop;
    w->cfg = cfg;

    w->stream = mb_stream_create(w);
    w->pg = mb_pg_create(loop, cfg->pg_conninfo);
    w->reader = mb_redis_create(loop, cfg, "reader", mb_stream_redis_up,
                                mb_stream_redis_down, w->stream);
    w->ctl = mb_redis_create(loop, cfg, "control", mb_stream_redis_up,
                             mb_stream_redis_down, w->stream);
    w->registry = w->pg ? mb_registry_create(w) : NULL;

    if (w->stream == NULL || w->pg == NULL || w->reader == NULL
        || w->ctl == NULL || w->registry == NULL)
    {
        mb_log_error("out of memory");
        return -1;
    }

    uv_timer_init(loop, &w->stop_timer);
    w->stop_timer.data = w;
    uv_signal_init(loop, &w->sigterm);
    uv_signal_init(loop, &w->sigint);
    w->sigterm.data = w;
    w->sigint.data = w;
    uv_signal_start(&w->sigterm, mb_run_on_signal, SIGTERM);
    uv_signal_start(&w->sigint, mb_run_on_signal, SIGINT);

    return 0;
}


/* a mistyped conninfo is a configuration error, not an outage to retry */
static int
mb_run_check_conninfo(const mb_config_t *cfg)
{
    char             *err = NULL;
    PQconninfoOption *opts;

    opts = PQconninfoParse(cfg->pg_conninfo, &err);
    if (opts == NULL) {
        mb_log_error("pg_conninfo: %s", err ? err : "out of memory");
        PQfreemem(err);
        return -1;
    }

    PQconninfoFree(opts);
    return 0;
}


static int
mb_run_loop(mb_config_t *cfg)
{
    uv_loop_t    loop;
    mb_worker_t  w;

    if (uv_loop_init(&loop) != 0) {
        mb_log_error("uv_loop_init failed");
        return MB_EXIT_ERROR;
    }

    if (mb_run_init(&w, &loop, cfg) != 0) {
        exit(MB_EXIT_ERROR);
    }

    mb_log_info("mikrobill-worker %s starting, consumer %s, stream %s",
                MB_WORKER_VERSION, cfg->consumer_name, cfg->stream);

    mb_registry_start(w.registry);
    mb_pg_start(w.pg);
    mb_redis_start(w.ctl);
    mb_redis_start(w.reader);

    uv_run(&loop, UV_RUN_DEFAULT);

    if (uv_loop_close(&loop) != 0) {
        mb_log_error("loop closed with handles still open");
        return MB_EXIT_ERROR;
    }

    mb_log_info("stopped");
    return MB_EXIT_OK;
}


int
mb_worker_run(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    const char   *conf = NULL;
    mb_config_t   cfg;
    int           c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'h': mb_cli_usage(stdout); return MB_EXIT_OK;
        default: mb_cli_usage(stderr); return MB_EXIT_ERROR;
        }
    }

    if (optind < argc) {
        mb_log_error("run: unexpected argument \"%s\"", argv[optind]);
        return MB_EXIT_ERROR;
    }

    if (mb_cli_config(conf, &cfg) != 0) {
        return MB_EXIT_ERROR;
    }

    /* hiredis writes with plain write(2): a dead peer must not kill us */
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned) time(NULL) ^ (unsigned) getpid());

    rc = mb_run_check_conninfo(&cfg) == 0 ? mb_run_loop(&cfg)
                                          : MB_EXIT_ERROR;

    mb_config_free(&cfg);
    return rc;
}
