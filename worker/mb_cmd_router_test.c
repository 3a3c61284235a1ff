/*
 * "router.test": can we reach and log in to this router?  For a saved
 * router ({"router_id"}) or a form not saved yet ({"host", "port",
 * "username", "password", "tls", "tls_ca_file", "tls_allow_anon_dh"}); with
 * both, the form's fields override the saved row and an empty password
 * keeps the saved one (an edit form never shows it).  Always a fresh
 * connection of its own, never the managed one, and an answer within
 * MB_RTEST_BOUND_MS whatever the router does.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mb_job.h"
#include "mb_log.h"
#include "mb_pg.h"
#include "mb_registry.h"
#include "mb_router.h"
#include "mb_valid.h"
#include "ngx_mikrobill_secret.h"


#define MB_RTEST_BOUND_MS    10000
#define MB_RTEST_CONNECT_MS  9000      /* the client says "timeout" first */
#define MB_RTEST_CMD_MS      5000
#define MB_RTEST_DB_MS       3000


typedef struct {
    mb_job_t          *job;
    mb_router_conf_t   conf;
    char               pw[NGX_MIKROBILL_SECRET_MAX + 1];
    int                have_pw;
    mb_ros_client_t   *client;
    uv_timer_t         guard;
    uint64_t           sent;           /* uv_hrtime() of identity print */
    double             rtt_ms;
    json_t            *info;           /* identity, version, board, ... */
    int                finished;
} mb_rtest_t;


static void
mb_rtest_closed(uv_handle_t *h)
{
    mb_rtest_t  *t = h->data;

    OPENSSL_cleanse(t->pw, sizeof(t->pw));
    mb_router_conf_free(&t->conf);
    json_decref(t->info);
    free(t);
}


/* the job is answered or gone: close everything, free when closed */
static void
mb_rtest_finish(mb_rtest_t *t)
{
    mb_ros_client_t  *c = t->client;

    if (t->finished) {
        return;
    }

    t->finished = 1;
    t->client = NULL;
    if (c != NULL) {
        mb_ros_client_close(c);      /* our callbacks see t->finished */
    }

    uv_close((uv_handle_t *) &t->guard, mb_rtest_closed);
}


static mb_job_t *
mb_rtest_take_job(mb_rtest_t *t)
{
    mb_job_t  *job = t->job;

    if (job != NULL) {
        job->cleanup = NULL;
        t->job = NULL;
    }

    return job;
}


static void
mb_rtest_fail(mb_rtest_t *t, const char *error, const char *message)
{
    mb_job_t  *job = mb_rtest_take_job(t);

    if (job != NULL) {
        mb_job_fail(job, error, "%s", message);
    }

    mb_rtest_finish(t);
}


static void
mb_rtest_succeed(mb_rtest_t *t)
{
    mb_job_t  *job = mb_rtest_take_job(t);
    json_t    *reply;

    if (job != NULL) {
        reply = mb_job_ok(job);
        json_object_update(reply, t->info);
        json_object_set_new(reply, "rtt_ms",
                            json_real((double) (long) (t->rtt_ms * 100)
                                      / 100));
        json_object_set_new(reply, "login", json_string(
            mb_ros_client_login_method(t->client)));
        mb_job_reply(job, reply);
    }

    mb_rtest_finish(t);
}


static void
mb_rtest_job_gone(mb_job_t *job)
{
    mb_rtest_t  *t = job->ctx;

    t->job = NULL;
    mb_rtest_finish(t);
}


static void
mb_rtest_on_guard(uv_timer_t *timer)
{
    mb_rtest_fail(timer->data, "timeout", "no answer within 10 s");
}


/* !trap, an error, or !done: 1 when the command is over badly */
static int
mb_rtest_failed(mb_rtest_t *t, const mb_ros_event_t *ev)
{
    if (ev->type == MB_ROS_EV_TRAP) {
        mb_rtest_fail(t, "protocol", ev->message ? ev->message : "!trap");
        return 1;
    }

    if (ev->type == MB_ROS_EV_ERROR) {
        mb_rtest_fail(t, mb_router_err_code(ev->err),
                      ev->message ? ev->message : "");
        return 1;
    }

    return 0;
}


static void
mb_rtest_info(mb_rtest_t *t, const mb_ros_sentence_t *s, const char *attr,
    const char *key)
{
    const char  *v = mb_ros_attr(s, attr);
    json_t      *j = v ? json_string(v) : NULL;

    if (j != NULL) {
        json_object_set_new(t->info, key, j);
    }
}


