/*
 * "mikrobill-worker router-add | router-list | router-del": the routers
 * table from a shell, for operators and `make run` (the REST API comes in
 * a later issue).  The router password is sealed with the key file before
 * it leaves this process, and no subcommand ever prints it.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mb_cli.h"
#include "mb_log.h"
#include "mb_valid.h"
#include "ngx_mikrobill_secret.h"


#define MB_ROUTER_PASSWORD_MAX  256


typedef struct {
    const char  *conf;
    const char  *name;
    const char  *host;
    const char  *port;                  /* NULL: the trigger's default */
    const char  *username;
    const char  *ca_file;
    int          tls;
    int          verify;
    int          anon_dh;
    int          disabled;
} mb_router_args_t;


static int
mb_router_port_ok(const char *port)
{
    char  *end;
    long   n;

    n = strtol(port, &end, 10);
    if (*port < '0' || *port > '9' || *end != '\0' || n < 1 || n > 65535) {
        mb_log_error("--port must be an integer from 1 to 65535");
        return 0;
    }

    return 1;
}


static int
mb_router_args_ok(mb_router_args_t *a)
{
    if (a->conf == NULL || a->name == NULL || a->host == NULL
        || a->username == NULL)
    {
        mb_log_error("router-add needs -c FILE, --name, --host and "
                     "--username");
        return 0;
    }

    if (!mb_valid_name(a->name, 64)) {
        mb_log_error("--name must be 1 to 64 printable bytes");
        return 0;
    }

    if (!mb_valid_host(a->host)) {
        mb_log_error("--host must be a host name or an IP address");
        return 0;
    }

    if (!mb_valid_name(a->username, 128)) {
        mb_log_error("--username must be 1 to 128 printable bytes");
        return 0;
    }

    if (a->port != NULL && !mb_router_port_ok(a->port)) {
        return 0;
    }

    /* a CA file means: verify against it; both imply TLS */
    a->verify = a->ca_file != NULL;
    a->tls |= a->verify | a->anon_dh;

    return 1;
}


static int
mb_router_add_args(int argc, char **argv, mb_router_args_t *a)
{
    static const struct option  opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "name", required_argument, NULL, 'n' },
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "username", required_argument, NULL, 'u' },
        { "tls", no_argument, NULL, 't' },
        { "tls-ca", required_argument, NULL, 'C' },
        { "tls-allow-anon-dh", no_argument, NULL, 'A' },
        { "disabled", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    int  c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'n': a->name = optarg; break;
        case 'H': a->host = optarg; break;
        case 'p': a->port = optarg; break;
        case 'u': a->username = optarg; break;
        case 't': a->tls = 1; break;
        case 'C': a->ca_file = optarg; break;
        case 'A': a->anon_dh = 1; break;
        case 'd': a->disabled = 1; break;
        case 'h': mb_cli_usage(stdout); return 1;
        default: mb_cli_usage(stderr); return -1;
        }
    }

    if (optind < argc) {
        mb_log_error("router-add: unexpected argument \"%s\"", argv[optind]);
        return -1;
    }

    return mb_router_args_ok(a) ? 0 : -1;
}


/* the sealed password, malloc'ed; NULL (logged) on failure */
static char *
mb_router_seal(const mb_config_t *cfg, const char *password)
{
    unsigned char  key[NGX_MIKROBILL_SECRET_KEY_LEN];
    char           err[512], *out;
    size_t         len = strlen(password);
    size_t         size = ngx_mikrobill_secret_sealed_size(len);

    if (cfg->secret_key_file == NULL) {
        mb_log_error("secret_key_file is not set in the configuration "
                     "(create one with: mikrobill-worker gen-key FILE)");
        return NULL;
    }

    if (ngx_mikrobill_secret_key_load(cfg->secret_key_file, key, err,
                                      sizeof(err)) != 0)
    {
        mb_log_error("%s", err);
        return NULL;
    }

    out = malloc(size);
    if (out == NULL
        || ngx_mikrobill_secret_seal(key, NGX_MIKROBILL_SECRET_ROUTER_PASSWORD,
               (const unsigned char *) password, len, out, size) != 0)
    {
        mb_log_error("encrypting the password failed");
        free(out);
        out = NULL;
    }

    OPENSSL_cleanse(key, sizeof(key));
    return out;
}


