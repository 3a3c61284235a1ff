/*
 * Transport of one connection attempt.  Handles and requests that libuv
 * still holds are counted in refs; the object is freed when the attempt is
 * over (closing) and refs drops to zero, so a close from inside any of our
 * callbacks is safe.
 */

#include "mb_ros_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_ros_tls.h"


#define MB_ROS_READ_BUF  65536


typedef struct {
    uv_write_t      req;
    mb_ros_conn_t  *k;
    unsigned char   data[];
} mb_ros_write_t;


struct mb_ros_conn_s {
    uv_loop_t               *loop;
    mb_ros_conn_handler_t    h;
    void                    *data;
    char                    *host;
    char                    *ca_file;
    unsigned                 port;
    int                      use_tls;
    int                      anon_dh;
    uv_getaddrinfo_t         gai;
    int                      gai_pending;
    struct addrinfo         *ai_all, *ai_next;
    uv_tcp_t                *tcp;          /* this address's socket */
    uv_connect_t             creq;
    mb_ros_tls_t            *tls;
    int                      open;         /* on_open delivered */
    int                      closing;      /* no callbacks any more */
    int                      refs;
    mb_ros_err_e             last_err;     /* of the last address tried */
    char                     last_reason[160];
    unsigned char            rbuf[MB_ROS_READ_BUF];
};


static void mb_ros_conn_try_next(mb_ros_conn_t *k);


static void
mb_ros_conn_release(mb_ros_conn_t *k)
{
    if (--k->refs > 0 || !k->closing) {
        return;
    }
    if (k->ai_all) {
        uv_freeaddrinfo(k->ai_all);
    }
    mb_ros_tls_free(k->tls);
    free(k->host);
    free(k->ca_file);
    free(k);
}


static void
mb_ros_conn_tcp_closed(uv_handle_t *h)
{
    mb_ros_conn_t  *k = h->data;

    free(h);
    mb_ros_conn_release(k);
}


static void
mb_ros_conn_drop_tcp(mb_ros_conn_t *k)
{
    if (k->tcp && !uv_is_closing((uv_handle_t *) k->tcp)) {
        uv_close((uv_handle_t *) k->tcp, mb_ros_conn_tcp_closed);
    }
    k->tcp = NULL;
}


void
mb_ros_conn_close(mb_ros_conn_t *k)
{
    if (k->closing) {
        return;
    }
    k->closing = 1;
    k->refs++;
    mb_ros_conn_drop_tcp(k);
    if (k->gai_pending) {
        /* fails when already running: its callback then sees closing */
        uv_cancel((uv_req_t *) &k->gai);
    }
    mb_ros_conn_release(k);
}


static void
mb_ros_conn_fail(mb_ros_conn_t *k, mb_ros_err_e err, const char *reason)
{
    if (k->closing) {
        return;
    }
    k->refs++;
    mb_ros_conn_close(k);
    k->h.on_error(k->data, err, reason);
    mb_ros_conn_release(k);
}


static void
mb_ros_conn_written(uv_write_t *req, int status)
{
    mb_ros_write_t  *w = (mb_ros_write_t *) req;
    mb_ros_conn_t   *k = w->k;
    char             reason[160];

    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        snprintf(reason, sizeof(reason), "write failed: %s",
                 uv_strerror(status));
        mb_ros_conn_fail(k, MB_ROS_E_LOST, reason);
    }
    mb_ros_conn_release(k);
}


static int
mb_ros_conn_send_raw(mb_ros_conn_t *k, const unsigned char *p, size_t len)
{
    mb_ros_write_t  *w;
    uv_buf_t         b;

    w = malloc(sizeof(mb_ros_write_t) + len);
    if (w == NULL) {
        return -1;
    }
    memcpy(w->data, p, len);
    w->k = k;
    b = uv_buf_init((char *) w->data, (unsigned) len);

    if (uv_write(&w->req, (uv_stream_t *) k->tcp, &b, 1,
                 mb_ros_conn_written) != 0)
    {
        free(w);
        return -1;
    }
    k->refs++;
    return 0;
}


