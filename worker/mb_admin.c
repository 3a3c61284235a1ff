/*
 * "mikrobill-worker create-admin": the first account of a fresh install
 * (and a way back in when every admin password is lost).  The password is
 * never taken from the command line, where ps(1) would show it.
 */

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mb_cli.h"
#include "mb_log.h"
#include "ngx_mikrobill_password.h"


#define MB_ADMIN_PASSWORD_MIN   8        /* characters (UTF-8 code points) */
#define MB_ADMIN_PASSWORD_MAX   1024     /* bytes */
#define MB_ADMIN_USERNAME_MAX   64


typedef struct {
    const char  *conf;
    const char  *username;
    char         role[16];
    const char  *full_name;
} mb_admin_args_t;


static const char  *mb_admin_roles[] = {
    "SUPERADMIN", "ADMIN", "TECHNICIAN", "USER"
};


static int
mb_admin_role(const char *in, char *out, size_t len)
{
    size_t  i;

    if (strlen(in) < len) {
        for (i = 0; in[i] != '\0'; i++) {
            out[i] = (char) toupper((unsigned char) in[i]);
        }
        out[i] = '\0';

        for (i = 0; i < sizeof(mb_admin_roles) / sizeof(mb_admin_roles[0]);
             i++)
        {
            if (strcmp(out, mb_admin_roles[i]) == 0) {
                return 0;
            }
        }
    }

    mb_log_error("--role must be SUPERADMIN, ADMIN, TECHNICIAN or USER");
    return -1;
}


static int
mb_admin_username_ok(const char *name)
{
    size_t  len = strlen(name);

    if (len == 0 || len > MB_ADMIN_USERNAME_MAX) {
        mb_log_error("--username must be 1 to %d bytes",
                     MB_ADMIN_USERNAME_MAX);
        return 0;
    }

    for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            mb_log_error("--username must not contain spaces or control "
                         "characters");
            return 0;
        }
    }

    return 1;
}


static int
mb_admin_args(int argc, char **argv, mb_admin_args_t *a)
{
    static const struct option  opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "username", required_argument, NULL, 'u' },
        { "role", required_argument, NULL, 'r' },
        { "full-name", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    const char  *role = "SUPERADMIN";
    int          c;

    a->username = "admin";
    a->full_name = "";

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:u:r:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'u': a->username = optarg; break;
        case 'r': role = optarg; break;
        case 'f': a->full_name = optarg; break;
        case 'h': mb_cli_usage(stdout); return 1;
        default: mb_cli_usage(stderr); return -1;
        }
    }

    if (optind < argc) {
        mb_log_error("create-admin: unexpected argument \"%s\"",
                     argv[optind]);
        return -1;
    }

    if (mb_admin_role(role, a->role, sizeof(a->role)) != 0
        || !mb_admin_username_ok(a->username))
    {
        return -1;
    }

    return 0;
}


static size_t
mb_admin_chars(const char *s)
{
    size_t  n = 0;

    /* count UTF-8 lead bytes, not continuation bytes */
    for (; *s; s++) {
        n += ((unsigned char) *s & 0xc0) != 0x80;
    }

    return n;
}


static int
mb_admin_password(char *buf, size_t len)
{
    if (mb_cli_password("MIKROBILL_ADMIN_PASSWORD", buf, len) != 0) {
        return -1;
    }

    if (mb_admin_chars(buf) < MB_ADMIN_PASSWORD_MIN) {
        mb_log_error("password too short: at least %d characters",
                     MB_ADMIN_PASSWORD_MIN);
        return -1;
    }

    return 0;
}


/* 1 when a user with this name exists (any case), 0 not, -1 error */
static int
mb_admin_exists(PGconn *conn, const char *username)
{
    const char  *params[1] = { username };
    PGresult    *res;
    int          rc;

    res = PQexecParams(conn,
              "SELECT 1 FROM users WHERE lower(username) = lower($1)",
              1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("look up user: %s", PQerrorMessage(conn));
        rc = -1;

    } else {
        rc = PQntuples(res) > 0;
    }

    PQclear(res);
    return rc;
}


/* MB_EXIT_OK, MB_EXIT_EXISTS (lost a race with another insert) or error */
static int
mb_admin_insert(PGconn *conn, const mb_admin_args_t *a, const char *hash)
{
    const char  *params[4] = { a->username, a->full_name, hash, a->role };
    PGresult    *res;
    int          rc;

    res = PQexecParams(conn,
              "INSERT INTO users (username, full_name, password_hash, role)"
              " VALUES ($1, $2, $3, $4)"
              " ON CONFLICT ((lower(username))) DO NOTHING RETURNING id",
              4, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("create user: %s", PQerrorMessage(conn));
        rc = MB_EXIT_ERROR;

    } else if (PQntuples(res) == 0) {
        rc = MB_EXIT_EXISTS;

    } else {
        printf("created user %s (%s) id %s\n", a->username, a->role,
               PQgetvalue(res, 0, 0));
        rc = MB_EXIT_OK;
    }

    PQclear(res);
    return rc;
}


static int
mb_admin_create(PGconn *conn, const mb_admin_args_t *a,
    const mb_config_t *cfg, const char *password)
{
    char  hash[NGX_MIKROBILL_PASSWORD_HASH_LEN];
    int   rc;

    rc = mb_admin_exists(conn, a->username);
    if (rc != 0) {
        return rc < 0 ? MB_EXIT_ERROR : MB_EXIT_EXISTS;
    }

    if (ngx_mikrobill_password_hash(password, strlen(password),
                                    cfg->password_iterations, hash,
                                    sizeof(hash)) != 0)
    {
        mb_log_error("password hashing failed");
        return MB_EXIT_ERROR;
    }

    return mb_admin_insert(conn, a, hash);
}


int
mb_worker_create_admin(int argc, char **argv)
{
    mb_admin_args_t  a;
    mb_config_t      cfg;
    char             password[MB_ADMIN_PASSWORD_MAX + 2];
    PGconn          *conn;
    int              rc;

    memset(&a, 0, sizeof(a));
    rc = mb_admin_args(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? MB_EXIT_OK : MB_EXIT_ERROR;
    }

    if (mb_cli_config(a.conf, &cfg) != 0) {
        return MB_EXIT_ERROR;
    }

    rc = MB_EXIT_ERROR;

    if (mb_admin_password(password, sizeof(password)) == 0
        && (conn = mb_cli_pg_connect(&cfg)) != NULL)
    {
        rc = mb_admin_create(conn, &a, &cfg, password);
        PQfinish(conn);
    }

    if (rc == MB_EXIT_EXISTS) {
        mb_log_error("user \"%s\" already exists", a.username);
    }

    OPENSSL_cleanse(password, sizeof(password));
    mb_config_free(&cfg);

    return rc;
}
