/*
 * ws-load: WebSocket load client and publisher for /ws (docs/monitor.md).
 *
 * Opens N client connections to 127.0.0.1:PORT/ws?token=TOKEN (non-blocking
 * connects, at most --inflight handshakes and subscribes outstanding so the
 * listen backlog is never overrun), checks each Sec-WebSocket-Accept, sends
 * a masked {"subscribe":"<id>"} (client i -> channel i % C, so the clients
 * spread evenly over C fake customer ids) and waits for every
 * {"event":"subscribed"}.  Then a publisher thread writes to Redis for D
 * seconds, R messages per second per channel, spread evenly over time (not
 * in bursts), as the worker does: XADD mikrotik:traffic:customers MAXLEN ~
 * 100000 * <flat sample> and PUBLISH mikrobill:traffic:<id> <json>,
 * pipelined.  The JSON is the contract's sample plus "sent_ns"
 * (CLOCK_REALTIME taken just before the XADD).  Every client parses its
 * frames and records receipt - sent_ns.  At the end every client sends a
 * close frame and waits (bounded) for the server's close.
 *
 *   ws-load --port P --token T --redis-port RP [--clients 10000]
 *           [--channels 1000] [--duration 10] [--rate 1] [--inflight 256]
 *           [--connect-timeout 60] [--grace 5] [--nginx-pid MASTER]
 *           [--star N] [--dump FILE] [--quickack]
 *
 * The token may come from the environment (WS_LOAD_TOKEN) instead.
 * --nginx-pid: the nginx master; the sum of VmRSS of its worker processes
 * is sampled before connecting, once everyone is subscribed and after the
 * publishing, with their CPU time.  --star N: N more clients subscribe to
 * "*" and get every message (latency reported apart).  --dump FILE: every
 * channel message's send time (ms from the first) and latency (ms).
 * --quickack: TCP_QUICKACK after every read, so that the server's Nagle
 * never waits for a delayed ACK of ours (a diagnostic).
 * Also reported: the Redis round trip (sent_ns to the PUBLISH reply), to
 * tell a stall before nginx from one in it.  Loopback only; bounded in
 * clients, rate and time.
 *
 * Prints human lines, then one "result: key=value ..." line for scripts.
 * Exit 0 when the run completed (whatever it measured), 1 when it could not
 * (connect, handshake or subscribe failures, Redis errors), 2 on usage.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>


#define WS_GUID          "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_CLIENTS      200000
#define MAX_TOTAL_RATE   100000      /* messages per second, all channels */
#define MAX_DURATION     600
#define MAX_MESSAGE      (1024 * 1024)
#define RBUF_SIZE        (256 * 1024)
#define PUB_BATCH        256
#define STREAM_KEY       "mikrotik:traffic:customers"
#define CHANNEL_PREFIX   "mikrobill:traffic:"

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_SUBSCRIBING, ST_READY,
       ST_CLOSING, ST_DEAD };

typedef struct {
    int        fd;
    uint8_t    state;
    uint8_t    frag;            /* a fragmented text message is open */
    uint8_t    close_sent;
    uint8_t    close_got;
    uint32_t   chan;
    uint16_t   close_code;      /* the server's close code, 0 none */
    char       key[25];         /* Sec-WebSocket-Key, base64 of 16 bytes */
    uint8_t   *pend;            /* unparsed input */
    uint32_t   pend_len, pend_cap;
    uint8_t   *out;             /* unsent output */
    uint32_t   out_len, out_off, out_cap;
    uint8_t   *msg;             /* fragmented message so far */
    uint32_t   msg_len, msg_cap;
    uint64_t   last_sent_ns;
} conn_t;

typedef struct {
    /* options */
    int             port, redis_port, clients, channels, duration, rate;
    int             star, total;    /* "*" subscribers; clients + star */
    int             quickack;       /* ACK at once after every read */
    int             inflight_max, connect_timeout, grace;
    long            nginx_pid;
    const char     *token;

    int             ep;
    conn_t         *c;
    char          (*chan_id)[37];
    uint32_t       *chan_clients;

    /* client counters (main thread only) */
    int             opened, inflight, handshaken, subscribed, dead;
    int             connect_errors, handshake_errors, sub_errors;
    int             proto_errors, closed_by_server, closed_clean;
    uint64_t        received, dup, misrouted, other_events, pings;
    uint64_t       *lat;        /* latencies, ns */
    uint64_t       *lat_sent;   /* their sent_ns (--dump only) */
    const char     *dump;
    uint64_t        lat_n, lat_cap;
    uint64_t        star_received, star_dup;
    uint64_t       *lat_star;   /* latencies of the "*" subscribers, ns */
    uint64_t        lat_star_n, lat_star_cap;
    int             shown_errors;

    /* publisher */
    redisContext   *redis;
    pthread_t       pub_thread;
    uint64_t        pub_total;
    atomic_ullong   published;
    atomic_ullong   publish_receivers_min, publish_receivers_max;
    atomic_ullong   publish_nobody;
    atomic_int      pub_done, pub_failed;
    double          pub_seconds;
    uint64_t       *pub_rtt;    /* per message: sent_ns to its PUBLISH reply */
    uint64_t        pub_rtt_n;

    uint8_t        *rbuf;
    uint64_t        mask_state;
} ws_t;

static ws_t  W;