/* MB_EXIT_OK, MB_EXIT_EXISTS or MB_EXIT_ERROR */
static int
mb_router_insert(PGconn *conn, const mb_router_args_t *a, const char *enc)
{
    const char  *params[10] = {
        a->name, a->host, a->port, a->username, enc,
        a->tls ? "t" : "f", a->verify ? "t" : "f", a->ca_file,
        a->anon_dh ? "t" : "f", a->disabled ? "f" : "t"
    };
    PGresult    *res;
    int          rc;

    res = PQexecParams(conn,
              "INSERT INTO routers (name, host, port, username, password_enc,"
              " tls, tls_verify, tls_ca_file, tls_allow_anon_dh, enabled)"
              " VALUES ($1, $2, $3::int, $4, $5, $6, $7, $8, $9, $10)"
              " ON CONFLICT ((lower(name))) DO NOTHING RETURNING id, port",
              10, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("create router: %s", PQerrorMessage(conn));
        rc = MB_EXIT_ERROR;

    } else if (PQntuples(res) == 0) {
        mb_log_error("router \"%s\" already exists", a->name);
        rc = MB_EXIT_EXISTS;

    } else {
        printf("created router %s (%s:%s%s) id %s\n", a->name, a->host,
               PQgetvalue(res, 0, 1), a->tls ? " tls" : "",
               PQgetvalue(res, 0, 0));
        rc = MB_EXIT_OK;
    }

    PQclear(res);
    return rc;
}


int
mb_worker_router_add(int argc, char **argv)
{
    mb_router_args_t  a;
    mb_config_t       cfg;
    char              password[MB_ROUTER_PASSWORD_MAX + 2], *enc = NULL;
    PGconn           *conn;
    int               rc;

    memset(&a, 0, sizeof(a));
    rc = mb_router_add_args(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? MB_EXIT_OK : MB_EXIT_ERROR;
    }

    if (mb_cli_config(a.conf, &cfg) != 0) {
        return MB_EXIT_ERROR;
    }

    rc = MB_EXIT_ERROR;

    if (mb_cli_password("MIKROBILL_ROUTER_PASSWORD", password,
                        sizeof(password)) == 0
        && (enc = mb_router_seal(&cfg, password)) != NULL
        && (conn = mb_cli_pg_connect(&cfg)) != NULL)
    {
        rc = mb_router_insert(conn, &a, enc);
        PQfinish(conn);
    }

    free(enc);
    OPENSSL_cleanse(password, sizeof(password));
    mb_config_free(&cfg);

    return rc;
}


/* -c FILE and, with want_name, --name N: the options list and del share */
static int
mb_router_simple_args(int argc, char **argv, const char *cmd,
    const char **conf, const char **name)
{
    static const struct option  opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "name", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    int  c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *conf = optarg; break;
        case 'n':
            if (name == NULL) {
                mb_cli_usage(stderr);
                return -1;
            }
            *name = optarg;
            break;
        case 'h': mb_cli_usage(stdout); return 1;
        default: mb_cli_usage(stderr); return -1;
        }
    }

    if (optind < argc) {
        mb_log_error("%s: unexpected argument \"%s\"", cmd, argv[optind]);
        return -1;
    }

    if (name != NULL && *name == NULL) {
        mb_log_error("%s needs --name", cmd);
        return -1;
    }

    return 0;
}


