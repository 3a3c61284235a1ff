/*
 * "router.exec": a typed operation on a router's managed connection,
 * payload {"router_id", "op", ...}.  Only the lease holder talks to the
 * router: a worker that does not hold it re-queues the command, as is, on
 * the router's own stream mikrobill:router:<id>:commands (read by the
 * owner) and acknowledges it on the command stream.  A command older than
 * MB_REXEC_TTL_MS (a caller gave up long ago) is refused, not run.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mb_job.h"
#include "mb_log.h"
#include "mb_pg.h"
#include "mb_redis.h"
#include "mb_registry.h"
#include "mb_router.h"
#include "mb_router_ops.h"
#include "mb_valid.h"


#define MB_REXEC_TTL_MS      60000
#define MB_REXEC_CMD_MS      10000
#define MB_REXEC_REDIS_MS    5000
#define MB_REXEC_DB_MS       3000


typedef struct {
    mb_job_t        *job;
    mb_router_t     *r;
    mb_rop_plan_t    plan;
    mb_ros_cmd_t    *cmd;
    json_t          *items;          /* print results, or ids found */
    size_t           next_id;        /* BY_ID: the next of items */
    size_t           done;           /* BY_ID: how many acted on */
} mb_rexec_t;


static void mb_rexec_step(mb_rexec_t *x);


/* ---------------------------------------------------------- lifetime */


static void
mb_rexec_free(mb_rexec_t *x)
{
    if (x->cmd != NULL) {
        mb_ros_cancel(x->cmd);
    }

    mb_rop_plan_free(&x->plan);
    json_decref(x->items);
    mb_router_unref(x->r);
    free(x);
}


/* the job is freed unanswered (shutdown) */
static void
mb_rexec_job_gone(mb_job_t *job)
{
    mb_rexec_free(job->ctx);
}


/* answers and frees x */
static void
mb_rexec_reply(mb_rexec_t *x, json_t *reply)
{
    mb_job_t  *job = x->job;

    job->cleanup = NULL;
    mb_rexec_free(x);
    mb_job_reply(job, reply);
}


/*
 * The error reply, not mb_job_fail(), which cuts a message at 511 bytes:
 * RouterOS's text goes out whole, with a !trap's category when >= 0.
 */
static void
mb_rexec_error(mb_rexec_t *x, const char *error, const char *message,
    int category)
{
    mb_job_t  *job = x->job;
    json_t    *reply = json_object();

    json_object_set_new(reply, "id", job->id ? json_string(job->id)
                                             : json_null());
    json_object_set_new(reply, "ok", json_false());
    json_object_set_new(reply, "error", json_string(error));
    json_object_set_new(reply, "message", json_string(message ? message
                                                              : ""));
    if (category >= 0) {
        json_object_set_new(reply, "category", json_integer(category));
    }

    mb_rexec_reply(x, reply);
}


static void
mb_rexec_fail(mb_rexec_t *x, const char *error, const char *message)
{
    mb_rexec_error(x, error, message, -1);
}


/* ----------------------------------------------------------- replies */


/* "=name=value" words as {"name": "value"}; ".id" becomes "id" */
static json_t *
mb_rexec_item(const mb_ros_sentence_t *s)
{
    json_t       *item = json_object();
    const char   *w, *eq;
    char          name[128];
    size_t        i, len;

    for (i = 1; item != NULL && i < s->nwords; i++) {
        w = s->words[i].data;
        if (w[0] != '=' || (eq = strchr(w + 1, '=')) == NULL) {
            continue;
        }
        len = (size_t) (eq - w - 1);
        if (len == 0 || len >= sizeof(name)) {
            continue;
        }
        memcpy(name, w + 1, len);
        name[len] = '\0';
        json_object_set_new(item, strcmp(name, ".id") == 0 ? "id" : name,
                            json_stringn(eq + 1, s->words[i].len - len - 2));
    }

    return item;
}


static void
mb_rexec_finish(mb_rexec_t *x, const mb_ros_event_t *ev)
{
    json_t      *reply = mb_job_ok(x->job);
    const char  *ret;

    switch (x->plan.kind) {

    case MB_ROP_PRINT:
        json_object_set_new(reply, "count",
                            json_integer((json_int_t) json_array_size(
                                x->items)));
        json_object_set(reply, "items", x->items);
        break;

    case MB_ROP_ADD:
        ret = ev->s ? mb_ros_attr(ev->s, "ret") : NULL;
        json_object_set_new(reply, "item_id", ret ? json_string(ret)
                                                  : json_null());
        break;

    default:
        json_object_set_new(reply, "count", json_integer((json_int_t)
                                                         x->done));
        break;
    }

    mb_rexec_reply(x, reply);
}


