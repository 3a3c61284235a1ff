/*
 * Helpers shared by the subcommands: usage text, configuration loading and
 * the blocking PostgreSQL connection that the one-shot commands use.
 */

#include <stdio.h>
#include <string.h>

#include "mb_cli.h"
#include "mb_log.h"


void
mb_cli_usage(FILE *out)
{
    fputs(
"usage: mikrobill-worker [run] -c FILE\n"
"       mikrobill-worker migrate -c FILE [--dir DIR]\n"
"       mikrobill-worker create-admin -c FILE [--username NAME]\n"
"                        [--role ROLE] [--full-name TEXT]\n"
"       mikrobill-worker --help | --version\n"
"\n"
"  run           consume the Redis command stream (default)\n"
"  migrate       apply the sql/NNN_*.sql migrations not yet applied\n"
"  create-admin  create a user; the password comes from\n"
"                MIKROBILL_ADMIN_PASSWORD or the first line of stdin\n"
"\n"
"See docs/worker.md.\n", out);
}


int
mb_cli_config(const char *path, mb_config_t *cfg)
{
    char  err[512];

    mb_config_init(cfg);

    if (path == NULL) {
        mb_log_error("no configuration file: use -c FILE");
        return -1;
    }

    if (mb_config_load(cfg, path, err, sizeof(err)) != 0) {
        mb_log_error("%s", err);
        mb_config_free(cfg);
        return -1;
    }

    mb_log_set_level(cfg->log_level);

    return 0;
}


/* server notices (e.g. "relation already exists, skipping") go to our log */
static void
mb_cli_pg_notice(void *arg, const char *message)
{
    (void) arg;
    mb_log_debug("postgres: %s", message);
}


PGconn *
mb_cli_pg_connect(const mb_config_t *cfg)
{
    PGconn  *conn;

    conn = PQconnectdb(cfg->pg_conninfo);
    if (conn == NULL) {
        mb_log_error("postgres: out of memory");
        return NULL;
    }

    if (PQstatus(conn) != CONNECTION_OK) {
        mb_log_error("postgres connect failed: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }

    PQsetNoticeProcessor(conn, mb_cli_pg_notice, NULL);

    return conn;
}
