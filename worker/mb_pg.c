/*
 * Asynchronous libpq connection.  pg->timer serves the state it is in:
 * DOWN - reconnect delay; CONNECTING - connect timeout (PQconnectPoll has
 * none of its own); READY - health check interval.
 *
 * A uv_poll handle is tied to one socket: it is closed before PQfinish()
 * closes the socket, and replaced when libpq switches sockets while
 * connecting (next host, SSL retry).
 *
 * Host names are looked up before each attempt (mb_resolve.c; CONNECTING
 * with pg->resolving set and no pg->conn yet) and passed as "hostaddr",
 * because libpq would resolve them with a blocking getaddrinfo().
 */

#include "mb_pg.h"

#include <stdlib.h>
#include <string.h>

#include "mb_backoff.h"
#include "mb_log.h"
#include "mb_resolve.h"


#define MB_PG_CONNECT_MS   5000
#define MB_PG_HEALTH_MS    10000
#define MB_PG_HEALTH_SQL   "SELECT 1"


typedef enum {
    MB_PG_DOWN,
    MB_PG_CONNECTING,
    MB_PG_READY
} mb_pg_state_e;


typedef struct mb_pg_query_s  mb_pg_query_t;

struct mb_pg_query_s {
    mb_pg_t          *pg;
    char             *sql;
    char            **params;          /* NULL: plain PQsendQuery */
    int               nparams;
    mb_pg_result_pt   cb;
    void             *data;
    int               sent;
    PGresult         *res;
    uv_timer_t        timer;
    mb_pg_query_t    *next;
};


struct mb_pg_s {
    uv_loop_t        *loop;
    char             *conninfo;
    char             *hosts;           /* to look up, or NULL */
    mb_resolve_t     *resolving;       /* lookup under way */
    int               resolve_failed;  /* logged: quiet retries */
    PGconn           *conn;
    mb_pg_state_e     state;
    int               closing;
    uv_poll_t        *poll;
    int               poll_fd;
    mb_backoff_t      backoff;
    uv_timer_t        timer;
    mb_pg_query_t    *head, *tail;
    mb_pg_event_pt    on_ready;
    mb_pg_notify_pt   on_notify;
    void             *listener;
};


static void mb_pg_on_timer(uv_timer_t *t);
static void mb_pg_on_io(uv_poll_t *p, int status, int events);
static void mb_pg_send(mb_pg_t *pg);
static char *mb_pg_hosts(const char *conninfo);


mb_pg_t *
mb_pg_create(uv_loop_t *loop, const char *conninfo)
{
    mb_pg_t  *pg;

    pg = calloc(1, sizeof(mb_pg_t));
    if (pg == NULL || (pg->conninfo = strdup(conninfo)) == NULL) {
        free(pg);
        return NULL;
    }

    pg->hosts = mb_pg_hosts(conninfo);
    pg->loop = loop;
    pg->poll_fd = -1;
    mb_backoff_init(&pg->backoff, 200, 5000);
    uv_timer_init(loop, &pg->timer);
    pg->timer.data = pg;

    return pg;
}


int
mb_pg_up(const mb_pg_t *pg)
{
    return pg->state == MB_PG_READY;
}


static void
mb_pg_poll_closed(uv_handle_t *h)
{
    free(h);
}


static void
mb_pg_unwatch(mb_pg_t *pg)
{
    if (pg->poll != NULL) {
        uv_close((uv_handle_t *) pg->poll, mb_pg_poll_closed);
        pg->poll = NULL;
        pg->poll_fd = -1;
    }
}


