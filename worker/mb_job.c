/*
 * Jobs: one stream entry each, from creation to the reply and XACK.
 * The reply is RPUSH reply_to, EXPIRE reply_to 60 (a caller that gave up
 * must not leave keys behind), then XACK, pipelined on the control
 * connection; the job is freed by the XACK callback.
 */

#include "mb_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_redis.h"


#define MB_JOB_REPLY_TTL   "60"
#define MB_JOB_REDIS_MS    5000


static int
mb_job_field(char **dst, const redisReply *value)
{
    if (value->type != REDIS_REPLY_STRING) {
        return 0;
    }

    free(*dst);
    *dst = strndup(value->str, value->len);

    return *dst == NULL ? -1 : 0;
}


static int
mb_job_fields(mb_job_t *job, const redisReply *f)
{
    size_t       i;
    const char  *name;
    int          rc = 0;

    for (i = 0; rc == 0 && i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        name = f->element[i]->str;

        if (strcmp(name, "type") == 0) {
            rc = mb_job_field(&job->type, f->element[i + 1]);
        } else if (strcmp(name, "id") == 0) {
            rc = mb_job_field(&job->id, f->element[i + 1]);
        } else if (strcmp(name, "reply_to") == 0) {
            rc = mb_job_field(&job->reply_to, f->element[i + 1]);
        } else if (strcmp(name, "payload") == 0) {
            rc = mb_job_field(&job->payload_text, f->element[i + 1]);
        } else if (strcmp(name, "queued") == 0
                   && f->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            job->queued_ms = strtoull(f->element[i + 1]->str, NULL, 10);
        }
    }

    return rc;
}


mb_job_t *
mb_job_create(mb_worker_t *w, const char *entry, const redisReply *fields)
{
    mb_job_t  *job;

    job = calloc(1, sizeof(mb_job_t));
    if (job == NULL) {
        return NULL;
    }

    job->worker = w;
    job->entry = strdup(entry);
    /* an entry id is "<ms>-<seq>": when it was queued, unless forwarded */
    job->queued_ms = strtoull(entry, NULL, 10);
    job->next = w->jobs;
    if (w->jobs) {
        w->jobs->prev = job;
    }
    w->jobs = job;
    w->njobs++;

    if (job->entry == NULL
        || (fields != NULL && mb_job_fields(job, fields) != 0))
    {
        mb_job_free(job);
        return NULL;
    }

    return job;
}


int
mb_job_set_stream(mb_job_t *job, const char *stream)
{
    free(job->stream);
    job->stream = strdup(stream);

    return job->stream == NULL ? -1 : 0;
}


/* entry ids are per stream: the same id may be in flight on another one */
mb_job_t *
mb_job_find(mb_worker_t *w, const char *stream, const char *entry)
{
    mb_job_t  *job;

    for (job = w->jobs; job != NULL; job = job->next) {
        if (strcmp(job->entry, entry) == 0
            && (job->stream == NULL
                ? stream == NULL
                : stream != NULL && strcmp(job->stream, stream) == 0))
        {
            return job;
        }
    }

    return NULL;
}


void
mb_job_run_entry(mb_worker_t *w, const char *stream, const redisReply *e)
{
    mb_job_t  *job;
    int        deleted;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || mb_job_find(w, stream, e->element[0]->str) != NULL)
    {
        return;
    }

    deleted = e->element[1]->type != REDIS_REPLY_ARRAY;
    job = mb_job_create(w, e->element[0]->str,
                        deleted ? NULL : e->element[1]);

    if (job == NULL
        || (stream != NULL && mb_job_set_stream(job, stream) != 0))
    {
        mb_log_error("entry %s: out of memory", e->element[0]->str);
        if (job != NULL) {
            mb_job_free(job);
        }
        return;
    }

    /* a pending entry whose message was deleted (XDEL, trimming) */
    if (deleted) {
        mb_job_ack(job);
    } else {
        mb_job_dispatch(job);
    }
}


void
mb_job_free(mb_job_t *job)
{
    mb_worker_t  *w = job->worker;

    if (job->cleanup != NULL) {
        job->cleanup(job);
    }

    if (job->prev) job->prev->next = job->next; else w->jobs = job->next;
    if (job->next) job->next->prev = job->prev;
    w->njobs--;

    free(job->entry);
    free(job->stream);
    free(job->type);
    free(job->id);
    free(job->reply_to);
    free(job->payload_text);
    json_decref(job->payload);
    free(job);

    mb_worker_job_done(w);
}


