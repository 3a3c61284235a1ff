/*
 * PostgreSQL connection pool of one nginx worker.
 *
 * libpq runs in nonblocking mode on sockets wrapped in nginx connections
 * (c->shared: the fd belongs to libpq, PQfinish() closes it).  Connections
 * are opened on demand up to pg_pool_size; a query gets an idle connection
 * or waits in a bounded queue.  Statements are prepared lazily, once per
 * connection.  A connection that times out, breaks or fails to connect is
 * dropped; the next query opens a new one, so the pool heals by itself
 * after a PostgreSQL restart.
 */


#include "ngx_mikrobill_pg.h"

#include <sys/socket.h>
#include <sys/stat.h>


#define NGX_MIKROBILL_PG_MAX_WAITING  1024
#define NGX_MIKROBILL_PG_POLL_LOOPS   8
#define NGX_MIKROBILL_PG_READ_LOOPS   16


typedef struct ngx_mikrobill_pg_conn_s   ngx_mikrobill_pg_conn_t;
typedef struct ngx_mikrobill_pg_query_s  ngx_mikrobill_pg_query_t;


typedef enum {
    NGX_MIKROBILL_PG_CONNECTING = 0,
    NGX_MIKROBILL_PG_IDLE,
    NGX_MIKROBILL_PG_PREPARE,
    NGX_MIKROBILL_PG_QUERY
} ngx_mikrobill_pg_state_e;


struct ngx_mikrobill_pg_pool_s {
    ngx_mikrobill_main_conf_t      *mcf;
    ngx_log_t                      *log;

    ngx_queue_t                     conns;     /* all connections */
    ngx_queue_t                     idle;      /* ready for a query */
    ngx_queue_t                     waiting;   /* queries without one */
    ngx_queue_t                     queries;   /* every live query */

    ngx_uint_t                      nconns;
    ngx_uint_t                      nconnecting;
    ngx_uint_t                      nwaiting;

    const char                     *conninfo;  /* NUL-terminated */
};


struct ngx_mikrobill_pg_conn_s {
    ngx_queue_t                     queue;     /* in pool->conns */
    ngx_queue_t                     idle;      /* in pool->idle */
    ngx_mikrobill_pg_pool_t        *pool;
    ngx_pool_t                     *mem;
    PGconn                         *pg;
    ngx_connection_t               *c;
    ngx_mikrobill_pg_state_e        state;
    ngx_mikrobill_pg_query_t       *query;
    ngx_array_t                     prepared;  /* of stmt pointers */
    ngx_event_t                     connect_timer;
    ino_t                           ino;       /* of the wrapped socket */
    PGresult                       *result;    /* got, awaiting the end */
    unsigned                        flushing:1;
    unsigned                        in_idle:1;
};


struct ngx_mikrobill_pg_query_s {
    ngx_queue_t                     queue;     /* in pool->queries */
    ngx_queue_t                     wait;      /* in pool->waiting */
    ngx_mikrobill_pg_pool_t        *pool;
    ngx_mikrobill_pg_conn_t        *conn;
    const ngx_mikrobill_pg_stmt_t  *stmt;
    const char                    **values;
    ngx_mikrobill_pg_handler_pt     handler;
    void                           *data;
    ngx_event_t                     ev;        /* timeout, or failure */
    unsigned                        waiting:1;
};


static ngx_mikrobill_pg_query_t *ngx_mikrobill_pg_query_alloc(
    ngx_mikrobill_pg_pool_t *pool, const ngx_mikrobill_pg_stmt_t *stmt,
    const char *const *values);
static void ngx_mikrobill_pg_query_free(ngx_mikrobill_pg_query_t *q);
static void ngx_mikrobill_pg_query_fail(ngx_mikrobill_pg_query_t *q);
static void ngx_mikrobill_pg_query_failed(ngx_event_t *ev);
static void ngx_mikrobill_pg_query_timeout(ngx_event_t *ev);
static void ngx_mikrobill_pg_dispatch(ngx_mikrobill_pg_pool_t *pool,
    ngx_mikrobill_pg_query_t *q);
static void ngx_mikrobill_pg_wait(ngx_mikrobill_pg_pool_t *pool,
    ngx_mikrobill_pg_query_t *q);
