/*
 * "ping": proves the whole path works - stream, this worker, PostgreSQL
 * (a real query, not just the connection state) and the reply channel.
 */

#include "mb_job.h"
#include "mb_log.h"
#include "mb_pg.h"


#define MB_PING_DB_TIMEOUT_MS  2000


static void
mb_cmd_ping_reply(mb_job_t *job, int db_up)
{
    json_t  *reply = mb_job_ok(job);
    char     now[40];

    mb_time_rfc3339(now, sizeof(now));

    json_object_set_new(reply, "type", json_string("pong"));
    json_object_set_new(reply, "worker",
                        json_string(job->worker->cfg->consumer_name));
    json_object_set_new(reply, "db", json_string(db_up ? "up" : "down"));
    json_object_set_new(reply, "redis", json_string("up"));
    json_object_set_new(reply, "time", json_string(now));

    mb_job_reply(job, reply);
}


static void
mb_cmd_ping_db(PGresult *res, const char *err, void *data)
{
    (void) res;

    if (err != NULL) {
        mb_log_debug("ping: database check failed: %s", err);
    }

    mb_cmd_ping_reply(data, err == NULL);
}


void
mb_cmd_ping(mb_job_t *job)
{
    if (mb_pg_query(job->worker->pg, "SELECT 1", MB_PING_DB_TIMEOUT_MS,
                    mb_cmd_ping_db, job) != 0)
    {
        mb_cmd_ping_reply(job, 0);
    }
}
