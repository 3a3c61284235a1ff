/*
 * Subcommands of mikrobill-worker and the helpers they share.  Each
 * subcommand gets argv starting at its own name and returns the exit code.
 */

#ifndef _MB_CLI_H_INCLUDED_
#define _MB_CLI_H_INCLUDED_


#include <libpq-fe.h>

#include "mb_config.h"


#define MB_WORKER_VERSION  "0.1.0"

#define MB_EXIT_OK       0
#define MB_EXIT_ERROR    1
#define MB_EXIT_EXISTS   2        /* create-admin, router-add: name taken */


int mb_worker_run(int argc, char **argv);
int mb_worker_migrate(int argc, char **argv);
int mb_worker_create_admin(int argc, char **argv);
int mb_worker_router_add(int argc, char **argv);
int mb_worker_router_list(int argc, char **argv);
int mb_worker_router_del(int argc, char **argv);
int mb_worker_gen_key(int argc, char **argv);

void mb_cli_usage(FILE *out);

/* loads the file, applies log_level; logs and returns -1 on error */
int mb_cli_config(const char *path, mb_config_t *cfg);

/*
 * A password from the environment variable env when set and not empty,
 * else the first line of stdin (not echoed on a terminal); never from
 * argv, where ps(1) would show it.  0, or -1 (logged).
 */
int mb_cli_password(const char *env, char *buf, size_t len);

/* blocking connection for the CLI subcommands; NULL (logged) on failure */
PGconn *mb_cli_pg_connect(const mb_config_t *cfg);


#endif /* _MB_CLI_H_INCLUDED_ */
