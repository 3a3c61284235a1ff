/*
 * "mikrobill-worker migrate": applies sql/NNN_name.sql files in numeric
 * order, each in its own transaction together with its schema_migrations
 * row, so that a failed migration leaves no trace and a re-run applies
 * exactly what is missing.  An advisory lock serialises concurrent runs
 * (several hosts deploying at once).
 */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mb_cli.h"
#include "mb_log.h"


/* arbitrary, fixed: "MBMIGR" */
#define MB_MIGRATE_LOCK  "77588665674066"
#define MB_MIGRATE_MAX   1024


typedef struct {
    int    version;
    char  *file;                 /* "001_users_sessions.sql" */
} mb_migration_t;


typedef struct {
    mb_migration_t  list[MB_MIGRATE_MAX];
    size_t          n;
} mb_migrations_t;


static int
mb_migrate_is_dir(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}


/* ./sql when run from the repository, else <binary>/../../sql (build/x/) */
static const char *
mb_migrate_default_dir(char *buf, size_t len)
{
    ssize_t  n;
    char    *slash;

    if (mb_migrate_is_dir("sql")) {
        return "sql";
    }

    n = readlink("/proc/self/exe", buf, len - 16);
    if (n <= 0) {
        return "sql";
    }
    buf[n] = '\0';

    slash = strrchr(buf, '/');
    if (slash != NULL) {
        strcpy(slash, "/../../sql");
    }

    return buf;
}


/* "NNN_name.sql" -> NNN; -1 for any other file name */
static int
mb_migrate_version(const char *file)
{
    const char  *p = file;
    long         v = 0;
    size_t       len = strlen(file);

    while (*p >= '0' && *p <= '9' && v <= INT_MAX) {
        v = v * 10 + (*p++ - '0');
    }

    if (p == file || *p != '_' || v > INT_MAX || len < 5
        || strcmp(file + len - 4, ".sql") != 0)
    {
        return -1;
    }

    return (int) v;
}


static int
mb_migrate_cmp(const void *a, const void *b)
{
    const mb_migration_t  *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}


static void
mb_migrate_free(mb_migrations_t *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->list[i].file);
    }
    ms->n = 0;
}


static int
mb_migrate_add(mb_migrations_t *ms, const char *file, int version)
{
    if (ms->n == MB_MIGRATE_MAX) {
        mb_log_error("more than %d migrations", MB_MIGRATE_MAX);
        return -1;
    }

    ms->list[ms->n].version = version;
    ms->list[ms->n].file = strdup(file);
    if (ms->list[ms->n].file == NULL) {
        return -1;
    }
    ms->n++;

    return 0;
}


static int
mb_migrate_scan(const char *dir, mb_migrations_t *ms)
{
    DIR            *d;
    struct dirent  *de;
    int             v, rc = 0;

    d = opendir(dir);
    if (d == NULL) {
        mb_log_error("migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }

    while (rc == 0 && (de = readdir(d)) != NULL) {
        v = mb_migrate_version(de->d_name);
        if (v >= 0) {
            rc = mb_migrate_add(ms, de->d_name, v);
        }
    }
    closedir(d);

    qsort(ms->list, ms->n, sizeof(mb_migration_t), mb_migrate_cmp);

    for (size_t i = 1; rc == 0 && i < ms->n; i++) {
        if (ms->list[i].version == ms->list[i - 1].version) {
            mb_log_error("migrations %s and %s have the same number",
                         ms->list[i - 1].file, ms->list[i].file);
            rc = -1;
        }
    }

    return rc;
}


/* runs sql; 0 when the result status is one of the two given */
static int
mb_migrate_exec(PGconn *conn, const char *sql, const char *what)
{
    PGresult        *res;
    ExecStatusType   st;

    res = PQexec(conn, sql);
    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK
        && st != PGRES_EMPTY_QUERY)
    {
        mb_log_error("%s: %s", what, PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }

    PQclear(res);
    return 0;
}


static int
mb_migrate_prepare(PGconn *conn)
{
    if (mb_migrate_exec(conn, "SET client_min_messages = warning",
                        "set client_min_messages") != 0
        || mb_migrate_exec(conn,
               "SELECT pg_advisory_lock(" MB_MIGRATE_LOCK ")",
               "advisory lock") != 0)
    {
        return -1;
    }

    return mb_migrate_exec(conn,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())",
        "create schema_migrations");
}


/* 1 applied, 0 not, -1 error */
static int
mb_migrate_applied(PGconn *conn, int version)
{
    char         v[16];
    const char  *params[1] = { v };
    PGresult    *res;
    int          rc;

    snprintf(v, sizeof(v), "%d", version);

    res = PQexecParams(conn,
              "SELECT 1 FROM schema_migrations WHERE version = $1",
              1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("read schema_migrations: %s", PQerrorMessage(conn));
        rc = -1;

    } else {
        rc = PQntuples(res) > 0;
    }

    PQclear(res);
    return rc;
}


static char *
mb_migrate_read(const char *dir, const char *file)
{
    char    path[PATH_MAX];
    FILE   *f;
    char   *buf = NULL;
    size_t  len = 0;
    long    size;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, file)
        >= sizeof(path))
    {
        mb_log_error("path too long: %s/%s", dir, file);
        return NULL;
    }

    f = fopen(path, "r");
    if (f == NULL
        || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0
        || (buf = malloc(size + 1)) == NULL
        || (len = fread(buf, 1, size, f)) != (size_t) size)
    {
        mb_log_error("read %s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;

    } else {
        buf[len] = '\0';
    }

    if (f != NULL) {
        fclose(f);
    }

    return buf;
}


