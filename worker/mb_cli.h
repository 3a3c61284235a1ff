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
#define MB_EXIT_EXISTS   2        /* create-admin: the username is taken */


int mb_worker_run(int argc, char **argv);
int mb_worker_migrate(int argc, char **argv);
int mb_worker_create_admin(int argc, char **argv);

void mb_cli_usage(FILE *out);

/* loads the file, applies log_level; logs and returns -1 on error */
int mb_cli_config(const char *path, mb_config_t *cfg);

/* blocking connection for the CLI subcommands; NULL (logged) on failure */
PGconn *mb_cli_pg_connect(const mb_config_t *cfg);


#endif /* _MB_CLI_H_INCLUDED_ */
