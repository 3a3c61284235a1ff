/*
 * WebSocket connections (RFC 6455) after the 101 answer.
 *
 * The request stays alive (count 1, its handlers replaced by ours) until
 * the socket closes; everything is released by one cleanup of the request
 * pool, whichever way the request ends (our close, the client leaving, or
 * nginx terminating it at exit), so there is a single teardown path.
 *
 * Closing is never done in the middle of a call: it is posted
 * (ws->finish), so fan-out code may walk its lists while sending.
 */


#include "ngx_mikrobill_ws.h"

#include <openssl/evp.h>


#define NGX_MIKROBILL_WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define NGX_MIKROBILL_WS_KEY_MAX     64
#define NGX_MIKROBILL_WS_BATCH       64      /* frames per send_chain() */
#define NGX_MIKROBILL_WS_READ_SIZE   4096
#define NGX_MIKROBILL_WS_CLOSE_WAIT  5000    /* to flush the close frame */
#define NGX_MIKROBILL_WS_MSG_START   256     /* first message buffer */


typedef struct {
    ngx_queue_t                  queue;
    ngx_mikrobill_ws_frame_t    *frame;
} ngx_mikrobill_ws_out_t;


static void ngx_mikrobill_ws_read_handler(ngx_http_request_t *r);
static void ngx_mikrobill_ws_write_handler(ngx_http_request_t *r);
static void ngx_mikrobill_ws_feed(ngx_mikrobill_ws_t *ws, u_char *p,
    u_char *end);
static u_char *ngx_mikrobill_ws_header(ngx_mikrobill_ws_t *ws, u_char *p,
    u_char *end);
static ngx_int_t ngx_mikrobill_ws_check_start(ngx_mikrobill_ws_t *ws);
static ngx_int_t ngx_mikrobill_ws_check_length(ngx_mikrobill_ws_t *ws);
static ngx_int_t ngx_mikrobill_ws_reserve(ngx_mikrobill_ws_t *ws,
    size_t need);
static u_char *ngx_mikrobill_ws_payload(ngx_mikrobill_ws_t *ws, u_char *p,
    u_char *end);
static void ngx_mikrobill_ws_frame_done(ngx_mikrobill_ws_t *ws);
static void ngx_mikrobill_ws_control(ngx_mikrobill_ws_t *ws);
static ngx_flag_t ngx_mikrobill_ws_utf8(u_char *p, size_t len);
static void ngx_mikrobill_ws_queue(ngx_mikrobill_ws_t *ws,
    ngx_mikrobill_ws_frame_t *frame);
static void ngx_mikrobill_ws_flush(ngx_mikrobill_ws_t *ws);
static void ngx_mikrobill_ws_advance(ngx_mikrobill_ws_t *ws, size_t sent);
static void ngx_mikrobill_ws_send_own(ngx_mikrobill_ws_t *ws,
    ngx_uint_t opcode, const u_char *payload, size_t len);
static void ngx_mikrobill_ws_ping_handler(ngx_event_t *ev);
static void ngx_mikrobill_ws_finish_post(ngx_mikrobill_ws_t *ws);
static void ngx_mikrobill_ws_finish_handler(ngx_event_t *ev);
static void ngx_mikrobill_ws_going_away(ngx_mikrobill_ws_t *ws);
static void ngx_mikrobill_ws_cleanup(void *data);


ngx_int_t
ngx_mikrobill_ws_accept_key(ngx_str_t *key, u_char *out)
{
    u_char        buf[NGX_MIKROBILL_WS_KEY_MAX
                      + sizeof(NGX_MIKROBILL_WS_GUID) - 1];
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;
    ngx_str_t     src, dst;

    if (key->len > NGX_MIKROBILL_WS_KEY_MAX) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, key->data, key->len);
    ngx_memcpy(buf + key->len, NGX_MIKROBILL_WS_GUID,
               sizeof(NGX_MIKROBILL_WS_GUID) - 1);

    if (EVP_Digest(buf, key->len + sizeof(NGX_MIKROBILL_WS_GUID) - 1, md,
                   &n, EVP_sha1(), NULL)
        != 1)
    {
        return NGX_ERROR;
    }

    src.data = md;
    src.len = n;
    dst.data = out;

    ngx_encode_base64(&dst, &src);

    return dst.len == NGX_MIKROBILL_WS_ACCEPT_LEN ? NGX_OK : NGX_ERROR;
}


