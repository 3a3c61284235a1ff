/*
 * Fan-out of Redis pub/sub to the WebSocket clients of one nginx worker:
 * one subscriber connection, one Redis subscription per channel while it
 * has local subscribers, each message framed once for all of them.
 */

#ifndef _NGX_MIKROBILL_FANOUT_H_INCLUDED_
#define _NGX_MIKROBILL_FANOUT_H_INCLUDED_


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_ws.h"


#define NGX_MIKROBILL_FANOUT_PREFIX    "mikrobill:traffic:"
#define NGX_MIKROBILL_FANOUT_SYNC      "mikrobill:events:sync"
#define NGX_MIKROBILL_FANOUT_MAX_SUBS  1000     /* per client */


/* ngx_mikrobill_fanout_t is declared in ngx_mikrobill.h (main conf) */


/* a WebSocket client as the fan-out knows it (the caller's memory) */
typedef struct {
    ngx_queue_t                 link;      /* in the fan-out's clients */
    ngx_queue_t                 subs;      /* its subscriptions */
    ngx_uint_t                  nsubs;
    ngx_mikrobill_ws_t         *ws;
    unsigned                    star:1;    /* "*" is live for it */
    unsigned                    joined:1;
} ngx_mikrobill_fanout_client_t;


ngx_mikrobill_fanout_t *ngx_mikrobill_fanout_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf);
void ngx_mikrobill_fanout_destroy(ngx_mikrobill_fanout_t *fo);

/* every joined client receives the sync events */
void ngx_mikrobill_fanout_join(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client);

/* drops all its subscriptions; nothing is sent to it any more */
void ngx_mikrobill_fanout_leave(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client);

/*
 * id: a customer id (already validated) or "*".  The client is answered
 * ("subscribed" now or once Redis confirms, or an error event).
 */
void ngx_mikrobill_fanout_subscribe(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client, ngx_str_t *id);
void ngx_mikrobill_fanout_unsubscribe(ngx_mikrobill_fanout_t *fo,
    ngx_mikrobill_fanout_client_t *client, ngx_str_t *id);

/* {"event":"error","error":error,"message":message} to one client */
void ngx_mikrobill_fanout_error(ngx_mikrobill_ws_t *ws, const char *error,
    const char *message);


#endif /* _NGX_MIKROBILL_FANOUT_H_INCLUDED_ */