static void ngx_mikrobill_pg_unwait(ngx_mikrobill_pg_query_t *q);
static void ngx_mikrobill_pg_grow(ngx_mikrobill_pg_pool_t *pool);
static ngx_int_t ngx_mikrobill_pg_connect(ngx_mikrobill_pg_pool_t *pool);
static ngx_int_t ngx_mikrobill_pg_wrap(ngx_mikrobill_pg_conn_t *conn);
static ino_t ngx_mikrobill_pg_socket_ino(int fd);
static void ngx_mikrobill_pg_connect_handler(ngx_event_t *ev);
static void ngx_mikrobill_pg_connect_timeout(ngx_event_t *ev);
static void ngx_mikrobill_pg_connect_failed(ngx_mikrobill_pg_conn_t *conn);
static void ngx_mikrobill_pg_connected(ngx_mikrobill_pg_conn_t *conn);
static void ngx_mikrobill_pg_release(ngx_mikrobill_pg_conn_t *conn);
static ngx_mikrobill_pg_conn_t *ngx_mikrobill_pg_get_idle(
    ngx_mikrobill_pg_pool_t *pool);
static ngx_int_t ngx_mikrobill_pg_alive(ngx_mikrobill_pg_conn_t *conn);
static ngx_int_t ngx_mikrobill_pg_run(ngx_mikrobill_pg_conn_t *conn,
    ngx_mikrobill_pg_query_t *q);
static ngx_int_t ngx_mikrobill_pg_send(ngx_mikrobill_pg_conn_t *conn);
static ngx_int_t ngx_mikrobill_pg_flush(ngx_mikrobill_pg_conn_t *conn);
static ngx_flag_t ngx_mikrobill_pg_is_prepared(ngx_mikrobill_pg_conn_t *conn,
    const ngx_mikrobill_pg_stmt_t *stmt);
static void ngx_mikrobill_pg_read_handler(ngx_event_t *ev);
static void ngx_mikrobill_pg_write_handler(ngx_event_t *ev);
static ngx_int_t ngx_mikrobill_pg_consume(ngx_mikrobill_pg_conn_t *conn);
static void ngx_mikrobill_pg_process(ngx_mikrobill_pg_conn_t *conn,
    ngx_flag_t eof);
static void ngx_mikrobill_pg_result(ngx_mikrobill_pg_conn_t *conn,
    PGresult *res);
static void ngx_mikrobill_pg_deliver(ngx_mikrobill_pg_conn_t *conn,
    PGresult *res, ngx_flag_t keep);
static void ngx_mikrobill_pg_lost(ngx_mikrobill_pg_conn_t *conn,
    const char *why);
static void ngx_mikrobill_pg_drop(ngx_mikrobill_pg_conn_t *conn);
static void ngx_mikrobill_pg_fail_waiting(ngx_mikrobill_pg_pool_t *pool);
static const char *ngx_mikrobill_pg_error(PGconn *pg);


ngx_mikrobill_pg_pool_t *
ngx_mikrobill_pg_pool_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf)
{
    ngx_mikrobill_pg_pool_t  *pool;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_mikrobill_pg_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->mcf = mcf;
    pool->log = cycle->log;

    pool->conninfo = ngx_pnalloc(cycle->pool, mcf->pg_conninfo.len + 1);
    if (pool->conninfo == NULL) {
        return NULL;
    }

    ngx_cpystrn((u_char *) pool->conninfo, mcf->pg_conninfo.data,
                mcf->pg_conninfo.len + 1);

    ngx_queue_init(&pool->conns);
    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);
    ngx_queue_init(&pool->queries);

    return pool;
}


/* at worker exit: no handler is called, requests are gone */

void
ngx_mikrobill_pg_pool_destroy(ngx_mikrobill_pg_pool_t *pool)
{
    ngx_queue_t               *qu;
    ngx_mikrobill_pg_conn_t   *conn;
    ngx_mikrobill_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->conns)) {
        qu = ngx_queue_head(&pool->conns);
        conn = ngx_queue_data(qu, ngx_mikrobill_pg_conn_t, queue);
        conn->query = NULL;
        ngx_mikrobill_pg_drop(conn);
    }

    while (!ngx_queue_empty(&pool->queries)) {
        qu = ngx_queue_head(&pool->queries);
        q = ngx_queue_data(qu, ngx_mikrobill_pg_query_t, queue);
        ngx_mikrobill_pg_query_free(q);
    }
}