static uint64_t
now_ns(clockid_t clk)
{
    struct timespec  ts;

    clock_gettime(clk, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


static uint64_t mono(void) { return now_ns(CLOCK_MONOTONIC); }
static uint64_t real(void) { return now_ns(CLOCK_REALTIME); }


static void
die(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "ws-load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}


static void
show_error(const char *fmt, ...)
{
    va_list  ap;

    if (W.shown_errors++ >= 5) {
        return;
    }
    fprintf(stderr, "ws-load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}


static uint32_t
rnd32(void)
{
    /* xorshift64*: mask keys only need to be unpredictable-ish */
    W.mask_state ^= W.mask_state >> 12;
    W.mask_state ^= W.mask_state << 25;
    W.mask_state ^= W.mask_state >> 27;
    return (uint32_t) ((W.mask_state * 2685821657736338717ull) >> 32);
}


static int
grow(uint8_t **buf, uint32_t *cap, uint64_t need)
{
    uint64_t  n = *cap ? *cap : 512;
    uint8_t  *p;

    if (need <= *cap) {
        return 0;
    }
    if (need > 2 * MAX_MESSAGE) {
        return -1;
    }
    while (n < need) {
        n *= 2;
    }
    p = realloc(*buf, n);
    if (p == NULL) {
        return -1;
    }
    *buf = p;
    *cap = (uint32_t) n;
    return 0;
}


static void
set_events(conn_t *c, uint32_t ev)
{
    struct epoll_event  e = { .events = ev, .data.u32 = (uint32_t) (c - W.c) };

    if (epoll_ctl(W.ep, EPOLL_CTL_MOD, c->fd, &e) != 0) {
        die("epoll_ctl: %s", strerror(errno));
    }
}


static void
conn_kill(conn_t *c)
{
    if (c->state == ST_DEAD) {
        return;
    }
    if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE
        || c->state == ST_SUBSCRIBING)
    {
        W.inflight--;
    }
    close(c->fd);
    c->fd = -1;
    c->state = ST_DEAD;
    free(c->pend);
    free(c->out);
    free(c->msg);
    c->pend = c->out = c->msg = NULL;
    c->pend_len = c->pend_cap = c->out_len = c->out_off = c->out_cap = 0;
    c->msg_len = c->msg_cap = 0;
    W.dead++;
}


static void
conn_send(conn_t *c, const void *data, size_t len)
{
    ssize_t  n = 0;

    if (c->out_len == c->out_off) {
        c->out_len = c->out_off = 0;
        n = write(c->fd, data, len);
        if (n < 0) {
            if (errno != EAGAIN) {
                show_error("write: %s", strerror(errno));
                conn_kill(c);
                return;
            }
            n = 0;
        }
        if ((size_t) n == len) {
            return;
        }
    }
    if (grow(&c->out, &c->out_cap, (uint64_t) c->out_len + len - n) != 0) {
        show_error("output of a client too big");
        conn_kill(c);
        return;
    }
    memcpy(c->out + c->out_len, (const uint8_t *) data + n, len - n);
    c->out_len += (uint32_t) (len - n);
    set_events(c, EPOLLIN | EPOLLOUT);
}


static void
conn_flush(conn_t *c)
{
    ssize_t  n;

    while (c->out_off < c->out_len) {
        n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                return;
            }
            show_error("write: %s", strerror(errno));
            conn_kill(c);
            return;
        }
        c->out_off += (uint32_t) n;
    }
    c->out_len = c->out_off = 0;
    set_events(c, EPOLLIN);
}


/* a masked client frame (RFC 6455 5.3) */
static void
ws_send(conn_t *c, int opcode, const void *payload, size_t len)
{
    uint8_t         f[14 + 1024];
    const uint8_t  *p = payload;
    size_t          h = 0, i;
    uint32_t        m = rnd32();

    if (len > 1024) {
        return;                 /* we only send small frames */
    }
    f[h++] = (uint8_t) (0x80 | opcode);
    if (len < 126) {
        f[h++] = (uint8_t) (0x80 | len);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t) (len >> 8);
        f[h++] = (uint8_t) len;
    }
    memcpy(f + h, &m, 4);
    for (i = 0; i < len; i++) {
        f[h + 4 + i] = p[i] ^ f[h + (i & 3)];
    }
    conn_send(c, f, h + 4 + len);
}


static void
conn_open(conn_t *c)
{
    struct sockaddr_in  sa;
    struct epoll_event  e;
    int                 one = 1;
    uint8_t             raw[16];

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        die("socket: %s (RLIMIT_NOFILE?)", strerror(errno));
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) W.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    c->state = ST_CONNECTING;
    W.inflight++;
    W.opened++;
    e.events = EPOLLOUT | EPOLLIN;
    e.data.u32 = (uint32_t) (c - W.c);
    if (epoll_ctl(W.ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        die("epoll_ctl: %s", strerror(errno));
    }
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        && errno != EINPROGRESS)
    {
        if (errno == EADDRNOTAVAIL) {
            die("connect: no local port left (%d clients open)", W.opened);
        }
        W.connect_errors++;
        show_error("connect: %s", strerror(errno));
        conn_kill(c);
        return;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        die("RAND_bytes failed");
    }
    EVP_EncodeBlock((unsigned char *) c->key, raw, sizeof(raw));
}


static void
conn_connected(conn_t *c)
{
    char       req[1024];
    int        err = 0, n;
    socklen_t  len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        W.connect_errors++;
        show_error("connect: %s", strerror(err ? err : errno));
        conn_kill(c);
        return;
    }
    n = snprintf(req, sizeof(req),
                 "GET /ws?token=%s HTTP/1.1\r\n"
                 "Host: 127.0.0.1:%d\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "\r\n", W.token, W.port, c->key);
    c->state = ST_HANDSHAKE;
    set_events(c, EPOLLIN);
    conn_send(c, req, (size_t) n);
}


/* the value of header NAME in the response head, or NULL */
static const char *
header(const char *head, const char *name, size_t *vlen)
{
    const char  *p = strstr(head, "\r\n"), *v, *e;
    size_t       nl = strlen(name);

    while (p != NULL && p[2] != '\r') {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            v = p + nl + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            e = strstr(v, "\r\n");
            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }
            *vlen = (size_t) (e - v);
            return v;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}