/* whatever TLS wants to send (handshake records, encrypted data) */
static int
mb_ros_conn_flush_tls(mb_ros_conn_t *k)
{
    unsigned char  *out;
    size_t          n;
    int             rc;

    n = mb_ros_tls_take(k->tls, &out);
    if (n == 0) {
        return 0;
    }
    rc = mb_ros_conn_send_raw(k, out, n);
    free(out);
    return rc;
}


int
mb_ros_conn_write(mb_ros_conn_t *k, const unsigned char *p, size_t len)
{
    if (k->closing || !k->open) {
        return -1;
    }
    if (k->tls == NULL) {
        return mb_ros_conn_send_raw(k, p, len);
    }
    if (mb_ros_tls_write(k->tls, p, len) != 0) {
        return -1;
    }
    return mb_ros_conn_flush_tls(k);
}


static void
mb_ros_conn_opened(mb_ros_conn_t *k)
{
    k->open = 1;
    k->h.on_open(k->data);
}


/* plaintext out of TLS records, handshake first */
static void
mb_ros_conn_read_tls(mb_ros_conn_t *k, const unsigned char *p, size_t len)
{
    unsigned char  buf[16384];
    char           err[256];
    int            n;

    if (mb_ros_tls_feed(k->tls, p, len) != 0) {
        mb_ros_conn_fail(k, MB_ROS_E_NOMEM, "out of memory");
        return;
    }

    if (!k->open) {
        n = mb_ros_tls_handshake(k->tls, err, sizeof(err));
        if (mb_ros_conn_flush_tls(k) != 0 || n < 0) {
            mb_ros_conn_fail(k, MB_ROS_E_TLS, n < 0 ? err : "write failed");
            return;
        }
        if (n == 0) {
            return;
        }
        mb_ros_conn_opened(k);
    }

    while (!k->closing) {
        n = mb_ros_tls_read(k->tls, buf, sizeof(buf), err, sizeof(err));
        if (n < 0) {
            mb_ros_conn_fail(k, MB_ROS_E_LOST, err);
            return;
        }
        if (n == 0) {
            break;
        }
        k->h.on_data(k->data, buf, (size_t) n);
    }

    /* a read may have produced records to send (key updates) */
    if (!k->closing && mb_ros_conn_flush_tls(k) != 0) {
        mb_ros_conn_fail(k, MB_ROS_E_LOST, "write failed");
    }
}


static void
mb_ros_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    mb_ros_conn_t  *k = h->data;

    (void) hint;
    *buf = uv_buf_init((char *) k->rbuf, sizeof(k->rbuf));
}


static void
mb_ros_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mb_ros_conn_t  *k = s->data;
    char            reason[160];

    (void) buf;
    if (k->closing || nread == 0) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF) {
            snprintf(reason, sizeof(reason), "%s",
                     k->open ? "connection closed by the router"
                             : "connection closed during the TLS handshake");
        } else {
            snprintf(reason, sizeof(reason), "read failed: %s",
                     uv_strerror((int) nread));
        }
        mb_ros_conn_fail(k, k->open ? MB_ROS_E_LOST : MB_ROS_E_TLS, reason);
        return;
    }

    k->refs++;
    if (k->tls) {
        mb_ros_conn_read_tls(k, k->rbuf, (size_t) nread);
    } else {
        k->h.on_data(k->data, k->rbuf, (size_t) nread);
    }
    mb_ros_conn_release(k);
}


static void
mb_ros_conn_start_tls(mb_ros_conn_t *k)
{
    char  err[256];

    k->tls = mb_ros_tls_create(k->host, k->ca_file, k->anon_dh, err,
                               sizeof(err));
    if (k->tls == NULL) {
        mb_ros_conn_fail(k, MB_ROS_E_TLS, err);
        return;
    }
    if (mb_ros_tls_handshake(k->tls, err, sizeof(err)) < 0) {
        mb_ros_conn_fail(k, MB_ROS_E_TLS, err);
        return;
    }
    if (mb_ros_conn_flush_tls(k) != 0) {
        mb_ros_conn_fail(k, MB_ROS_E_TLS, "write failed");
    }
}