/* ---------------------------------------------------------- commands */


static void
mb_rexec_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    mb_rexec_t  *x = data;

    (void) cmd;

    switch (ev->type) {

    case MB_ROS_EV_RE:
        json_array_append_new(x->items, mb_rexec_item(ev->s));
        return;

    case MB_ROS_EV_EMPTY:
        return;

    case MB_ROS_EV_TRAP:
        /* RouterOS's own words, and its category when it gave one */
        x->cmd = NULL;
        mb_rexec_error(x, "trap", ev->message, ev->category);
        return;

    case MB_ROS_EV_DONE:
        x->cmd = NULL;
        if (x->plan.kind == MB_ROP_BY_ID) {
            mb_rexec_step(x);
        } else {
            mb_rexec_finish(x, ev);
        }
        return;

    default:
        x->cmd = NULL;
        mb_rexec_fail(x, mb_router_err_code(ev->err), ev->message);
        return;
    }
}


static int
mb_rexec_send(mb_rexec_t *x, char *const *words)
{
    static const mb_ros_opts_t  opts = { 0, MB_REXEC_CMD_MS };

    if (x->r->client == NULL || !x->r->owner) {
        mb_rexec_fail(x, "unavailable", "this worker lost the router");
        return -1;
    }

    x->cmd = mb_ros_send(x->r->client, (const char *const *) words, &opts,
                         mb_rexec_on_event, x);
    if (x->cmd == NULL) {
        mb_rexec_fail(x, "internal", "cannot send the command");
        return -1;
    }

    return 0;
}


/*
 * BY_ID: after the lookup (items holds the ids) or an action, act on the
 * next id; when all are done, answer.
 */
static void
mb_rexec_step(mb_rexec_t *x)
{
    json_t      *item;
    const char  *id;

    /* an action just succeeded (none yet right after the lookup) */
    if (x->next_id > 0) {
        x->done++;
    }

    if (x->next_id >= json_array_size(x->items)) {
        if (x->plan.need_one && x->done == 0) {
            mb_rexec_fail(x, "not_found", "no such item");
        } else {
            mb_rexec_finish(x, NULL);
        }
        return;
    }

    if (x->plan.need_one && json_array_size(x->items) > 1) {
        mb_rexec_fail(x, "ambiguous", "the name matches several items");
        return;
    }

    item = json_array_get(x->items, x->next_id++);
    id = json_string_value(json_object_get(item, "id"));
    if (id == NULL || !mb_valid_ros_id(id)) {
        mb_rexec_fail(x, "protocol", "the router gave an item without .id");
        return;
    }

    if (mb_strv_pushf(&x->plan.words, "=.id=%s", id) != 0) {
        mb_rexec_fail(x, "internal", "out of memory");
        return;
    }

    /* the client copies the words: drop =.id= for the next id's own */
    if (mb_rexec_send(x, x->plan.words.v) == 0) {
        free(x->plan.words.v[--x->plan.words.n]);
        x->plan.words.v[x->plan.words.n] = NULL;
    }
}


static void
mb_rexec_start(mb_rexec_t *x)
{
    switch (x->plan.kind) {

    case MB_ROP_BY_ID:
        if (x->plan.id != NULL) {
            /* an explicit id: as if a lookup had found it */
            json_array_append_new(x->items,
                                  json_pack("{s:s}", "id", x->plan.id));
            mb_rexec_step(x);
            return;
        }
        mb_rexec_send(x, x->plan.lookup.v);
        return;

    default:
        mb_rexec_send(x, x->plan.words.v);
        return;
    }
}


/* ----------------------------------------------------------- routing */


static void
mb_rexec_forwarded(mb_redis_t *rd, redisReply *reply, void *data)
{
    mb_job_t  *job = data;

    (void) rd;

    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        mb_job_ack(job);
        return;
    }

    /* stays pending here: claimed and tried again later */
    mb_log_warn("entry %s: forwarding failed: %s", job->entry,
                reply ? reply->str : "connection lost");
    mb_job_free(job);
}