ngx_int_t
ngx_mikrobill_pg_exec(ngx_mikrobill_pg_pool_t *pool,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler, void *data)
{
    ngx_mikrobill_pg_query_t  *q;

    q = ngx_mikrobill_pg_query_alloc(pool, stmt, values);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->handler = handler;
    q->data = data;

    /* no pool: mikrobill_pg is not configured; the database is "down" */

    if (pool == NULL) {
        ngx_mikrobill_pg_query_fail(q);
        return NGX_OK;
    }

    ngx_queue_insert_tail(&pool->queries, &q->queue);

    ngx_add_timer(&q->ev, pool->mcf->pg_query_timeout);

    ngx_mikrobill_pg_dispatch(pool, q);

    return NGX_OK;
}


const char *
ngx_mikrobill_pg_sqlstate(PGresult *res)
{
    const char  *state;

    if (res == NULL) {
        return "";
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state ? state : "";
}


/* one allocation: the query, the values array and the value strings */

static ngx_mikrobill_pg_query_t *
ngx_mikrobill_pg_query_alloc(ngx_mikrobill_pg_pool_t *pool,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values)
{
    int                        i, n;
    char                      *p;
    size_t                     size, len;
    ngx_log_t                 *log;
    ngx_mikrobill_pg_query_t  *q;

    log = pool ? pool->log : ngx_cycle->log;
    n = values ? stmt->nparams : 0;

    size = sizeof(ngx_mikrobill_pg_query_t) + n * sizeof(char *);

    for (i = 0; i < n; i++) {
        if (values[i]) {
            size += ngx_strlen(values[i]) + 1;
        }
    }

    q = ngx_alloc(size, log);
    if (q == NULL) {
        return NULL;
    }

    ngx_memzero(q, sizeof(ngx_mikrobill_pg_query_t));

    q->pool = pool;
    q->stmt = stmt;
    q->values = (const char **) (q + 1);
    p = (char *) (q->values + n);

    for (i = 0; i < n; i++) {
        if (values[i] == NULL) {
            q->values[i] = NULL;
            continue;
        }

        len = ngx_strlen(values[i]) + 1;
        ngx_memcpy(p, values[i], len);
        q->values[i] = p;
        p += len;
    }

    q->ev.data = q;
    q->ev.log = log;
    q->ev.handler = ngx_mikrobill_pg_query_timeout;

    ngx_queue_init(&q->queue);

    return q;
}


static void
ngx_mikrobill_pg_query_free(ngx_mikrobill_pg_query_t *q)
{
    if (q->ev.timer_set) {
        ngx_del_timer(&q->ev);
    }

    if (q->ev.posted) {
        ngx_delete_posted_event(&q->ev);
    }

    ngx_mikrobill_pg_unwait(q);
    ngx_queue_remove(&q->queue);

    ngx_free(q);
}


/*
 * Failures are reported from a posted event: the caller may be inside
 * ngx_mikrobill_pg_exec() or walking one of the pool's queues.
 */

static void
ngx_mikrobill_pg_query_fail(ngx_mikrobill_pg_query_t *q)
{
    ngx_mikrobill_pg_unwait(q);

    q->conn = NULL;

    if (q->ev.timer_set) {
        ngx_del_timer(&q->ev);
    }

    q->ev.handler = ngx_mikrobill_pg_query_failed;

    ngx_post_event(&q->ev, &ngx_posted_events);
}


static void
ngx_mikrobill_pg_query_failed(ngx_event_t *ev)
{
    ngx_mikrobill_pg_query_t  *q = ev->data;

    ngx_mikrobill_pg_handler_pt   handler;
    void                         *data;

    handler = q->handler;
    data = q->data;

    ngx_mikrobill_pg_query_free(q);

    handler(data, NULL, NGX_ERROR);
}


static void
ngx_mikrobill_pg_query_timeout(ngx_event_t *ev)
{
    ngx_mikrobill_pg_query_t  *q = ev->data;

    ngx_mikrobill_pg_conn_t  *conn;
    ngx_mikrobill_pg_pool_t  *pool;

    pool = q->pool;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "mikrobill pg: statement \"%s\" timed out%s",
                  q->stmt->name,
                  q->waiting ? " waiting for a connection" : "");

    conn = q->conn;

    if (conn) {
        /* the server may still be running it: the connection goes */
        conn->query = NULL;
        q->conn = NULL;
        ngx_mikrobill_pg_drop(conn);
    }

    ngx_mikrobill_pg_query_failed(ev);

    if (conn) {
        ngx_mikrobill_pg_grow(pool);
    }
}