static int
mb_pg_watch(mb_pg_t *pg, int events)
{
    int  fd = PQsocket(pg->conn);

    if (pg->poll != NULL && pg->poll_fd != fd) {
        mb_pg_unwatch(pg);
    }

    if (pg->poll == NULL) {
        pg->poll = malloc(sizeof(uv_poll_t));
        if (pg->poll == NULL || fd < 0
            || uv_poll_init(pg->loop, pg->poll, fd) != 0)
        {
            free(pg->poll);
            pg->poll = NULL;
            return -1;
        }
        pg->poll->data = pg;
        pg->poll_fd = fd;
    }

    return uv_poll_start(pg->poll, events, mb_pg_on_io);
}


/* finish a query: unlink, call back, free when its timer has closed */
static void
mb_pg_query_free(mb_pg_query_t *q)
{
    int  i;

    for (i = 0; q->params != NULL && i < q->nparams; i++) {
        free(q->params[i]);
    }

    free(q->params);
    free(q->sql);
    free(q);
}


static void
mb_pg_query_closed(uv_handle_t *h)
{
    mb_pg_query_free(h->data);
}


static void
mb_pg_done(mb_pg_t *pg, mb_pg_query_t *q, const char *err)
{
    mb_pg_query_t  **pp;

    for (pp = &pg->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }

    pg->tail = NULL;
    for (mb_pg_query_t *t = pg->head; t != NULL; t = t->next) {
        pg->tail = t;
    }

    uv_timer_stop(&q->timer);
    q->cb(err == NULL ? q->res : NULL, err, q->data);

    PQclear(q->res);
    q->res = NULL;
    uv_close((uv_handle_t *) &q->timer, mb_pg_query_closed);
}


static void
mb_pg_fail_all(mb_pg_t *pg, const char *err)
{
    while (pg->head != NULL) {
        mb_pg_done(pg, pg->head, err);
    }
}


static void
mb_pg_finish_conn(mb_pg_t *pg)
{
    if (pg->resolving != NULL) {
        mb_resolve_cancel(pg->resolving);
        pg->resolving = NULL;
    }

    mb_pg_unwatch(pg);

    if (pg->conn != NULL) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }

    pg->state = MB_PG_DOWN;
}


/* the connection failed or went away: fail the queue, retry later */
static void
mb_pg_down(mb_pg_t *pg, const char *why, mb_log_level_e level)
{
    unsigned  delay;

    mb_pg_finish_conn(pg);
    uv_timer_stop(&pg->timer);
    mb_pg_fail_all(pg, why);

    if (pg->closing) {
        return;
    }

    delay = mb_backoff_next(&pg->backoff);
    mb_log(level, "postgres %s (retry in %u ms)", why, delay);
    uv_timer_start(&pg->timer, mb_pg_on_timer, delay, 0);
}


static void
mb_pg_lost(mb_pg_t *pg, const char *why)
{
    mb_pg_down(pg, why, MB_LOG_WARN);
}


/* libpq error messages end with a newline and may span lines */
static const char *
mb_pg_error(mb_pg_t *pg, char *buf, size_t len, const char *prefix)
{
    snprintf(buf, len, "%s: %s", prefix,
             pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
    buf[strcspn(buf, "\n")] = '\0';

    return buf;
}


static void
mb_pg_notice(void *arg, const char *message)
{
    (void) arg;
    mb_log_debug("postgres: %s", message);
}


/*
 * hostaddr: the numeric addresses of the hosts, or NULL.  expand_dbname
 * parses the conninfo string (key=value or URI) as PQconnectStart() does;
 * the hostaddr after it wins, and libpq keeps "host" for TLS and passwords.
 */
static void
mb_pg_connect_to(mb_pg_t *pg, const char *hostaddr)
{
    char  err[512];

    static const char *const  keywords[] = { "dbname", "hostaddr", NULL };
    const char               *values[3];

    values[0] = pg->conninfo;
    values[1] = hostaddr;
    values[2] = NULL;

    pg->conn = PQconnectStartParams(keywords, values, 1);

    if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD
        || mb_pg_watch(pg, UV_WRITABLE) != 0)
    {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "connect failed"));
        return;
    }

    PQsetNoticeProcessor(pg->conn, mb_pg_notice, NULL);
    pg->state = MB_PG_CONNECTING;
    uv_timer_start(&pg->timer, mb_pg_on_timer, MB_PG_CONNECT_MS, 0);
}