static void
mb_ros_conn_connected(uv_connect_t *req, int status)
{
    mb_ros_conn_t  *k = req->data;

    if (k->closing) {
        return;
    }
    if (status < 0) {
        k->last_err = status == UV_ECONNREFUSED ? MB_ROS_E_REFUSED
                      : status == UV_ETIMEDOUT ? MB_ROS_E_TIMEOUT
                      : MB_ROS_E_UNREACHABLE;
        snprintf(k->last_reason, sizeof(k->last_reason), "connect to %s:%u: "
                 "%s", k->host, k->port, uv_strerror(status));
        mb_ros_conn_drop_tcp(k);
        mb_ros_conn_try_next(k);
        return;
    }

    uv_tcp_nodelay(k->tcp, 1);
    if (uv_read_start((uv_stream_t *) k->tcp, mb_ros_conn_alloc,
                      mb_ros_conn_read) != 0)
    {
        mb_ros_conn_fail(k, MB_ROS_E_LOST, "cannot read the socket");
        return;
    }

    if (k->use_tls) {
        mb_ros_conn_start_tls(k);
    } else {
        mb_ros_conn_opened(k);
    }
}


static void
mb_ros_conn_try_next(mb_ros_conn_t *k)
{
    struct addrinfo  *ai;
    int               rc;

    while ((ai = k->ai_next) != NULL) {
        k->ai_next = ai->ai_next;

        k->tcp = malloc(sizeof(uv_tcp_t));
        if (k->tcp == NULL || uv_tcp_init(k->loop, k->tcp) != 0) {
            free(k->tcp);
            k->tcp = NULL;
            mb_ros_conn_fail(k, MB_ROS_E_NOMEM, "out of memory");
            return;
        }
        k->tcp->data = k;
        k->refs++;
        k->creq.data = k;

        rc = uv_tcp_connect(&k->creq, k->tcp, ai->ai_addr,
                            mb_ros_conn_connected);
        if (rc == 0) {
            return;
        }
        k->last_err = MB_ROS_E_UNREACHABLE;
        snprintf(k->last_reason, sizeof(k->last_reason), "connect to %s:%u: "
                 "%s", k->host, k->port, uv_strerror(rc));
        mb_ros_conn_drop_tcp(k);
    }

    mb_ros_conn_fail(k, k->last_err, k->last_reason);
}


static void
mb_ros_conn_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    mb_ros_conn_t  *k = req->data;
    char            reason[300];

    k->gai_pending = 0;
    k->ai_all = res;
    if (!k->closing && status < 0) {
        snprintf(reason, sizeof(reason), "cannot resolve %s: %s", k->host,
                 uv_strerror(status));
        mb_ros_conn_fail(k, MB_ROS_E_UNREACHABLE, reason);
    } else if (!k->closing) {
        k->ai_next = res;
        mb_ros_conn_try_next(k);
    }
    mb_ros_conn_release(k);
}


mb_ros_conn_t *
mb_ros_conn_open(uv_loop_t *loop, const mb_ros_client_conf_t *conf,
    const mb_ros_conn_handler_t *h, void *data)
{
    mb_ros_conn_t    *k;
    struct addrinfo   hints;
    char              port[16];

    k = calloc(1, sizeof(mb_ros_conn_t));
    if (k == NULL) {
        return NULL;
    }
    k->loop = loop;
    k->h = *h;
    k->data = data;
    k->port = conf->port;
    k->use_tls = conf->tls;
    k->anon_dh = conf->tls_anon_dh;
    k->host = strdup(conf->host);
    k->ca_file = conf->tls_ca_file ? strdup(conf->tls_ca_file) : NULL;
    k->last_err = MB_ROS_E_UNREACHABLE;
    snprintf(k->last_reason, sizeof(k->last_reason), "no address for %s",
             conf->host);
    if (k->host == NULL || (conf->tls_ca_file && k->ca_file == NULL)) {
        goto failed;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", k->port);

    k->gai.data = k;
    if (uv_getaddrinfo(loop, &k->gai, mb_ros_conn_resolved, k->host, port,
                       &hints) != 0)
    {
        goto failed;
    }
    k->gai_pending = 1;
    k->refs = 1;
    return k;

failed:
    free(k->host);
    free(k->ca_file);
    free(k);
    return NULL;
}
