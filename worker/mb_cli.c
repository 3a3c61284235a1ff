/*
 * Helpers shared by the subcommands: usage text, configuration loading and
 * the blocking PostgreSQL connection that the one-shot commands use.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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
"       mikrobill-worker router-add -c FILE --name NAME --host HOST\n"
"                        [--port PORT] --username USER [--tls]\n"
"                        [--tls-ca FILE]\n"
"                        [--tls-allow-anon-dh] [--disabled]\n"
"       mikrobill-worker router-list -c FILE\n"
"       mikrobill-worker router-del -c FILE --name NAME\n"
"       mikrobill-worker gen-key FILE\n"
"       mikrobill-worker --help | --version\n"
"\n"
"  run           consume the Redis command stream (default)\n"
"  migrate       apply the sql/NNN_*.sql migrations not yet applied\n"
"  create-admin  create a user; the password comes from\n"
"                MIKROBILL_ADMIN_PASSWORD or the first line of stdin\n"
"  router-add    register a router; its password comes from\n"
"                MIKROBILL_ROUTER_PASSWORD or the first line of stdin and\n"
"                is stored encrypted with the secret_key_file\n"
"  router-list   the registered routers (never their passwords)\n"
"  router-del    remove a router\n"
"  gen-key       create a new secret key file (mode 0600)\n"
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


/* first line of stdin, without echo when it is a terminal */
static int
mb_cli_read_stdin(const char *env, char *buf, size_t len)
{
    struct termios  old, quiet;
    int             tty = isatty(STDIN_FILENO), ok;

    if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs("Password: ", stderr);
    } else {
        tty = 0;
    }

    ok = fgets(buf, (int) len, stdin) != NULL;

    if (!ok) {
        mb_log_error("no password: set %s or write it on stdin", env);
    }

    /* a line longer than the buffer would be cut: refuse, do not guess */
    if (ok && strchr(buf, '\n') == NULL && !feof(stdin)) {
        mb_log_error("password too long");
        ok = 0;
    }

    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputs("\n", stderr);
    }

    buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';

    return ok ? 0 : -1;
}


int
mb_cli_password(const char *env, char *buf, size_t len)
{
    const char  *value = getenv(env);

    if (value == NULL || *value == '\0') {
        return mb_cli_read_stdin(env, buf, len);
    }

    if (strlen(value) >= len) {
        mb_log_error("password too long");
        return -1;
    }

    strcpy(buf, value);
    return 0;
}