/* the first failure of a run is a warning, its repeats are not news */
static void
mb_pg_resolved(const char *addrs, const char *err, void *data)
{
    mb_pg_t  *pg = data;

    pg->resolving = NULL;

    if (err != NULL) {
        mb_pg_down(pg, err, pg->resolve_failed ? MB_LOG_DEBUG : MB_LOG_WARN);
        pg->resolve_failed = 1;
        return;
    }

    pg->resolve_failed = 0;
    mb_log_debug("postgres: %s resolved to %s", pg->hosts, addrs);
    mb_pg_connect_to(pg, addrs);
}


static void
mb_pg_connect(mb_pg_t *pg)
{
    if (pg->hosts == NULL) {
        mb_pg_connect_to(pg, NULL);
        return;
    }

    pg->resolving = mb_resolve_start(pg->loop, pg->hosts, mb_pg_resolved,
                                     pg);
    if (pg->resolving == NULL) {
        mb_pg_lost(pg, "cannot resolve: out of memory");
        return;
    }

    pg->state = MB_PG_CONNECTING;
    uv_timer_start(&pg->timer, mb_pg_on_timer, MB_PG_CONNECT_MS, 0);
}


/*
 * The host list libpq would look up: "host" of the string, else PGHOST
 * (libpq reads the same environment).  NULL when nothing needs a lookup:
 * addresses given (hostaddr, PGHOSTADDR), only numeric hosts and Unix
 * sockets, or a string libpq will reject anyway.
 */
static char *
mb_pg_hosts(const char *conninfo)
{
    char              *err = NULL, *hosts = NULL;
    const char        *host = NULL, *hostaddr = NULL;
    PQconninfoOption  *opts, *o;

    opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        PQfreemem(err);
        return NULL;
    }

    for (o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;
        }
    }

    if (hostaddr == NULL) {
        hostaddr = getenv("PGHOSTADDR");
    }

    if (host == NULL) {
        host = getenv("PGHOST");
    }

    if ((hostaddr == NULL || hostaddr[0] == '\0')
        && host != NULL && mb_resolve_needed(host))
    {
        hosts = strdup(host);
    }

    PQconninfoFree(opts);

    return hosts;
}


void
mb_pg_start(mb_pg_t *pg)
{
    mb_pg_connect(pg);
}


static void
mb_pg_connected(mb_pg_t *pg)
{
    char  err[512];

    if (PQsetnonblocking(pg->conn, 1) != 0
        || mb_pg_watch(pg, UV_READABLE) != 0)
    {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "setup failed"));
        return;
    }

    pg->state = MB_PG_READY;
    mb_backoff_reset(&pg->backoff);
    mb_log_info("postgres connected (server %d, pid %d)",
                PQserverVersion(pg->conn), PQbackendPID(pg->conn));

    uv_timer_start(&pg->timer, mb_pg_on_timer, MB_PG_HEALTH_MS,
                   MB_PG_HEALTH_MS);
    mb_pg_send(pg);

    /* after the queue: a listener's LISTEN and reload go behind it */
    if (pg->on_ready != NULL) {
        pg->on_ready(pg, pg->listener);
    }
}


static void
mb_pg_connect_step(mb_pg_t *pg)
{
    char  err[512];

    switch (PQconnectPoll(pg->conn)) {

    case PGRES_POLLING_READING:
        if (mb_pg_watch(pg, UV_READABLE) == 0) {
            return;
        }
        break;

    case PGRES_POLLING_WRITING:
        if (mb_pg_watch(pg, UV_WRITABLE) == 0) {
            return;
        }
        break;

    case PGRES_POLLING_OK:
        mb_pg_connected(pg);
        return;

    default:
        break;
    }

    mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "connect failed"));
}