static void
mb_rtest_on_resource(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev,
    void *data)
{
    mb_rtest_t  *t = data;

    (void) cmd;

    if (t->finished || mb_rtest_failed(t, ev)) {
        return;
    }

    if (ev->type == MB_ROS_EV_RE) {
        mb_rtest_info(t, ev->s, "version", "version");
        mb_rtest_info(t, ev->s, "board-name", "board");
        mb_rtest_info(t, ev->s, "uptime", "uptime");
        mb_rtest_info(t, ev->s, "cpu-load", "cpu_load");
        mb_rtest_info(t, ev->s, "architecture-name", "architecture");

    } else if (ev->type == MB_ROS_EV_DONE) {
        mb_rtest_succeed(t);
    }
}


static void
mb_rtest_on_identity(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev,
    void *data)
{
    static const char *const    words[] = { "/system/resource/print", NULL };
    static const mb_ros_opts_t  opts = { 0, MB_RTEST_CMD_MS };

    mb_rtest_t  *t = data;

    (void) cmd;

    if (t->finished || mb_rtest_failed(t, ev)) {
        return;
    }

    if (ev->type == MB_ROS_EV_RE) {
        mb_rtest_info(t, ev->s, "name", "identity");

    } else if (ev->type == MB_ROS_EV_DONE) {
        t->rtt_ms = (double) (uv_hrtime() - t->sent) / 1e6;
        if (mb_ros_send(t->client, words, &opts, mb_rtest_on_resource, t)
            == NULL)
        {
            mb_rtest_fail(t, "internal", "cannot send a command");
        }
    }
}


static void
mb_rtest_on_state(mb_ros_client_t *c, mb_ros_state_e state,
    mb_ros_err_e err, const char *reason, void *data)
{
    static const char *const    words[] = { "/system/identity/print", NULL };
    static const mb_ros_opts_t  opts = { 0, MB_RTEST_CMD_MS };

    mb_rtest_t  *t = data;

    if (t->finished) {
        return;
    }

    if (state == MB_ROS_DOWN) {
        mb_rtest_fail(t, mb_router_err_code(err), reason ? reason : "");
        return;
    }

    if (state == MB_ROS_READY) {
        /* the round trip of one cheap command, login excluded */
        t->sent = uv_hrtime();
        if (mb_ros_send(c, words, &opts, mb_rtest_on_identity, t) == NULL) {
            mb_rtest_fail(t, "internal", "cannot send a command");
        }
    }
}


static void
mb_rtest_connect(mb_rtest_t *t)
{
    mb_ros_client_conf_t  cc;

    mb_router_client_fill(&t->conf, t->pw, &cc);
    cc.connect_timeout_ms = MB_RTEST_CONNECT_MS;
    cc.command_timeout_ms = MB_RTEST_CMD_MS;
    cc.no_reconnect = 1;
    cc.name = "router.test";

    t->client = mb_ros_client_create(t->job->worker->loop, &cc,
                                     mb_rtest_on_state, t);
    OPENSSL_cleanse(t->pw, sizeof(t->pw));

    if (t->client == NULL) {
        mb_rtest_fail(t, "bad_request", "the router settings are not usable");
    }
}


/* ------------------------------------------------------------ payload */