/* 1: complete and good, 0: need more, -1: failed (connection killed) */
static int
handshake(conn_t *c, size_t *used)
{
    char           *end, expect[64], sub[128];
    const char     *v;
    uint8_t         sha[SHA_DIGEST_LENGTH];
    char            kbuf[64];
    size_t          vlen, hlen;
    int             n;

    if (grow(&c->pend, &c->pend_cap, (uint64_t) c->pend_len + 1) != 0) {
        conn_kill(c);
        return -1;
    }
    c->pend[c->pend_len] = '\0';
    end = strstr((char *) c->pend, "\r\n\r\n");
    if (end == NULL) {
        if (c->pend_len > 16384) {
            W.handshake_errors++;
            show_error("handshake: response head too long");
            conn_kill(c);
        }
        return c->pend_len > 16384 ? -1 : 0;
    }
    hlen = (size_t) (end - (char *) c->pend) + 4;
    end[2] = '\0';
    if (strncmp((char *) c->pend, "HTTP/1.1 101", 12) != 0) {
        W.handshake_errors++;
        for (v = (char *) c->pend + hlen; *v; v++) {
            if (*v == '\r' || *v == '\n') {
                *(char *) v = ' ';
            }
        }
        show_error("handshake: %.*s: %.160s",
                   (int) strcspn((char *) c->pend, "\r"), (char *) c->pend,
                   (char *) c->pend + hlen);
        conn_kill(c);
        return -1;
    }
    snprintf(kbuf, sizeof(kbuf), "%s%s", c->key, WS_GUID);
    SHA1((const unsigned char *) kbuf, strlen(kbuf), sha);
    EVP_EncodeBlock((unsigned char *) expect, sha, sizeof(sha));
    v = header((char *) c->pend, "Sec-WebSocket-Accept", &vlen);
    if (v == NULL || vlen != strlen(expect) || memcmp(v, expect, vlen) != 0) {
        W.handshake_errors++;
        show_error("handshake: Sec-WebSocket-Accept %.*s, expected %s",
                   v ? (int) vlen : 6, v ? v : "absent", expect);
        conn_kill(c);
        return -1;
    }
    *used = hlen;
    W.handshaken++;
    c->state = ST_SUBSCRIBING;
    n = snprintf(sub, sizeof(sub), "{\"subscribe\":\"%s\"}",
                 c->chan == UINT32_MAX ? "*" : W.chan_id[c->chan]);
    ws_send(c, 0x1, sub, (size_t) n);
    return 1;
}


/*
 * The value of "key" in a flat JSON object (whitespace allowed around the
 * colon): points past the opening quote of a string, or at a number; NULL
 * when the key is absent.  *str tells which.
 */
static const uint8_t *
json_val(const uint8_t *p, size_t len, const char *key, int *str)
{
    const uint8_t  *s, *e = p + len;
    size_t          kl = strlen(key);

    for (s = p; (s = memmem(s, (size_t) (e - s), key, kl)) != NULL; s += kl) {
        const uint8_t  *v = s + kl;

        if (s == p || s[-1] != '"' || v >= e || *v != '"') {
            continue;
        }
        for (v++; v < e && (*v == ' ' || *v == '\t'); v++) { }
        if (v >= e || *v != ':') {
            continue;
        }
        for (v++; v < e && (*v == ' ' || *v == '\t'); v++) { }
        if (v >= e) {
            return NULL;
        }
        *str = *v == '"';
        return *str ? v + 1 : v;
    }
    return NULL;
}


static int
json_is(const uint8_t *p, size_t len, const char *key, const char *value)
{
    const uint8_t  *v = NULL;
    size_t          vl = strlen(value);
    int             str = 0;

    v = json_val(p, len, key, &str);
    return v != NULL && str && (size_t) (p + len - v) > vl
           && memcmp(v, value, vl) == 0 && v[vl] == '"';
}


static void
on_message(conn_t *c, const uint8_t *p, size_t len, uint64_t rt)
{
    const uint8_t  *s, *e = p + len;
    uint64_t        sent = 0;
    int             str;

    s = json_val(p, len, "sent_ns", &str);
    if (s != NULL) {
        while (s < e && *s >= '0' && *s <= '9') {
            sent = sent * 10 + (uint64_t) (*s++ - '0');
        }
        if (c->chan == UINT32_MAX) {
            W.star_received++;
            if (sent <= c->last_sent_ns) {
                W.star_dup++;
            }
            c->last_sent_ns = sent;
            if (W.lat_star_n < W.lat_star_cap) {
                W.lat_star[W.lat_star_n++] = rt > sent ? rt - sent : 0;
            }
            return;
        }
        W.received++;
        if (!json_is(p, len, "customer_id", W.chan_id[c->chan])) {
            W.misrouted++;
        }
        if (sent <= c->last_sent_ns) {
            W.dup++;
        }
        c->last_sent_ns = sent;
        if (W.lat_n < W.lat_cap) {
            if (W.lat_sent != NULL) {
                W.lat_sent[W.lat_n] = sent;
            }
            W.lat[W.lat_n++] = rt > sent ? rt - sent : 0;
        }
        return;
    }
    if (json_is(p, len, "event", "subscribed") && c->state == ST_SUBSCRIBING)
    {
        c->state = ST_READY;
        W.inflight--;
        W.subscribed++;
        return;
    }
    if (json_is(p, len, "event", "error")) {
        W.sub_errors++;
        show_error("server error event: %.*s", (int) (len > 300 ? 300 : len),
                   (const char *) p);
        if (c->state == ST_SUBSCRIBING) {
            conn_kill(c);
        }
        return;
    }
    W.other_events++;
}


