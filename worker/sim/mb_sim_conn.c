/*
 * API connections: accept, read, parse, answer, close.  Replies gather in
 * c->out while one input chunk is handled and leave in one write.  While
 * the router is stalled (control "stall") input is kept raw, TLS records
 * included, and handled when the stall ends: the peer sees a router that
 * accepts and reads but says nothing.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    uv_write_t        req;
    mb_ros_buf_t      buf;
    uint64_t          t0;               /* hrtime, when timing a print */
    int               timed;
} mb_sim_wreq_t;


static uv_tcp_t  mb_sim_listeners[2];
static char      mb_sim_rbuf[256 * 1024];


static void mb_sim_conn_closed(uv_handle_t *h);


static void
mb_sim_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void) h;
    (void) hint;
    /* one loop, one reader at a time: a static buffer is enough */
    buf->base = mb_sim_rbuf;
    buf->len = sizeof(mb_sim_rbuf);
}


static void
mb_sim_conn_written(uv_write_t *req, int status)
{
    mb_sim_wreq_t  *w = (mb_sim_wreq_t *) req;

    if (w->timed && status == 0) {
        mb_sim.last_print_write_ns = uv_hrtime() - w->t0;
        mb_sim.last_print_written = 1;
    }
    mb_ros_buf_free(&w->buf);
    free(w);
}


static void
mb_sim_conn_shutdown_done(uv_shutdown_t *req, int status)
{
    mb_sim_conn_t  *c = req->handle->data;

    (void) status;
    free(req);
    if (!uv_is_closing((uv_handle_t *) &c->tcp)) {
        uv_close((uv_handle_t *) &c->tcp, mb_sim_conn_closed);
    }
}


/* close once what is queued has been written (after !fatal, a cut) */
static void
mb_sim_conn_close_after_write(mb_sim_conn_t *c)
{
    uv_shutdown_t  *req;

    c->closing = 1;
    mb_sim_streams_close(c);
    req = malloc(sizeof(uv_shutdown_t));
    if (req == NULL
        || uv_shutdown(req, (uv_stream_t *) &c->tcp,
                       mb_sim_conn_shutdown_done) != 0)
    {
        free(req);
        mb_sim_conn_close(c);
    }
}


static int
mb_sim_conn_write(mb_sim_conn_t *c, mb_ros_buf_t *buf, int timed)
{
    mb_sim_wreq_t  *w;
    uv_buf_t        b;

    w = calloc(1, sizeof(mb_sim_wreq_t));
    if (w == NULL) {
        mb_ros_buf_free(buf);
        return -1;
    }
    w->buf = *buf;
    mb_ros_buf_init(buf);
    w->timed = timed;
    w->t0 = mb_sim.last_print_t0;
    b = uv_buf_init((char *) w->buf.data, (unsigned) w->buf.len);
    if (uv_write(&w->req, (uv_stream_t *) &c->tcp, &b, 1,
                 mb_sim_conn_written) != 0)
    {
        mb_ros_buf_free(&w->buf);
        free(w);
        return -1;
    }
    return 0;
}


void
mb_sim_conn_flush(mb_sim_conn_t *c)
{
    mb_ros_buf_t  cipher;
    int           timed = c->time_write, cut = 0;

    if (c->out.len == 0 || uv_is_closing((uv_handle_t *) &c->tcp)) {
        mb_ros_buf_reset(&c->out);
        return;
    }
    c->time_write = 0;

    /* control "cut N": this reply stops after N bytes, the link drops */
    if (mb_sim.cut_after >= 0) {
        if ((size_t) mb_sim.cut_after < c->out.len) {
            c->out.len = (size_t) mb_sim.cut_after;
        }
        mb_sim.cut_after = -1;
        cut = 1;
    }

    if (c->tls != NULL) {
        mb_ros_buf_init(&cipher);
        if (mb_sim_tls_output(c->tls, c->out.data, c->out.len, &cipher)
            != 0)
        {
            mb_ros_buf_free(&cipher);
            mb_sim_conn_close(c);
            return;
        }
        mb_ros_buf_reset(&c->out);
        mb_sim_conn_write(c, &cipher, timed);
    } else {
        mb_sim_conn_write(c, &c->out, timed);
    }

    if (cut) {
        mb_log_info("cut the reply to %s", c->peer);
        mb_sim_conn_close_after_write(c);
    }
}


