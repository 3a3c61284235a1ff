/*
 * WebSocket (RFC 6455) on an upgraded HTTP/1.1 connection: the accept key,
 * the frame parser, the writer of shared frames, server pings and close.
 * What the messages mean is the caller's business (on_message).
 */

#ifndef _NGX_MIKROBILL_WS_H_INCLUDED_
#define _NGX_MIKROBILL_WS_H_INCLUDED_


#include "ngx_mikrobill.h"


#define NGX_MIKROBILL_WS_TEXT            0x1
#define NGX_MIKROBILL_WS_BINARY          0x2
#define NGX_MIKROBILL_WS_CLOSE           0x8
#define NGX_MIKROBILL_WS_PING            0x9
#define NGX_MIKROBILL_WS_PONG            0xa

#define NGX_MIKROBILL_WS_GOING_AWAY      1001
#define NGX_MIKROBILL_WS_PROTOCOL_ERROR  1002
#define NGX_MIKROBILL_WS_UNSUPPORTED     1003
#define NGX_MIKROBILL_WS_BAD_DATA        1007
#define NGX_MIKROBILL_WS_POLICY          1008
#define NGX_MIKROBILL_WS_TOO_BIG         1009
#define NGX_MIKROBILL_WS_INTERNAL        1011

/* base64 of a SHA-1 digest */
#define NGX_MIKROBILL_WS_ACCEPT_LEN      28


/*
 * A frame built once and shared by the output queues of many clients:
 * freed when the last reference goes.
 */
typedef struct {
    ngx_uint_t                  refs;
    size_t                      len;
    u_char                     *data;     /* header and payload */
} ngx_mikrobill_ws_frame_t;


typedef struct ngx_mikrobill_ws_s  ngx_mikrobill_ws_t;

/* a complete text message, valid UTF-8, valid during the call */
typedef void (*ngx_mikrobill_ws_message_pt)(ngx_mikrobill_ws_t *ws,
    u_char *text, size_t len);

/* the connection is going: called once, from the request pool cleanup */
typedef void (*ngx_mikrobill_ws_gone_pt)(ngx_mikrobill_ws_t *ws);


typedef struct {
    size_t                      max_message;
    size_t                      send_limit;
    ngx_msec_t                  ping_interval;
} ngx_mikrobill_ws_conf_t;


struct ngx_mikrobill_ws_s {
    ngx_http_request_t           *request;
    ngx_connection_t             *connection;
    ngx_mikrobill_ws_conf_t       conf;

    ngx_mikrobill_ws_message_pt   on_message;
    ngx_mikrobill_ws_gone_pt      on_gone;
    void                         *data;        /* the caller's */

    /* the frame being parsed */
    u_char                        hdr[14];
    size_t                        hdr_len;
    size_t                        hdr_need;
    ngx_uint_t                    opcode;
    uint64_t                      payload_len;
    uint64_t                      payload_got;
    u_char                        mask[4];
    unsigned                      fin:1;
    unsigned                      in_payload:1;

    /* the message being assembled (max_message bytes), a control frame */
    ngx_uint_t                    msg_opcode;  /* 0: none in progress */
    u_char                       *msg;
    size_t                        msg_len;
    size_t                        msg_cap;     /* grows to max_message */
    u_char                        ctl[125];

    /* output: ngx_mikrobill_ws_out_t, head first */
    ngx_queue_t                   out;
    size_t                        out_bytes;   /* not sent yet */
    size_t                        head_sent;   /* of the head frame */

    ngx_event_t                   ping;        /* ping, close deadline */
    ngx_event_t                   finish;      /* posted: close now */
    ngx_msec_t                    last_in;

    unsigned                      ping_sent:1;
    unsigned                      closing:1;   /* close frame queued */
    unsigned                      finishing:1;
    unsigned                      gone:1;
};


/* the Sec-WebSocket-Accept value of key into out (28 bytes) */
ngx_int_t ngx_mikrobill_ws_accept_key(ngx_str_t *key, u_char *out);

/*
 * Take over the connection of r, whose 101 answer has been sent: from here
 * the request is held until the WebSocket closes.  NULL on failure (the
 * caller finalizes).
 */
ngx_mikrobill_ws_t *ngx_mikrobill_ws_start(ngx_http_request_t *r,
    ngx_mikrobill_ws_conf_t *conf, ngx_mikrobill_ws_message_pt on_message,
    ngx_mikrobill_ws_gone_pt on_gone, void *data);

/* a frame with one reference, or NULL (out of memory) */
ngx_mikrobill_ws_frame_t *ngx_mikrobill_ws_frame(ngx_uint_t opcode,
    const u_char *payload, size_t len);
void ngx_mikrobill_ws_frame_release(ngx_mikrobill_ws_frame_t *frame);

/*
 * Queue a frame (a reference is taken) and write what the socket takes.
 * Never closes before returning: a client over its send limit or with a
 * broken socket is closed from a posted event, so callers may walk lists
 * of clients while sending.
 */
void ngx_mikrobill_ws_send(ngx_mikrobill_ws_t *ws,
    ngx_mikrobill_ws_frame_t *frame);

/* a text frame of its own for one client */
void ngx_mikrobill_ws_send_text(ngx_mikrobill_ws_t *ws, const u_char *text,
    size_t len);

/* send a close frame with code (0: empty payload), then close */
void ngx_mikrobill_ws_close(ngx_mikrobill_ws_t *ws, ngx_uint_t code);

/* content handler of "mikrobill_websocket" (ngx_mikrobill_ws_handler.c) */
ngx_int_t ngx_mikrobill_ws_handler(ngx_http_request_t *r);


#endif /* _NGX_MIKROBILL_WS_H_INCLUDED_ */