static int
mb_migrate_record(PGconn *conn, const mb_migration_t *m)
{
    char         v[16], name[256];
    const char  *params[2] = { v, name };
    const char  *under = strchr(m->file, '_');
    PGresult    *res;
    int          rc = 0;

    snprintf(v, sizeof(v), "%d", m->version);
    snprintf(name, sizeof(name), "%.*s",
             (int) (strlen(under + 1) - 4), under + 1);

    res = PQexecParams(conn,
              "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
              2, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        mb_log_error("record %s: %s", m->file, PQerrorMessage(conn));
        rc = -1;
    }

    PQclear(res);
    return rc;
}


static int
mb_migrate_apply(PGconn *conn, const char *dir, const mb_migration_t *m)
{
    char  *sql;
    int    rc;

    sql = mb_migrate_read(dir, m->file);
    if (sql == NULL) {
        return -1;
    }

    rc = mb_migrate_exec(conn, "BEGIN", "begin");
    if (rc == 0) {
        rc = mb_migrate_exec(conn, sql, m->file);
    }
    if (rc == 0) {
        rc = mb_migrate_record(conn, m);
    }
    if (rc == 0) {
        rc = mb_migrate_exec(conn, "COMMIT", m->file);
    }

    free(sql);

    if (rc != 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }

    printf("applied %s\n", m->file);
    fflush(stdout);

    return 0;
}


static int
mb_migrate_all(PGconn *conn, const char *dir, mb_migrations_t *ms)
{
    size_t  i, applied = 0;
    int     done;

    if (mb_migrate_prepare(conn) != 0) {
        return -1;
    }

    for (i = 0; i < ms->n; i++) {
        done = mb_migrate_applied(conn, ms->list[i].version);
        if (done < 0) {
            return -1;
        }
        if (done == 0) {
            if (mb_migrate_apply(conn, dir, &ms->list[i]) != 0) {
                return -1;
            }
            applied++;
        }
    }

    mb_log_info("migrations: %zu applied, %zu already present", applied,
                ms->n - applied);

    return 0;
}


int
mb_worker_migrate(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    const char       *conf = NULL, *dir = NULL;
    char              buf[PATH_MAX];
    int               c, rc;
    mb_config_t       cfg;
    mb_migrations_t  *ms;
    PGconn           *conn;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'd': dir = optarg; break;
        case 'h': mb_cli_usage(stdout); return MB_EXIT_OK;
        default: mb_cli_usage(stderr); return MB_EXIT_ERROR;
        }
    }

    if (optind < argc) {
        mb_log_error("migrate: unexpected argument \"%s\"", argv[optind]);
        return MB_EXIT_ERROR;
    }

    if (mb_cli_config(conf, &cfg) != 0) {
        return MB_EXIT_ERROR;
    }

    if (dir == NULL) {
        dir = mb_migrate_default_dir(buf, sizeof(buf));
    }

    ms = calloc(1, sizeof(mb_migrations_t));
    rc = MB_EXIT_ERROR;

    if (ms != NULL && mb_migrate_scan(dir, ms) == 0) {
        conn = mb_cli_pg_connect(&cfg);
        if (conn != NULL) {
            rc = mb_migrate_all(conn, dir, ms) == 0 ? MB_EXIT_OK
                                                    : MB_EXIT_ERROR;
            PQfinish(conn);
        }
    }

    if (ms != NULL) {
        mb_migrate_free(ms);
        free(ms);
    }
    mb_config_free(&cfg);

    return rc;
}