ngx_mikrobill_ws_t *
ngx_mikrobill_ws_start(ngx_http_request_t *r, ngx_mikrobill_ws_conf_t *conf,
    ngx_mikrobill_ws_message_pt on_message, ngx_mikrobill_ws_gone_pt on_gone,
    void *data)
{
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_mikrobill_ws_t        *ws;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    /* idle connections are closed once when shutdown starts: too late */
    if (ngx_exiting || ngx_terminate) {
        return NULL;
    }

    ws = ngx_pcalloc(r->pool, sizeof(ngx_mikrobill_ws_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ws == NULL || cln == NULL) {
        return NULL;
    }

    /*
     * Frames from the peer sit in a small delayed-ACK window otherwise:
     * as ngx_http_upstream does for upgraded connections.
     */
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        return NULL;
    }

    ws->request = r;
    ws->connection = c;
    ws->conf = *conf;
    ws->on_message = on_message;
    ws->on_gone = on_gone;
    ws->data = data;
    ws->last_in = ngx_current_msec;

    ngx_queue_init(&ws->out);

    cln->handler = ngx_mikrobill_ws_cleanup;
    cln->data = ws;

    /* the ping timer must not keep a gracefully exiting worker alive */
    ws->ping.handler = ngx_mikrobill_ws_ping_handler;
    ws->ping.data = ws;
    ws->ping.log = c->log;
    ws->ping.cancelable = 1;

    ws->finish.handler = ngx_mikrobill_ws_finish_handler;
    ws->finish.data = ws;
    ws->finish.log = c->log;

    ngx_http_set_ctx(r, ws, ngx_mikrobill_module);

    r->read_event_handler = ngx_mikrobill_ws_read_handler;
    r->write_event_handler = ngx_mikrobill_ws_write_handler;

    /* a graceful shutdown closes idle connections: this one may go */
    c->idle = 1;

    if (ws->conf.ping_interval) {
        ngx_add_timer(&ws->ping, ws->conf.ping_interval);
    }

    /* frames may already wait, in header_in or in the socket */
    ngx_post_event(c->read, &ngx_posted_events);

    return ws;
}


static void
ngx_mikrobill_ws_read_handler(ngx_http_request_t *r)
{
    u_char               buf[NGX_MIKROBILL_WS_READ_SIZE];
    ssize_t              n;
    ngx_buf_t           *b;
    ngx_connection_t    *c;
    ngx_mikrobill_ws_t  *ws;

    c = r->connection;
    ws = ngx_http_get_module_ctx(r, ngx_mikrobill_module);

    if (ws->finishing) {
        return;
    }

    /* bytes the client sent right after its handshake */
    b = r->header_in;

    if (b && b->pos < b->last) {
        ws->last_in = ngx_current_msec;
        ws->ping_sent = 0;
        ngx_mikrobill_ws_feed(ws, b->pos, b->last);
        b->pos = b->last;
    }

    /* after our close frame, input is of no interest */

    while (!ws->closing && !ws->finishing) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_mikrobill_ws_finish_post(ws);
            }

            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            /* the client went away without a close frame */
            c->error = 1;
            ngx_mikrobill_ws_finish_post(ws);
            return;
        }

        ws->last_in = ngx_current_msec;
        ws->ping_sent = 0;

        ngx_mikrobill_ws_feed(ws, buf, buf + n);
    }
}