void
mb_router_forward(mb_worker_t *w, const char *router_id, mb_job_t *job)
{
    const char  *argv[16];
    char         stream[128], queued[24];
    int          n = 0;

    snprintf(stream, sizeof(stream), "mikrobill:router:%s:commands",
             router_id);
    snprintf(queued, sizeof(queued), "%llu",
             (unsigned long long) job->queued_ms);

    argv[n++] = "XADD"; argv[n++] = stream; argv[n++] = "MAXLEN";
    argv[n++] = "~"; argv[n++] = MB_ROUTER_STREAM_MAXLEN; argv[n++] = "*";
    argv[n++] = "type"; argv[n++] = job->type;
    argv[n++] = "queued"; argv[n++] = queued;
    if (job->id != NULL) {
        argv[n++] = "id"; argv[n++] = job->id;
    }
    if (job->reply_to != NULL) {
        argv[n++] = "reply_to"; argv[n++] = job->reply_to;
    }
    argv[n++] = "payload"; argv[n++] = job->payload_text;

    mb_log_debug("entry %s: router %s is not ours, forwarded", job->entry,
                 router_id);

    if (mb_redis_command_argv(w->ctl, MB_REXEC_REDIS_MS, mb_rexec_forwarded,
                              job, n, argv, NULL) != 0)
    {
        mb_log_warn("entry %s: redis down, not forwarded; it stays pending",
                    job->entry);
        mb_job_free(job);
    }
}


static void
mb_rexec_run(mb_job_t *job, mb_router_t *r, mb_rop_plan_t *plan)
{
    mb_rexec_t  *x = calloc(1, sizeof(mb_rexec_t));

    if (x == NULL || (x->items = json_array()) == NULL) {
        free(x);
        mb_rop_plan_free(plan);
        mb_job_fail(job, "internal", "out of memory");
        return;
    }

    x->job = job;
    x->r = r;
    mb_router_ref(r);
    x->plan = *plan;
    job->ctx = x;
    job->cleanup = mb_rexec_job_gone;

    if (r->client == NULL) {
        mb_rexec_fail(x, "unavailable", "the router has no connection "
                      "(see the worker log)");
        return;
    }

    mb_rexec_start(x);
}


/* not in this worker's registry: a new row not loaded yet, or none */
static void
mb_router_route_db(PGresult *res, const char *err, void *data)
{
    mb_job_t  *job = data;
    char      *id = job->ctx;

    job->ctx = NULL;
    job->cleanup = NULL;

    if (err != NULL) {
        mb_job_fail(job, "db_unavailable", "%s", err);
    } else if (PQntuples(res) == 0) {
        mb_job_fail(job, "not_found", "no such router");
    } else if (PQgetvalue(res, 0, 0)[0] != 't') {
        mb_job_fail(job, "disabled", "the router is disabled");
    } else {
        mb_registry_reload_soon(job->worker->registry);
        mb_router_forward(job->worker, id, job);
    }

    free(id);
}


static void
mb_router_route_free_id(mb_job_t *job)
{
    free(job->ctx);
}


void
mb_router_route(mb_job_t *job, mb_router_t *r, const char *router_id)
{
    const char  *params[1] = { router_id };

    if (r != NULL) {
        mb_router_forward(job->worker, r->conf.id, job);
        return;
    }

    job->ctx = strdup(router_id);
    job->cleanup = mb_router_route_free_id;

    if (job->ctx == NULL
        || mb_pg_query_params(job->worker->pg,
               "SELECT enabled FROM routers WHERE id = $1", 1, params,
               MB_REXEC_DB_MS, mb_router_route_db, job) != 0)
    {
        /* freed here, so that the reply does not depend on the cleanup */
        job->cleanup = NULL;
        free(job->ctx);
        job->ctx = NULL;
        mb_job_fail(job, "db_unavailable", "the database is not connected");
    }
}


static uint64_t
mb_rexec_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


void
mb_cmd_router_exec(mb_job_t *job)
{
    json_t         *p = job->payload;
    const char     *id = json_string_value(json_object_get(p, "router_id"));
    const char     *bad;
    mb_rop_plan_t   plan;
    mb_router_t    *r;

    job->quiet = 1;

    if (!json_is_object(p) || !mb_valid_uuid(id)) {
        mb_job_fail(job, "bad_request", "payload must be an object with a "
                    "router_id (uuid) and an op");
        return;
    }

    bad = mb_rop_plan(json_string_value(json_object_get(p, "op")), p, &plan);
    if (bad != NULL) {
        mb_rop_plan_free(&plan);
        mb_job_fail(job, "bad_request", "%s", bad);
        return;
    }

    if (job->queued_ms != 0
        && mb_rexec_now_ms() > job->queued_ms + MB_REXEC_TTL_MS)
    {
        mb_rop_plan_free(&plan);
        mb_job_fail(job, "expired", "queued more than 60 s ago; not run");
        return;
    }

    r = mb_registry_find(job->worker->registry, id);

    if (r != NULL && r->owner) {
        mb_rexec_run(job, r, &plan);
        return;
    }

    mb_rop_plan_free(&plan);
    mb_router_route(job, r, id);
}
