/*
 * Commands to mikrobill-worker: XADD, then poll the reply list.
 *
 * The state lives on the heap, not in the request pool: a Redis callback
 * may still be due when the request goes away (terminated), so the
 * request's cleanup only detaches it, and whichever of the two comes last
 * frees it.  The poll timer never runs while a Redis command is in flight;
 * the deadline is checked when a poll comes back empty, so a request can
 * overrun its timeout by at most one Redis command.
 */


#include "ngx_mikrobill_command.h"
#include "ngx_mikrobill_redis.h"

#include <openssl/rand.h>


#define NGX_MIKROBILL_COMMAND_ID_LEN   32      /* hex of 16 random bytes */
#define NGX_MIKROBILL_POLL_FIRST       25
#define NGX_MIKROBILL_POLL_MID         50
#define NGX_MIKROBILL_POLL_LAST        100


typedef struct {
    ngx_http_request_t          *request;     /* NULL once it went away */
    ngx_mikrobill_redis_t       *redis;
    ngx_mikrobill_command_pt     handler;
    void                        *data;
    ngx_event_t                  poll;
    ngx_msec_t                   started;
    ngx_msec_t                   timeout;
    ngx_uint_t                   polls;
    char                         id[NGX_MIKROBILL_COMMAND_ID_LEN + 1];
    char                         key[sizeof(NGX_MIKROBILL_COMMAND_REPLY)
                                     + NGX_MIKROBILL_COMMAND_ID_LEN];
    unsigned                     in_flight:1;
    unsigned                     wait_reply:1;
} ngx_mikrobill_command_t;


static ngx_int_t ngx_mikrobill_command_queue(ngx_http_request_t *r,
    const char *type, json_t *payload, ngx_msec_t timeout,
    ngx_flag_t wait_reply, ngx_mikrobill_command_pt handler, void *data);
static void ngx_mikrobill_command_cleanup(void *data);
static void ngx_mikrobill_command_added(void *data, redisReply *reply);
static void ngx_mikrobill_command_schedule(ngx_mikrobill_command_t *cmd);
static void ngx_mikrobill_command_poll(ngx_event_t *ev);
static void ngx_mikrobill_command_popped(void *data, redisReply *reply);
static void ngx_mikrobill_command_done(ngx_mikrobill_command_t *cmd,
    json_t *reply, ngx_int_t rc);
static void ngx_mikrobill_command_forget(void *data, redisReply *reply);


ngx_int_t
ngx_mikrobill_command(ngx_http_request_t *r, const char *type,
    json_t *payload, ngx_msec_t timeout, ngx_mikrobill_command_pt handler,
    void *data)
{
    return ngx_mikrobill_command_queue(r, type, payload, timeout, 1,
                                       handler, data);
}


ngx_int_t
ngx_mikrobill_command_post(ngx_http_request_t *r, const char *type,
    json_t *payload, ngx_mikrobill_command_pt handler, void *data)
{
    return ngx_mikrobill_command_queue(r, type, payload, 0, 0, handler,
                                       data);
}


static ngx_int_t
ngx_mikrobill_command_queue(ngx_http_request_t *r, const char *type,
    json_t *payload, ngx_msec_t timeout, ngx_flag_t wait_reply,
    ngx_mikrobill_command_pt handler, void *data)
{
    int                         argc;
    char                       *text;
    u_char                      rnd[NGX_MIKROBILL_COMMAND_ID_LEN / 2];
    ngx_int_t                   rc;
    const char                 *argv[11];
    ngx_http_cleanup_t         *cln;
    ngx_mikrobill_command_t    *cmd;
    ngx_mikrobill_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_mikrobill_module);

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    text = json_dumps(payload, JSON_COMPACT);
    if (text == NULL) {
        return NGX_ERROR;
    }

    cmd = ngx_calloc(sizeof(ngx_mikrobill_command_t), r->connection->log);
    if (cmd == NULL) {
        free(text);
        return NGX_ERROR;
    }

    cmd->request = r;
    cmd->redis = mcf->redis;
    cmd->handler = handler;
    cmd->data = data;
    cmd->timeout = timeout ? timeout : mcf->command_timeout;
    cmd->started = ngx_current_msec;
    cmd->wait_reply = wait_reply;

    cmd->poll.handler = ngx_mikrobill_command_poll;
    cmd->poll.data = cmd;
    cmd->poll.log = ngx_cycle->log;
    cmd->poll.cancelable = 1;

    ngx_hex_dump((u_char *) cmd->id, rnd, sizeof(rnd));
    cmd->id[NGX_MIKROBILL_COMMAND_ID_LEN] = '\0';
    ngx_sprintf((u_char *) cmd->key, "%s%s%Z", NGX_MIKROBILL_COMMAND_REPLY,
                cmd->id);

    argc = 0;
    argv[argc++] = "XADD";
    argv[argc++] = NGX_MIKROBILL_COMMAND_STREAM;
    argv[argc++] = "*";
    argv[argc++] = "type";
    argv[argc++] = type;
    argv[argc++] = "id";
    argv[argc++] = cmd->id;

    if (wait_reply) {
        argv[argc++] = "reply_to";
        argv[argc++] = cmd->key;
    }

    argv[argc++] = "payload";
    argv[argc++] = text;

    cmd->in_flight = 1;

    rc = ngx_mikrobill_redis_command(cmd->redis, ngx_mikrobill_command_added,
                                     cmd, argc, argv, NULL);
    free(text);

    if (rc != NGX_OK) {
        ngx_free(cmd);
        return NGX_ERROR;
    }

    cln->handler = ngx_mikrobill_command_cleanup;
    cln->data = cmd;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "mikrobill: command %s id %s timeout %M", type, cmd->id,
                   cmd->timeout);

    return NGX_OK;
}


