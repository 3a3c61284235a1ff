/*
 * Unit tests of the worker's configuration parser (worker/mb_config.c).
 * Prints TAP for prove.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mb_config.h"
#include "ngx_mikrobill_password.h"

#include "tap.h"


/* parses text into cfg; returns the parser's result, err holds the text */
static int
parse(mb_config_t *cfg, const char *text, char *err, size_t len)
{
    mb_config_free(cfg);
    err[0] = '\0';
    return mb_config_parse(cfg, text, "test.conf", err, len);
}


static void
test_defaults(mb_config_t *cfg, char *err, size_t len)
{
    char  want[300], host[256];

    ok(parse(cfg, "pg_conninfo = dbname=x\n", err, len) == 0,
       "minimal file parses");
    ok(strcmp(cfg->redis_host, "127.0.0.1") == 0, "default redis_host");
    ok(cfg->redis_port == 6379, "default redis_port");
    ok(cfg->redis_password == NULL, "default: no redis_password");
    ok(cfg->log_level == MB_LOG_INFO, "default log_level info");
    ok(strcmp(cfg->stream, "mikrobill:commands") == 0, "default stream");
    ok(strcmp(cfg->group, "workers") == 0, "default group");
    ok(cfg->claim_idle_ms == 60000, "default claim_idle_ms");
    ok(cfg->password_iterations == NGX_MIKROBILL_PASSWORD_ITERATIONS,
       "default password_iterations");
    ok(cfg->secret_key_file == NULL, "default: no secret_key_file");
    ok(cfg->router_lease_ms == 15000, "default router_lease_ms");
    ok(cfg->router_reload_s == 60, "default router_reload_s");

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(want, sizeof(want), "%s-%ld", host, (long) getpid());
    ok(strcmp(cfg->consumer_name, want) == 0,
       "default consumer_name is hostname-pid");
}


static void
test_all_keys(mb_config_t *cfg, char *err, size_t len)
{
    static const char  text[] =
        "# a comment\n"
        "\n"
        "  pg_conninfo = host=127.0.0.1 port=5432 dbname=mb  \n"
        "redis_host=10.0.0.2\n"
        "redis_port = 6380\r\n"
        "redis_password = \" s3cret # not a comment \"\n"
        "\t# indented comment\n"
        "log_level = debug\n"
        "consumer_name = w1\n"
        "stream = s1\n"
        "group = g1\n"
        "claim_idle_ms = 1500\n"
        "secret_key_file = /etc/mikrobill/secret.key\n"
        "router_lease_ms = 3000\n"
        "router_reload_s = 5\n"
        "password_iterations = 1000";           /* no final newline */

    ok(parse(cfg, text, err, len) == 0, "all keys parse");
    ok(strcmp(cfg->pg_conninfo, "host=127.0.0.1 port=5432 dbname=mb") == 0,
       "value keeps inner '=' and spaces, trimmed at the ends");
    ok(strcmp(cfg->redis_host, "10.0.0.2") == 0, "redis_host");
    ok(cfg->redis_port == 6380, "redis_port with CRLF line end");
    ok(cfg->redis_password != NULL
       && strcmp(cfg->redis_password, " s3cret # not a comment ") == 0,
       "quoted value keeps blanks and '#'");
    ok(cfg->log_level == MB_LOG_DEBUG, "log_level debug");
    ok(strcmp(cfg->consumer_name, "w1") == 0, "consumer_name");
    ok(strcmp(cfg->stream, "s1") == 0 && strcmp(cfg->group, "g1") == 0,
       "stream and group");
    ok(cfg->claim_idle_ms == 1500, "claim_idle_ms");
    ok(cfg->password_iterations == 1000, "password_iterations");
    ok(cfg->secret_key_file != NULL
       && strcmp(cfg->secret_key_file, "/etc/mikrobill/secret.key") == 0,
       "secret_key_file");
    ok(cfg->router_lease_ms == 3000 && cfg->router_reload_s == 5,
       "router_lease_ms and router_reload_s");

    ok(parse(cfg, "pg_conninfo = x\nredis_password =\n", err, len) == 0
       && cfg->redis_password == NULL, "empty redis_password means none");
}


