/*
 * Sentences decoded per second by the RouterOS codec: a buffer of typical
 * /ppp/active/print replies (12 attributes each, tagged) fed to the parser
 * in 64 KiB reads, as the client gets them from a socket.
 *
 *   ros_decode_bench [seconds]        (default 2)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_ros_codec.h"


#define BENCH_SENTENCES  10000
#define BENCH_READ       65536


static int
bench_count(void *arg, const mb_ros_sentence_t *s)
{
    mb_ros_word_t  v;
    size_t        *n = arg;

    /* what the client does with each reply: type and tag */
    if (mb_ros_reply_type(s) == MB_ROS_REPLY_RE
        && mb_ros_sentence_get(s, ".", "tag", &v))
    {
        (*n)++;
    }
    return 0;
}


static void
bench_build(mb_ros_buf_t *b)
{
    char  v[64];
    int   i;

    for (i = 0; i < BENCH_SENTENCES; i++) {
        mb_ros_buf_word(b, "!re", 3);
        snprintf(v, sizeof(v), "*%X", 0x80000000u + i);
        mb_ros_buf_attr(b, "=", ".id", v);
        snprintf(v, sizeof(v), "customer%05d", i);
        mb_ros_buf_attr(b, "=", "name", v);
        mb_ros_buf_attr(b, "=", "service", "pppoe");
        mb_ros_buf_attr(b, "=", "caller-id", "AA:BB:CC:DD:EE:FF");
        snprintf(v, sizeof(v), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        mb_ros_buf_attr(b, "=", "address", v);
        mb_ros_buf_attr(b, "=", "uptime", "1d2h3m4s");
        mb_ros_buf_attr(b, "=", "encoding", "");
        mb_ros_buf_attr(b, "=", "session-id", "0x81A00001");
        mb_ros_buf_attr(b, "=", "limit-bytes-in", "0");
        mb_ros_buf_attr(b, "=", "limit-bytes-out", "0");
        mb_ros_buf_attr(b, "=", "radius", "false");
        mb_ros_buf_attr(b, ".", "tag", "42");
        mb_ros_buf_end(b);
    }
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    double            seconds, start, elapsed;
    size_t            n = 0, at, len;

    seconds = argc > 1 ? atof(argv[1]) : 2.0;
    mb_ros_buf_init(&b);
    bench_build(&b);
    p = mb_ros_parser_create(0);
    if (p == NULL) {
        return 1;
    }

    start = bench_now();
    do {
        for (at = 0; at < b.len; at += len) {
            len = b.len - at < BENCH_READ ? b.len - at : BENCH_READ;
            if (mb_ros_parser_feed(p, b.data + at, len, bench_count, &n)
                != 0)
            {
                fprintf(stderr, "parse error\n");
                return 1;
            }
        }
        elapsed = bench_now() - start;
    } while (elapsed < seconds);

    printf("sentences decoded per second: %.0f\n", n / elapsed);
    printf("(%zu sentences of %zu bytes on average in %.2f s)\n", n,
           b.len / BENCH_SENTENCES, elapsed);

    mb_ros_parser_destroy(p);
    mb_ros_buf_free(&b);
    return 0;
}