static void
ngx_mikrobill_pg_dispatch(ngx_mikrobill_pg_pool_t *pool,
    ngx_mikrobill_pg_query_t *q)
{
    ngx_mikrobill_pg_conn_t  *conn;

    for ( ;; ) {
        conn = ngx_mikrobill_pg_get_idle(pool);

        if (conn == NULL) {
            ngx_mikrobill_pg_wait(pool, q);
            return;
        }

        if (ngx_mikrobill_pg_run(conn, q) == NGX_OK) {
            return;
        }

        /* nothing was executed on a broken idle connection: try again */

        conn->query = NULL;
        q->conn = NULL;
        ngx_mikrobill_pg_drop(conn);
    }
}


static void
ngx_mikrobill_pg_wait(ngx_mikrobill_pg_pool_t *pool,
    ngx_mikrobill_pg_query_t *q)
{
    if (pool->nwaiting >= NGX_MIKROBILL_PG_MAX_WAITING) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "mikrobill pg: too many queries waiting");
        ngx_mikrobill_pg_query_fail(q);
        return;
    }

    ngx_queue_insert_tail(&pool->waiting, &q->wait);

    q->waiting = 1;
    pool->nwaiting++;

    ngx_mikrobill_pg_grow(pool);
}


static void
ngx_mikrobill_pg_unwait(ngx_mikrobill_pg_query_t *q)
{
    if (!q->waiting) {
        return;
    }

    ngx_queue_remove(&q->wait);
    q->waiting = 0;
    q->pool->nwaiting--;
}


/* open connections for waiting queries, up to the pool size */

static void
ngx_mikrobill_pg_grow(ngx_mikrobill_pg_pool_t *pool)
{
    while (pool->nconnecting < pool->nwaiting
           && pool->nconns < pool->mcf->pg_pool_size)
    {
        if (ngx_mikrobill_pg_connect(pool) != NGX_OK) {
            if (pool->nconns == 0) {
                ngx_mikrobill_pg_fail_waiting(pool);
            }

            return;
        }
    }
}


static ngx_int_t
ngx_mikrobill_pg_connect(ngx_mikrobill_pg_pool_t *pool)
{
    ngx_pool_t               *mem;
    const char               *values[4];
    ngx_mikrobill_pg_conn_t  *conn;

    static const char *const  keywords[] = {
        "dbname", "host", "hostaddr", NULL
    };

    mem = ngx_create_pool(512, pool->log);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    conn = ngx_pcalloc(mem, sizeof(ngx_mikrobill_pg_conn_t));
    if (conn == NULL
        || ngx_array_init(&conn->prepared, mem, 8, sizeof(void *)) != NGX_OK)
    {
        ngx_destroy_pool(mem);
        return NGX_ERROR;
    }

    conn->mem = mem;
    conn->pool = pool;
    conn->state = NGX_MIKROBILL_PG_CONNECTING;

    /*
     * expand_dbname: the whole conninfo string is parsed by libpq; the
     * addresses resolved at configuration time (ngx_mikrobill_resolve.c)
     * come after it and win, so libpq does no DNS lookup here.  NULL
     * values are skipped.
     */

    values[0] = pool->conninfo;
    values[1] = pool->mcf->pg_host;
    values[2] = pool->mcf->pg_hostaddr;
    values[3] = NULL;

    conn->pg = PQconnectStartParams(keywords, values, 1);

    if (conn->pg == NULL || PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "mikrobill pg: cannot connect: %s",
                      ngx_mikrobill_pg_error(conn->pg));
        PQfinish(conn->pg);
        ngx_destroy_pool(mem);
        return NGX_ERROR;
    }

    conn->connect_timer.data = conn;
    conn->connect_timer.log = pool->log;
    conn->connect_timer.handler = ngx_mikrobill_pg_connect_timeout;
    conn->connect_timer.cancelable = 1;

    ngx_queue_insert_tail(&pool->conns, &conn->queue);
    pool->nconns++;
    pool->nconnecting++;

    if (ngx_mikrobill_pg_wrap(conn) != NGX_OK) {
        ngx_mikrobill_pg_drop(conn);
        return NGX_ERROR;
    }

    ngx_add_timer(&conn->connect_timer, pool->mcf->pg_connect_timeout);

    return NGX_OK;
}


/*
 * Wrap libpq's current socket in an nginx connection and register it for
 * edge-triggered read and write notifications.  libpq may switch sockets
 * while connecting (next address, SSL or GSS fallback), so this runs again
 * whenever PQsocket() changes.
 */