static int
mb_rtest_str(json_t *p, const char *key, char **dst)
{
    json_t  *v = json_object_get(p, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    free(*dst);
    *dst = strdup(json_string_value(v));

    return *dst == NULL ? -1 : 1;
}


static int
mb_rtest_bool(json_t *p, const char *key, int *dst)
{
    json_t  *v = json_object_get(p, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }

    if (!json_is_boolean(v)) {
        return -1;
    }

    *dst = json_is_true(v);
    return 1;
}


/* the form's fields over conf; NULL when good, else what is wrong */
static const char *
mb_rtest_form(mb_rtest_t *t, json_t *p)
{
    mb_router_conf_t  *c = &t->conf;
    json_t            *port = json_object_get(p, "port");
    json_t            *pw = json_object_get(p, "password");
    int                tls_given;

    if (mb_rtest_str(p, "host", &c->host) < 0 || !mb_valid_host(c->host)) {
        return "host must be a host name or an IP address";
    }

    if (mb_rtest_str(p, "username", &c->username) < 0
        || !mb_valid_name(c->username, 128))
    {
        return "username must be 1 to 128 printable bytes";
    }

    if (pw != NULL && !json_is_null(pw)
        && (!json_is_string(pw) || json_string_length(pw) >= sizeof(t->pw)
            || !mb_valid_text0(json_string_value(pw),
                               NGX_MIKROBILL_SECRET_MAX)))
    {
        return "password must be a string of printable bytes";
    }

    /* an empty password on an edit form keeps the saved one */
    if (json_is_string(pw) && (json_string_length(pw) > 0 || !t->have_pw)) {
        strcpy(t->pw, json_string_value(pw));
        t->have_pw = 1;
    }

    if (!t->have_pw) {
        return "password is required";
    }

    tls_given = mb_rtest_bool(p, "tls", &c->tls);
    if (tls_given < 0 || mb_rtest_bool(p, "tls_allow_anon_dh",
                                       &c->tls_anon_dh) < 0
        || mb_rtest_str(p, "tls_ca_file", &c->tls_ca_file) < 0)
    {
        return "tls and tls_allow_anon_dh must be booleans, tls_ca_file a "
               "string";
    }

    if (json_object_get(p, "tls_ca_file") != NULL) {
        c->tls_verify = c->tls_ca_file != NULL && c->tls_ca_file[0] != '\0';
    }

    if (port != NULL && !json_is_null(port)) {
        if (!json_is_integer(port) || json_integer_value(port) < 1
            || json_integer_value(port) > 65535)
        {
            return "port must be an integer from 1 to 65535";
        }
        c->port = (unsigned) json_integer_value(port);

    } else if (c->port == 0 || tls_given > 0) {
        c->port = c->tls ? 8729 : 8728;
    }

    return NULL;
}


static void
mb_rtest_start(mb_rtest_t *t, json_t *payload)
{
    const char  *bad = mb_rtest_form(t, payload);

    if (bad != NULL) {
        mb_rtest_fail(t, "bad_request", bad);
        return;
    }

    uv_timer_start(&t->guard, mb_rtest_on_guard, MB_RTEST_BOUND_MS, 0);
    mb_rtest_connect(t);
}


static void
mb_rtest_row(PGresult *res, const char *err, void *data)
{
    mb_rtest_t            *t = data;
    mb_registry_t         *reg;
    mb_ros_client_conf_t   cc;
    const unsigned char   *key;
    const char            *why;
    char                   msg[300];

    if (t->job == NULL) {
        return;                         /* shutdown: already finished */
    }

    if (err != NULL) {
        mb_rtest_fail(t, "db_unavailable", err);
        return;
    }

    if (PQntuples(res) == 0) {
        mb_rtest_fail(t, "not_found", "no such router");
        return;
    }

    t->conf.host = strdup(PQgetvalue(res, 0, 0));
    t->conf.port = (unsigned) atoi(PQgetvalue(res, 0, 1));
    t->conf.username = strdup(PQgetvalue(res, 0, 2));
    t->conf.password_enc = strdup(PQgetvalue(res, 0, 3));
    t->conf.tls = PQgetvalue(res, 0, 4)[0] == 't';
    t->conf.tls_verify = PQgetvalue(res, 0, 5)[0] == 't';
    t->conf.tls_ca_file = PQgetisnull(res, 0, 6)
                          ? NULL : strdup(PQgetvalue(res, 0, 6));
    t->conf.tls_anon_dh = PQgetvalue(res, 0, 7)[0] == 't';

    reg = t->job->worker->registry;
    key = mb_registry_key(reg, &why);

    if (t->conf.password_enc == NULL
        || mb_router_client_conf(&t->conf, key, t->pw, sizeof(t->pw), &cc,
                                 msg, sizeof(msg)) != 0)
    {
        mb_rtest_fail(t, "secret", why ? why : msg);
        return;
    }

    t->have_pw = 1;
    mb_rtest_start(t, t->job->payload);
}


void
mb_cmd_router_test(mb_job_t *job)
{
    const char *params[1];
    json_t     *id = json_object_get(job->payload, "router_id");
    mb_rtest_t *t;

    job->quiet = 1;

    if (!json_is_object(job->payload)
        || (id != NULL && !mb_valid_uuid(json_string_value(id))))
    {
        mb_job_fail(job, "bad_request", "payload must be an object with a "
                    "router_id (uuid) or host, username, password");
        return;
    }

    t = calloc(1, sizeof(mb_rtest_t));
    if (t == NULL || (t->info = json_object()) == NULL) {
        free(t);
        mb_job_fail(job, "internal", "out of memory");
        return;
    }

    t->job = job;
    job->ctx = t;
    job->cleanup = mb_rtest_job_gone;
    uv_timer_init(job->worker->loop, &t->guard);
    t->guard.data = t;

    if (id == NULL) {
        mb_rtest_start(t, job->payload);
        return;
    }

    params[0] = json_string_value(id);
    if (mb_pg_query_params(job->worker->pg,
            "SELECT host, port, username, password_enc, tls, tls_verify,"
            " tls_ca_file, tls_allow_anon_dh FROM routers WHERE id = $1",
            1, params, MB_RTEST_DB_MS, mb_rtest_row, t) != 0)
    {
        mb_rtest_fail(t, "db_unavailable", "the database is not connected");
    }
}
