/*
 * RouterOS API client: the connection's life.  One timer serves every
 * deadline (connect, commands, keepalive, reconnect); it is re-armed to
 * the earliest after each change.  Bytes read only move last_rx, so a busy
 * stream costs no timer work.
 *
 * Every libuv callback that may call the owner runs between enter() and
 * leave(): commands are freed in leave() only, and nothing is freed while
 * the client is closing until the timer handle itself is closed.
 */

#include "mb_ros_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_ros_login.h"


#define MB_ROS_CONNECT_MS     10000
#define MB_ROS_COMMAND_MS     30000
#define MB_ROS_IDLE_MS        30000
#define MB_ROS_PROBE_MS       10000
#define MB_ROS_BACKOFF_BASE   500
#define MB_ROS_BACKOFF_CAP    30000


static void mb_ros_client_attempt(mb_ros_client_t *c);


const char *
mb_ros_err_name(mb_ros_err_e err)
{
    static const char  *names[] = {
        "ok", "unreachable", "refused", "timeout", "tls", "login",
        "protocol", "lost", "fatal", "closed", "nomem"
    };

    return (unsigned) err < sizeof(names) / sizeof(names[0])
           ? names[err] : "unknown";
}


static void
mb_ros_client_enter(mb_ros_client_t *c)
{
    c->busy++;
}


static void
mb_ros_client_leave(mb_ros_client_t *c)
{
    if (--c->busy == 0 && !c->closing) {
        mb_ros_cmd_reap(c);
        mb_ros_client_arm(c);
    }
}


static uint64_t
mb_ros_min(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}


static void mb_ros_client_tick(uv_timer_t *t);


void
mb_ros_client_arm(mb_ros_client_t *c)
{
    uint64_t  now, at = 0;

    if (c->closing) {
        return;
    }
    now = uv_now(c->loop);

    if (c->broken || (c->garbage && c->busy == 0)) {
        at = now;
    } else if (c->state == MB_ROS_CONNECTING) {
        at = c->connect_deadline;
    } else if (c->state == MB_ROS_DOWN) {
        at = c->reconnect_at;
    } else if (c->probe == NULL) {
        at = c->last_rx + c->conf.keepalive_idle_ms;
    }
    at = mb_ros_min(at, mb_ros_cmd_next_deadline(c));

    if (at == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, mb_ros_client_tick, at > now ? at - now : 0,
                   0);
}


/* the connection (or the attempt) is over; plan the next one */
void
mb_ros_client_down(mb_ros_client_t *c, mb_ros_err_e err, const char *reason)
{
    int       was_ready = c->state == MB_ROS_READY;
    uint64_t  now = uv_now(c->loop);
    unsigned  delay;

    if (c->state == MB_ROS_DOWN || c->closing) {
        return;
    }
    if (c->conn) {
        mb_ros_conn_close(c->conn);
        c->conn = NULL;
    }
    c->state = MB_ROS_DOWN;
    c->login_method = NULL;
    c->broken = 0;
    c->probe = NULL;

    c->reconnect_at = 0;
    if (!c->conf.no_reconnect) {
        /* a connection that lived long was fine: start the backoff over */
        if (was_ready && now - c->up_since >= c->conf.backoff_cap_ms) {
            mb_backoff_reset(&c->backoff);
        }
        delay = mb_backoff_next(&c->backoff);
        c->reconnect_at = now + delay;
        mb_log_warn("router %s: %s: %s; reconnecting in %u ms", c->name,
                    mb_ros_err_name(err), reason, delay);
    } else {
        mb_log_warn("router %s: %s: %s", c->name, mb_ros_err_name(err),
                    reason);
    }

    mb_ros_cmd_fail_all(c, err, reason, !c->conf.no_reconnect);
    if (!c->closing && c->on_state) {
        c->on_state(c, MB_ROS_DOWN, err, reason, c->data);
    }
}


static void
mb_ros_client_ready(mb_ros_client_t *c, const char *method)
{
    c->state = MB_ROS_READY;
    c->login_method = method;
    c->up_since = uv_now(c->loop);
    c->last_rx = c->up_since;
    mb_log_info("router %s: logged in as %s (%s login)", c->name,
                c->conf.username, method);

    if (c->on_state) {
        c->on_state(c, MB_ROS_READY, MB_ROS_OK, "logged in", c->data);
    }
    if (!c->closing && c->state == MB_ROS_READY) {
        mb_ros_cmd_flush(c);
    }
}