static ngx_int_t
ngx_mikrobill_pg_wrap(ngx_mikrobill_pg_conn_t *conn)
{
    int                fd;
    ngx_event_t       *rev, *wev;
    ngx_connection_t  *c;

    if (conn->c) {
        /* libpq has closed the old fd already: no epoll_ctl() on it */
        ngx_close_connection(conn->c);
        conn->c = NULL;
    }

    fd = PQsocket(conn->pg);
    if (fd < 0) {
        return NGX_ERROR;
    }

    conn->ino = ngx_mikrobill_pg_socket_ino(fd);

    c = ngx_get_connection(fd, conn->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->shared = 1;
    c->data = conn;

    rev = c->read;
    wev = c->write;

    rev->log = conn->pool->log;
    wev->log = conn->pool->log;

    rev->handler = ngx_mikrobill_pg_connect_handler;
    wev->handler = ngx_mikrobill_pg_connect_handler;

    conn->c = c;

    if (ngx_add_conn) {
        if (ngx_add_conn(c) != NGX_OK) {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_add_event(rev, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK
        || ngx_add_event(wev, NGX_WRITE_EVENT, NGX_CLEAR_EVENT) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * libpq closes a failed socket and opens the next one, usually under the
 * same fd number; the closed one left epoll, so the inode tells them apart.
 */

static ino_t
ngx_mikrobill_pg_socket_ino(int fd)
{
    struct stat  st;

    if (fd < 0 || fstat(fd, &st) == -1) {
        return 0;
    }

    return st.st_ino;
}


static void
ngx_mikrobill_pg_connect_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    ngx_uint_t                 i;
    PostgresPollingStatusType  st;
    ngx_mikrobill_pg_conn_t   *conn;

    conn = c->data;

    for (i = 0; i < NGX_MIKROBILL_PG_POLL_LOOPS; i++) {

        st = PQconnectPoll(conn->pg);

        if (st == PGRES_POLLING_OK) {
            ngx_mikrobill_pg_connected(conn);
            return;
        }

        if (st == PGRES_POLLING_FAILED) {
            ngx_log_error(NGX_LOG_ERR, conn->pool->log, 0,
                          "mikrobill pg: connect failed: %s",
                          ngx_mikrobill_pg_error(conn->pg));
            ngx_mikrobill_pg_connect_failed(conn);
            return;
        }

        if (PQsocket(conn->pg) != conn->c->fd
            || ngx_mikrobill_pg_socket_ino(conn->c->fd) != conn->ino)
        {
            if (ngx_mikrobill_pg_wrap(conn) != NGX_OK) {
                ngx_mikrobill_pg_connect_failed(conn);
            }

            /* the new socket's registration reports its readiness */
            return;
        }

        /*
         * After the TCP handshake libpq wants to write the startup packet;
         * the socket is writable and its edge is gone: poll right away.
         */

        if (st != PGRES_POLLING_WRITING
            || PQstatus(conn->pg) != CONNECTION_MADE)
        {
            return;
        }
    }
}


static void
ngx_mikrobill_pg_connect_timeout(ngx_event_t *ev)
{
    ngx_mikrobill_pg_conn_t  *conn = ev->data;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "mikrobill pg: connect timed out");

    ngx_mikrobill_pg_connect_failed(conn);
}


/*
 * Queries waiting for this connection fail when no other connection is
 * left to serve them: the database is unavailable right now.
 */

static void
ngx_mikrobill_pg_connect_failed(ngx_mikrobill_pg_conn_t *conn)
{
    ngx_mikrobill_pg_pool_t  *pool;

    pool = conn->pool;

    ngx_mikrobill_pg_drop(conn);

    if (pool->nconns == 0) {
        ngx_mikrobill_pg_fail_waiting(pool);
    }
}


static void
ngx_mikrobill_pg_connected(ngx_mikrobill_pg_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->c;

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    if (PQsetnonblocking(conn->pg, 1) != 0) {
        ngx_log_error(NGX_LOG_ERR, conn->pool->log, 0,
                      "mikrobill pg: PQsetnonblocking() failed: %s",
                      ngx_mikrobill_pg_error(conn->pg));
        ngx_mikrobill_pg_connect_failed(conn);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, conn->pool->log, 0,
                   "mikrobill pg: connected, fd:%d", c->fd);

    conn->pool->nconnecting--;
    conn->state = NGX_MIKROBILL_PG_IDLE;

    c->read->handler = ngx_mikrobill_pg_read_handler;
    c->write->handler = ngx_mikrobill_pg_write_handler;

    ngx_mikrobill_pg_release(conn);
}


/* hand a free connection to the first waiting query, or park it */

static void
ngx_mikrobill_pg_release(ngx_mikrobill_pg_conn_t *conn)
{
    ngx_queue_t               *qu;
    ngx_mikrobill_pg_pool_t   *pool;
    ngx_mikrobill_pg_query_t  *q;

    pool = conn->pool;

    conn->state = NGX_MIKROBILL_PG_IDLE;
    conn->query = NULL;

    while (!ngx_queue_empty(&pool->waiting)) {
        qu = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qu, ngx_mikrobill_pg_query_t, wait);

        ngx_mikrobill_pg_unwait(q);

        if (ngx_mikrobill_pg_run(conn, q) == NGX_OK) {
            return;
        }

        /* a fresh connection broke at once: give up on this query */

        conn->query = NULL;
        q->conn = NULL;
        ngx_mikrobill_pg_query_fail(q);
        ngx_mikrobill_pg_drop(conn);
        ngx_mikrobill_pg_grow(pool);
        return;
    }

    ngx_queue_insert_head(&pool->idle, &conn->idle);
    conn->in_idle = 1;
}


/*
 * Most recently used first; a connection whose server went away (the FIN
 * is already queued on the socket) is dropped here instead of failing the
 * query that would have used it.
 */

static ngx_mikrobill_pg_conn_t *
ngx_mikrobill_pg_get_idle(ngx_mikrobill_pg_pool_t *pool)
{
    ngx_queue_t              *qu;
    ngx_mikrobill_pg_conn_t  *conn;

    while (!ngx_queue_empty(&pool->idle)) {
        qu = ngx_queue_head(&pool->idle);
        conn = ngx_queue_data(qu, ngx_mikrobill_pg_conn_t, idle);

        ngx_queue_remove(qu);
        conn->in_idle = 0;

        if (ngx_mikrobill_pg_alive(conn) == NGX_OK) {
            return conn;
        }

        ngx_log_error(NGX_LOG_INFO, pool->log, 0,
                      "mikrobill pg: idle connection lost");
        ngx_mikrobill_pg_drop(conn);
    }

    return NULL;
}


static ngx_int_t
ngx_mikrobill_pg_alive(ngx_mikrobill_pg_conn_t *conn)
{
    if (ngx_mikrobill_pg_consume(conn) != NGX_OK) {
        return NGX_ERROR;
    }

    return PQstatus(conn->pg) == CONNECTION_OK ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_mikrobill_pg_run(ngx_mikrobill_pg_conn_t *conn,
    ngx_mikrobill_pg_query_t *q)
{
    conn->query = q;
    q->conn = conn;

    conn->state = ngx_mikrobill_pg_is_prepared(conn, q->stmt)
                  ? NGX_MIKROBILL_PG_QUERY : NGX_MIKROBILL_PG_PREPARE;

    return ngx_mikrobill_pg_send(conn);
}


static ngx_int_t
ngx_mikrobill_pg_send(ngx_mikrobill_pg_conn_t *conn)
{
    int                             rc;
    const ngx_mikrobill_pg_stmt_t  *stmt;

    stmt = conn->query->stmt;

    if (conn->state == NGX_MIKROBILL_PG_PREPARE) {
        rc = PQsendPrepare(conn->pg, stmt->name, stmt->sql, stmt->nparams,
                           NULL);

    } else {
        rc = PQsendQueryPrepared(conn->pg, stmt->name, stmt->nparams,
                                 conn->query->values, NULL, NULL, 0);
    }

    if (rc == 0) {
        ngx_log_error(NGX_LOG_ERR, conn->pool->log, 0,
                      "mikrobill pg: cannot send \"%s\": %s",
                      stmt->name, ngx_mikrobill_pg_error(conn->pg));
        return NGX_ERROR;
    }

    return ngx_mikrobill_pg_flush(conn);
}


/* PQflush() returning 1: the write event's next edge continues it */

static ngx_int_t
ngx_mikrobill_pg_flush(ngx_mikrobill_pg_conn_t *conn)
{
    switch (PQflush(conn->pg)) {

    case 0:
        conn->flushing = 0;
        return NGX_OK;

    case 1:
        conn->flushing = 1;
        return NGX_OK;

    default:
        ngx_log_error(NGX_LOG_ERR, conn->pool->log, 0,
                      "mikrobill pg: PQflush() failed: %s",
                      ngx_mikrobill_pg_error(conn->pg));
        return NGX_ERROR;
    }
}


static ngx_flag_t
ngx_mikrobill_pg_is_prepared(ngx_mikrobill_pg_conn_t *conn,
    const ngx_mikrobill_pg_stmt_t *stmt)
{
    ngx_uint_t                       i;
    const ngx_mikrobill_pg_stmt_t  **p;

    p = conn->prepared.elts;

    for (i = 0; i < conn->prepared.nelts; i++) {
        if (p[i] == stmt) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_mikrobill_pg_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    ngx_mikrobill_pg_conn_t  *conn;

    ngx_int_t                 rc;

    conn = c->data;

    rc = ngx_mikrobill_pg_consume(conn);

    if (conn->state == NGX_MIKROBILL_PG_IDLE) {
        /* notices, parameter changes; or the server went away */
        if (rc != NGX_OK || PQstatus(conn->pg) != CONNECTION_OK) {
            ngx_mikrobill_pg_lost(conn, "idle connection lost");
        }

        return;
    }

    if (rc == NGX_OK
        && conn->flushing
        && ngx_mikrobill_pg_flush(conn) != NGX_OK)
    {
        ngx_mikrobill_pg_lost(conn, "flush failed");
        return;
    }

    /* a result that arrived together with the server's FIN still counts */

    ngx_mikrobill_pg_process(conn, rc != NGX_OK);
}


static void
ngx_mikrobill_pg_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    ngx_mikrobill_pg_conn_t  *conn;

    conn = c->data;

    if (!conn->flushing) {
        return;
    }

    if (ngx_mikrobill_pg_flush(conn) != NGX_OK) {
        ngx_mikrobill_pg_lost(conn, "flush failed");
    }
}


/*
 * Read everything the socket holds.  libpq stops at a short read, and with
 * edge-triggered events a FIN that came with the last data would otherwise
 * go unnoticed: peek after each round, 0 means the server closed.
 */

static ngx_int_t
ngx_mikrobill_pg_consume(ngx_mikrobill_pg_conn_t *conn)
{
    u_char      b;
    ssize_t     n;
    ngx_err_t   err;
    ngx_uint_t  i;

    for (i = 0; i < NGX_MIKROBILL_PG_READ_LOOPS; i++) {
        if (PQconsumeInput(conn->pg) == 0) {
            return NGX_ERROR;
        }

        n = recv(conn->c->fd, &b, 1, MSG_PEEK|MSG_DONTWAIT);

        if (n > 0) {
            continue;
        }

        if (n == 0) {
            return NGX_ERROR;
        }

        err = ngx_socket_errno;

        if (err == NGX_EAGAIN || err == NGX_EINTR) {
            return NGX_OK;
        }

        return NGX_ERROR;
    }

    /* still more (or a partial TLS record): come back, no edge will */

    ngx_post_event(conn->c->read, &ngx_posted_events);

    return NGX_OK;
}


static void
ngx_mikrobill_pg_process(ngx_mikrobill_pg_conn_t *conn, ngx_flag_t eof)
{
    PGresult        *res, *first;
    ExecStatusType   st;

    for ( ;; ) {
        if (PQisBusy(conn->pg)) {
            /*
             * An error result comes before the server's ReadyForQuery:
             * keep it on the connection until the statement has ended.
             */

            if (eof) {
                ngx_mikrobill_pg_lost(conn, "connection lost");
            }

            return;
        }

        res = PQgetResult(conn->pg);

        if (res == NULL) {
            break;
        }

        /* one statement, one result; anything after it is not ours */

        if (conn->result == NULL) {
            conn->result = res;

        } else {
            PQclear(res);
        }
    }

    first = conn->result;
    conn->result = NULL;

    if (first == NULL) {
        ngx_mikrobill_pg_lost(conn, "no result");
        return;
    }

    if (!eof && PQstatus(conn->pg) == CONNECTION_OK) {
        ngx_mikrobill_pg_result(conn, first);
        return;
    }

    /*
     * The connection ended: a finished statement is still answered, an
     * error ("terminating connection", "server closed the connection") is
     * the database being unavailable, not an SQL error.
     */

    st = PQresultStatus(first);

    if (conn->state == NGX_MIKROBILL_PG_QUERY
        && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
    {
        ngx_mikrobill_pg_deliver(conn, first, 0);
        return;
    }

    PQclear(first);
    ngx_mikrobill_pg_lost(conn, "connection lost");
}


static void
ngx_mikrobill_pg_result(ngx_mikrobill_pg_conn_t *conn, PGresult *res)
{
    const ngx_mikrobill_pg_stmt_t  **p;

    if (conn->state == NGX_MIKROBILL_PG_PREPARE
        && PQresultStatus(res) == PGRES_COMMAND_OK)
    {
        PQclear(res);

        p = ngx_array_push(&conn->prepared);
        if (p == NULL) {
            ngx_mikrobill_pg_lost(conn, "out of memory");
            return;
        }

        *p = conn->query->stmt;
        conn->state = NGX_MIKROBILL_PG_QUERY;

        if (ngx_mikrobill_pg_send(conn) != NGX_OK) {
            ngx_mikrobill_pg_lost(conn, "send failed");
        }

        return;
    }

    /* the statement's result, or the error that prevented preparing it */

    ngx_mikrobill_pg_deliver(conn, res, 1);
}


static void
ngx_mikrobill_pg_deliver(ngx_mikrobill_pg_conn_t *conn, PGresult *res,
    ngx_flag_t keep)
{
    ngx_mikrobill_pg_pool_t   *pool;
    ngx_mikrobill_pg_query_t  *q;

    pool = conn->pool;
    q = conn->query;

    conn->query = NULL;
    q->conn = NULL;

    if (q->ev.timer_set) {
        ngx_del_timer(&q->ev);
    }

    /* first free the connection: the handler may chain another query */

    if (keep) {
        ngx_mikrobill_pg_release(conn);

    } else {
        ngx_mikrobill_pg_drop(conn);
        ngx_mikrobill_pg_grow(pool);
    }

    q->handler(q->data, res, NGX_OK);

    PQclear(res);

    ngx_mikrobill_pg_query_free(q);
}


/*
 * The connection is gone.  Its query fails: it may have run on the server,
 * and a write must never run twice.  Idle connections that died are found
 * before use (ngx_mikrobill_pg_get_idle), so a server restart costs no
 * query.
 */

static void
ngx_mikrobill_pg_lost(ngx_mikrobill_pg_conn_t *conn, const char *why)
{
    ngx_mikrobill_pg_pool_t   *pool;
    ngx_mikrobill_pg_query_t  *q;

    pool = conn->pool;
    q = conn->query;

    ngx_log_error(NGX_LOG_ERR, pool->log, 0, "mikrobill pg: %s: %s",
                  why, ngx_mikrobill_pg_error(conn->pg));

    conn->query = NULL;
    ngx_mikrobill_pg_drop(conn);

    if (q != NULL) {
        q->conn = NULL;

        ngx_mikrobill_pg_query_fail(q);
    }

    /* queries waiting for a connection get a new one */

    ngx_mikrobill_pg_grow(pool);
}


static void
ngx_mikrobill_pg_drop(ngx_mikrobill_pg_conn_t *conn)
{
    ngx_mikrobill_pg_pool_t  *pool;

    pool = conn->pool;

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    if (conn->state == NGX_MIKROBILL_PG_CONNECTING) {
        pool->nconnecting--;
    }

    if (conn->in_idle) {
        ngx_queue_remove(&conn->idle);
    }

    if (conn->query) {
        /* only at pool destruction or from callers that handle it */
        conn->query->conn = NULL;
    }

    ngx_queue_remove(&conn->queue);
    pool->nconns--;

    if (conn->c) {
        /*
         * c->shared: nginx leaves the fd alone; closing it in PQfinish()
         * also takes it out of epoll (libpq may have replaced or closed
         * the socket already, so no epoll_ctl() on it here)
         */
        ngx_close_connection(conn->c);
    }

    if (conn->result) {
        PQclear(conn->result);
        conn->result = NULL;
    }

    PQfinish(conn->pg);

    ngx_destroy_pool(conn->mem);
}


static void
ngx_mikrobill_pg_fail_waiting(ngx_mikrobill_pg_pool_t *pool)
{
    ngx_queue_t               *qu;
    ngx_mikrobill_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {
        qu = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qu, ngx_mikrobill_pg_query_t, wait);
        ngx_mikrobill_pg_query_fail(q);
    }
}


/* libpq's message on one log line: newlines and tabs become spaces */

static const char *
ngx_mikrobill_pg_error(PGconn *pg)
{
    u_char       *p, *last;
    const char   *msg;

    static u_char  buf[512];

    if (pg == NULL) {
        return "out of memory";
    }

    msg = PQerrorMessage(pg);

    p = ngx_cpystrn(buf, (u_char *) msg, sizeof(buf));
    last = p;

    for (p = buf; p < last; p++) {
        if (*p == '\n' || *p == '\t') {
            *p = ' ';
        }
    }

    while (last > buf && last[-1] == ' ') {
        *--last = '\0';
    }

    return (const char *) buf;
}