static void
mb_pg_send(mb_pg_t *pg)
{
    mb_pg_query_t  *q = pg->head;
    char            err[512];
    int             rc;

    if (pg->state != MB_PG_READY || q == NULL || q->sent) {
        return;
    }

    q->sent = 1;

    if (!(q->params == NULL
          ? PQsendQuery(pg->conn, q->sql)
          : PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL,
                              (const char *const *) q->params, NULL, NULL,
                              0))
        || (rc = PQflush(pg->conn)) < 0
        || mb_pg_watch(pg, rc ? UV_READABLE | UV_WRITABLE : UV_READABLE)
           != 0)
    {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "send failed"));
    }
}


/* 1 when the running query has all its results */
static int
mb_pg_collect(mb_pg_t *pg, mb_pg_query_t *q)
{
    PGresult        *res;
    ExecStatusType   st;

    while (!PQisBusy(pg->conn)) {
        res = PQgetResult(pg->conn);
        if (res == NULL) {
            return 1;
        }

        /* keep the last result, or the first error */
        st = PQresultStatus(q->res);
        if (q->res == NULL
            || st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        {
            PQclear(q->res);
            q->res = res;

        } else {
            PQclear(res);
        }
    }

    return 0;
}


static void
mb_pg_result(mb_pg_t *pg, mb_pg_query_t *q)
{
    ExecStatusType   st = PQresultStatus(q->res);
    char             err[512];

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        mb_pg_done(pg, q, NULL);

    } else {
        snprintf(err, sizeof(err), "query failed: %s",
                 q->res ? PQresultErrorMessage(q->res) : "no result");
        err[strcspn(err, "\n")] = '\0';
        mb_pg_done(pg, q, err);
    }

    mb_pg_send(pg);
}


static void
mb_pg_notifies(mb_pg_t *pg)
{
    PGnotify  *n;

    while ((n = PQnotifies(pg->conn)) != NULL) {
        if (pg->on_notify != NULL) {
            pg->on_notify(n->relname, n->extra, pg->listener);
        }
        PQfreemem(n);
    }
}


static void
mb_pg_readable(mb_pg_t *pg)
{
    mb_pg_query_t  *q = pg->head;
    char            err[512];

    if (!PQconsumeInput(pg->conn)) {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "connection lost"));
        return;
    }

    mb_pg_notifies(pg);

    if (q != NULL && q->sent) {
        if (mb_pg_collect(pg, q)) {
            mb_pg_result(pg, q);
        }

        /* notifications that came in with the results */
        if (pg->conn != NULL) {
            mb_pg_notifies(pg);
        }

    } else if (PQstatus(pg->conn) == CONNECTION_BAD) {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "connection lost"));
    }
}


static void
mb_pg_writable(mb_pg_t *pg)
{
    char  err[512];
    int   rc = PQflush(pg->conn);

    if (rc < 0 || (rc == 0 && mb_pg_watch(pg, UV_READABLE) != 0)) {
        mb_pg_lost(pg, mb_pg_error(pg, err, sizeof(err), "send failed"));
    }
}


/*
 * libuv reports POLLERR as status UV_EBADF and stops the handle; libpq
 * itself then finds the real error (refused connection, reset) and says
 * which, so an error status is handled like a readiness event.
 */
static void
mb_pg_on_io(uv_poll_t *p, int status, int events)
{
    mb_pg_t  *pg = p->data;

    if (status < 0) {
        events = UV_READABLE;
    }

    if (pg->state == MB_PG_CONNECTING) {
        mb_pg_connect_step(pg);
        return;
    }

    if (pg->state == MB_PG_READY && (events & UV_WRITABLE)) {
        mb_pg_writable(pg);
    }

    if (pg->state == MB_PG_READY && (events & UV_READABLE)) {
        mb_pg_readable(pg);
    }

    /* an error libpq did not see: do not stay with a stopped handle */
    if (status < 0 && pg->state == MB_PG_READY) {
        mb_pg_lost(pg, uv_strerror(status));
    }
}