static void
ngx_mikrobill_ws_feed(ngx_mikrobill_ws_t *ws, u_char *p, u_char *end)
{
    while (p < end && !ws->closing && !ws->finishing) {
        if (ws->in_payload) {
            p = ngx_mikrobill_ws_payload(ws, p, end);

        } else {
            p = ngx_mikrobill_ws_header(ws, p, end);
        }
    }
}


/* collect the header; the first two bytes decide how long it is */

static u_char *
ngx_mikrobill_ws_header(ngx_mikrobill_ws_t *ws, u_char *p, u_char *end)
{
    size_t  n;

    if (ws->hdr_len < 2) {
        ws->hdr_need = 2;
    }

    n = ngx_min((size_t) (end - p), ws->hdr_need - ws->hdr_len);
    ngx_memcpy(ws->hdr + ws->hdr_len, p, n);
    ws->hdr_len += n;
    p += n;

    if (ws->hdr_len < ws->hdr_need) {
        return p;
    }

    if (ws->hdr_need == 2) {
        if (ngx_mikrobill_ws_check_start(ws) != NGX_OK) {
            return end;
        }

        return p;
    }

    if (ngx_mikrobill_ws_check_length(ws) != NGX_OK) {
        return end;
    }

    ws->hdr_len = 0;

    if (ws->payload_len == 0) {
        ngx_mikrobill_ws_frame_done(ws);

    } else {
        ws->in_payload = 1;
    }

    return p;
}


static ngx_int_t
ngx_mikrobill_ws_check_start(ngx_mikrobill_ws_t *ws)
{
    ngx_uint_t  opcode, len;

    ws->fin = (ws->hdr[0] & 0x80) ? 1 : 0;
    opcode = ws->hdr[0] & 0x0f;
    len = ws->hdr[1] & 0x7f;

    /* no extension was negotiated; clients must mask */
    if ((ws->hdr[0] & 0x70) || !(ws->hdr[1] & 0x80)) {
        goto protocol_error;
    }

    switch (opcode) {

    case 0:
        if (ws->msg_opcode == 0) {
            goto protocol_error;
        }
        break;

    case NGX_MIKROBILL_WS_TEXT:
    case NGX_MIKROBILL_WS_BINARY:
        if (ws->msg_opcode) {
            goto protocol_error;
        }

        if (opcode == NGX_MIKROBILL_WS_BINARY) {
            ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_UNSUPPORTED);
            return NGX_ERROR;
        }

        break;

    case NGX_MIKROBILL_WS_CLOSE:
    case NGX_MIKROBILL_WS_PING:
    case NGX_MIKROBILL_WS_PONG:
        if (!ws->fin || len > 125) {
            goto protocol_error;
        }
        break;

    default:
        goto protocol_error;
    }

    ws->opcode = opcode;
    ws->hdr_need = 2 + 4 + (len == 126 ? 2 : (len == 127 ? 8 : 0));

    return NGX_OK;

protocol_error:

    ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_PROTOCOL_ERROR);
    return NGX_ERROR;
}


static ngx_int_t
ngx_mikrobill_ws_check_length(ngx_mikrobill_ws_t *ws)
{
    u_char      *m;
    uint64_t     len;
    ngx_uint_t   i;

    len = ws->hdr[1] & 0x7f;
    m = ws->hdr + 2;

    if (len == 126) {
        len = ((uint64_t) m[0] << 8) | m[1];
        m += 2;

    } else if (len == 127) {
        if (m[0] & 0x80) {
            ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_PROTOCOL_ERROR);
            return NGX_ERROR;
        }

        len = 0;

        for (i = 0; i < 8; i++) {
            len = (len << 8) | m[i];
        }

        m += 8;
    }

    ngx_memcpy(ws->mask, m, 4);

    ws->payload_len = len;
    ws->payload_got = 0;

    if (ws->opcode & 0x8) {
        return NGX_OK;
    }

    if (ws->opcode == NGX_MIKROBILL_WS_TEXT) {
        ws->msg_opcode = NGX_MIKROBILL_WS_TEXT;
        ws->msg_len = 0;
    }

    if (len > ws->conf.max_message - ws->msg_len) {
        ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_TOO_BIG);
        return NGX_ERROR;
    }

    return ngx_mikrobill_ws_reserve(ws, ws->msg_len + (size_t) len);
}


