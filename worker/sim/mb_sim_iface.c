/*
 * /interface: a few static ports and the dynamic "<pppoe-USER>" interfaces
 * of sessions, each with a traffic rate (control "rate", demo mode) from
 * which the byte and packet counters grow as time passes.  The uplink
 * (ether1) and the PPPoE port (ether2) carry the sum of all sessions.
 *
 * /interface/monitor-traffic streams one !re per interval until /cancel,
 * "once" or "duration" ends it.  When the interface goes away under a
 * running stream (kick, logout) the stream ends with a !trap so that a
 * client notices instead of waiting forever.
 */

#include "mb_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    uint64_t         rx_bps, tx_bps;
    double           rx_bytes, tx_bytes;
    uint64_t         last_ms;
} mb_sim_traffic_t;


static const mb_sim_fdef_t  mb_sim_iface_fields[] = {
    { "name", NULL, MB_SIM_F_REQ },
    { "default-name", NULL, MB_SIM_F_RO },
    { "type", "ether", MB_SIM_F_RO },
    { "mtu", "1500", MB_SIM_F_NUM },
    { "actual-mtu", "1500", MB_SIM_F_RO },
    { "mac-address", NULL, MB_SIM_F_RO },
    { "last-link-up-time", NULL, MB_SIM_F_RO },
    { "link-downs", "0", MB_SIM_F_RO },
    { "rx-byte", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "tx-byte", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "rx-packet", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "tx-packet", NULL, MB_SIM_F_RO | MB_SIM_F_DYN },
    { "rx-drop", "0", MB_SIM_F_RO },
    { "tx-drop", "0", MB_SIM_F_RO },
    { "tx-queue-drop", "0", MB_SIM_F_RO },
    { "rx-error", "0", MB_SIM_F_RO },
    { "tx-error", "0", MB_SIM_F_RO },
    { "fp-rx-byte", "0", MB_SIM_F_RO },
    { "fp-tx-byte", "0", MB_SIM_F_RO },
    { "fp-rx-packet", "0", MB_SIM_F_RO },
    { "fp-tx-packet", "0", MB_SIM_F_RO },
    { "running", "true", MB_SIM_F_RO | MB_SIM_F_BOOL },
    { "disabled", "false", MB_SIM_F_BOOL },
    { "dynamic", "false", MB_SIM_F_RO | MB_SIM_F_BOOL },
    { "comment", NULL, 0 },
};

#define MB_SIM_IFACE_DYN_ID0  0x00F00001u
/* average packet sizes: downloads are full frames, uploads mostly acks */
#define MB_SIM_RX_PKT   300
#define MB_SIM_TX_PKT   1200

static uint32_t  mb_sim_iface_dyn_id = MB_SIM_IFACE_DYN_ID0;


static void
mb_sim_traffic_update(mb_sim_traffic_t *tr)
{
    uint64_t  now = mb_sim_now_ms();
    double    dt = (double) (now - tr->last_ms) / 1000.0;

    tr->rx_bytes += (double) tr->rx_bps / 8.0 * dt;
    tr->tx_bytes += (double) tr->tx_bps / 8.0 * dt;
    tr->last_ms = now;
}


static const char *
mb_sim_iface_dyn(mb_sim_table_t *t, mb_sim_item_t *it, size_t field,
    char *buf, size_t len)
{
    mb_sim_traffic_t  *tr = it->ext;
    const char        *name = t->fields[field].name;
    double             v;

    mb_sim_traffic_update(tr);
    if (strcmp(name, "rx-byte") == 0) {
        v = tr->rx_bytes;
    } else if (strcmp(name, "tx-byte") == 0) {
        v = tr->tx_bytes;
    } else if (strcmp(name, "rx-packet") == 0) {
        v = tr->rx_bytes / MB_SIM_RX_PKT;
    } else {
        v = tr->tx_bytes / MB_SIM_TX_PKT;
    }
    snprintf(buf, len, "%llu", (unsigned long long) v);
    return buf;
}


static void
mb_sim_iface_removed(mb_sim_table_t *t, mb_sim_item_t *it)
{
    (void) t;
    free(it->ext);
}