static void
mb_pg_health_done(PGresult *res, const char *err, void *data)
{
    (void) res;
    (void) data;

    /* a failure has already dropped the connection; just say why */
    if (err != NULL) {
        mb_log_debug("postgres health check: %s", err);
    }
}


static void
mb_pg_on_timer(uv_timer_t *t)
{
    mb_pg_t  *pg = t->data;

    switch (pg->state) {

    case MB_PG_DOWN:
        mb_pg_connect(pg);
        break;

    case MB_PG_CONNECTING:
        mb_pg_lost(pg, "connect timed out");
        break;

    case MB_PG_READY:
        if (pg->head == NULL) {
            mb_pg_query(pg, MB_PG_HEALTH_SQL, 2000, mb_pg_health_done, NULL);
        }
        break;
    }
}


static void
mb_pg_query_timeout(uv_timer_t *t)
{
    mb_pg_query_t  *q = t->data;
    mb_pg_t        *pg = q->pg;

    if (!q->sent) {
        mb_pg_done(pg, q, "query timed out");
        return;
    }

    /* the server is stuck or gone: the connection cannot be trusted */
    mb_pg_done(pg, q, "query timed out");
    mb_pg_lost(pg, "query timed out, reconnecting");
}


static int
mb_pg_params(mb_pg_query_t *q, int n, const char *const *params)
{
    int  i;

    q->params = calloc(n > 0 ? (size_t) n : 1, sizeof(char *));
    if (q->params == NULL) {
        return -1;
    }
    q->nparams = n;

    for (i = 0; i < n; i++) {
        if (params[i] != NULL
            && (q->params[i] = strdup(params[i])) == NULL)
        {
            return -1;
        }
    }

    return 0;
}


int
mb_pg_query_params(mb_pg_t *pg, const char *sql, int nparams,
    const char *const *params, unsigned timeout_ms, mb_pg_result_pt cb,
    void *data)
{
    mb_pg_query_t  *q;

    if (pg->state == MB_PG_DOWN || pg->closing
        || (q = calloc(1, sizeof(mb_pg_query_t))) == NULL)
    {
        return -1;
    }

    if ((q->sql = strdup(sql)) == NULL
        || (params != NULL && mb_pg_params(q, nparams, params) != 0))
    {
        mb_pg_query_free(q);
        return -1;
    }

    q->pg = pg;
    q->cb = cb;
    q->data = data;
    uv_timer_init(pg->loop, &q->timer);
    q->timer.data = q;
    uv_timer_start(&q->timer, mb_pg_query_timeout, timeout_ms, 0);

    if (pg->tail) pg->tail->next = q; else pg->head = q;
    pg->tail = q;

    mb_pg_send(pg);

    return 0;
}


int
mb_pg_query(mb_pg_t *pg, const char *sql, unsigned timeout_ms,
    mb_pg_result_pt cb, void *data)
{
    return mb_pg_query_params(pg, sql, 0, NULL, timeout_ms, cb, data);
}


void
mb_pg_listen(mb_pg_t *pg, mb_pg_event_pt on_ready, mb_pg_notify_pt on_notify,
    void *data)
{
    pg->on_ready = on_ready;
    pg->on_notify = on_notify;
    pg->listener = data;
}


static void
mb_pg_closed(uv_handle_t *h)
{
    mb_pg_t  *pg = h->data;

    free(pg->conninfo);
    free(pg->hosts);
    free(pg);
}


void
mb_pg_close(mb_pg_t *pg)
{
    pg->closing = 1;
    mb_pg_finish_conn(pg);
    mb_pg_fail_all(pg, "shutting down");
    uv_close((uv_handle_t *) &pg->timer, mb_pg_closed);
}