static void
fails(mb_config_t *cfg, const char *text, const char *want, const char *desc)
{
    char  err[256];
    int   rc = parse(cfg, text, err, sizeof(err));

    ok(rc == -1 && strstr(err, want) != NULL, desc);
    if (rc != -1 || strstr(err, want) == NULL) {
        printf("# got rc %d, \"%s\", want \"%s\"\n", rc, err, want);
    }
}


static void
test_errors(mb_config_t *cfg)
{
    fails(cfg, "pg_conninfo = x\n#\nredis_prot = 1\n",
          "test.conf:3: unknown key \"redis_prot\"", "unknown key: file:line");
    fails(cfg, "pg_conninfo = x\nredis_port = 0\n",
          "test.conf:2: redis_port must be an integer from 1 to 65535",
          "port 0");
    fails(cfg, "pg_conninfo = x\nredis_port = 65536\n", "test.conf:2:",
          "port 65536");
    fails(cfg, "pg_conninfo = x\nredis_port = 63x\n", "test.conf:2:",
          "port with garbage");
    fails(cfg, "pg_conninfo = x\nredis_port = -1\n", "test.conf:2:",
          "negative port");
    fails(cfg, "log_level = verbose\npg_conninfo = x\n",
          "test.conf:1: log_level must be error, warn, info or debug",
          "bad log_level");
    fails(cfg, "pg_conninfo = x\npassword_iterations = 999\n",
          "test.conf:2: password_iterations must be an integer from 1000",
          "too few password_iterations");
    fails(cfg, "pg_conninfo = x\nclaim_idle_ms = 0\n", "test.conf:2:",
          "claim_idle_ms 0");
    fails(cfg, "pg_conninfo = x\nredis_host\n",
          "test.conf:2: expected \"key = value\"", "line without '='");
    fails(cfg, "pg_conninfo = x\nstream =\n",
          "test.conf:2: stream must not be empty", "empty stream");
    fails(cfg, "pg_conninfo = x\ngroup = a\ngroup = b\n",
          "test.conf:3: duplicate key \"group\" (first on line 2)",
          "duplicate key");
    fails(cfg, "redis_port = 1\n", "test.conf: pg_conninfo is required",
          "pg_conninfo required");
    fails(cfg, "pg_conninfo = x\nsecret_key_file =\n",
          "test.conf:2: secret_key_file must not be empty",
          "empty secret_key_file");
    fails(cfg, "pg_conninfo = x\nrouter_lease_ms = 999\n",
          "test.conf:2: router_lease_ms must be an integer from 1000 to "
          "600000", "router_lease_ms too short");
    fails(cfg, "pg_conninfo = x\nrouter_reload_s = 0\n", "test.conf:2:",
          "router_reload_s 0");
}


static void
test_load(mb_config_t *cfg)
{
    char   err[256], path[] = "/tmp/mb_config_test_XXXXXX";
    int    fd;
    FILE  *f;

    mb_config_free(cfg);
    ok(mb_config_load(cfg, "/nonexistent/mb.conf", err, sizeof(err)) == -1
       && strstr(err, "/nonexistent/mb.conf: No such file") != NULL,
       "missing file: error names it");

    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fputs("pg_conninfo = dbname=t\nbogus = 1\n", f);
    fclose(f);

    mb_config_free(cfg);
    ok(mb_config_load(cfg, path, err, sizeof(err)) == -1
       && strstr(err, ":2: unknown key \"bogus\"") != NULL
       && strncmp(err, path, strlen(path)) == 0,
       "file error is path:line");
    unlink(path);
}


int
main(void)
{
    mb_config_t  cfg;
    char         err[256];

    printf("1..%d\n", 43);

    mb_config_init(&cfg);
    test_defaults(&cfg, err, sizeof(err));
    test_all_keys(&cfg, err, sizeof(err));
    test_errors(&cfg);
    test_load(&cfg);
    mb_config_free(&cfg);

    return failed ? 1 : 0;
}
