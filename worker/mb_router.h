/*
 * One router of the registry and its connection manager.  The worker that
 * holds the router's lease in Redis (mikrobill:router:<id>:owner) owns one
 * mb_ros_client connection to it; the others keep the row and forward
 * router.exec commands to the router's own stream, which the owner reads.
 * See docs/routers.md.
 */

#ifndef _MB_ROUTER_H_INCLUDED_
#define _MB_ROUTER_H_INCLUDED_


#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "mb_ros_client.h"
#include "mb_worker.h"


/* MAXLEN ~ of a router's command stream, whoever adds to it */
#define MB_ROUTER_STREAM_MAXLEN  "10000"


typedef struct mb_registry_s  mb_registry_t;
typedef struct mb_router_s    mb_router_t;
typedef struct mb_monitor_s   mb_monitor_t;
typedef struct mb_sync_s      mb_sync_t;


/* a row of routers, as the worker needs it */
typedef struct {
    char      *id;
    char      *name;
    char      *host;
    unsigned   port;
    char      *username;
    char      *password_enc;        /* sealed; opened only to connect */
    int        tls;
    int        tls_verify;
    char      *tls_ca_file;         /* NULL when absent */
    int        tls_anon_dh;
    char      *updated_at;          /* a change of the row changes it */
} mb_router_conf_t;


struct mb_router_s {
    mb_registry_t     *reg;
    mb_worker_t       *w;
    mb_router_conf_t   conf;
    char              *lease_key;         /* mikrobill:router:<id>:owner */
    char              *stream;            /* ...:<id>:commands */
    int                owner;             /* holds the lease */
    int                lease_busy;        /* a lease command in flight */
    uint64_t           lease_sent;        /* uv_now() it was sent */
    uint64_t           lease_until;       /* uv_now() we may trust it to */
    int                group_ready;       /* stream group exists: read it */
    mb_ros_client_t   *client;            /* only while owner */
    mb_monitor_t      *monitors;          /* customer monitors running */
    mb_sync_t         *sync;              /* only while owner */
    int                seen;              /* in the latest reload */
    int                removed;           /* freed when refs drop to 0 */
    unsigned           refs;              /* Redis callbacks in flight */
    uv_timer_t         timer;             /* lease tick */
    mb_router_t       *next;
};


/* conf is moved in (its strings belong to the router afterwards) */
mb_router_t *mb_router_create(mb_registry_t *reg, mb_router_conf_t *conf);
/* the row changed: reconnect with the new settings when connected */
void mb_router_update(mb_router_t *r, mb_router_conf_t *conf);
/* row gone or disabled, or shutdown: release the lease, free later */
void mb_router_remove(mb_router_t *r);

void mb_router_ref(mb_router_t *r);
void mb_router_unref(mb_router_t *r);

/* the lease (mb_lease.c) tells the router it now owns it, or lost it */
void mb_router_owned(mb_router_t *r);
void mb_router_lost(mb_router_t *r, const char *why);

/* the managed connection logged in: read the router's identity and
 * RouterOS version into router_status (mb_router_info.c); a failure is
 * only logged */
void mb_router_info_read(mb_router_t *r);

/* XGROUP CREATE on the router's stream, then claim what is pending */
void mb_router_ensure_group(mb_router_t *r);

/* forwards a router.exec job to the router's stream (acks it after) */
void mb_router_forward(mb_worker_t *w, const char *router_id,
    mb_job_t *job);
/*
 * A job for a router not owned here: forwarded to r's stream, or, with r
 * NULL (not in the registry: a new row not loaded yet, or none), looked
 * up in the database first; fails the job when missing or disabled.
 */
void mb_router_route(mb_job_t *job, mb_router_t *r, const char *router_id);

void mb_router_conf_free(mb_router_conf_t *conf);
/* 1 when two rows differ in anything that matters */
int mb_router_conf_differs(const mb_router_conf_t *a,
    const mb_router_conf_t *b);

/* client settings for conf with its password pw, already opened */
void mb_router_client_fill(const mb_router_conf_t *conf, const char *pw,
    mb_ros_client_conf_t *cc);
/*
 * Client settings for conf with the password opened with key (32 bytes)
 * into pw (wiped by the caller).  0, or -1 with a reason in err.
 */
int mb_router_client_conf(const mb_router_conf_t *conf,
    const unsigned char *key, char *pw, size_t pwlen,
    mb_ros_client_conf_t *cc, char *err, size_t errlen);

/* JSON error code for a client error: "login_failed", "timeout", ... */
const char *mb_router_err_code(mb_ros_err_e err);


#endif /* _MB_ROUTER_H_INCLUDED_ */