/* the request goes away: detach, and free unless Redis still owes us */
static void
ngx_mikrobill_command_cleanup(void *data)
{
    ngx_mikrobill_command_t  *cmd = data;

    if (cmd == NULL || cmd->request == NULL) {
        return;
    }

    cmd->request = NULL;

    if (cmd->poll.timer_set) {
        ngx_del_timer(&cmd->poll);
    }

    if (!cmd->in_flight) {
        ngx_free(cmd);
    }
}


static void
ngx_mikrobill_command_added(void *data, redisReply *reply)
{
    ngx_mikrobill_command_t  *cmd = data;

    cmd->in_flight = 0;

    if (cmd->request == NULL) {
        ngx_free(cmd);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_log_error(NGX_LOG_ERR, cmd->request->connection->log, 0,
                      "mikrobill: cannot queue a command: %s",
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : "redis unavailable");
        ngx_mikrobill_command_done(cmd, NULL, NGX_ERROR);
        return;
    }

    if (!cmd->wait_reply) {
        ngx_mikrobill_command_done(cmd, NULL, NGX_OK);
        return;
    }

    ngx_mikrobill_command_schedule(cmd);
}


static void
ngx_mikrobill_command_schedule(ngx_mikrobill_command_t *cmd)
{
    ngx_msec_t  elapsed, delay;

    elapsed = ngx_current_msec - cmd->started;

    delay = elapsed < 500 ? NGX_MIKROBILL_POLL_FIRST
            : elapsed < 2000 ? NGX_MIKROBILL_POLL_MID
            : NGX_MIKROBILL_POLL_LAST;

    if (elapsed + delay > cmd->timeout) {
        delay = cmd->timeout > elapsed ? cmd->timeout - elapsed : 1;
    }

    ngx_add_timer(&cmd->poll, delay);
}


static void
ngx_mikrobill_command_poll(ngx_event_t *ev)
{
    ngx_mikrobill_command_t  *cmd = ev->data;

    const char  *argv[2];

    if (cmd->request == NULL) {
        ngx_free(cmd);
        return;
    }

    argv[0] = "LPOP";
    argv[1] = cmd->key;

    cmd->polls++;
    cmd->in_flight = 1;

    if (ngx_mikrobill_redis_command(cmd->redis, ngx_mikrobill_command_popped,
                                    cmd, 2, argv, NULL)
        != NGX_OK)
    {
        cmd->in_flight = 0;
        ngx_mikrobill_command_done(cmd, NULL, NGX_ERROR);
    }
}


static void
ngx_mikrobill_command_popped(void *data, redisReply *reply)
{
    ngx_mikrobill_command_t  *cmd = data;

    json_t        *json;
    json_error_t   err;

    cmd->in_flight = 0;

    if (cmd->request == NULL) {
        ngx_free(cmd);
        return;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        json = json_loadb(reply->str, reply->len, 0, &err);

        if (json == NULL || !json_is_object(json)) {
            ngx_log_error(NGX_LOG_ERR, cmd->request->connection->log, 0,
                          "mikrobill: command %s: reply is not a JSON "
                          "object", cmd->id);
            json_decref(json);
            ngx_mikrobill_command_done(cmd, NULL, NGX_ERROR);
            return;
        }

        ngx_mikrobill_command_done(cmd, json, NGX_OK);
        json_decref(json);
        return;
    }

    /* nil, or Redis briefly away: keep polling until the deadline */

    if (ngx_current_msec - cmd->started >= cmd->timeout) {
        ngx_log_error(NGX_LOG_WARN, cmd->request->connection->log, 0,
                      "mikrobill: command %s: no reply from a worker "
                      "within %M ms", cmd->id, cmd->timeout);
        ngx_mikrobill_command_done(cmd, NULL, NGX_DECLINED);
        return;
    }

    ngx_mikrobill_command_schedule(cmd);
}


/* answer the caller once; the state goes when the request does */
static void
ngx_mikrobill_command_done(ngx_mikrobill_command_t *cmd, json_t *reply,
    ngx_int_t rc)
{
    const char                *argv[2];
    ngx_mikrobill_command_pt   handler;

    if (rc == NGX_DECLINED) {
        /* a late reply would only wait for its EXPIRE: drop the key */
        argv[0] = "DEL";
        argv[1] = cmd->key;
        (void) ngx_mikrobill_redis_command(cmd->redis,
                                           ngx_mikrobill_command_forget,
                                           NULL, 2, argv, NULL);
    }

    handler = cmd->handler;
    cmd->handler = NULL;

    if (handler) {
        handler(cmd->data, reply, rc);
    }
}


static void
ngx_mikrobill_command_forget(void *data, redisReply *reply)
{
    (void) data;
    (void) reply;
}
