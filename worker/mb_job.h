/*
 * A command taken from the stream.  Its handler answers it exactly once
 * with mb_job_reply() or mb_job_fail(); the reply is pushed to reply_to,
 * then the stream entry is acknowledged and the job freed.  A job that
 * cannot be answered (Redis down) stays pending in the consumer group and
 * is delivered again.
 */

#ifndef _MB_JOB_H_INCLUDED_
#define _MB_JOB_H_INCLUDED_


#include <hiredis/hiredis.h>
#include <jansson.h>

#include "mb_worker.h"


typedef void (*mb_handler_pt)(mb_job_t *job);


struct mb_job_s {
    mb_worker_t  *worker;
    char         *entry;            /* stream entry id */
    char         *stream;           /* NULL: the command stream */
    char         *type;             /* fields of the message, or NULL */
    char         *id;
    char         *reply_to;
    char         *payload_text;
    json_t       *payload;          /* parsed payload, NULL when absent */
    uint64_t      queued_ms;        /* first queued (Unix ms); 0 unknown */
    int           quiet;            /* never log the reply's text */
    /* a handler's state: cleanup runs when the job is freed (after the
     * reply, or unanswered at shutdown), so callbacks that still hold the
     * job can be cut off */
    void        (*cleanup)(mb_job_t *job);
    void         *ctx;
    mb_job_t     *prev, *next;      /* worker->jobs */
};


/* fields: a RESP array of name, value, ...; NULL on allocation failure */
mb_job_t *mb_job_create(mb_worker_t *w, const char *entry,
    const redisReply *fields);
/* the job of entry in flight on stream (NULL: the command stream) */
mb_job_t *mb_job_find(mb_worker_t *w, const char *stream, const char *entry);
/* 0, or -1 out of memory: the job belongs to another stream's group */
int mb_job_set_stream(mb_job_t *job, const char *stream);
/*
 * One [entry-id, [field, value, ...]] read from stream (NULL: the command
 * stream): skipped while in flight, acknowledged when its message was
 * deleted, else dispatched.
 */
void mb_job_run_entry(mb_worker_t *w, const char *stream,
    const redisReply *e);

/* validates the message and calls its handler */
void mb_job_dispatch(mb_job_t *job);

/* {"id": ..., "ok": true} for a handler to complete */
json_t *mb_job_ok(mb_job_t *job);
/* steals reply; adds "id" when missing */
void mb_job_reply(mb_job_t *job, json_t *reply);
void mb_job_fail(mb_job_t *job, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* acknowledge without a reply (deleted entries) */
void mb_job_ack(mb_job_t *job);
/* without acknowledging: the entry stays pending */
void mb_job_free(mb_job_t *job);


/* handler registry (mb_handlers.c); NULL for an unknown type */
mb_handler_pt mb_handler_find(const char *type);


#endif /* _MB_JOB_H_INCLUDED_ */