/* parses complete frames in buf; returns bytes used or -1 (killed) */
static long
frames(conn_t *c, const uint8_t *buf, size_t len, uint64_t rt)
{
    size_t    off = 0, h, i;
    uint64_t  plen;
    int       fin, op;

    while (len - off >= 2) {
        const uint8_t  *f = buf + off;

        fin = f[0] & 0x80;
        op = f[0] & 0x0f;
        if ((f[0] & 0x70) || (f[1] & 0x80)) {
            W.proto_errors++;
            show_error("protocol: RSV bits or masked server frame");
            conn_kill(c);
            return -1;
        }
        plen = f[1] & 0x7f;
        h = 2;
        if (plen == 126) {
            if (len - off < 4) {
                break;
            }
            plen = (uint64_t) f[2] << 8 | f[3];
            h = 4;
        } else if (plen == 127) {
            if (len - off < 10) {
                break;
            }
            plen = 0;
            for (i = 0; i < 8; i++) {
                plen = plen << 8 | f[2 + i];
            }
            h = 10;
        }
        if (plen > MAX_MESSAGE) {
            W.proto_errors++;
            show_error("protocol: frame of %llu bytes",
                       (unsigned long long) plen);
            conn_kill(c);
            return -1;
        }
        if (len - off - h < plen) {
            break;
        }
        f += h;
        off += h + plen;

        switch (op) {
        case 0x1:
        case 0x0:
            if ((op == 0x1) == (c->frag != 0)) {
                W.proto_errors++;
                show_error("protocol: continuation out of place");
                conn_kill(c);
                return -1;
            }
            if (fin && !c->frag) {
                on_message(c, f, plen, rt);
                break;
            }
            if (grow(&c->msg, &c->msg_cap, c->msg_len + plen) != 0) {
                W.proto_errors++;
                conn_kill(c);
                return -1;
            }
            memcpy(c->msg + c->msg_len, f, plen);
            c->msg_len += (uint32_t) plen;
            c->frag = 1;
            if (fin) {
                c->frag = 0;
                on_message(c, c->msg, c->msg_len, rt);
                c->msg_len = 0;
            }
            break;
        case 0x2:
            W.proto_errors++;
            show_error("protocol: binary frame");
            break;
        case 0x8:
            c->close_got = 1;
            c->close_code = plen >= 2 ? (uint16_t) (f[0] << 8 | f[1]) : 1005;
            if (!c->close_sent) {
                W.closed_by_server++;
                show_error("server closed a client: code %u %.*s",
                           c->close_code, (int) (plen > 2 ? plen - 2 : 0),
                           (const char *) f + 2);
                ws_send(c, 0x8, f, plen >= 2 ? 2 : 0);
            } else {
                W.closed_clean++;
            }
            conn_kill(c);
            return -1;
        case 0x9:
            W.pings++;
            ws_send(c, 0xA, f, plen);
            break;
        case 0xA:
            break;
        default:
            W.proto_errors++;
            show_error("protocol: opcode %d", op);
            conn_kill(c);
            return -1;
        }
        if (c->state == ST_DEAD) {
            return -1;
        }
    }
    return (long) off;
}


static void
conn_read(conn_t *c)
{
    uint8_t  *b = W.rbuf;
    size_t    have = c->pend_len, used = 0;
    ssize_t   n;
    uint64_t  rt;
    long      k;
    int       r;

    if (have > RBUF_SIZE / 2) {
        die("a client's unparsed input passed %d bytes", RBUF_SIZE / 2);
    }
    if (have > 0) {
        memcpy(b, c->pend, have);
    }
    n = read(c->fd, b + have, RBUF_SIZE - have - 1);
    rt = real();
    if (W.quickack && n > 0) {
        int  one = 1;

        /* the kernel clears it again: set after each read */
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (c->state == ST_HANDSHAKE) {
            W.handshake_errors++;
        }
        if (!c->close_sent && c->state != ST_HANDSHAKE) {
            W.closed_by_server++;
            show_error("connection closed by the server without a close "
                       "frame (%s)", n < 0 ? strerror(errno) : "EOF");
        }
        conn_kill(c);
        return;
    }
    have += (size_t) n;

    if (c->state == ST_HANDSHAKE) {
        /* keep the head in pend until it is complete */
        if (grow(&c->pend, &c->pend_cap, have + 1) != 0) {
            conn_kill(c);
            return;
        }
        memcpy(c->pend, b, have);
        c->pend_len = (uint32_t) have;
        r = handshake(c, &used);
        if (r <= 0) {
            return;
        }
        c->pend_len = 0;
    }

    k = frames(c, b + used, have - used, rt);
    if (k < 0) {
        return;
    }
    used += (size_t) k;
    if (grow(&c->pend, &c->pend_cap, have - used) != 0) {
        conn_kill(c);
        return;
    }
    memmove(c->pend, b + used, have - used);
    c->pend_len = (uint32_t) (have - used);
}


static void
poll_once(int timeout_ms)
{
    struct epoll_event  ev[512];
    int                 n, i;

    n = epoll_wait(W.ep, ev, 512, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            return;
        }
        die("epoll_wait: %s", strerror(errno));
    }
    for (i = 0; i < n; i++) {
        conn_t  *c = &W.c[ev[i].data.u32];

        if (c->state == ST_DEAD) {
            continue;
        }
        if (c->state == ST_CONNECTING) {
            if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                conn_connected(c);
            }
            continue;
        }
        if (ev[i].events & EPOLLOUT) {
            conn_flush(c);
            if (c->state == ST_DEAD) {
                continue;
            }
        }
        if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            conn_read(c);
        }
    }
}


/* ------------------------------------------------------------ publisher */

static void
speed(char *buf, size_t size, unsigned long bps)
{
    if (bps >= 1000000) {
        snprintf(buf, size, "%.2f Mbps", bps / 1e6);
    } else {
        snprintf(buf, size, "%.2f Kbps", bps / 1e3);
    }
}