static void
mb_ros_client_send_login(mb_ros_client_t *c, const char *challenge)
{
    int  rc;

    mb_ros_buf_reset(&c->out);
    rc = challenge
         ? mb_ros_login_md5(&c->out, c->conf.username, c->conf.password,
                            challenge)
         : mb_ros_login_plain(&c->out, c->conf.username, c->conf.password);
    if (rc != 0) {
        mb_ros_client_down(c, challenge ? MB_ROS_E_PROTOCOL : MB_ROS_E_NOMEM,
                           challenge ? "bad login challenge"
                                     : "out of memory");
        return;
    }
    if (mb_ros_conn_write(c->conn, c->out.data, c->out.len) != 0) {
        mb_ros_client_down(c, MB_ROS_E_LOST, "write failed");
        return;
    }
    c->login_step = challenge ? 2 : 1;
}


static void
mb_ros_client_login_reply(mb_ros_client_t *c, const mb_ros_sentence_t *s)
{
    const char  *ret, *msg;
    char         reason[300];

    switch (mb_ros_reply_type(s)) {
    case MB_ROS_REPLY_DONE:
        ret = mb_ros_attr(s, "ret");
        if (ret && c->login_step == 1) {
            mb_ros_client_send_login(c, ret);
        } else if (ret) {
            mb_ros_client_down(c, MB_ROS_E_PROTOCOL,
                               "login: a second challenge");
        } else {
            mb_ros_client_ready(c, c->login_step == 1 ? "plain" : "md5");
        }
        break;
    case MB_ROS_REPLY_TRAP:
        msg = mb_ros_attr(s, "message");
        snprintf(reason, sizeof(reason), "%s", msg ? msg : "login refused");
        mb_ros_client_down(c, MB_ROS_E_LOGIN, reason);
        break;
    default:
        /* !re or anything else before the login is done: not an API peer */
        snprintf(reason, sizeof(reason), "unexpected %.40s during login",
                 s->words[0].data);
        mb_ros_client_down(c, MB_ROS_E_PROTOCOL, reason);
    }
}


static int
mb_ros_client_sentence(void *arg, const mb_ros_sentence_t *s)
{
    mb_ros_client_t  *c = arg;
    mb_ros_conn_t    *conn = c->conn;
    char              reason[300];

    if (mb_ros_reply_type(s) == MB_ROS_REPLY_FATAL) {
        snprintf(reason, sizeof(reason), "%s",
                 s->nwords > 1 ? s->words[1].data : "!fatal");
        mb_ros_client_down(c, MB_ROS_E_FATAL, reason);
        return 1;
    }

    if (c->state == MB_ROS_CONNECTING) {
        mb_ros_client_login_reply(c, s);
    } else {
        mb_ros_cmd_dispatch(c, s);
    }

    /* stop when this connection ended under the callback */
    return c->closing || c->conn != conn || c->state == MB_ROS_DOWN;
}


static void
mb_ros_client_on_data(void *data, const unsigned char *p, size_t len)
{
    mb_ros_client_t  *c = data;
    int               rc;

    mb_ros_client_enter(c);
    c->last_rx = uv_now(c->loop);
    rc = mb_ros_parser_feed(c->parser, p, len, mb_ros_client_sentence, c);
    if (rc == MB_ROS_ERR_CONTROL) {
        mb_ros_client_down(c, MB_ROS_E_PROTOCOL,
                           "reserved control byte in the reply stream");
    } else if (rc == MB_ROS_ERR_TOO_BIG) {
        mb_ros_client_down(c, MB_ROS_E_PROTOCOL, "reply sentence too big");
    } else if (rc == MB_ROS_ERR_NOMEM) {
        mb_ros_client_down(c, MB_ROS_E_NOMEM, "out of memory");
    }
    mb_ros_client_leave(c);
}


static void
mb_ros_client_on_open(void *data)
{
    mb_ros_client_t  *c = data;

    mb_ros_client_enter(c);
    mb_ros_client_send_login(c, NULL);
    mb_ros_client_leave(c);
}


