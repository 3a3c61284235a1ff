/*
 * mikrobill-ros-sim: a MikroTik RouterOS API simulator for tests, benches
 * and `make run` (docs/simulator.md).  One process, one libuv loop, one
 * global state (mb_sim): the simulator plays one router.
 */

#ifndef _MB_SIM_H_INCLUDED_
#define _MB_SIM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mb_ros_codec.h"


#define MB_SIM_VERSION        "1.0"
#define MB_SIM_USERS_MAX      16
#define MB_SIM_FIELDS_MAX     32
#define MB_SIM_REC_MAX        48
#define MB_SIM_ARGS_MAX       64


typedef struct mb_sim_conn_s    mb_sim_conn_t;
typedef struct mb_sim_stream_s  mb_sim_stream_t;
typedef struct mb_sim_table_s   mb_sim_table_t;
typedef struct mb_sim_item_s    mb_sim_item_t;
typedef struct mb_sim_tls_s     mb_sim_tls_t;


/* ---- tables: every menu with items is one of these ---------------- */

#define MB_SIM_F_RO      0x01   /* not settable through the API */
#define MB_SIM_F_REQ     0x02   /* add fails without it */
#define MB_SIM_F_BOOL    0x04   /* yes/no/true/false, stored true/false */
#define MB_SIM_F_ADDR    0x08   /* an IPv4 address */
#define MB_SIM_F_NUM     0x10   /* a non-negative integer */
#define MB_SIM_F_DYN     0x20   /* computed at print time by the dyn hook */

#define MB_SIM_V_PRINT   0x01
#define MB_SIM_V_ADD     0x02
#define MB_SIM_V_SET     0x04
#define MB_SIM_V_REMOVE  0x08

typedef struct {
    const char      *name;
    const char      *def;      /* value on add when not given, or NULL */
    unsigned         flags;
} mb_sim_fdef_t;

struct mb_sim_item_s {
    uint32_t         id;
    char            *v[MB_SIM_FIELDS_MAX];   /* NULL: the item lacks it */
    void            *ext;      /* the menu's own data (session, traffic) */
};

/* name/value pairs of an add or set, from the API, a seed or control */
typedef struct {
    const char      *name[MB_SIM_ARGS_MAX];
    const char      *value[MB_SIM_ARGS_MAX];
    size_t           n;
    char             scratch[4096];        /* NUL-terminated names */
    size_t           used;
} mb_sim_args_t;

struct mb_sim_table_s {
    const char           *path;           /* "/ppp/secret" */
    const mb_sim_fdef_t  *fields;
    size_t                nfields;
    unsigned              verbs;
    mb_sim_item_t       **items;          /* sorted by id */
    size_t                n, cap;
    uint32_t              next_id;
    /* a trap text or NULL; may fill nw->ext; old is NULL on add */
    const char         *(*check)(mb_sim_table_t *t, mb_sim_item_t *nw,
                                 mb_sim_item_t *old);
    /* value of an MB_SIM_F_DYN field, NULL when absent */
    const char         *(*dyn)(mb_sim_table_t *t, mb_sim_item_t *it,
                               size_t field, char *buf, size_t len);
    /* side effects of a removal; frees ext */
    void                (*removed)(mb_sim_table_t *t, mb_sim_item_t *it);
    void                (*changed)(mb_sim_table_t *t, mb_sim_item_t *it);
};

void mb_sim_table_init(mb_sim_table_t *t, const char *path,
    const mb_sim_fdef_t *fields, size_t nfields, unsigned verbs);
void mb_sim_table_free(mb_sim_table_t *t);
int mb_sim_table_field(const mb_sim_table_t *t, const char *name);
mb_sim_item_t *mb_sim_table_get(mb_sim_table_t *t, uint32_t id);
mb_sim_item_t *mb_sim_table_find(mb_sim_table_t *t, const char *field,
    const char *value);
/* "*1A", or the item's name where the menu has names */
mb_sim_item_t *mb_sim_table_lookup(mb_sim_table_t *t, const char *ref);
const char *mb_sim_item_get(const mb_sim_table_t *t, const mb_sim_item_t *it,
    const char *field);
int mb_sim_item_set(const mb_sim_table_t *t, mb_sim_item_t *it,
    const char *field, const char *value);
/* internal != 0 lets read-only fields through (control, seed) */
const char *mb_sim_table_add(mb_sim_table_t *t, const mb_sim_args_t *a,
    int internal, uint32_t id, mb_sim_item_t **out);
const char *mb_sim_table_set(mb_sim_table_t *t, mb_sim_item_t *it,
    const mb_sim_args_t *a, int internal);
void mb_sim_table_remove(mb_sim_table_t *t, mb_sim_item_t *it);
void mb_sim_table_clear(mb_sim_table_t *t);

void mb_sim_args_init(mb_sim_args_t *a);
int mb_sim_args_add(mb_sim_args_t *a, const char *name, size_t nlen,
    const char *value);