static void *
publisher(void *arg)
{
    redisContext     *rc = W.redis;
    uint64_t          k = 0, total = W.pub_total, start, t, interval, n, i;
    uint64_t          sent, minr = UINT64_MAX, maxr = 0, bsent[PUB_BATCH];
    char              json[1024], name[64], user[32], iface[48];
    char              rx[24], tx[24];
    char              down[32], up[32], stamp[32], sent_s[24];
    struct timespec   ts;
    struct tm         tm;
    time_t            sec;
    redisReply       *r;
    unsigned long     rxv, txv;
    uint32_t          ch;

    (void) arg;
    interval = 1000000000ull / ((uint64_t) W.channels * (uint64_t) W.rate);
    start = mono();
    while (k < total) {
        t = mono();
        if (t < start + k * interval) {
            t = start + k * interval;
            ts.tv_sec = (time_t) (t / 1000000000u);
            ts.tv_nsec = (long) (t % 1000000000u);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            continue;
        }
        /* every message due by now, at most PUB_BATCH, in one pipeline */
        for (n = 0; k < total && start + k * interval <= t && n < PUB_BATCH;
             k++, n++)
        {
            ch = (uint32_t) (k % (uint64_t) W.channels);
            rxv = 5000000 + (unsigned long) (k % 997) * 1000;
            txv = 850000 + (unsigned long) (k % 991) * 1000;
            snprintf(rx, sizeof(rx), "%lu", rxv);
            snprintf(tx, sizeof(tx), "%lu", txv);
            speed(down, sizeof(down), txv);
            speed(up, sizeof(up), rxv);
            snprintf(name, sizeof(name), "Load Customer %u", ch);
            snprintf(user, sizeof(user), "load%u", ch);
            snprintf(iface, sizeof(iface), "<pppoe-load%u>", ch);
            sent = real();
            bsent[n] = sent;
            sec = (time_t) (sent / 1000000000u);
            gmtime_r(&sec, &tm);
            strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(sent_s, sizeof(sent_s), "%llu",
                     (unsigned long long) sent);

            redisAppendCommand(rc,
                "XADD " STREAM_KEY " MAXLEN ~ 100000 *"
                " customer_id %s customer_name %s username %s"
                " service_type pppoe interface %s rx_bits_per_second %s"
                " tx_bits_per_second %s download_speed %s upload_speed %s"
                " timestamp %s sent_ns %s",
                W.chan_id[ch], name, user, iface, rx, tx, down, up, stamp,
                sent_s);
            snprintf(json, sizeof(json),
                "{\"customer_id\":\"%s\",\"customer_name\":\"%s\","
                "\"username\":\"%s\",\"service_type\":\"pppoe\","
                "\"interface\":\"%s\",\"rx_bits_per_second\":\"%s\","
                "\"tx_bits_per_second\":\"%s\",\"download_speed\":\"%s\","
                "\"upload_speed\":\"%s\",\"timestamp\":\"%s\","
                "\"sent_ns\":%s}",
                W.chan_id[ch], name, user, iface, rx, tx, down, up, stamp,
                sent_s);
            redisAppendCommand(rc, "PUBLISH " CHANNEL_PREFIX "%s %s",
                               W.chan_id[ch], json);
        }
        for (i = 0; i < 2 * n; i++) {
            if (redisGetReply(rc, (void **) &r) != REDIS_OK || r == NULL) {
                fprintf(stderr, "ws-load: redis: %s\n", rc->errstr);
                atomic_store(&W.pub_failed, 1);
                atomic_store(&W.pub_done, 1);
                return NULL;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "ws-load: redis: %s\n", r->str);
                freeReplyObject(r);
                atomic_store(&W.pub_failed, 1);
                atomic_store(&W.pub_done, 1);
                return NULL;
            }
            if (i & 1) {
                uint64_t  v = r->type == REDIS_REPLY_INTEGER
                              ? (uint64_t) r->integer : 0;
                if (v < minr) {
                    minr = v;
                }
                if (v > maxr) {
                    maxr = v;
                }
                if (v == 0) {
                    atomic_fetch_add(&W.publish_nobody, 1);
                }
                if (W.pub_rtt_n < W.pub_total) {
                    W.pub_rtt[W.pub_rtt_n++] = real() - bsent[i / 2];
                }
                atomic_fetch_add(&W.published, 1);
            }
            freeReplyObject(r);
        }
    }
    W.pub_seconds = (double) (mono() - start) / 1e9;
    atomic_store(&W.publish_receivers_min, minr == UINT64_MAX ? 0 : minr);
    atomic_store(&W.publish_receivers_max, maxr);
    atomic_store(&W.pub_done, 1);
    return NULL;
}


/* --------------------------------------------------------------- nginx */

/*
 * The worker processes of nginx master PID: the sum of their VmRSS (KiB)
 * and of their CPU time (user + system, clock ticks).  -1 when none.
 */
static long
nginx_sample(long master, int *workers, long *cpu)
{
    DIR                 *d;
    struct dirent       *de;
    char                 path[300], line[512], *p;
    FILE                *f;
    long                 sum = 0, ppid, rss;
    unsigned long long   ut, st;
    int                  worker;

    *workers = 0;
    *cpu = 0;
    if (master <= 0 || (d = opendir("/proc")) == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
        if ((f = fopen(path, "r")) == NULL) {
            continue;
        }
        ppid = -1;
        rss = 0;
        worker = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "PPid:", 5) == 0) {
                ppid = strtol(line + 5, NULL, 10);
            } else if (strncmp(line, "VmRSS:", 6) == 0) {
                rss = strtol(line + 6, NULL, 10);
            }
        }
        fclose(f);
        if (ppid != master) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (fgets(line, sizeof(line), f) != NULL
                && strstr(line, "worker process") != NULL)
            {
                worker = 1;
            }
            fclose(f);
        }
        if (!worker) {
            continue;
        }
        sum += rss;
        (*workers)++;
        /* utime and stime: fields 14 and 15, after the ")" of comm */
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            if (fgets(line, sizeof(line), f) != NULL
                && (p = strrchr(line, ')')) != NULL
                && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                          "%*u %llu %llu", &ut, &st) == 2)
            {
                *cpu += (long) (ut + st);
            }
            fclose(f);
        }
    }
    closedir(d);
    return *workers ? sum : -1;
}


/* --------------------------------------------------------------- main */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


/* nearest rank of a sorted array, in ms */
static double
rank_ms(const uint64_t *a, uint64_t n, double p)
{
    uint64_t  i;

    if (n == 0) {
        return 0;
    }
    i = (uint64_t) (p * (double) n + 0.999999);
    i = i == 0 ? 0 : i - 1;
    if (i >= n) {
        i = n - 1;
    }
    return (double) a[i] / 1e6;
}