void
mb_sim_conn_close(mb_sim_conn_t *c)
{
    c->closing = 1;
    mb_sim_streams_close(c);
    if (!uv_is_closing((uv_handle_t *) &c->tcp)) {
        uv_close((uv_handle_t *) &c->tcp, mb_sim_conn_closed);
    }
}


void
mb_sim_conn_fatal(mb_sim_conn_t *c, const char *text)
{
    if (c->closing) {
        return;
    }
    /* !fatal carries its reason as a bare word, no tag */
    mb_ros_buf_word(&c->out, "!fatal", 6);
    mb_ros_buf_word(&c->out, text, strlen(text));
    mb_ros_buf_end(&c->out);
    mb_sim_conn_flush(c);
    if (!c->closing) {
        mb_sim_conn_close_after_write(c);
    }
}


static void
mb_sim_conn_closed(uv_handle_t *h)
{
    mb_sim_conn_t  *c = h->data;

    mb_log_debug("api connection from %s closed", c->peer);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        mb_sim.conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    mb_ros_parser_destroy(c->parser);
    mb_ros_buf_free(&c->out);
    mb_ros_buf_free(&c->pending);
    mb_sim_tls_free(c->tls);
    free(c);
}


/* ---- input ------------------------------------------------------------- */

static int
mb_sim_conn_sentence(void *arg, const mb_ros_sentence_t *s)
{
    mb_sim_conn_t  *c = arg;

    mb_sim_dispatch(c, s);
    /* /quit or a fatal: stop reading the rest of the chunk */
    return c->closing ? 1 : 0;
}


static int
mb_sim_conn_plain(void *arg, const unsigned char *p, size_t n)
{
    mb_sim_conn_t  *c = arg;
    int             rc;

    rc = mb_ros_parser_feed(c->parser, p, n, mb_sim_conn_sentence, c);
    if (rc < 0) {
        /* a control byte or a monster sentence: RouterOS hangs up */
        mb_log_info("api connection from %s: bad input (%d), closing",
                    c->peer, rc);
        mb_sim_conn_close(c);
        return -1;
    }
    return rc;
}


static void
mb_sim_conn_input(mb_sim_conn_t *c, const unsigned char *p, size_t n)
{
    if (c->tls != NULL) {
        if (mb_sim_tls_input(c->tls, p, n, mb_sim_conn_plain, c) != 0) {
            mb_log_info("api-ssl connection from %s: TLS error", c->peer);
            mb_sim_conn_close(c);
            return;
        }
        /* handshake records to send even when no reply is due */
        if (!c->closing) {
            mb_ros_buf_t  cipher;

            mb_ros_buf_init(&cipher);
            if (mb_sim_tls_output(c->tls, NULL, 0, &cipher) == 0
                && cipher.len > 0)
            {
                mb_sim_conn_write(c, &cipher, 0);
            }
            mb_ros_buf_free(&cipher);
        }
    } else {
        mb_sim_conn_plain(c, p, n);
    }
    if (!c->closing) {
        mb_sim_conn_flush(c);
    }
}