static void
mb_ros_client_on_error(void *data, mb_ros_err_e err, const char *reason)
{
    mb_ros_client_t  *c = data;

    mb_ros_client_enter(c);
    c->conn = NULL;                  /* it closes itself */
    mb_ros_client_down(c, err, reason);
    mb_ros_client_leave(c);
}


static const mb_ros_conn_handler_t  mb_ros_client_handler = {
    mb_ros_client_on_open, mb_ros_client_on_data, mb_ros_client_on_error
};


static void
mb_ros_client_attempt(mb_ros_client_t *c)
{
    c->state = MB_ROS_CONNECTING;
    c->login_step = 0;
    c->reconnect_at = 0;
    c->connect_deadline = uv_now(c->loop) + c->conf.connect_timeout_ms;
    mb_ros_parser_reset(c->parser);
    mb_log_debug("router %s: connecting", c->name);

    c->conn = mb_ros_conn_open(c->loop, &c->conf, &mb_ros_client_handler, c);
    if (c->conn == NULL) {
        mb_ros_client_down(c, MB_ROS_E_NOMEM, "out of memory");
    }
}


static void
mb_ros_client_probe_cb(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev,
    void *data)
{
    mb_ros_client_t  *c = data;
    char              reason[100];

    (void) cmd;
    if (ev->type == MB_ROS_EV_RE || ev->type == MB_ROS_EV_EMPTY) {
        return;
    }
    c->probe = NULL;
    if (ev->type == MB_ROS_EV_ERROR && ev->err == MB_ROS_E_TIMEOUT) {
        snprintf(reason, sizeof(reason), "no answer to keepalive in %u ms",
                 c->conf.keepalive_timeout_ms);
        mb_ros_client_down(c, MB_ROS_E_LOST, reason);
    }
}


static void
mb_ros_client_keepalive(mb_ros_client_t *c)
{
    static const char  cmd[] = "/system/identity/print";
    mb_ros_word_t      w;

    w.data = cmd;
    w.len = sizeof(cmd) - 1;
    c->probe = mb_ros_cmd_add(c, &w, 1, MB_ROS_F_INTERNAL | MB_ROS_F_PROBE,
                              c->conf.keepalive_timeout_ms,
                              mb_ros_client_probe_cb, c);
    if (c->probe == NULL || mb_ros_cmd_transmit(c, c->probe) != 0) {
        c->broken = 1;
    }
}


static void
mb_ros_client_tick(uv_timer_t *t)
{
    mb_ros_client_t  *c = t->data;
    uint64_t          now = uv_now(c->loop);

    mb_ros_client_enter(c);

    if (c->broken) {
        mb_ros_client_down(c, MB_ROS_E_LOST, "write failed");
    }
    if (c->state == MB_ROS_CONNECTING && now >= c->connect_deadline) {
        mb_ros_client_down(c, MB_ROS_E_TIMEOUT, c->login_step
                           ? "no answer to the login" : "connect timed out");
    }
    if (c->state == MB_ROS_DOWN && c->reconnect_at && now >= c->reconnect_at
        && !c->closing)
    {
        mb_ros_client_attempt(c);
    }
    if (c->state == MB_ROS_READY && c->probe == NULL
        && now >= c->last_rx + c->conf.keepalive_idle_ms)
    {
        mb_ros_client_keepalive(c);
    }
    if (!c->closing) {
        mb_ros_cmd_expire(c, now);
    }

    mb_ros_client_leave(c);
}


static char *
mb_ros_strdup(const char *s, int *failed)
{
    char  *d;

    if (s == NULL) {
        return NULL;
    }
    d = strdup(s);
    *failed |= d == NULL;
    return d;
}


static void
mb_ros_client_free(mb_ros_client_t *c)
{
    mb_ros_cmd_free_all(c);
    mb_ros_parser_destroy(c->parser);
    mb_ros_buf_free(&c->out);
    free((char *) c->conf.host);
    free((char *) c->conf.username);
    /* wipe the password before giving the memory back */
    if (c->conf.password) {
        memset((char *) c->conf.password, 0, strlen(c->conf.password));
    }
    free((char *) c->conf.password);
    free((char *) c->conf.tls_ca_file);
    free((char *) c->conf.name);
    free(c->name);
    free(c);
}


