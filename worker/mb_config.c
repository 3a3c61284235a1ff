/*
 * Configuration parser.  Table driven: each key names its type and limits,
 * so that a new key is one line and every error message has the same shape.
 */

#include "mb_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ngx_mikrobill_password.h"


#define MB_CONFIG_MAX_SIZE  (1024 * 1024)


typedef enum {
    MB_CONF_STRING,
    MB_CONF_UINT,
    MB_CONF_LEVEL
} mb_conf_type_e;


typedef struct {
    const char      *key;
    mb_conf_type_e   type;
    size_t           offset;
    unsigned long    min;           /* MB_CONF_UINT; for strings: 0 = may */
    unsigned long    max;           /*   be empty, 1 = must not be empty */
} mb_conf_key_t;


#define MB_OFF(field)  offsetof(mb_config_t, field)

static const mb_conf_key_t  mb_conf_keys[] = {
    { "pg_conninfo", MB_CONF_STRING, MB_OFF(pg_conninfo), 1, 0 },
    { "redis_host", MB_CONF_STRING, MB_OFF(redis_host), 1, 0 },
    { "redis_port", MB_CONF_UINT, MB_OFF(redis_port), 1, 65535 },
    { "redis_password", MB_CONF_STRING, MB_OFF(redis_password), 0, 0 },
    { "log_level", MB_CONF_LEVEL, MB_OFF(log_level), 0, 0 },
    { "consumer_name", MB_CONF_STRING, MB_OFF(consumer_name), 1, 0 },
    { "stream", MB_CONF_STRING, MB_OFF(stream), 1, 0 },
    { "group", MB_CONF_STRING, MB_OFF(group), 1, 0 },
    { "claim_idle_ms", MB_CONF_UINT, MB_OFF(claim_idle_ms), 1, 86400000 },
    { "password_iterations", MB_CONF_UINT, MB_OFF(password_iterations),
      NGX_MIKROBILL_PASSWORD_MIN_ITER, NGX_MIKROBILL_PASSWORD_MAX_ITER },
    { "secret_key_file", MB_CONF_STRING, MB_OFF(secret_key_file), 1, 0 },
    { "router_lease_ms", MB_CONF_UINT, MB_OFF(router_lease_ms), 1000,
      600000 },
    { "router_reload_s", MB_CONF_UINT, MB_OFF(router_reload_s), 1, 86400 },
    { "sync_interval_s", MB_CONF_UINT, MB_OFF(sync_interval_s), 1, 86400 },
    { "sync_timeout_ms", MB_CONF_UINT, MB_OFF(sync_timeout_ms), 100,
      600000 },
    { "monitor_idle_s", MB_CONF_UINT, MB_OFF(monitor_idle_s), 1, 86400 },
};

#define MB_CONF_NKEYS  (sizeof(mb_conf_keys) / sizeof(mb_conf_keys[0]))


void
mb_config_init(mb_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->redis_port = 6379;
    cfg->log_level = MB_LOG_INFO;
    cfg->claim_idle_ms = 60000;
    cfg->password_iterations = NGX_MIKROBILL_PASSWORD_ITERATIONS;
    cfg->router_lease_ms = 15000;
    cfg->router_reload_s = 60;
    cfg->sync_interval_s = 120;
    cfg->sync_timeout_ms = 10000;
    cfg->monitor_idle_s = 300;
}


void
mb_config_free(mb_config_t *cfg)
{
    free(cfg->pg_conninfo);
    free(cfg->redis_host);
    free(cfg->redis_password);
    free(cfg->consumer_name);
    free(cfg->stream);
    free(cfg->group);
    free(cfg->secret_key_file);
    mb_config_init(cfg);
}


static int
mb_conf_error(char *err, size_t errlen, const char *name, unsigned line,
    const char *fmt, ...)
{
    int      n;
    va_list  ap;

    n = line ? snprintf(err, errlen, "%s:%u: ", name, line)
             : snprintf(err, errlen, "%s: ", name);
    if (n < 0 || (size_t) n >= errlen) {
        return -1;
    }

    va_start(ap, fmt);
    vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);

    return -1;
}


static char *
mb_conf_trim(char *s)
{
    char  *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    {
        end--;
    }
    *end = '\0';

    return s;
}


static const mb_conf_key_t *
mb_conf_find(const char *key)
{
    size_t  i;

    for (i = 0; i < MB_CONF_NKEYS; i++) {
        if (strcmp(mb_conf_keys[i].key, key) == 0) {
            return &mb_conf_keys[i];
        }
    }

    return NULL;
}


/* strict: digits only, no sign, no spaces, within [min, max] */
static int
mb_conf_uint(const char *value, unsigned long min, unsigned long max,
    unsigned *out)
{
    char           *end;
    unsigned long   n;

    if (*value < '0' || *value > '9') {
        return -1;
    }

    errno = 0;
    n = strtoul(value, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        return -1;
    }

    *out = (unsigned) n;
    return 0;
}