static int
mb_sim_buf_append(mb_ros_buf_t *b, const void *p, size_t n)
{
    unsigned char  *d;

    if (b->len + n > b->cap) {
        d = realloc(b->data, b->len + n);
        if (d == NULL) {
            return -1;
        }
        b->data = d;
        b->cap = b->len + n;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}


static void
mb_sim_conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    mb_sim_conn_t  *c = s->data;

    if (n < 0) {
        mb_sim_conn_close(c);
        return;
    }
    if (n == 0 || c->closing) {
        return;
    }
    if (mb_sim.stall_until_ms != 0) {
        if (mb_sim_buf_append(&c->pending, buf->base, (size_t) n) != 0) {
            mb_sim_conn_close(c);
        }
        return;
    }
    mb_sim_conn_input(c, (unsigned char *) buf->base, (size_t) n);
}


void
mb_sim_conn_unstall(void)
{
    mb_sim_conn_t  *c, *next;
    mb_ros_buf_t    held;

    for (c = mb_sim.conns; c != NULL; c = next) {
        next = c->next;
        if (c->pending.len == 0 || c->closing) {
            continue;
        }
        held = c->pending;
        mb_ros_buf_init(&c->pending);
        mb_sim_conn_input(c, held.data, held.len);
        mb_ros_buf_free(&held);
    }
}


/* ---- accept ------------------------------------------------------------- */

static void
mb_sim_conn_peer(mb_sim_conn_t *c)
{
    struct sockaddr_storage  ss;
    int                      len = sizeof(ss);
    char                     ip[64] = "?";

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *) &ss, &len) == 0
        && ss.ss_family == AF_INET)
    {
        struct sockaddr_in  *in = (struct sockaddr_in *) &ss;

        uv_ip4_name(in, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, ntohs(in->sin_port));
        return;
    }
    snprintf(c->peer, sizeof(c->peer), "%s", ip);
}


static void
mb_sim_conn_accept(uv_stream_t *server, int status)
{
    mb_sim_conn_t  *c;
    int             tls = server == (uv_stream_t *) &mb_sim_listeners[1];

    if (status != 0 || (c = calloc(1, sizeof(mb_sim_conn_t))) == NULL) {
        return;
    }
    uv_tcp_init(mb_sim.loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0) {
        uv_close((uv_handle_t *) &c->tcp, (uv_close_cb) free);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->parser = mb_ros_parser_create(0);
    c->tls = tls ? mb_sim_tls_new() : NULL;
    c->next = mb_sim.conns;
    if (mb_sim.conns) {
        mb_sim.conns->prev = c;
    }
    mb_sim.conns = c;
    mb_sim.connections_total++;
    mb_sim_conn_peer(c);
    mb_log_debug("api%s connection from %s", tls ? "-ssl" : "", c->peer);

    if (c->parser == NULL || (tls && c->tls == NULL)) {
        mb_sim_conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *) &c->tcp, mb_sim_conn_alloc,
                  mb_sim_conn_read);
}


int
mb_sim_conn_listen(const char *addr, int tls)
{
    struct sockaddr_in  sa;
    uv_tcp_t           *l = &mb_sim_listeners[tls ? 1 : 0];
    char                host[64];
    int                 port, rc;

    if (mb_sim_parse_hostport(addr, host, sizeof(host), &port) != 0
        || uv_ip4_addr(host, port, &sa) != 0)
    {
        mb_log_error("bad address \"%s\" (want 127.0.0.1:PORT)", addr);
        return -1;
    }
    uv_tcp_init(mb_sim.loop, l);
    rc = uv_tcp_bind(l, (struct sockaddr *) &sa, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *) l, 128, mb_sim_conn_accept);
    }
    if (rc != 0) {
        mb_log_error("listen %s: %s", addr, uv_strerror(rc));
        return -1;
    }
    mb_log_info("api%s listening on %s", tls ? "-ssl" : "", addr);
    return 0;
}


size_t
mb_sim_conn_count(size_t *logged_in)
{
    mb_sim_conn_t  *c;
    size_t          n = 0, in = 0;

    for (c = mb_sim.conns; c != NULL; c = c->next) {
        if (!c->closing) {
            n++;
            in += c->logged_in;
        }
    }
    if (logged_in) {
        *logged_in = in;
    }
    return n;
}