static double
pct_ms(double p)
{
    return rank_ms(W.lat, W.lat_n, p);
}


/* in receipt order: ms since the first sent_ns, latency ms */
static void
dump_latencies(void)
{
    FILE      *f = fopen(W.dump, "w");
    uint64_t   i, first = UINT64_MAX;

    if (f == NULL) {
        fprintf(stderr, "ws-load: %s: %s\n", W.dump, strerror(errno));
        return;
    }
    for (i = 0; i < W.lat_n; i++) {
        if (W.lat_sent[i] < first) {
            first = W.lat_sent[i];
        }
    }
    for (i = 0; i < W.lat_n; i++) {
        fprintf(f, "%.3f %.3f\n", (double) (W.lat_sent[i] - first) / 1e6,
                (double) W.lat[i] / 1e6);
    }
    fclose(f);
}


static void
usage(void)
{
    fprintf(stderr,
        "usage: ws-load --port PORT --token TOKEN --redis-port PORT\n"
        "               [--clients 10000] [--channels 1000] [--duration 10]\n"
        "               [--rate 1] [--inflight 256] [--connect-timeout 60]\n"
        "               [--grace 5] [--nginx-pid MASTER_PID]\n"
        "               [--star N (more clients, on \"*\")] [--quickack]\n"
        "               [--dump FILE (sent_ms latency_ms per message)]\n");
    exit(2);
}


static long
num(const char *s, long lo, long hi, const char *what)
{
    char  *end;
    long   v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "ws-load: %s must be %ld..%ld\n", what, lo, hi);
        exit(2);
    }
    return v;
}


/* percent-encodes everything but RFC 3986 unreserved characters */
static const char *
query_escape(const char *s)
{
    static char  buf[3 * 512 + 1];
    char        *p = buf;

    for (; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
            || (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL)
        {
            *p++ = *s;
        } else {
            p += sprintf(p, "%%%02X", (unsigned char) *s);
        }
    }
    *p = '\0';
    return buf;
}


static void
options(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "token", required_argument, NULL, 't' },
        { "redis-port", required_argument, NULL, 'r' },
        { "clients", required_argument, NULL, 'n' },
        { "channels", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 'd' },
        { "rate", required_argument, NULL, 'R' },
        { "inflight", required_argument, NULL, 'i' },
        { "connect-timeout", required_argument, NULL, 'T' },
        { "grace", required_argument, NULL, 'g' },
        { "nginx-pid", required_argument, NULL, 'P' },
        { "dump", required_argument, NULL, 'D' },
        { "star", required_argument, NULL, 'S' },
        { "quickack", no_argument, NULL, 'Q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int  o;

    W.clients = 10000;
    W.channels = 1000;
    W.duration = 10;
    W.rate = 1;
    W.inflight_max = 256;
    W.connect_timeout = 60;
    W.grace = 5;
    W.token = getenv("WS_LOAD_TOKEN");

    while ((o = getopt_long(argc, argv, "p:t:r:n:c:d:R:i:T:g:P:D:S:Qh", opts,
                            NULL)) != -1)
    {
        switch (o) {
        case 'p': W.port = (int) num(optarg, 1, 65535, "--port"); break;
        case 't': W.token = optarg; break;
        case 'r': W.redis_port = (int) num(optarg, 1, 65535, "--redis-port");
                  break;
        case 'n': W.clients = (int) num(optarg, 1, MAX_CLIENTS, "--clients");
                  break;
        case 'c': W.channels = (int) num(optarg, 1, MAX_CLIENTS, "--channels");
                  break;
        case 'd': W.duration = (int) num(optarg, 1, MAX_DURATION,
                                         "--duration");
                  break;
        case 'R': W.rate = (int) num(optarg, 1, MAX_TOTAL_RATE, "--rate");
                  break;
        case 'i': W.inflight_max = (int) num(optarg, 1, 4096, "--inflight");
                  break;
        case 'T': W.connect_timeout = (int) num(optarg, 1, 600,
                                                "--connect-timeout");
                  break;
        case 'g': W.grace = (int) num(optarg, 0, 60, "--grace"); break;
        case 'P': W.nginx_pid = num(optarg, 1, 1 << 22, "--nginx-pid"); break;
        case 'D': W.dump = optarg; break;
        case 'Q': W.quickack = 1; break;
        case 'S': W.star = (int) num(optarg, 0, 100, "--star"); break;
        default: usage();
        }
    }
    if (optind != argc || W.port == 0 || W.redis_port == 0 || W.token == NULL
        || *W.token == '\0' || strlen(W.token) > 512)
    {
        usage();
    }
    W.token = query_escape(W.token);
    W.total = W.clients + W.star;
    if (W.channels > W.clients) {
        fprintf(stderr, "ws-load: more channels than clients\n");
        exit(2);
    }
    if ((long) W.channels * W.rate > MAX_TOTAL_RATE) {
        fprintf(stderr, "ws-load: channels x rate above %d messages/s\n",
                MAX_TOTAL_RATE);
        exit(2);
    }
}


static void
raise_nofile(void)
{
    struct rlimit  rl;
    rlim_t         need = (rlim_t) W.total + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        die("getrlimit: %s", strerror(errno));
    }
    if (rl.rlim_cur >= need) {
        return;
    }
    if (rl.rlim_max < need) {
        rl.rlim_max = need;     /* root (CAP_SYS_RESOURCE) may raise it */
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        die("cannot raise RLIMIT_NOFILE to %llu: %s (ulimit -Hn)",
            (unsigned long long) need, strerror(errno));
    }
}