static mb_sim_item_t *
mb_sim_iface_add(const char *name, const char *type, const char *comment,
    int dynamic, uint32_t id)
{
    mb_sim_args_t      a;
    mb_sim_item_t     *it;
    mb_sim_traffic_t  *tr;
    char               mac[24], up[40];

    snprintf(mac, sizeof(mac), "4C:5E:0C:%02X:%02X:%02X",
             (id >> 16) & 0xFF, (id >> 8) & 0xFF, id & 0xFF);
    mb_sim_time_format(mb_sim.start_unix
                       + (mb_sim_now_ms() - mb_sim.start_ms) / 1000,
                       up, sizeof(up));
    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "name", 4, name);
    mb_sim_args_add(&a, "type", 4, type);
    mb_sim_args_add(&a, "last-link-up-time", 17, up);
    mb_sim_args_add(&a, "dynamic", 7, dynamic ? "true" : "false");
    if (dynamic) {
        mb_sim_args_add(&a, "mtu", 3, "1480");
        mb_sim_args_add(&a, "actual-mtu", 10, "1480");
    } else {
        mb_sim_args_add(&a, "default-name", 12, name);
        mb_sim_args_add(&a, "mac-address", 11, mac);
    }
    if (comment != NULL) {
        mb_sim_args_add(&a, "comment", 7, comment);
    }
    if (mb_sim_table_add(&mb_sim.ifaces, &a, 1, id, &it) != NULL) {
        return NULL;
    }
    tr = calloc(1, sizeof(mb_sim_traffic_t));
    if (tr == NULL) {
        abort();
    }
    tr->last_ms = mb_sim_now_ms();
    it->ext = tr;
    return it;
}


mb_sim_item_t *
mb_sim_iface_add_dynamic(const char *name, const char *type)
{
    return mb_sim_iface_add(name, type, NULL, 1, mb_sim_iface_dyn_id++);
}


mb_sim_item_t *
mb_sim_iface_by_name(const char *name)
{
    return mb_sim_table_lookup(&mb_sim.ifaces, name);
}


static int
mb_sim_iface_set_rate(mb_sim_item_t *it, uint64_t rx_bps, uint64_t tx_bps)
{
    mb_sim_traffic_t  *tr;

    if (it == NULL) {
        return -1;
    }
    tr = it->ext;
    mb_sim_traffic_update(tr);          /* the old rate up to now */
    tr->rx_bps = rx_bps;
    tr->tx_bps = tx_bps;
    return 0;
}


int
mb_sim_iface_rate(const char *name, uint64_t rx_bps, uint64_t tx_bps)
{
    return mb_sim_iface_set_rate(mb_sim_iface_by_name(name), rx_bps, tx_bps);
}


int
mb_sim_iface_rate_id(uint32_t id, uint64_t rx_bps, uint64_t tx_bps)
{
    return mb_sim_iface_set_rate(mb_sim_table_get(&mb_sim.ifaces, id),
                                 rx_bps, tx_bps);
}


/* every second: the ports carry what the sessions move */
void
mb_sim_iface_tick(void)
{
    uint64_t           rx = 0, tx = 0;
    mb_sim_traffic_t  *tr;
    size_t             i;

    for (i = 0; i < mb_sim.ifaces.n; i++) {
        if (mb_sim.ifaces.items[i]->id >= MB_SIM_IFACE_DYN_ID0) {
            tr = mb_sim.ifaces.items[i]->ext;
            rx += tr->rx_bps;
            tx += tr->tx_bps;
        }
    }
    /* downloads come in on the uplink and go out to the customers */
    mb_sim_iface_rate("ether1", tx, rx);
    mb_sim_iface_rate("ether2", rx, tx);
}


/* ---- monitor-traffic streams ------------------------------------------ */

static size_t  mb_sim_nstreams;


static void
mb_sim_stream_freed(uv_handle_t *h)
{
    mb_sim_stream_t  *st = h->data;

    free(st->tag);
    free(st->proplist);
    free(st);
}


