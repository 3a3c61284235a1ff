/*
 * Small helpers: RouterOS durations and dates, IPv4 checks, the version
 * switch, a seedable PRNG (demo mode must replay the same day) and
 * host:port parsing.
 */

#include "mb_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


uint64_t
mb_sim_now_ms(void)
{
    return uv_now(mb_sim.loop);
}


static int64_t
mb_sim_duration_clock(const char *s)
{
    unsigned  h, m, sec;
    char      tail;

    /* "hh:mm:ss", what RouterOS prints for timeouts */
    if (sscanf(s, "%u:%u:%u%c", &h, &m, &sec, &tail) != 3) {
        return -1;
    }
    return ((int64_t) h * 3600 + m * 60 + sec) * 1000;
}


int64_t
mb_sim_duration_parse(const char *s)
{
    int64_t     total = 0, v;
    const char *p = s;
    char       *end;

    if (*s == '\0') {
        return -1;
    }
    if (strchr(s, ':') != NULL) {
        /* "1d00:05:00": days first, then a clock */
        end = strchr(s, 'd');
        if (end != NULL) {
            v = strtoll(s, NULL, 10);
            total = v * 86400000;
            p = end + 1;
        }
        v = mb_sim_duration_clock(p);
        return v < 0 ? -1 : total + v;
    }

    while (*p) {
        if (!isdigit((unsigned char) *p)) {
            return -1;
        }
        v = strtoll(p, &end, 10);
        p = end;
        if (strncmp(p, "ms", 2) == 0) {
            total += v;
            p += 2;
            continue;
        }
        switch (*p) {
        case 'w': total += v * 604800000; break;
        case 'd': total += v * 86400000; break;
        case 'h': total += v * 3600000; break;
        case 'm': total += v * 60000; break;
        case 's': case '\0': total += v * 1000; break;
        default: return -1;
        }
        if (*p) {
            p++;
        }
    }
    return total;
}


void
mb_sim_duration_format(uint64_t ms, char *buf, size_t len)
{
    static const struct { char unit; uint64_t s; } units[] = {
        { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
        { 's', 1 }
    };
    uint64_t  secs = ms / 1000, v;
    size_t    i, n = 0;

    buf[0] = '\0';
    for (i = 0; i < 5 && n + 24 < len; i++) {
        v = secs / units[i].s;
        secs %= units[i].s;
        if (v || (units[i].unit == 's' && n == 0)) {
            n += snprintf(buf + n, len - n, "%llu%c",
                          (unsigned long long) v, units[i].unit);
        }
    }
}


void
mb_sim_time_format(uint64_t unix_s, char *buf, size_t len)
{
    time_t     t = (time_t) unix_s;
    struct tm  tm;

    gmtime_r(&t, &tm);
    /* 7.10 moved to ISO dates; older releases print "jan/02/2024" */
    if (mb_sim_ver_at_least(7, 10)) {
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
        return;
    }
    strftime(buf, len, "%b/%d/%Y %H:%M:%S", &tm);
    buf[0] = (char) tolower((unsigned char) buf[0]);
}


int
mb_sim_ipv4_valid(const char *s, int allow_prefix)
{
    unsigned  a, b, c, d, p = 32;
    char      tail;
    int       n;

    n = sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail);
    if (n == 5 && tail == '/' && allow_prefix) {
        n = sscanf(s, "%3u.%3u.%3u.%3u/%2u%c", &a, &b, &c, &d, &p, &tail);
        if (n != 5) {
            return 0;
        }
    } else if (n != 4) {
        return 0;
    }
    return a < 256 && b < 256 && c < 256 && d < 256 && p <= 32;
}


int
mb_sim_ver_at_least(int major, int minor)
{
    return mb_sim.ver_major > major
           || (mb_sim.ver_major == major && mb_sim.ver_minor >= minor);
}


/* xorshift64*: tiny, fast, and the same on every machine */
static uint64_t  mb_sim_rng = 0x9E3779B97F4A7C15ull;

void
mb_sim_srand(uint64_t seed)
{
    mb_sim_rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}


uint64_t
mb_sim_rand(void)
{
    mb_sim_rng ^= mb_sim_rng >> 12;
    mb_sim_rng ^= mb_sim_rng << 25;
    mb_sim_rng ^= mb_sim_rng >> 27;
    return mb_sim_rng * 0x2545F4914F6CDD1Dull;
}


int
mb_sim_parse_hostport(const char *s, char *host, size_t hlen, int *port)
{
    const char  *colon = strrchr(s, ':');
    char        *end;
    long         p;

    if (colon == NULL) {
        snprintf(host, hlen, "127.0.0.1");
        colon = s - 1;
    } else if ((size_t) (colon - s) >= hlen || colon == s) {
        return -1;
    } else {
        memcpy(host, s, colon - s);
        host[colon - s] = '\0';
    }
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535) {
        return -1;
    }
    *port = (int) p;
    return 0;
}


char *
mb_sim_strdup(const char *s)
{
    size_t  n = strlen(s) + 1;
    char   *p = malloc(n);

    /* a simulator out of memory has nothing sensible left to do */
    if (p == NULL) {
        fprintf(stderr, "mikrobill-ros-sim: out of memory\n");
        abort();
    }
    return memcpy(p, s, n);
}
