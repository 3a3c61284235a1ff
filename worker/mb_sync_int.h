/*
 * The sync's state shared by its files: mb_sync.c (schedule and fetch),
 * mb_sync_list.c (the sessions as array literals) and mb_sync_apply.c
 * (the database and the event).
 */

#ifndef _MB_SYNC_INT_H_INCLUDED_
#define _MB_SYNC_INT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "mb_sync.h"


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    int      failed;                /* out of memory */
} mb_sync_buf_t;


/* kind, name, address, uptime, caller, start: one array literal each */
#define MB_SYNC_NCOLS  6

typedef struct {
    mb_sync_buf_t   col[MB_SYNC_NCOLS];
} mb_sync_list_t;


typedef struct mb_sync_s {
    mb_router_t    *r;              /* holds a ref */
    unsigned        refs;           /* the router's link, the timer, each
                                       callback in flight */
    int             stopped;
    int             running;
    int             again;          /* sync.now during a run */
    int             manual;         /* this run's trigger */
    int             conn_known;     /* conn_up holds the last state */
    int             conn_up;
    mb_ros_cmd_t   *ppp;            /* fetches in flight */
    mb_ros_cmd_t   *hotspot;
    mb_sync_list_t  list;           /* the sessions fetched */
    size_t          nsessions;
    char            error[300];     /* the fetch's failure, or "" */
    char            started[40];    /* RFC 3339 */
    long long       wall0;          /* Unix seconds at start */
    uint64_t        t0;             /* uv_hrtime() at start */
    uint64_t        t_fetched;
    uv_timer_t      timer;
} mb_sync_t;


void mb_sync_ref(mb_sync_t *s);
void mb_sync_unref(mb_sync_t *s);
/* the run is over (applied, failed, or abandoned): maybe the next */
void mb_sync_done(mb_sync_t *s);

/* mb_sync_list.c: empty the arrays, add one session, close (0 or -1
 * out of memory) */
void mb_sync_list_open(mb_sync_list_t *l);
void mb_sync_list_add(mb_sync_list_t *l, const char *kind,
    const char *name, const char *address, const char *uptime,
    const char *caller, long long now_s);
int mb_sync_list_close(mb_sync_list_t *l);
void mb_sync_list_free(mb_sync_list_t *l);
long mb_sync_uptime_s(const char *uptime);

/* mb_sync_apply.c: write the fetched run, or its failure */
void mb_sync_apply(mb_sync_t *s);
void mb_sync_apply_failed(mb_sync_t *s);


#endif /* _MB_SYNC_INT_H_INCLUDED_ */
