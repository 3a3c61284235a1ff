/*
 * The worker's configuration file: "key = value" lines, "#" comment lines.
 * Every subcommand reads the same file.
 */

#ifndef _MB_CONFIG_H_INCLUDED_
#define _MB_CONFIG_H_INCLUDED_


#include <stddef.h>

#include "mb_log.h"


typedef struct {
    char            *pg_conninfo;
    char            *redis_host;
    unsigned         redis_port;
    char            *redis_password;      /* NULL: no AUTH */
    mb_log_level_e   log_level;
    char            *consumer_name;       /* default hostname-pid */
    char            *stream;
    char            *group;
    unsigned         claim_idle_ms;
    unsigned         password_iterations;
    char            *secret_key_file;     /* NULL: no router passwords */
    unsigned         router_lease_ms;     /* lease TTL of a router */
    unsigned         router_reload_s;     /* registry re-read period */
    unsigned         sync_interval_s;     /* live status sync period */
    unsigned         sync_timeout_ms;     /* a sync's router fetch */
    unsigned         monitor_idle_s;      /* a monitor nobody watches */
} mb_config_t;


/* defaults; mb_config_free() releases what the parser allocated */
void mb_config_init(mb_config_t *cfg);
void mb_config_free(mb_config_t *cfg);

/*
 * 0 on success; -1 with "name:line: reason" (or "name: reason") in err.
 * name is only used in messages.  Fills the defaults computed at run time
 * (consumer_name) and checks the required keys.
 */
int mb_config_parse(mb_config_t *cfg, const char *text, const char *name,
    char *err, size_t errlen);
int mb_config_load(mb_config_t *cfg, const char *path, char *err,
    size_t errlen);


#endif /* _MB_CONFIG_H_INCLUDED_ */