static int
mb_conf_set(mb_config_t *cfg, const mb_conf_key_t *k, const char *value,
    const char *name, unsigned line, char *err, size_t errlen)
{
    char  *field = (char *) cfg + k->offset;
    char  *copy;

    switch (k->type) {

    case MB_CONF_UINT:
        if (mb_conf_uint(value, k->min, k->max, (unsigned *) field) != 0) {
            return mb_conf_error(err, errlen, name, line,
                       "%s must be an integer from %lu to %lu", k->key,
                       k->min, k->max);
        }
        return 0;

    case MB_CONF_LEVEL:
        if (mb_log_level_parse(value, (mb_log_level_e *) field) != 0) {
            return mb_conf_error(err, errlen, name, line,
                       "log_level must be error, warn, info or debug");
        }
        return 0;

    default:
        if (*value == '\0' && k->min) {
            return mb_conf_error(err, errlen, name, line,
                                 "%s must not be empty", k->key);
        }
        copy = strdup(value);
        if (copy == NULL) {
            return mb_conf_error(err, errlen, name, line, "out of memory");
        }
        free(*(char **) field);
        *(char **) field = copy;
        return 0;
    }
}


/* a value may be wrapped in double quotes to keep leading/trailing blanks */
static char *
mb_conf_unquote(char *value)
{
    size_t  len = strlen(value);

    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value[len - 1] = '\0';
        return value + 1;
    }

    return value;
}


static int
mb_conf_line(mb_config_t *cfg, char *text, unsigned *seen, const char *name,
    unsigned line, char *err, size_t errlen)
{
    char                 *eq, *key, *value;
    const mb_conf_key_t  *k;

    text = mb_conf_trim(text);
    if (*text == '\0' || *text == '#') {
        return 0;
    }

    eq = strchr(text, '=');
    if (eq == NULL) {
        return mb_conf_error(err, errlen, name, line,
                             "expected \"key = value\"");
    }

    *eq = '\0';
    key = mb_conf_trim(text);
    value = mb_conf_unquote(mb_conf_trim(eq + 1));

    k = mb_conf_find(key);
    if (k == NULL) {
        return mb_conf_error(err, errlen, name, line, "unknown key \"%s\"",
                             key);
    }

    if (seen[k - mb_conf_keys]) {
        return mb_conf_error(err, errlen, name, line,
                             "duplicate key \"%s\" (first on line %u)", key,
                             seen[k - mb_conf_keys]);
    }
    seen[k - mb_conf_keys] = line;

    return mb_conf_set(cfg, k, value, name, line, err, errlen);
}


static int
mb_conf_default(char **field, const char *value)
{
    if (*field == NULL) {
        *field = strdup(value);
    }

    return *field == NULL ? -1 : 0;
}


/* defaults that are strings or computed at run time */
static int
mb_conf_finish(mb_config_t *cfg, const char *name, char *err, size_t errlen)
{
    char  host[256], consumer[300];

    if (cfg->pg_conninfo == NULL) {
        return mb_conf_error(err, errlen, name, 0,
                             "pg_conninfo is required");
    }

    if (gethostname(host, sizeof(host)) != 0) {
        strcpy(host, "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(consumer, sizeof(consumer), "%s-%ld", host, (long) getpid());

    if (mb_conf_default(&cfg->redis_host, "127.0.0.1") != 0
        || mb_conf_default(&cfg->consumer_name, consumer) != 0
        || mb_conf_default(&cfg->stream, "mikrobill:commands") != 0
        || mb_conf_default(&cfg->group, "workers") != 0)
    {
        return mb_conf_error(err, errlen, name, 0, "out of memory");
    }

    /* an empty password means "no AUTH", like an absent one */
    if (cfg->redis_password != NULL && cfg->redis_password[0] == '\0') {
        free(cfg->redis_password);
        cfg->redis_password = NULL;
    }

    return 0;
}


int
mb_config_parse(mb_config_t *cfg, const char *text, const char *name,
    char *err, size_t errlen)
{
    char      *copy, *line, *next;
    unsigned   lineno, seen[MB_CONF_NKEYS] = { 0 };

    copy = strdup(text);
    if (copy == NULL) {
        return mb_conf_error(err, errlen, name, 0, "out of memory");
    }

    for (line = copy, lineno = 1; line != NULL; line = next, lineno++) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }

        if (mb_conf_line(cfg, line, seen, name, lineno, err, errlen) != 0) {
            free(copy);
            return -1;
        }
    }

    free(copy);

    return mb_conf_finish(cfg, name, err, errlen);
}


static char *
mb_conf_read(const char *path, char *err, size_t errlen)
{
    FILE    *f;
    char    *buf;
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        mb_conf_error(err, errlen, path, 0, "%s", strerror(errno));
        return NULL;
    }

    buf = malloc(MB_CONFIG_MAX_SIZE + 1);
    if (buf == NULL) {
        fclose(f);
        mb_conf_error(err, errlen, path, 0, "out of memory");
        return NULL;
    }

    n = fread(buf, 1, MB_CONFIG_MAX_SIZE + 1, f);
    if (ferror(f) || n > MB_CONFIG_MAX_SIZE) {
        mb_conf_error(err, errlen, path, 0,
                      ferror(f) ? "read error" : "file too large");
        fclose(f);
        free(buf);
        return NULL;
    }

    fclose(f);
    buf[n] = '\0';

    return buf;
}


int
mb_config_load(mb_config_t *cfg, const char *path, char *err, size_t errlen)
{
    char  *text;
    int    rc;

    text = mb_conf_read(path, err, errlen);
    if (text == NULL) {
        return -1;
    }

    rc = mb_config_parse(cfg, text, path, err, errlen);
    free(text);

    return rc;
}