/* unlink and free; nothing more is written for it */
static void
mb_sim_stream_end(mb_sim_stream_t *st)
{
    mb_sim_stream_t  **pp;

    for (pp = &st->conn->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    mb_sim_nstreams--;
    uv_timer_stop(&st->timer);
    uv_close((uv_handle_t *) &st->timer, mb_sim_stream_freed);
}


static void
mb_sim_monitor_rec(mb_sim_rec_t *rec, mb_sim_item_t *it, unsigned section)
{
    mb_sim_traffic_t  *tr = it->ext;

    mb_sim_rec_reset(rec);
    mb_sim_rec_add(rec, "name", it->v[0]);
    mb_sim_rec_addf(rec, "rx-packets-per-second", "%llu",
                    (unsigned long long) (tr->rx_bps / 8 / MB_SIM_RX_PKT));
    mb_sim_rec_addf(rec, "rx-bits-per-second", "%llu",
                    (unsigned long long) tr->rx_bps);
    mb_sim_rec_add(rec, "fp-rx-packets-per-second", "0");
    mb_sim_rec_add(rec, "fp-rx-bits-per-second", "0");
    mb_sim_rec_add(rec, "rx-drops-per-second", "0");
    mb_sim_rec_add(rec, "rx-errors-per-second", "0");
    mb_sim_rec_addf(rec, "tx-packets-per-second", "%llu",
                    (unsigned long long) (tr->tx_bps / 8 / MB_SIM_TX_PKT));
    mb_sim_rec_addf(rec, "tx-bits-per-second", "%llu",
                    (unsigned long long) tr->tx_bps);
    mb_sim_rec_add(rec, "fp-tx-packets-per-second", "0");
    mb_sim_rec_add(rec, "fp-tx-bits-per-second", "0");
    mb_sim_rec_add(rec, "tx-drops-per-second", "0");
    mb_sim_rec_add(rec, "tx-queue-drops-per-second", "0");
    mb_sim_rec_add(rec, "tx-errors-per-second", "0");
    /* RouterOS 7 numbers the sections of monitor output; clients must
     * ignore .x attributes they do not know */
    if (mb_sim.ver_major >= 7) {
        mb_sim_rec_addf(rec, ".section", "%u", section);
    }
}


static void
mb_sim_stream_send(mb_sim_stream_t *st, mb_sim_item_t *it)
{
    mb_sim_rec_t  rec;

    mb_sim_monitor_rec(&rec, it, st->section++);
    mb_sim_emit_rec(st->conn, st->tag, &st->props, &rec);
}


static void
mb_sim_stream_finish(mb_sim_stream_t *st, const char *trap)
{
    mb_sim_conn_t  *c = st->conn;

    if (trap != NULL) {
        mb_sim_reply_begin(c, "!trap", st->tag);
        mb_sim_reply_attr(c, "message", trap);
        mb_sim_reply_end(c);
    }
    mb_sim_reply_begin(c, "!done", st->tag);
    mb_sim_reply_end(c);
    mb_sim_stream_end(st);
    mb_sim_conn_flush(c);
}


static void
mb_sim_stream_tick(uv_timer_t *t)
{
    mb_sim_stream_t  *st = t->data;
    mb_sim_item_t    *it;

    /* a stalled router says nothing, streams included */
    if (mb_sim.stall_until_ms != 0 || st->conn->closing) {
        return;
    }
    it = mb_sim_iface_by_name(st->iface);
    if (it == NULL) {
        mb_sim_stream_finish(st, "interface not found");
        return;
    }
    if (st->ends_ms && mb_sim_now_ms() >= st->ends_ms) {
        mb_sim_stream_finish(st, NULL);
        return;
    }
    mb_sim_stream_send(st, it);
    mb_sim_conn_flush(st->conn);
}


static int
mb_sim_flag(const char *v)
{
    return v != NULL && strcmp(v, "no") != 0 && strcmp(v, "false") != 0;
}


static void
mb_sim_stream_start(mb_sim_req_t *r, mb_sim_item_t *it, uint64_t interval,
    int64_t duration)
{
    mb_sim_stream_t  *st;
    const char       *props = mb_sim_args_get(&r->args, ".proplist");

    st = calloc(1, sizeof(mb_sim_stream_t));
    if (st == NULL) {
        abort();
    }
    st->conn = r->conn;
    st->tag = r->tag ? mb_sim_strdup(r->tag) : NULL;
    snprintf(st->iface, sizeof(st->iface), "%s", it->v[0]);
    st->interval_ms = interval;
    st->ends_ms = duration > 0 ? mb_sim_now_ms() + (uint64_t) duration : 0;
    if (props != NULL) {
        st->proplist = mb_sim_strdup(props);
        mb_sim_print_proplist(&st->props, st->proplist);
    }
    uv_timer_init(mb_sim.loop, &st->timer);
    st->timer.data = st;
    st->next = r->conn->streams;
    r->conn->streams = st;
    mb_sim_nstreams++;

    mb_sim_stream_send(st, it);
    uv_timer_start(&st->timer, mb_sim_stream_tick, interval, interval);
}


void
mb_sim_monitor_traffic(mb_sim_req_t *r)
{
    const char      *name = mb_sim_args_get(&r->args, "interface");
    const char      *iv = mb_sim_args_get(&r->args, "interval");
    const char      *dur = mb_sim_args_get(&r->args, "duration");
    int64_t          interval = 1000, duration = 0;
    mb_sim_item_t   *it;
    mb_sim_print_t   p;
    mb_sim_rec_t     rec;

    if (name == NULL) {
        mb_sim_reply_trap(r, NULL,
                          "missing value(s) of argument(s) interface");
        return;
    }
    if ((iv && (interval = mb_sim_duration_parse(iv)) <= 0)
        || (dur && (duration = mb_sim_duration_parse(dur)) < 0))
    {
        mb_sim_reply_trapf(r, "invalid value for argument %s",
                           iv && interval <= 0 ? "interval" : "duration");
        return;
    }
    it = mb_sim_iface_by_name(name);
    if (it == NULL) {
        mb_sim_reply_trap(r, NULL,
                          "input does not match any value of interface");
        return;
    }
    if (mb_sim_flag(mb_sim_args_get(&r->args, "once"))) {
        mb_sim_print_init(&p, r);
        mb_sim_monitor_rec(&rec, it, 0);
        mb_sim_emit_rec(r->conn, r->tag, &p, &rec);
        mb_sim_reply_done(r, NULL);
        return;
    }
    mb_sim_stream_start(r, it, interval < 100 ? 100 : (uint64_t) interval,
                        duration);
}


/* the interface goes: its streams end now, with a trap */
void
mb_sim_iface_remove(mb_sim_item_t *it)
{
    mb_sim_conn_t    *c;
    mb_sim_stream_t  *st, *next;

    for (c = mb_sim.conns; c != NULL; c = c->next) {
        for (st = c->streams; st != NULL; st = next) {
            next = st->next;
            if (!c->closing && strcmp(st->iface, it->v[0]) == 0) {
                mb_sim_stream_finish(st, "interface not found");
            }
        }
    }
    mb_sim_table_remove(&mb_sim.ifaces, it);
}


/* ---- /cancel ------------------------------------------------------------ */

static void
mb_sim_stream_interrupted(mb_sim_stream_t *st)
{
    mb_sim_reply_begin(st->conn, "!trap", st->tag);
    mb_sim_reply_attr(st->conn, "category", "2");
    mb_sim_reply_attr(st->conn, "message", "interrupted");
    mb_sim_reply_end(st->conn);
}


/* design.md: trap of N, the cancel's own !done, then !done of N */
int
mb_sim_stream_cancel(mb_sim_conn_t *c, const char *tag,
    const char *cancel_tag)
{
    mb_sim_stream_t  *st;

    for (st = c->streams; st != NULL; st = st->next) {
        if (st->tag != NULL && strcmp(st->tag, tag) == 0) {
            break;
        }
    }
    if (st == NULL) {
        return 0;
    }
    mb_sim_stream_interrupted(st);
    mb_sim_reply_begin(c, "!done", cancel_tag);
    mb_sim_reply_end(c);
    mb_sim_reply_begin(c, "!done", st->tag);
    mb_sim_reply_end(c);
    mb_sim_stream_end(st);
    return 1;
}


void
mb_sim_stream_cancel_all(mb_sim_conn_t *c, const char *cancel_tag)
{
    mb_sim_stream_t  *st;

    for (st = c->streams; st != NULL; st = st->next) {
        mb_sim_stream_interrupted(st);
    }
    mb_sim_reply_begin(c, "!done", cancel_tag);
    mb_sim_reply_end(c);
    while (c->streams != NULL) {
        mb_sim_reply_begin(c, "!done", c->streams->tag);
        mb_sim_reply_end(c);
        mb_sim_stream_end(c->streams);
    }
}


void
mb_sim_streams_close(mb_sim_conn_t *c)
{
    while (c->streams != NULL) {
        mb_sim_stream_end(c->streams);
    }
}


size_t
mb_sim_stream_count(void)
{
    return mb_sim_nstreams;
}


/* ---- init --------------------------------------------------------------- */

void
mb_sim_iface_init(void)
{
    static const struct { const char *name, *comment; } ports[] = {
        { "ether1", "uplink" }, { "ether2", "PPPoE customers" },
        { "ether3", NULL }, { "ether4", NULL }, { "ether5", NULL },
    };
    size_t  i;

    mb_sim_table_init(&mb_sim.ifaces, "/interface", mb_sim_iface_fields,
                      sizeof(mb_sim_iface_fields)
                      / sizeof(mb_sim_iface_fields[0]),
                      MB_SIM_V_PRINT | MB_SIM_V_SET);
    mb_sim.ifaces.dyn = mb_sim_iface_dyn;
    mb_sim.ifaces.removed = mb_sim_iface_removed;
    for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        mb_sim_iface_add(ports[i].name, "ether", ports[i].comment, 0,
                         (uint32_t) i + 1);
    }
}