int
main(int argc, char **argv)
{
    uint64_t        t0, t_hs = 0, t_sub = 0, deadline, expected, ch;
    uint32_t        prefix;
    long            rss0 = -1, rss1 = -1, rss2 = -1, cpu0, cpu1, cpu2;
    double          tick = (double) sysconf(_SC_CLK_TCK);
    int             i, workers = 0, pending;
    struct timeval  tv = { 5, 0 };
    double          connect_s, sub_s;

    options(argc, argv);
    raise_nofile();

    if (RAND_bytes((unsigned char *) &W.mask_state, sizeof(W.mask_state)) != 1
        || RAND_bytes((unsigned char *) &prefix, sizeof(prefix)) != 1)
    {
        die("RAND_bytes failed");
    }
    W.mask_state |= 1;
    W.c = calloc((size_t) W.total, sizeof(conn_t));
    W.chan_id = calloc((size_t) W.channels, sizeof(*W.chan_id));
    W.chan_clients = calloc((size_t) W.channels, sizeof(uint32_t));
    W.rbuf = malloc(RBUF_SIZE);
    if (W.c == NULL || W.chan_id == NULL || W.chan_clients == NULL
        || W.rbuf == NULL)
    {
        die("out of memory");
    }
    /* distinct fake customer ids, version 4 layout, one prefix per run */
    for (i = 0; i < W.channels; i++) {
        snprintf(W.chan_id[i], sizeof(W.chan_id[i]),
                 "%08x-%04x-4%03x-8%03x-%012x", prefix, (unsigned) i >> 16,
                 (unsigned) (i >> 12) & 0xfff, (unsigned) i & 0xfff,
                 (unsigned) i);
    }
    for (i = 0; i < W.total; i++) {
        W.c[i].fd = -1;
        if (i >= W.clients) {
            W.c[i].chan = UINT32_MAX;           /* "*" */
            continue;
        }
        W.c[i].chan = (uint32_t) (i % W.channels);
        W.chan_clients[W.c[i].chan]++;
    }

    /* Redis first: fail before opening thousands of sockets */
    W.redis = redisConnectWithTimeout("127.0.0.1", W.redis_port, tv);
    if (W.redis == NULL || W.redis->err) {
        die("redis 127.0.0.1:%d: %s", W.redis_port,
            W.redis ? W.redis->errstr : "out of memory");
    }
    redisSetTimeout(W.redis, tv);

    W.ep = epoll_create1(EPOLL_CLOEXEC);
    if (W.ep < 0) {
        die("epoll_create1: %s", strerror(errno));
    }

    rss0 = nginx_sample(W.nginx_pid, &workers, &cpu0);

    /* connect, handshake, subscribe: at most inflight_max outstanding */
    t0 = mono();
    deadline = t0 + (uint64_t) W.connect_timeout * 1000000000u;
    while (W.subscribed + W.dead < W.total) {
        while (W.opened < W.total && W.inflight < W.inflight_max) {
            conn_open(&W.c[W.opened]);
        }
        poll_once(10);
        if (t_hs == 0 && W.handshaken + W.dead >= W.total) {
            t_hs = mono();
        }
        if (mono() > deadline) {
            break;
        }
    }
    t_sub = mono();
    if (t_hs == 0) {
        t_hs = t_sub;
    }
    connect_s = (double) (t_hs - t0) / 1e9;
    sub_s = (double) (t_sub - t0) / 1e9;
    printf("ws-load: %d/%d clients upgraded in %.2f s, %d/%d subscribed to "
           "%d channels in %.2f s (at most %d in flight)\n", W.handshaken,
           W.total, connect_s, W.subscribed, W.total, W.channels, sub_s,
           W.inflight_max);
    if (W.subscribed < W.total) {
        fprintf(stderr, "ws-load: not every client subscribed: %d connect "
                "errors, %d handshake errors, %d error events, %d closed, "
                "%d still pending after %.1f s\n", W.connect_errors,
                W.handshake_errors, W.sub_errors, W.closed_by_server,
                W.total - W.subscribed - W.dead, sub_s);
        return 1;
    }

    rss1 = nginx_sample(W.nginx_pid, &workers, &cpu1);

    /* publish; the clients keep reading meanwhile */
    W.pub_total = (uint64_t) W.channels * (uint64_t) W.rate
                  * (uint64_t) W.duration;
    expected = 0;
    for (ch = 0; ch < (uint64_t) W.channels; ch++) {
        expected += (uint64_t) W.chan_clients[ch] * (W.pub_total / W.channels);
    }
    W.lat_cap = expected;
    W.lat = malloc((size_t) (expected ? expected : 1) * sizeof(uint64_t));
    if (W.dump != NULL) {
        W.lat_sent = malloc((size_t) (expected ? expected : 1)
                            * sizeof(uint64_t));
    }
    if (W.lat == NULL || (W.dump != NULL && W.lat_sent == NULL)) {
        die("out of memory");
    }
    atomic_store(&W.publish_receivers_min, 0);
    W.pub_rtt = malloc((size_t) W.pub_total * sizeof(uint64_t));
    W.lat_star_cap = (uint64_t) W.star * W.pub_total;
    W.lat_star = malloc((size_t) (W.lat_star_cap ? W.lat_star_cap : 1)
                        * sizeof(uint64_t));
    if (W.pub_rtt == NULL || W.lat_star == NULL) {
        die("out of memory");
    }
    if (pthread_create(&W.pub_thread, NULL, publisher, NULL) != 0) {
        die("pthread_create failed");
    }
    while (!atomic_load(&W.pub_done)) {
        poll_once(50);
    }
    pthread_join(W.pub_thread, NULL);
    if (atomic_load(&W.pub_failed)) {
        return 1;
    }
    /* what is still on its way, bounded */
    deadline = mono() + (uint64_t) W.grace * 1000000000u;
    while ((W.received < expected
            || W.star_received < W.star * atomic_load(&W.published))
           && mono() < deadline)
    {
        poll_once(10);
    }
    rss2 = nginx_sample(W.nginx_pid, &workers, &cpu2);

    /* close politely: a close frame each, wait for the echoes, bounded */
    pending = 0;
    for (i = 0; i < W.total; i++) {
        if (W.c[i].state == ST_READY) {
            W.c[i].close_sent = 1;
            W.c[i].state = ST_CLOSING;
            ws_send(&W.c[i], 0x8, "\x03\xe8", 2);
            pending++;
        }
    }
    deadline = mono() + 5000000000ull;
    while (W.closed_clean < pending && W.dead < W.total
           && mono() < deadline)
    {
        poll_once(10);
    }

    if (W.dump != NULL) {
        dump_latencies();
    }
    qsort(W.lat, (size_t) W.lat_n, sizeof(uint64_t), cmp_u64);
    qsort(W.pub_rtt, (size_t) W.pub_rtt_n, sizeof(uint64_t), cmp_u64);
    qsort(W.lat_star, (size_t) W.lat_star_n, sizeof(uint64_t), cmp_u64);

    printf("ws-load: published %llu messages in %.2f s (%d channels x %d/s, "
           "XADD + PUBLISH pipelined), PUBLISH receivers min %llu "
           "max %llu%s\n",
           (unsigned long long) atomic_load(&W.published), W.pub_seconds,
           W.channels, W.rate,
           (unsigned long long) atomic_load(&W.publish_receivers_min),
           (unsigned long long) atomic_load(&W.publish_receivers_max),
           atomic_load(&W.publish_nobody) ? " (some to nobody!)" : "");
    printf("ws-load: Redis round trip (sent_ns to the PUBLISH reply) p50 "
           "%.2f ms, p99 %.2f ms, max %.2f ms\n",
           rank_ms(W.pub_rtt, W.pub_rtt_n, 0.50),
           rank_ms(W.pub_rtt, W.pub_rtt_n, 0.99),
           rank_ms(W.pub_rtt, W.pub_rtt_n, 1.0));
    printf("ws-load: received %llu/%llu (lost %lld, duplicate or out of "
           "order %llu, wrong channel %llu), %d clients closed by the "
           "server, %llu pings, %d protocol errors\n",
           (unsigned long long) W.received, (unsigned long long) expected,
           (long long) expected - (long long) W.received,
           (unsigned long long) W.dup, (unsigned long long) W.misrouted,
           W.closed_by_server, (unsigned long long) W.pings, W.proto_errors);
    printf("ws-load: latency (receipt - sent_ns) p50 %.2f ms, p90 %.2f ms, "
           "p99 %.2f ms, max %.2f ms over %llu messages\n", pct_ms(0.50),
           pct_ms(0.90), pct_ms(0.99),
           W.lat_n ? (double) W.lat[W.lat_n - 1] / 1e6 : 0.0,
           (unsigned long long) W.lat_n);
    if (W.star) {
        printf("ws-load: %d \"*\" subscribers: received %llu/%llu (duplicate "
               "or out of order %llu), latency p50 %.2f ms, p90 %.2f ms, p99 "
               "%.2f ms, max %.2f ms\n", W.star,
               (unsigned long long) W.star_received,
               (unsigned long long) (W.star * atomic_load(&W.published)),
               (unsigned long long) W.star_dup,
               rank_ms(W.lat_star, W.lat_star_n, 0.50),
               rank_ms(W.lat_star, W.lat_star_n, 0.90),
               rank_ms(W.lat_star, W.lat_star_n, 0.99),
               rank_ms(W.lat_star, W.lat_star_n, 1.0));
    }
    if (rss0 >= 0) {
        printf("ws-load: nginx worker RSS (%d workers) %ld KiB before, %ld "
               "KiB subscribed, %ld KiB after publishing; %d/%d closed "
               "cleanly\n", workers, rss0, rss1, rss2, W.closed_clean,
               pending);
        printf("ws-load: nginx worker CPU %.2f s upgrading and subscribing, "
               "%.2f s publishing (%.1f us per delivered message)\n",
               (cpu1 - cpu0) / tick, (cpu2 - cpu1) / tick,
               W.received + W.star_received
               ? (cpu2 - cpu1) / tick * 1e6
                 / (double) (W.received + W.star_received)
               : 0.0);
    }
    printf("result: clients=%d channels=%d rate=%d duration=%d "
           "published=%llu expected=%llu received=%llu lost=%lld dup=%llu "
           "misrouted=%llu closed=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f redis_p99_ms=%.2f redis_max_ms=%.2f connect_s=%.2f "
           "subscribe_s=%.2f rss_before_kib=%ld "
           "rss_subscribed_kib=%ld rss_after_kib=%ld cpu_connect_s=%.2f "
           "cpu_publish_s=%.2f star=%d star_received=%llu star_p50_ms=%.2f "
           "star_p99_ms=%.2f star_max_ms=%.2f\n",
           W.clients, W.channels, W.rate, W.duration,
           (unsigned long long) atomic_load(&W.published),
           (unsigned long long) expected, (unsigned long long) W.received,
           (long long) expected - (long long) W.received,
           (unsigned long long) W.dup, (unsigned long long) W.misrouted,
           W.closed_by_server, pct_ms(0.50), pct_ms(0.90), pct_ms(0.99),
           W.lat_n ? (double) W.lat[W.lat_n - 1] / 1e6 : 0.0,
           rank_ms(W.pub_rtt, W.pub_rtt_n, 0.99),
           rank_ms(W.pub_rtt, W.pub_rtt_n, 1.0), connect_s, sub_s, rss0, rss1,
           rss2, rss0 >= 0 ? (cpu1 - cpu0) / tick : 0.0,
           rss0 >= 0 ? (cpu2 - cpu1) / tick : 0.0, W.star,
           (unsigned long long) W.star_received,
           rank_ms(W.lat_star, W.lat_star_n, 0.50),
           rank_ms(W.lat_star, W.lat_star_n, 0.99),
           rank_ms(W.lat_star, W.lat_star_n, 1.0));

    for (i = 0; i < W.total; i++) {
        if (W.c[i].fd >= 0) {
            close(W.c[i].fd);
        }
    }
    redisFree(W.redis);
    return 0;
}
