/*
 * ros-fetch-bench: how long the worker's RouterOS client takes to fetch a
 * big print (/ppp/active/print with .proplist) over one connection, from
 * sending the command to its !done, items decoded and counted.
 * scripts/bench-ros runs it against the simulator.
 *
 *   ros-fetch-bench HOST PORT USER PASSWORD RUNS PROPLIST
 *
 * Prints one line per run ("run N: ITEMS items in MS ms") and a summary
 * line "fetch: items=N runs=R min-ms=.. median-ms=.. max-ms=..".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_ros_client.h"
#include "test_ros_tool.h"


typedef struct {
    mb_ros_client_t  *client;
    const char       *proplist;
    int               runs;
    int               run;
    size_t            items;
    uint64_t          t0;
    double           *ms;
    int               failed;
} bench_t;


static void bench_next(bench_t *b);


static int
bench_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static void
bench_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    bench_t  *b = data;

    (void) cmd;

    if (ev->type == MB_ROS_EV_RE) {
        b->items++;
        return;
    }

    if (ev->type != MB_ROS_EV_DONE) {
        fprintf(stderr, "print failed: %s\n", ev->message ? ev->message
                                                          : "?");
        b->failed = 1;
        mb_ros_client_close(b->client);
        return;
    }

    b->ms[b->run] = (double) (uv_hrtime() - b->t0) / 1e6;
    printf("run %d: %zu items in %.2f ms\n", b->run + 1, b->items,
           b->ms[b->run]);
    b->run++;
    bench_next(b);
}


static void
bench_next(bench_t *b)
{
    char                        prop[512];
    const char                 *words[3] = { "/ppp/active/print", prop, NULL };
    static const mb_ros_opts_t  opts = { 0, 60000 };

    if (b->run == b->runs) {
        mb_ros_client_close(b->client);
        return;
    }

    snprintf(prop, sizeof(prop), "=.proplist=%s", b->proplist);
    b->items = 0;
    b->t0 = uv_hrtime();

    if (mb_ros_send(b->client, words, &opts, bench_on_event, b) == NULL) {
        b->failed = 1;
        mb_ros_client_close(b->client);
    }
}


static void
bench_on_state(mb_ros_client_t *c, mb_ros_state_e state, mb_ros_err_e err,
    const char *reason, void *data)
{
    bench_t  *b = data;

    (void) c;

    if (state == MB_ROS_DOWN) {
        fprintf(stderr, "connection: %s: %s\n", mb_ros_err_name(err),
                reason ? reason : "");
        b->failed = 1;
    }
}


int
main(int argc, char **argv)
{
    mb_ros_client_conf_t  cc;
    bench_t               b;
    uv_loop_t             loop;

    if (argc != 7) {
        fprintf(stderr, "usage: ros-fetch-bench HOST PORT USER PASSWORD "
                "RUNS PROPLIST\n");
        return 2;
    }

    test_ros_tool_init(&loop, &cc, argv);
    memset(&b, 0, sizeof(b));
    b.runs = atoi(argv[5]) > 0 ? atoi(argv[5]) : 1;
    b.proplist = argv[6];
    b.ms = calloc((size_t) b.runs, sizeof(double));

    b.client = mb_ros_client_create(&loop, &cc, bench_on_state, &b);
    if (b.client == NULL || b.ms == NULL) {
        return 1;
    }

    bench_next(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);

    if (!b.failed && b.run == b.runs) {
        qsort(b.ms, (size_t) b.runs, sizeof(double), bench_cmp);
        printf("fetch: items=%zu runs=%d min-ms=%.2f median-ms=%.2f "
               "max-ms=%.2f\n", b.items, b.runs, b.ms[0], b.ms[b.runs / 2],
               b.ms[b.runs - 1]);
    }

    free(b.ms);
    return b.failed ? 1 : 0;
}
