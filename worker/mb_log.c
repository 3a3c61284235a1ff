/*
 * Log lines on stderr.  Each line is formatted into one buffer and written
 * with a single fputs so that lines of concurrent processes do not mix.
 */

#include "mb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


static mb_log_level_e  mb_log_level = MB_LOG_INFO;

static const char  *mb_log_names[] = { "error", "warn", "info", "debug" };


void
mb_log_set_level(mb_log_level_e level)
{
    mb_log_level = level;
}


int
mb_log_level_parse(const char *name, mb_log_level_e *level)
{
    size_t  i;

    for (i = 0; i < sizeof(mb_log_names) / sizeof(mb_log_names[0]); i++) {
        if (strcmp(name, mb_log_names[i]) == 0) {
            *level = (mb_log_level_e) i;
            return 0;
        }
    }

    return -1;
}


void
mb_time_rfc3339(char *buf, size_t len)
{
    struct timespec  ts;
    struct tm        tm;
    char             sec[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}


void
mb_log(mb_log_level_e level, const char *fmt, ...)
{
    char     line[2048], now[40];
    int      n;
    va_list  ap;

    if (level > mb_log_level) {
        return;
    }

    mb_time_rfc3339(now, sizeof(now));
    n = snprintf(line, sizeof(line), "%s %-5s ", now, mb_log_names[level]);

    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);

    /* one event, one line: a truncated or multi-line message stays one */
    for (char *p = line + n; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }

    n = (int) strlen(line);
    while (n > 0 && line[n - 1] == ' ') {
        n--;
    }
    line[n] = '\0';

    strcat(line, "\n");
    fputs(line, stderr);
    fflush(stderr);
}