void
mb_job_dispatch(mb_job_t *job)
{
    mb_handler_pt  handler;
    json_error_t   jerr;

    mb_log_debug("command %s id %s entry %s", job->type ? job->type : "-",
                 job->id ? job->id : "-", job->entry);

    if (job->type == NULL || job->type[0] == '\0') {
        mb_job_fail(job, "bad_request", "the message has no type");
        return;
    }

    if (job->payload_text != NULL && job->payload_text[0] != '\0') {
        job->payload = json_loads(job->payload_text, JSON_DECODE_ANY, &jerr);
        if (job->payload == NULL) {
            mb_job_fail(job, "bad_request", "payload is not valid JSON: %s",
                        jerr.text);
            return;
        }
    }

    handler = mb_handler_find(job->type);
    if (handler == NULL) {
        mb_job_fail(job, "unknown_command", "unknown command type \"%s\"",
                    job->type);
        return;
    }

    handler(job);
}


/* a string from the stream may not be UTF-8: then null, not a bad reply */
static json_t *
mb_job_string(const char *s)
{
    json_t  *j = s ? json_string(s) : NULL;

    return j ? j : json_null();
}


json_t *
mb_job_ok(mb_job_t *job)
{
    json_t  *reply = json_object();

    json_object_set_new(reply, "id", mb_job_string(job->id));
    json_object_set_new(reply, "ok", json_true());

    return reply;
}


void
mb_job_fail(mb_job_t *job, const char *error, const char *fmt, ...)
{
    json_t   *reply = json_object();
    char      message[512];
    va_list   ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    json_object_set_new(reply, "id", mb_job_string(job->id));
    json_object_set_new(reply, "ok", json_false());
    json_object_set_new(reply, "error", json_string(error));
    json_object_set_new(reply, "message", mb_job_string(message));

    mb_job_reply(job, reply);
}


static void
mb_job_acked(mb_redis_t *r, redisReply *reply, void *data)
{
    mb_job_t  *job = data;

    (void) r;

    if (reply == NULL) {
        mb_log_warn("entry %s: connection lost before XACK; it stays "
                    "pending", job->entry);
    }

    mb_job_free(job);
}


/* no job here: it may be gone by the time this answer arrives */
static void
mb_job_pushed(mb_redis_t *r, redisReply *reply, void *data)
{
    (void) r;
    (void) data;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        mb_log_error("sending a reply failed: %s", reply->str);
    }
}


void
mb_job_ack(mb_job_t *job)
{
    mb_worker_t  *w = job->worker;

    if (mb_redis_command(w->ctl, MB_JOB_REDIS_MS, mb_job_acked, job,
                         "XACK %s %s %s",
                         job->stream ? job->stream : w->cfg->stream,
                         w->cfg->group, job->entry) != 0)
    {
        mb_log_warn("entry %s: redis down, not acknowledged; it stays "
                    "pending", job->entry);
        mb_job_free(job);
    }
}


static void
mb_job_push(mb_job_t *job, const char *text)
{
    mb_redis_t  *ctl = job->worker->ctl;

    if (mb_redis_command(ctl, MB_JOB_REDIS_MS, mb_job_pushed, NULL,
                         "RPUSH %s %s", job->reply_to, text) != 0
        || mb_redis_command(ctl, MB_JOB_REDIS_MS, mb_job_pushed, NULL,
                            "EXPIRE %s " MB_JOB_REPLY_TTL, job->reply_to)
           != 0)
    {
        mb_log_warn("entry %s: redis down, reply not sent; it stays "
                    "pending", job->entry);
        mb_job_free(job);
        return;
    }

    mb_job_ack(job);
}


void
mb_job_reply(mb_job_t *job, json_t *reply)
{
    char  *text;

    if (json_object_get(reply, "id") == NULL) {
        json_object_set_new(reply, "id", mb_job_string(job->id));
    }

    /* 6 significant digits: 0.09, not 0.089999999999999997 */
    text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER
                             | JSON_REAL_PRECISION(6));
    json_decref(reply);

    if (text == NULL) {
        mb_log_error("entry %s: cannot encode the reply", job->entry);
        mb_job_ack(job);
        return;
    }

    /* router replies may hold customer passwords (secret.print) */
    if (job->quiet) {
        mb_log_debug("reply entry %s to %s: %zu bytes", job->entry,
                     job->reply_to ? job->reply_to : "-", strlen(text));
    } else {
        mb_log_debug("reply entry %s to %s: %s", job->entry,
                     job->reply_to ? job->reply_to : "-", text);
    }

    if (job->reply_to == NULL || job->reply_to[0] == '\0') {
        mb_job_ack(job);
    } else {
        mb_job_push(job, text);
    }

    free(text);
}
