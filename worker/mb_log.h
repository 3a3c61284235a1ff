/*
 * Logging: one line per event on stderr,
 * "2026-11-21T10:00:00.123Z info  redis connected 127.0.0.1:6379".
 * Callers never pass secrets (passwords, conninfo) to these functions.
 */

#ifndef _MB_LOG_H_INCLUDED_
#define _MB_LOG_H_INCLUDED_


#include <stddef.h>


typedef enum {
    MB_LOG_ERROR = 0,
    MB_LOG_WARN,
    MB_LOG_INFO,
    MB_LOG_DEBUG
} mb_log_level_e;


void mb_log_set_level(mb_log_level_e level);
/* -1 when name is not one of error|warn|info|debug */
int mb_log_level_parse(const char *name, mb_log_level_e *level);
void mb_log(mb_log_level_e level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "2026-11-21T10:00:00.123Z" (RFC 3339, UTC, milliseconds) */
void mb_time_rfc3339(char *buf, size_t len);


#define mb_log_error(...)  mb_log(MB_LOG_ERROR, __VA_ARGS__)
#define mb_log_warn(...)   mb_log(MB_LOG_WARN, __VA_ARGS__)
#define mb_log_info(...)   mb_log(MB_LOG_INFO, __VA_ARGS__)
#define mb_log_debug(...)  mb_log(MB_LOG_DEBUG, __VA_ARGS__)


#endif /* _MB_LOG_H_INCLUDED_ */