const char *mb_sim_args_get(const mb_sim_args_t *a, const char *name);
/* the "=name=value" words of a sentence; -1 when there are too many */
int mb_sim_args_from(mb_sim_args_t *a, const mb_ros_sentence_t *s);


/* ---- records: one item as printed ----------------------------------- */

typedef struct {
    const char      *name[MB_SIM_REC_MAX];
    const char      *value[MB_SIM_REC_MAX];
    size_t           n;
    char             buf[2048];            /* formatted values */
    size_t           used;
} mb_sim_rec_t;

void mb_sim_rec_reset(mb_sim_rec_t *r);
void mb_sim_rec_add(mb_sim_rec_t *r, const char *name, const char *value);
void mb_sim_rec_addf(mb_sim_rec_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mb_sim_rec_item(mb_sim_rec_t *r, mb_sim_table_t *t, mb_sim_item_t *it);


/* ---- one command being answered ------------------------------------- */

typedef struct {
    mb_sim_conn_t            *conn;
    const mb_ros_sentence_t  *s;
    const char               *cmd;        /* "/ppp/secret/print" */
    const char               *tag;        /* NULL when untagged */
    mb_sim_args_t             args;
} mb_sim_req_t;

/* a compiled print: query, .proplist, options */
typedef struct {
    mb_sim_req_t    *req;
    const char      *props[MB_SIM_REC_MAX];
    size_t           plen[MB_SIM_REC_MAX];
    size_t           nprops;
    int              has_props;
    int              count_only;
    const mb_ros_sentence_t  *s;          /* for the query words */
    size_t           count;
    const char      *err;                 /* a bad query */
} mb_sim_print_t;

void mb_sim_print_init(mb_sim_print_t *p, mb_sim_req_t *r);
/* "a,b,c": the names stay pointers into list */
void mb_sim_print_proplist(mb_sim_print_t *p, const char *list);
/* 1 when the record passes the query */
int mb_sim_print_match(mb_sim_print_t *p, const mb_sim_rec_t *rec);
void mb_sim_print_rec(mb_sim_print_t *p, const mb_sim_rec_t *rec);
void mb_sim_print_done(mb_sim_print_t *p);
void mb_sim_print_table(mb_sim_req_t *r, mb_sim_table_t *t);
/* one !re of a record filtered by .proplist, to any stream */
void mb_sim_emit_rec(mb_sim_conn_t *c, const char *tag,
    const mb_sim_print_t *p, const mb_sim_rec_t *rec);

/* reply words; each call writes one whole sentence */
void mb_sim_reply_begin(mb_sim_conn_t *c, const char *type, const char *tag);
void mb_sim_reply_attr(mb_sim_conn_t *c, const char *name, const char *val);
void mb_sim_reply_end(mb_sim_conn_t *c);
void mb_sim_reply_done(mb_sim_req_t *r, const char *ret);
void mb_sim_reply_trap(mb_sim_req_t *r, const char *category,
    const char *message);
void mb_sim_reply_trapf(mb_sim_req_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* ---- connections ------------------------------------------------------ */

struct mb_sim_stream_s {
    uv_timer_t        timer;
    mb_sim_conn_t    *conn;
    mb_sim_stream_t  *next;
    char             *tag;
    char              iface[96];
    uint64_t          interval_ms;
    uint64_t          ends_ms;           /* duration=, 0 none */
    unsigned          section;
    mb_sim_print_t    props;             /* .proplist only */
    char             *proplist;          /* the words props point into */
    int               ended;
};

struct mb_sim_conn_s {
    uv_tcp_t          tcp;
    mb_sim_conn_t    *next, *prev;
    mb_sim_tls_t     *tls;
    mb_ros_parser_t  *parser;
    mb_ros_buf_t      out;               /* replies not yet written */
    mb_ros_buf_t      pending;           /* input held during a stall */
    mb_sim_stream_t  *streams;
    char              peer[64];
    char              user[64];
    unsigned char     challenge[16];
    unsigned          logged_in:1;
    unsigned          has_challenge:1;
    unsigned          closing:1;
    unsigned          time_write:1;      /* this flush carries a print */
    uint64_t          commands;
};

void mb_sim_conn_flush(mb_sim_conn_t *c);
/* send !fatal TEXT, then close once written */
void mb_sim_conn_fatal(mb_sim_conn_t *c, const char *text);
void mb_sim_conn_close(mb_sim_conn_t *c);
int mb_sim_conn_listen(const char *addr, int tls);
/* processes input held during a stall */
void mb_sim_conn_unstall(void);
size_t mb_sim_conn_count(size_t *logged_in);

void mb_sim_dispatch(mb_sim_conn_t *c, const mb_ros_sentence_t *s);


/* ---- TLS (API-SSL) ------------------------------------------------------ */

int mb_sim_tls_init(const char *cert, const char *key);
void mb_sim_tls_cleanup(void);
mb_sim_tls_t *mb_sim_tls_new(void);
void mb_sim_tls_free(mb_sim_tls_t *t);
/* decrypt; plain data goes to cb; -1 on a TLS error */
int mb_sim_tls_input(mb_sim_tls_t *t, const unsigned char *data, size_t len,
    int (*cb)(void *arg, const unsigned char *p, size_t n), void *arg);
/* encrypt into out (handshake records included); -1 on error */
int mb_sim_tls_output(mb_sim_tls_t *t, const unsigned char *data,
    size_t len, mb_ros_buf_t *out);


/* ---- menus -------------------------------------------------------------- */

void mb_sim_ppp_init(void);
/* a PPP session comes up; *id filled; NULL or the failure */
const char *mb_sim_ppp_login(const char *user, const char *address,
    const char *caller_id, const char *service, uint32_t *id);
const char *mb_sim_ppp_logout(const char *user);
const char *mb_sim_ppp_load(unsigned n, uint64_t rx_bps, uint64_t tx_bps,
    unsigned *loaded);
mb_sim_item_t *mb_sim_ppp_active_find(const char *user);

void mb_sim_iface_init(void);
mb_sim_item_t *mb_sim_iface_add_dynamic(const char *name, const char *type);
void mb_sim_iface_remove(mb_sim_item_t *it);
mb_sim_item_t *mb_sim_iface_by_name(const char *name);
/* bits per second, rx = from the customer, tx = to the customer */
int mb_sim_iface_rate(const char *name, uint64_t rx_bps, uint64_t tx_bps);
/* the same by interface id (no search by name) */
int mb_sim_iface_rate_id(uint32_t id, uint64_t rx_bps, uint64_t tx_bps);
void mb_sim_iface_tick(void);
void mb_sim_monitor_traffic(mb_sim_req_t *r);
/* /cancel: 1 when a stream with that tag existed */
int mb_sim_stream_cancel(mb_sim_conn_t *c, const char *tag,
    const char *cancel_tag);
void mb_sim_stream_cancel_all(mb_sim_conn_t *c, const char *cancel_tag);
void mb_sim_streams_close(mb_sim_conn_t *c);
size_t mb_sim_stream_count(void);

void mb_sim_addrlist_init(void);
void mb_sim_addrlist_tick(void);

void mb_sim_hotspot_init(void);
const char *mb_sim_hotspot_login(const char *user, const char *address,
    const char *mac, uint32_t *id);
const char *mb_sim_hotspot_logout(const char *user);

void mb_sim_system_init(void);
int mb_sim_system_command(mb_sim_req_t *r, const char *menu,
    const char *verb);

int mb_sim_control_listen(const char *addr);
int mb_sim_seed_load(const char *file);
void mb_sim_demo_start(uint64_t seed, unsigned customers);
void mb_sim_demo_tick(void);


/* ---- helpers (mb_sim_util.c) ------------------------------------------ */

uint64_t mb_sim_now_ms(void);               /* loop time */
/* RouterOS durations: "1w2d3h4m5s", "00:05:00", "1d00:00:00", "500ms",
 * plain seconds; -1 when malformed */
int64_t mb_sim_duration_parse(const char *s);
void mb_sim_duration_format(uint64_t ms, char *buf, size_t len);
/* the router clock's date and time, per version style */
void mb_sim_time_format(uint64_t unix_s, char *buf, size_t len);
int mb_sim_ipv4_valid(const char *s, int allow_prefix);
int mb_sim_ver_at_least(int major, int minor);
uint64_t mb_sim_rand(void);
void mb_sim_srand(uint64_t seed);
int mb_sim_parse_hostport(const char *s, char *host, size_t hlen, int *port);
char *mb_sim_strdup(const char *s);


/* ---- the router ------------------------------------------------------- */

typedef struct {
    char             name[64];
    char             password[128];
} mb_sim_user_t;

typedef struct {
    uv_loop_t       *loop;

    /* options */
    int              ver_major, ver_minor;
    char             version[48];           /* "7.12 (stable)" */
    mb_sim_user_t    users[MB_SIM_USERS_MAX];
    size_t           nusers;
    char             identity[128];

    mb_sim_conn_t   *conns;
    mb_sim_table_t   secrets, profiles, active, ifaces, addrlist, hotspot;
    uint64_t         start_ms;
    uint64_t         start_unix;

    uint64_t         stall_until_ms;        /* 0: not stalled */
    uv_timer_t       stall_timer;
    uv_timer_t       tick;
    long             cut_after;             /* -1 off, else bytes */
    int              demo;

    /* stats and the last print's timing (control "selftime") */
    uint64_t         connections_total;
    uint64_t         commands;
    size_t           last_print_items;
    size_t           last_print_bytes;
    uint64_t         last_print_build_ns;
    uint64_t         last_print_write_ns;
    uint64_t         last_print_t0;
    int              last_print_written;
} mb_sim_t;

extern mb_sim_t  mb_sim;


#endif /* _MB_SIM_H_INCLUDED_ */
