/*
 * Which router we are talking to: after each login of the managed
 * connection, /system/identity/print and /system/resource/print (both at
 * once, tagged) give the identity, the RouterOS version and the board,
 * and the first two go to router_status.  It is information only: a
 * failed read is logged and changes nothing, so it can never mark a
 * router down (the connection's own state does that, mb_sync.c).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_pg.h"
#include "mb_router.h"
#include "mb_valid.h"


#define MB_INFO_CMD_MS  10000
#define MB_INFO_DB_MS   10000
#define MB_INFO_MAX     255           /* RouterOS keeps these far shorter */


/*
 * Ordered after the connection state's upsert on the one FIFO database
 * connection; if that upsert was lost, the row is made here, and it may
 * say connected: the router has just answered.  COALESCE keeps a value
 * the router did not send this time.
 */
static const char  mb_router_info_sql[] =
    "INSERT INTO router_status AS rs (router_id, connected,"
    " interval_seconds, identity, version, updated_at)"
    " VALUES ($1, true, $2, $3, $4, now())"
    " ON CONFLICT (router_id) DO UPDATE"
    " SET identity = coalesce(EXCLUDED.identity, rs.identity),"
    " version = coalesce(EXCLUDED.version, rs.version),"
    " updated_at = now()";

static const char *const  mb_router_identity_words[] = {
    "/system/identity/print", "=.proplist=name", NULL
};

static const char *const  mb_router_resource_words[] = {
    "/system/resource/print", "=.proplist=version,board-name", NULL
};


typedef struct {
    mb_router_t   *r;                 /* holds a ref */
    mb_ros_cmd_t  *identity_cmd;      /* prints in flight */
    mb_ros_cmd_t  *resource_cmd;
    char          *identity;
    char          *version;
    char          *board;
    char           error[300];        /* the first failure, or "" */
    int            closed;            /* mb_ros_client_close() ended it */
} mb_router_info_t;


static void
mb_router_info_free(mb_router_info_t *ri)
{
    mb_router_unref(ri->r);
    free(ri->identity);
    free(ri->version);
    free(ri->board);
    free(ri);
}


/* a copy of a router's text, or NULL when absent or not plain text */
static char *
mb_router_info_text(const mb_ros_sentence_t *s, const char *attr)
{
    const char  *v = mb_ros_attr(s, attr);

    return mb_valid_text(v, MB_INFO_MAX) ? strdup(v) : NULL;
}


static void
mb_router_info_stored(PGresult *res, const char *err, void *data)
{
    mb_router_info_t  *ri = data;

    (void) res;

    if (err != NULL) {
        mb_log_warn("router %s: cannot store its identity and version: %s",
                    ri->r->conf.name, err);
    }

    mb_router_info_free(ri);
}


static void
mb_router_info_store(mb_router_info_t *ri)
{
    mb_router_t  *r = ri->r;
    const char   *params[4];
    char          interval[16];

    mb_log_info("router %s: identity \"%s\", RouterOS %s, board %s",
                r->conf.name, ri->identity ? ri->identity : "?",
                ri->version ? ri->version : "?",
                ri->board ? ri->board : "?");

    if (ri->identity == NULL && ri->version == NULL) {
        mb_router_info_free(ri);
        return;
    }

    snprintf(interval, sizeof(interval), "%u", r->w->cfg->sync_interval_s);
    params[0] = r->conf.id;
    params[1] = interval;
    params[2] = ri->identity;
    params[3] = ri->version;

    if (mb_pg_query_params(r->w->pg, mb_router_info_sql, 4, params,
                           MB_INFO_DB_MS, mb_router_info_stored, ri) != 0)
    {
        mb_log_warn("router %s: the database is not connected; identity "
                    "and version not stored", r->conf.name);
        mb_router_info_free(ri);
    }
}


static void
mb_router_info_fail(mb_router_info_t *ri, mb_ros_err_e err,
    const char *message)
{
    if (ri->error[0] != '\0') {
        return;                     /* the first failure is the reason */
    }

    snprintf(ri->error, sizeof(ri->error), "%s: %s", mb_ros_err_name(err),
             message && message[0] ? message : "no details");
}


static void
mb_router_info_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev,
    void *data)
{
    mb_router_info_t  *ri = data;
    int                identity = (cmd == ri->identity_cmd);

    switch (ev->type) {

    case MB_ROS_EV_RE:
        /* single-item menus: one !re; were there more, the last counts */
        if (identity) {
            free(ri->identity);
            ri->identity = mb_router_info_text(ev->s, "name");

        } else {
            free(ri->version);
            free(ri->board);
            ri->version = mb_router_info_text(ev->s, "version");
            ri->board = mb_router_info_text(ev->s, "board-name");
        }
        return;

    case MB_ROS_EV_EMPTY:
        return;

    case MB_ROS_EV_DONE:
        break;

    case MB_ROS_EV_TRAP:
        mb_router_info_fail(ri, MB_ROS_E_PROTOCOL, ev->message);
        break;

    default:
        ri->closed |= (ev->err == MB_ROS_E_CLOSED);
        mb_router_info_fail(ri, ev->err, ev->message);
        break;
    }

    if (identity) {
        ri->identity_cmd = NULL;
    } else {
        ri->resource_cmd = NULL;
    }

    if (ri->identity_cmd != NULL || ri->resource_cmd != NULL) {
        return;                     /* the other print is still running */
    }

    if (ri->error[0] != '\0') {
        /* "closed": we let the connection go ourselves, nothing to say */
        mb_log(ri->closed ? MB_LOG_DEBUG : MB_LOG_WARN,
               "router %s: cannot read its identity and version: %s",
               ri->r->conf.name, ri->error);
        mb_router_info_free(ri);
        return;
    }

    mb_router_info_store(ri);
}


void
mb_router_info_read(mb_router_t *r)
{
    static const mb_ros_opts_t  opts = { 0, MB_INFO_CMD_MS };

    mb_router_info_t  *ri;

    if (r->client == NULL) {
        return;
    }

    ri = calloc(1, sizeof(mb_router_info_t));
    if (ri == NULL) {
        mb_log_error("router %s: no memory to read its identity",
                     r->conf.name);
        return;
    }

    ri->r = r;
    mb_router_ref(r);

    /* callbacks never run from inside mb_ros_send(): both handles are
     * set before either answer can arrive */
    ri->identity_cmd = mb_ros_send(r->client, mb_router_identity_words,
                                   &opts, mb_router_info_on_event, ri);
    ri->resource_cmd = mb_ros_send(r->client, mb_router_resource_words,
                                   &opts, mb_router_info_on_event, ri);

    if (ri->identity_cmd == NULL || ri->resource_cmd == NULL) {
        if (ri->identity_cmd != NULL) {
            mb_ros_cancel(ri->identity_cmd);
        }
        if (ri->resource_cmd != NULL) {
            mb_ros_cancel(ri->resource_cmd);
        }
        mb_log_error("router %s: cannot send the identity prints",
                     r->conf.name);
        mb_router_info_free(ri);
    }
}
