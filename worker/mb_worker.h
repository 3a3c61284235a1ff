/*
 * The running worker: the loop and the connections every part shares.
 */

#ifndef _MB_WORKER_H_INCLUDED_
#define _MB_WORKER_H_INCLUDED_


#include <uv.h>

#include "mb_config.h"


typedef struct mb_worker_s  mb_worker_t;
typedef struct mb_pg_s      mb_pg_t;
typedef struct mb_redis_s   mb_redis_t;
typedef struct mb_stream_s  mb_stream_t;
typedef struct mb_job_s     mb_job_t;
typedef struct mb_registry_s  mb_registry_t;


struct mb_worker_s {
    uv_loop_t      *loop;
    mb_config_t    *cfg;
    mb_pg_t        *pg;
    mb_redis_t     *reader;         /* XREADGROUP ... BLOCK only */
    mb_redis_t     *ctl;            /* group, claims, replies, acks */
    mb_stream_t    *stream;
    mb_registry_t  *registry;       /* routers and their connections */
    mb_job_t       *jobs;           /* in flight, newest first */
    unsigned        njobs;
    int             stopping;
    uv_signal_t     sigterm;
    uv_signal_t     sigint;
    uv_timer_t      stop_timer;
};


/* a job finished while stopping: shutdown may go on when none is left */
void mb_worker_job_done(mb_worker_t *w);


#endif /* _MB_WORKER_H_INCLUDED_ */