/*
 * Room for a message of need bytes.  Clients mostly send short subscribe
 * lines: start small and double, so that 10,000 sockets do not each hold
 * max_message bytes.
 */
static ngx_int_t
ngx_mikrobill_ws_reserve(ngx_mikrobill_ws_t *ws, size_t need)
{
    u_char  *p;
    size_t   cap;

    if (need <= ws->msg_cap && ws->msg != NULL) {
        return NGX_OK;
    }

    cap = ws->msg_cap ? ws->msg_cap : NGX_MIKROBILL_WS_MSG_START;

    while (cap < need) {
        cap *= 2;
    }

    cap = ngx_min(cap, ws->conf.max_message);

    p = ngx_pnalloc(ws->request->pool, cap + 1);
    if (p == NULL) {
        ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_INTERNAL);
        return NGX_ERROR;
    }

    if (ws->msg_len) {
        ngx_memcpy(p, ws->msg, ws->msg_len);
    }

    if (ws->msg != NULL) {
        ngx_pfree(ws->request->pool, ws->msg);
    }

    ws->msg = p;
    ws->msg_cap = cap;

    return NGX_OK;
}


static u_char *
ngx_mikrobill_ws_payload(ngx_mikrobill_ws_t *ws, u_char *p, u_char *end)
{
    u_char  *dst;
    size_t   n, i;

    n = ngx_min((uint64_t) (end - p), ws->payload_len - ws->payload_got);

    dst = (ws->opcode & 0x8) ? ws->ctl + ws->payload_got
                             : ws->msg + ws->msg_len;

    for (i = 0; i < n; i++) {
        dst[i] = p[i] ^ ws->mask[(ws->payload_got + i) & 3];
    }

    ws->payload_got += n;

    if (!(ws->opcode & 0x8)) {
        ws->msg_len += n;
    }

    if (ws->payload_got == ws->payload_len) {
        ws->in_payload = 0;
        ngx_mikrobill_ws_frame_done(ws);
    }

    return p + n;
}


static void
ngx_mikrobill_ws_frame_done(ngx_mikrobill_ws_t *ws)
{
    if (ws->opcode & 0x8) {
        ngx_mikrobill_ws_control(ws);
        return;
    }

    if (!ws->fin) {
        return;
    }

    ws->msg_opcode = 0;

    if (!ngx_mikrobill_ws_utf8(ws->msg, ws->msg_len)) {
        ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_BAD_DATA);
        return;
    }

    ws->on_message(ws, ws->msg, ws->msg_len);
}


static void
ngx_mikrobill_ws_control(ngx_mikrobill_ws_t *ws)
{
    size_t      len;
    ngx_uint_t  code;

    len = (size_t) ws->payload_len;

    switch (ws->opcode) {

    case NGX_MIKROBILL_WS_PING:
        ngx_mikrobill_ws_send_own(ws, NGX_MIKROBILL_WS_PONG, ws->ctl, len);
        break;

    case NGX_MIKROBILL_WS_CLOSE:
        if (len == 1) {
            ngx_mikrobill_ws_close(ws, NGX_MIKROBILL_WS_PROTOCOL_ERROR);
            break;
        }

        /* echo the code; an empty close is answered empty (code 0) */
        code = (len >= 2) ? ((ngx_uint_t) ws->ctl[0] << 8 | ws->ctl[1]) : 0;
        ngx_mikrobill_ws_close(ws, code);
        break;

    default: /* pong: its arrival already counts as a sign of life */
        break;
    }
}


/* strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF */

static ngx_flag_t
ngx_mikrobill_ws_utf8(u_char *p, size_t len)
{
    u_char      *end;
    uint32_t     cp, min;
    ngx_uint_t   need, i;

    end = p + len;

    while (p < end) {

        if (*p < 0x80) {
            p++;
            continue;
        }

        if ((*p & 0xe0) == 0xc0) {
            need = 1;
            cp = *p & 0x1f;
            min = 0x80;

        } else if ((*p & 0xf0) == 0xe0) {
            need = 2;
            cp = *p & 0x0f;
            min = 0x800;

        } else if ((*p & 0xf8) == 0xf0) {
            need = 3;
            cp = *p & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if ((size_t) (end - p) <= need) {
            return 0;
        }

        for (i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        p += need + 1;
    }

    return 1;
}


ngx_mikrobill_ws_frame_t *
ngx_mikrobill_ws_frame(ngx_uint_t opcode, const u_char *payload, size_t len)
{
    u_char                    *p;
    size_t                     hlen;
    ngx_uint_t                 i;
    ngx_mikrobill_ws_frame_t  *f;

    hlen = (len < 126) ? 2 : ((len < 65536) ? 4 : 10);

    f = ngx_alloc(sizeof(ngx_mikrobill_ws_frame_t) + hlen + len,
                  ngx_cycle->log);
    if (f == NULL) {
        return NULL;
    }

    f->refs = 1;
    f->len = hlen + len;
    f->data = (u_char *) (f + 1);

    p = f->data;
    *p++ = (u_char) (0x80 | opcode);

    /* server frames are never masked */
    if (len < 126) {
        *p++ = (u_char) len;

    } else if (len < 65536) {
        *p++ = 126;
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;

    } else {
        *p++ = 127;

        for (i = 0; i < 8; i++) {
            *p++ = (u_char) ((uint64_t) len >> (56 - 8 * i));
        }
    }

    if (len) {
        ngx_memcpy(p, payload, len);
    }

    return f;
}


void
ngx_mikrobill_ws_frame_release(ngx_mikrobill_ws_frame_t *frame)
{
    if (--frame->refs == 0) {
        ngx_free(frame);
    }
}


void
ngx_mikrobill_ws_send(ngx_mikrobill_ws_t *ws, ngx_mikrobill_ws_frame_t *frame)
{
    /* nothing goes out after the close frame */
    if (ws->closing) {
        return;
    }

    ngx_mikrobill_ws_queue(ws, frame);
}


static void
ngx_mikrobill_ws_queue(ngx_mikrobill_ws_t *ws, ngx_mikrobill_ws_frame_t *frame)
{
    ngx_connection_t        *c;
    ngx_mikrobill_ws_out_t  *out;

    if (ws->finishing || ws->gone) {
        return;
    }

    c = ws->connection;

    /* a reader this far behind is dropped: memory stays bounded */
    if (ws->out_bytes + frame->len > ws->conf.send_limit) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "mikrobill ws: client output over %uz bytes, closing",
                      ws->conf.send_limit);
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    out = ngx_alloc(sizeof(ngx_mikrobill_ws_out_t), c->log);
    if (out == NULL) {
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    frame->refs++;
    out->frame = frame;
    ngx_queue_insert_tail(&ws->out, &out->queue);
    ws->out_bytes += frame->len;

    /*
     * Write at once while the socket takes it, so that a burst lands in
     * the kernel's buffers rather than in our queue; send errors are only
     * acted upon through the posted finish event.  flush() calls nothing
     * back, so it never runs nested in itself.
     */
    if (c->write->ready) {
        ngx_mikrobill_ws_flush(ws);
    }
}


void
ngx_mikrobill_ws_send_text(ngx_mikrobill_ws_t *ws, const u_char *text,
    size_t len)
{
    ngx_mikrobill_ws_send_own(ws, NGX_MIKROBILL_WS_TEXT, text, len);
}


/* a frame for this client alone (pong, ping, its own events) */

static void
ngx_mikrobill_ws_send_own(ngx_mikrobill_ws_t *ws, ngx_uint_t opcode,
    const u_char *payload, size_t len)
{
    ngx_mikrobill_ws_frame_t  *f;

    f = ngx_mikrobill_ws_frame(opcode, payload, len);
    if (f == NULL) {
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    ngx_mikrobill_ws_send(ws, f);
    ngx_mikrobill_ws_frame_release(f);
}


void
ngx_mikrobill_ws_close(ngx_mikrobill_ws_t *ws, ngx_uint_t code)
{
    u_char                     payload[2];
    ngx_mikrobill_ws_frame_t  *f;

    if (ws->closing || ws->finishing || ws->gone) {
        return;
    }

    /* the last frame: closed once it is sent, or after a while anyway */
    ws->closing = 1;

    if (ws->ping.timer_set) {
        ngx_del_timer(&ws->ping);
    }

    ngx_add_timer(&ws->ping, NGX_MIKROBILL_WS_CLOSE_WAIT);

    payload[0] = (u_char) (code >> 8);
    payload[1] = (u_char) code;

    f = ngx_mikrobill_ws_frame(NGX_MIKROBILL_WS_CLOSE, payload,
                               code ? 2 : 0);
    if (f == NULL) {
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    ngx_mikrobill_ws_queue(ws, f);
    ngx_mikrobill_ws_frame_release(f);

    if (ngx_queue_empty(&ws->out)) {
        ngx_mikrobill_ws_finish_post(ws);
    }
}


static void
ngx_mikrobill_ws_write_handler(ngx_http_request_t *r)
{
    ngx_mikrobill_ws_t  *ws;

    ws = ngx_http_get_module_ctx(r, ngx_mikrobill_module);

    if (!ws->finishing) {
        ngx_mikrobill_ws_flush(ws);
    }
}


static void
ngx_mikrobill_ws_flush(ngx_mikrobill_ws_t *ws)
{
    off_t                    sent;
    ngx_uint_t               i;
    ngx_buf_t                bufs[NGX_MIKROBILL_WS_BATCH];
    ngx_chain_t              chain[NGX_MIKROBILL_WS_BATCH], *rc;
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_mikrobill_ws_out_t  *out;

    c = ws->connection;

    while (!ngx_queue_empty(&ws->out)) {

        i = 0;

        for (q = ngx_queue_head(&ws->out);
             q != ngx_queue_sentinel(&ws->out) && i < NGX_MIKROBILL_WS_BATCH;
             q = ngx_queue_next(q))
        {
            out = ngx_queue_data(q, ngx_mikrobill_ws_out_t, queue);

            ngx_memzero(&bufs[i], sizeof(ngx_buf_t));
            bufs[i].memory = 1;
            bufs[i].pos = out->frame->data + (i == 0 ? ws->head_sent : 0);
            bufs[i].last = out->frame->data + out->frame->len;

            chain[i].buf = &bufs[i];
            chain[i].next = NULL;

            if (i > 0) {
                chain[i - 1].next = &chain[i];
            }

            i++;
        }

        sent = c->sent;

        rc = c->send_chain(c, chain, 0);

        if (rc == NGX_CHAIN_ERROR) {
            c->error = 1;
            ngx_mikrobill_ws_finish_post(ws);
            return;
        }

        ngx_mikrobill_ws_advance(ws, (size_t) (c->sent - sent));

        if (rc != NULL) {
            /* the socket is full: the next write event goes on */
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_mikrobill_ws_finish_post(ws);
            }

            return;
        }
    }

    if (ws->closing) {
        ngx_mikrobill_ws_finish_post(ws);
    }
}


static void
ngx_mikrobill_ws_advance(ngx_mikrobill_ws_t *ws, size_t sent)
{
    size_t                   left;
    ngx_queue_t             *q;
    ngx_mikrobill_ws_out_t  *out;

    while (sent && !ngx_queue_empty(&ws->out)) {
        q = ngx_queue_head(&ws->out);
        out = ngx_queue_data(q, ngx_mikrobill_ws_out_t, queue);

        left = out->frame->len - ws->head_sent;

        if (sent < left) {
            ws->head_sent += sent;
            ws->out_bytes -= sent;
            return;
        }

        sent -= left;
        ws->out_bytes -= left;
        ws->head_sent = 0;

        ngx_queue_remove(q);
        ngx_mikrobill_ws_frame_release(out->frame);
        ngx_free(out);
    }
}


/*
 * Ping a client silent for ping_interval; close it when another interval
 * passes without a frame.  After our close frame, the same timer bounds
 * the wait for it to be sent.
 */

static void
ngx_mikrobill_ws_ping_handler(ngx_event_t *ev)
{
    ngx_msec_t           silent, interval;
    ngx_mikrobill_ws_t  *ws;

    ws = ev->data;
    interval = ws->conf.ping_interval;

    if (ws->closing) {
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    silent = ngx_current_msec - ws->last_in;

    if (silent < interval) {
        ngx_add_timer(&ws->ping, interval - silent);
        return;
    }

    if (ws->ping_sent) {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "mikrobill ws: no answer to ping, closing");
        ngx_mikrobill_ws_finish_post(ws);
        return;
    }

    ws->ping_sent = 1;
    ngx_mikrobill_ws_send_own(ws, NGX_MIKROBILL_WS_PING, NULL, 0);

    ngx_add_timer(&ws->ping, interval);
}


static void
ngx_mikrobill_ws_finish_post(ngx_mikrobill_ws_t *ws)
{
    if (ws->finishing || ws->gone) {
        return;
    }

    ws->finishing = 1;
    ngx_post_event(&ws->finish, &ngx_posted_events);
}


static void
ngx_mikrobill_ws_finish_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_mikrobill_ws_t  *ws;

    ws = ev->data;
    c = ws->connection;

    /* the cleanup below (the pool's) releases everything */
    ngx_http_finalize_request(ws->request, NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


/*
 * A graceful shutdown (nginx -s quit, a reload) terminates this request
 * as an idle connection, with no read event of ours on the way: tell the
 * client why (1001, RFC 6455 7.4.1), so that it reconnects at once to a
 * new worker instead of taking it for an error.  Best effort: the socket
 * closes right after and the frame is tiny; never in the middle of a
 * frame already partly sent.
 */

static void
ngx_mikrobill_ws_going_away(ngx_mikrobill_ws_t *ws)
{
    ngx_connection_t  *c = ws->connection;

    static u_char  frame[] = {
        0x80 | NGX_MIKROBILL_WS_CLOSE, 2,
        NGX_MIKROBILL_WS_GOING_AWAY >> 8, NGX_MIKROBILL_WS_GOING_AWAY & 0xff
    };

    /* c->destroyed is set already: the request is being freed, not c */
    if (c->error || ws->head_sent != 0) {
        return;
    }

    (void) c->send(c, frame, sizeof(frame));
}


static void
ngx_mikrobill_ws_cleanup(void *data)
{
    ngx_mikrobill_ws_t  *ws = data;

    ngx_queue_t             *q;
    ngx_mikrobill_ws_out_t  *out;

    if (ngx_exiting && !ws->closing && !ws->finishing) {
        ngx_mikrobill_ws_going_away(ws);
    }

    ws->gone = 1;

    if (ws->ping.timer_set) {
        ngx_del_timer(&ws->ping);
    }

    if (ws->finish.posted) {
        ngx_delete_posted_event(&ws->finish);
    }

    while (!ngx_queue_empty(&ws->out)) {
        q = ngx_queue_head(&ws->out);
        ngx_queue_remove(q);

        out = ngx_queue_data(q, ngx_mikrobill_ws_out_t, queue);
        ngx_mikrobill_ws_frame_release(out->frame);
        ngx_free(out);
    }

    ws->out_bytes = 0;

    if (ws->on_gone) {
        ws->on_gone(ws);
    }
}