static int
mb_ros_client_conf(mb_ros_client_t *c, const mb_ros_client_conf_t *conf)
{
    mb_ros_client_conf_t  *d = &c->conf;
    int                    failed = 0;

    *d = *conf;
    d->host = mb_ros_strdup(conf->host, &failed);
    d->username = mb_ros_strdup(conf->username ? conf->username : "",
                                &failed);
    d->password = mb_ros_strdup(conf->password ? conf->password : "",
                                &failed);
    d->tls_ca_file = mb_ros_strdup(conf->tls_ca_file, &failed);
    d->name = mb_ros_strdup(conf->name, &failed);

    d->port = d->port ? d->port : d->tls ? 8729 : 8728;
#define MB_ROS_DEFAULT(f, v)  d->f = d->f ? d->f : (v)
    MB_ROS_DEFAULT(connect_timeout_ms, MB_ROS_CONNECT_MS);
    MB_ROS_DEFAULT(command_timeout_ms, MB_ROS_COMMAND_MS);
    MB_ROS_DEFAULT(keepalive_idle_ms, MB_ROS_IDLE_MS);
    MB_ROS_DEFAULT(keepalive_timeout_ms, MB_ROS_PROBE_MS);
    MB_ROS_DEFAULT(backoff_base_ms, MB_ROS_BACKOFF_BASE);
    MB_ROS_DEFAULT(backoff_cap_ms, MB_ROS_BACKOFF_CAP);
    MB_ROS_DEFAULT(max_sentence, MB_ROS_SENTENCE_MAX);
#undef MB_ROS_DEFAULT

    if (d->name) {
        c->name = strdup(d->name);
    } else if (d->host && (c->name = malloc(strlen(d->host) + 8)) != NULL) {
        sprintf(c->name, "%s:%u", d->host, d->port);
    }
    return failed || c->name == NULL ? -1 : 0;
}


mb_ros_client_t *
mb_ros_client_create(uv_loop_t *loop, const mb_ros_client_conf_t *conf,
    mb_ros_state_pt on_state, void *data)
{
    mb_ros_client_t  *c;

    if (conf->host == NULL || conf->host[0] == '\0' || conf->port > 65535) {
        return NULL;
    }
    c = calloc(1, sizeof(mb_ros_client_t));
    if (c == NULL) {
        return NULL;
    }
    mb_ros_buf_init(&c->out);
    if (mb_ros_client_conf(c, conf) != 0
        || (c->parser = mb_ros_parser_create(c->conf.max_sentence)) == NULL
        || uv_timer_init(loop, &c->timer) != 0)
    {
        mb_ros_client_free(c);
        return NULL;
    }
    c->loop = loop;
    c->timer.data = c;
    c->on_state = on_state;
    c->data = data;
    mb_backoff_init(&c->backoff, c->conf.backoff_base_ms,
                    c->conf.backoff_cap_ms);

    /* the first attempt starts from the loop: no callback inside create */
    c->reconnect_at = uv_now(loop);
    mb_ros_client_arm(c);
    return c;
}


void
mb_ros_client_start(mb_ros_client_t *c)
{
    if (c->closing || c->state != MB_ROS_DOWN) {
        return;
    }
    mb_backoff_reset(&c->backoff);
    c->reconnect_at = uv_now(c->loop);
    mb_ros_client_arm(c);
}


static void
mb_ros_client_timer_closed(uv_handle_t *h)
{
    mb_ros_client_free(h->data);
}


void
mb_ros_client_close(mb_ros_client_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    if (c->conn) {
        mb_ros_conn_close(c->conn);
        c->conn = NULL;
    }
    c->state = MB_ROS_DOWN;
    c->busy++;
    mb_ros_cmd_fail_all(c, MB_ROS_E_CLOSED, "client closed", 0);
    c->busy--;
    uv_close((uv_handle_t *) &c->timer, mb_ros_client_timer_closed);
}


mb_ros_state_e
mb_ros_client_state(const mb_ros_client_t *c)
{
    return c->state;
}


const char *
mb_ros_client_login_method(const mb_ros_client_t *c)
{
    return c->state == MB_ROS_READY ? c->login_method : NULL;
}


size_t
mb_ros_client_pending(const mb_ros_client_t *c)
{
    return c->ncmds - (c->probe ? 1 : 0);
}