/* name: unused, the signature of mb_router_simple_cmd's run */
static int
mb_router_print(PGconn *conn, const char *name)
{
    PGresult  *res;
    int        i;

    (void) name;

    res = PQexec(conn,
              "SELECT id, name, host, port, username,"
              " CASE WHEN NOT tls THEN 'plain'"
              "      WHEN tls_verify THEN 'tls-verify'"
              "      WHEN tls_allow_anon_dh THEN 'tls-anon-dh'"
              "      ELSE 'tls' END,"
              " CASE WHEN enabled THEN 'enabled' ELSE 'disabled' END,"
              " coalesce(tls_ca_file, '-')"
              " FROM routers ORDER BY lower(name)");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("list routers: %s", PQerrorMessage(conn));
        PQclear(res);
        return MB_EXIT_ERROR;
    }

    printf("%-36s  %-20s %-28s %-16s %-11s %-8s %s\n", "ID", "NAME",
           "HOST:PORT", "USERNAME", "TRANSPORT", "STATE", "CA");

    for (i = 0; i < PQntuples(res); i++) {
        char  hostport[300];

        snprintf(hostport, sizeof(hostport), "%s:%s", PQgetvalue(res, i, 2),
                 PQgetvalue(res, i, 3));
        printf("%-36s  %-20s %-28s %-16s %-11s %-8s %s\n",
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), hostport,
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
    }

    PQclear(res);
    return MB_EXIT_OK;
}


static int
mb_router_delete(PGconn *conn, const char *name)
{
    const char  *params[1] = { name };
    PGresult    *res;
    int          rc = MB_EXIT_ERROR;

    res = PQexecParams(conn,
              "DELETE FROM routers WHERE lower(name) = lower($1)"
              " RETURNING id, name",
              1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        mb_log_error("delete router: %s", PQerrorMessage(conn));

    } else if (PQntuples(res) == 0) {
        mb_log_error("no router named \"%s\"", name);

    } else {
        printf("deleted router %s id %s\n", PQgetvalue(res, 0, 1),
               PQgetvalue(res, 0, 0));
        rc = MB_EXIT_OK;
    }

    PQclear(res);
    return rc;
}


/*
 * router-list and router-del: the options (--name when want_name), the
 * config, a connection, then run on it; the exit status
 */
static int
mb_router_simple_cmd(int argc, char **argv, const char *cmd, int want_name,
    int (*run)(PGconn *conn, const char *name))
{
    const char   *conf = NULL, *name = NULL;
    mb_config_t   cfg;
    PGconn       *conn;
    int           rc;

    rc = mb_router_simple_args(argc, argv, cmd, &conf,
                               want_name ? &name : NULL);
    if (rc != 0) {
        return rc > 0 ? MB_EXIT_OK : MB_EXIT_ERROR;
    }

    if (mb_cli_config(conf, &cfg) != 0) {
        return MB_EXIT_ERROR;
    }

    rc = MB_EXIT_ERROR;
    if ((conn = mb_cli_pg_connect(&cfg)) != NULL) {
        rc = run(conn, name);
        PQfinish(conn);
    }

    mb_config_free(&cfg);
    return rc;
}


int
mb_worker_router_list(int argc, char **argv)
{
    return mb_router_simple_cmd(argc, argv, "router-list", 0,
                                mb_router_print);
}


int
mb_worker_router_del(int argc, char **argv)
{
    return mb_router_simple_cmd(argc, argv, "router-del", 1,
                                mb_router_delete);
}


int
mb_worker_gen_key(int argc, char **argv)
{
    char  err[512];

    if (argc != 2 || argv[1][0] == '-') {
        mb_log_error("usage: mikrobill-worker gen-key FILE");
        return MB_EXIT_ERROR;
    }

    if (ngx_mikrobill_secret_key_generate(argv[1], err, sizeof(err)) != 0) {
        mb_log_error("gen-key: %s", err);
        return MB_EXIT_ERROR;
    }

    printf("created key file %s (mode 0600); keep a copy: without it the "
           "stored router passwords cannot be read\n", argv[1]);
    return MB_EXIT_OK;
}
