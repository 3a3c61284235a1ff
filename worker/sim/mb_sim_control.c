/*
 * The control interface (--control): one command per line over TCP, one
 * answer line per command, "OK ..." or "ERR ...".  Tests and demos script
 * the router through it: sessions up and down, traffic rates, dropped
 * links, stalls, !fatal, bulk sessions.  docs/simulator.md lists the
 * commands.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MB_SIM_CTL_LINE   4096
#define MB_SIM_CTL_ARGV   8


typedef struct {
    uv_tcp_t         tcp;
    char             line[MB_SIM_CTL_LINE];
    size_t           len;
    int              overflow;
    int              closing;           /* "quit" seen */
} mb_sim_ctl_t;

typedef struct {
    uv_write_t       req;
    char             text[];
} mb_sim_ctl_wreq_t;

typedef void (*mb_sim_ctl_pt)(mb_sim_ctl_t *c, int argc, char **argv,
    char *rest);

static uv_tcp_t  mb_sim_ctl_listener;


static void
mb_sim_ctl_written(uv_write_t *req, int status)
{
    (void) status;
    free(req);
}


static void
mb_sim_ctl_reply(mb_sim_ctl_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mb_sim_ctl_reply(mb_sim_ctl_t *c, const char *fmt, ...)
{
    mb_sim_ctl_wreq_t  *w;
    va_list             ap;
    uv_buf_t            b;
    int                 n;

    w = malloc(sizeof(mb_sim_ctl_wreq_t) + 512);
    if (w == NULL) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(w->text, 510, fmt, ap);
    va_end(ap);
    if (n < 0 || n > 509) {
        n = 509;
    }
    w->text[n++] = '\n';
    b = uv_buf_init(w->text, (unsigned) n);
    if (uv_is_closing((uv_handle_t *) &c->tcp)
        || uv_write(&w->req, (uv_stream_t *) &c->tcp, &b, 1,
                    mb_sim_ctl_written) != 0)
    {
        free(w);
    }
}


static int
mb_sim_ctl_uint(const char *s, unsigned long long *v)
{
    char  *end;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    *v = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}


static void
mb_sim_ctl_result(mb_sim_ctl_t *c, const char *err, uint32_t id)
{
    if (err != NULL) {
        mb_sim_ctl_reply(c, "ERR %s", err);
    } else if (id != 0) {
        mb_sim_ctl_reply(c, "OK *%X", (unsigned) id);
    } else {
        mb_sim_ctl_reply(c, "OK");
    }
}


/* ---- sessions and traffic ---------------------------------------------- */

static void
mb_sim_ctl_login(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    uint32_t     id = 0;
    const char  *err;

    (void) rest;
    err = mb_sim_ppp_login(argv[1], argc > 2 ? argv[2] : NULL,
                           argc > 3 ? argv[3] : NULL,
                           argc > 4 ? argv[4] : NULL, &id);
    mb_sim_ctl_result(c, err, id);
}


static void
mb_sim_ctl_logout(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) rest;
    mb_sim_ctl_result(c, mb_sim_ppp_logout(argv[1]), 0);
}


/* "rate USER RX TX": USER's session interface, or any interface name */
static void
mb_sim_ctl_rate(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    unsigned long long  rx, tx;
    mb_sim_item_t      *s = mb_sim_ppp_active_find(argv[1]);
    char                ifname[128];

    (void) argc;
    (void) rest;
    if (mb_sim_ctl_uint(argv[2], &rx) || mb_sim_ctl_uint(argv[3], &tx)) {
        mb_sim_ctl_reply(c, "ERR rates are bits per second");
        return;
    }
    if (s != NULL) {
        snprintf(ifname, sizeof(ifname), "<%s-%s>",
                 mb_sim_item_get(&mb_sim.active, s, "service"), argv[1]);
    } else {
        snprintf(ifname, sizeof(ifname), "%s", argv[1]);
    }
    if (mb_sim_iface_rate(ifname, rx, tx) != 0) {
        mb_sim_ctl_reply(c, "ERR no such session or interface");
        return;
    }
    mb_sim_ctl_reply(c, "OK");
}


static void
mb_sim_ctl_hs_login(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    uint32_t     id = 0;
    const char  *err;

    (void) rest;
    err = mb_sim_hotspot_login(argv[1], argv[2], argc > 3 ? argv[3] : NULL,
                               &id);
    mb_sim_ctl_result(c, err, id);
}


static void
mb_sim_ctl_hs_logout(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) rest;
    mb_sim_ctl_result(c, mb_sim_hotspot_logout(argv[1]), 0);
}


static void
mb_sim_ctl_load(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    unsigned long long  n, rx = 0, tx = 0;
    unsigned            loaded = 0;
    uint64_t            t0 = uv_hrtime();
    const char         *err;

    (void) rest;
    if (mb_sim_ctl_uint(argv[1], &n) || n > 1000000
        || (argc > 2 && (argc != 4 || mb_sim_ctl_uint(argv[2], &rx)
                         || mb_sim_ctl_uint(argv[3], &tx))))
    {
        mb_sim_ctl_reply(c, "ERR load N [RX_BPS TX_BPS] (N up to 1000000)");
        return;
    }
    err = mb_sim_ppp_load((unsigned) n, rx, tx, &loaded);
    if (err != NULL) {
        mb_sim_ctl_reply(c, "ERR %s after %u", err, loaded);
        return;
    }
    mb_sim_ctl_reply(c, "OK %u loaded in %llu ms, %zu active", loaded,
                     (unsigned long long) (uv_hrtime() - t0) / 1000000,
                     mb_sim.active.n);
}


static void
mb_sim_ctl_secret_add(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    mb_sim_args_t   a;
    mb_sim_item_t  *it = NULL;
    const char     *err;

    (void) rest;
    mb_sim_args_init(&a);
    mb_sim_args_add(&a, "name", 4, argv[1]);
    mb_sim_args_add(&a, "password", 8, argv[2]);
    if (argc > 3) {
        mb_sim_args_add(&a, "profile", 7, argv[3]);
    }
    err = mb_sim_table_add(&mb_sim.secrets, &a, 0, 0, &it);
    mb_sim_ctl_result(c, err, it ? it->id : 0);
}


static void
mb_sim_ctl_user_add(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    mb_sim_user_t  *u;

    (void) argc;
    (void) rest;
    if (mb_sim.nusers == MB_SIM_USERS_MAX) {
        mb_sim_ctl_reply(c, "ERR too many users");
        return;
    }
    u = &mb_sim.users[mb_sim.nusers++];
    snprintf(u->name, sizeof(u->name), "%s", argv[1]);
    snprintf(u->password, sizeof(u->password), "%s", argv[2]);
    mb_sim_ctl_reply(c, "OK");
}


static void
mb_sim_ctl_clear(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    const char  *what = argc > 1 ? argv[1] : "sessions";
    int          all = strcmp(what, "all") == 0;

    (void) rest;
    if (!all && strcmp(what, "sessions") && strcmp(what, "secrets")
        && strcmp(what, "address-list"))
    {
        mb_sim_ctl_reply(c, "ERR clear [sessions|secrets|address-list|all]");
        return;
    }
    if (all || strcmp(what, "sessions") == 0) {
        mb_sim_table_clear(&mb_sim.active);
        mb_sim_table_clear(&mb_sim.hotspot);
    }
    if (all || strcmp(what, "secrets") == 0) {
        mb_sim_table_clear(&mb_sim.secrets);
    }
    if (all || strcmp(what, "address-list") == 0) {
        mb_sim_table_clear(&mb_sim.addrlist);
    }
    mb_sim_ctl_reply(c, "OK");
}


/* "fill SECRET BYTES": a comment that long, so that a client can read
 * words in every length encoding, 0x10000000 bytes and more included */
static void
mb_sim_ctl_fill(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    unsigned long long  n;
    mb_sim_item_t      *it;
    char               *text;

    (void) argc;
    (void) rest;
    it = mb_sim_table_find(&mb_sim.secrets, "name", argv[1]);
    if (it == NULL || mb_sim_ctl_uint(argv[2], &n) || n > 0x20000000ull) {
        mb_sim_ctl_reply(c, "ERR fill SECRET BYTES (a secret, up to 512 MiB)");
        return;
    }
    text = malloc(n + 1);
    if (text == NULL) {
        mb_sim_ctl_reply(c, "ERR out of memory");
        return;
    }
    memset(text, 'x', n);
    text[n] = '\0';
    free(it->v[mb_sim_table_field(&mb_sim.secrets, "comment")]);
    it->v[mb_sim_table_field(&mb_sim.secrets, "comment")] = text;
    mb_sim_ctl_reply(c, "OK %llu", n);
}


/* ---- the links ---------------------------------------------------------- */

static void
mb_sim_ctl_drop(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    mb_sim_conn_t  *k;
    size_t          n = 0;

    (void) argc;
    (void) argv;
    (void) rest;
    for (k = mb_sim.conns; k != NULL; k = k->next) {
        if (!k->closing) {
            mb_sim_conn_close(k);
            n++;
        }
    }
    mb_sim_ctl_reply(c, "OK %zu", n);
}


static void
mb_sim_ctl_fatal(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    mb_sim_conn_t  *k;
    size_t          n = 0;

    (void) argc;
    (void) argv;
    for (k = mb_sim.conns; k != NULL; k = k->next) {
        if (!k->closing) {
            mb_sim_conn_fatal(k, rest && *rest ? rest : "fatal");
            n++;
        }
    }
    mb_sim_ctl_reply(c, "OK %zu", n);
}


static void
mb_sim_ctl_unstall(uv_timer_t *t)
{
    (void) t;
    mb_sim.stall_until_ms = 0;
    mb_log_info("stall over");
    mb_sim_conn_unstall();
}


static void
mb_sim_ctl_stall(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    int64_t  ms = mb_sim_duration_parse(argv[1]);

    (void) argc;
    (void) rest;
    if (ms < 0) {
        mb_sim_ctl_reply(c, "ERR stall SECONDS");
        return;
    }
    uv_timer_stop(&mb_sim.stall_timer);
    if (ms == 0) {
        mb_sim_ctl_unstall(&mb_sim.stall_timer);
    } else {
        mb_sim.stall_until_ms = mb_sim_now_ms() + (uint64_t) ms;
        uv_timer_start(&mb_sim.stall_timer, mb_sim_ctl_unstall,
                       (uint64_t) ms, 0);
        mb_log_info("stalled for %lld ms", (long long) ms);
    }
    mb_sim_ctl_reply(c, "OK");
}


static void
mb_sim_ctl_cut(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    unsigned long long  n;

    (void) argc;
    (void) rest;
    if (mb_sim_ctl_uint(argv[1], &n)) {
        mb_sim_ctl_reply(c, "ERR cut BYTES");
        return;
    }
    mb_sim.cut_after = (long) n;
    mb_sim_ctl_reply(c, "OK");
}


/* ---- information -------------------------------------------------------- */

static void
mb_sim_ctl_stats(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    size_t  in, n = mb_sim_conn_count(&in);

    (void) argc;
    (void) argv;
    (void) rest;
    mb_sim_ctl_reply(c, "OK connections=%zu logged-in=%zu accepted=%llu "
                     "commands=%llu active=%zu hotspot=%zu secrets=%zu "
                     "address-list=%zu streams=%zu stalled=%d", n, in,
                     (unsigned long long) mb_sim.connections_total,
                     (unsigned long long) mb_sim.commands, mb_sim.active.n,
                     mb_sim.hotspot.n, mb_sim.secrets.n, mb_sim.addrlist.n,
                     mb_sim_stream_count(), mb_sim.stall_until_ms != 0);
}


static void
mb_sim_ctl_selftime(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    char  w[32] = "-";

    (void) argc;
    (void) argv;
    (void) rest;
    if (mb_sim.last_print_written) {
        snprintf(w, sizeof(w), "%llu",
                 (unsigned long long) mb_sim.last_print_write_ns / 1000);
    }
    mb_sim_ctl_reply(c, "OK items=%zu bytes=%zu build-us=%llu write-us=%s",
                     mb_sim.last_print_items, mb_sim.last_print_bytes,
                     (unsigned long long) mb_sim.last_print_build_ns / 1000,
                     w);
}


/* serialize /ppp/active/print into memory: the floor under any fetch */
static void
mb_sim_ctl_time_print(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    mb_sim_conn_t      fake;
    mb_sim_req_t       r;
    mb_ros_word_t      words[2];
    mb_ros_sentence_t  s;
    char               prop[1024];
    mb_sim_t           saved = mb_sim;

    (void) rest;
    memset(&fake, 0, sizeof(fake));
    words[0].data = "/ppp/active/print";
    words[0].len = strlen(words[0].data);
    s.words = words;
    s.nwords = 1;
    if (argc > 1) {
        snprintf(prop, sizeof(prop), "=.proplist=%s", argv[1]);
        words[1].data = prop;
        words[1].len = strlen(prop);
        s.nwords = 2;
    }
    r.conn = &fake;
    r.s = &s;
    r.cmd = words[0].data;
    r.tag = "1";
    mb_sim_args_from(&r.args, &s);
    mb_sim_print_table(&r, &mb_sim.active);
    mb_sim_ctl_reply(c, "OK items=%zu bytes=%zu build-us=%llu",
                     mb_sim.last_print_items, fake.out.len,
                     (unsigned long long) mb_sim.last_print_build_ns / 1000);
    mb_ros_buf_free(&fake.out);

    /* keep "selftime" about the last print a client asked for */
    mb_sim.last_print_items = saved.last_print_items;
    mb_sim.last_print_bytes = saved.last_print_bytes;
    mb_sim.last_print_build_ns = saved.last_print_build_ns;
    mb_sim.last_print_t0 = saved.last_print_t0;
    mb_sim.last_print_written = saved.last_print_written;
}


static void
mb_sim_ctl_identity(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) argv;
    snprintf(mb_sim.identity, sizeof(mb_sim.identity), "%s", rest);
    mb_sim_ctl_reply(c, "OK");
}


static void
mb_sim_ctl_quit(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) argv;
    (void) rest;
    mb_sim_ctl_reply(c, "OK bye");
    c->closing = 1;
}


static void
mb_sim_ctl_shutdown(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) argv;
    (void) rest;
    mb_sim_ctl_reply(c, "OK shutting down");
    mb_log_info("shutdown requested over control");
    uv_stop(mb_sim.loop);
}


static void
mb_sim_ctl_ping(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    (void) argc;
    (void) argv;
    (void) rest;
    mb_sim_ctl_reply(c, "OK pong");
}


static void mb_sim_ctl_help(mb_sim_ctl_t *c, int argc, char **argv,
    char *rest);

static const struct {
    const char      *name;
    int              min_args;          /* after the command word */
    mb_sim_ctl_pt    run;
    const char      *usage;
} mb_sim_ctl_cmds[] = {
    { "login", 1, mb_sim_ctl_login, "login USER [ADDRESS] [CALLER-ID] "
      "[SERVICE]" },
    { "logout", 1, mb_sim_ctl_logout, "logout USER" },
    { "rate", 3, mb_sim_ctl_rate, "rate USER|IFACE RX_BPS TX_BPS" },
    { "hotspot-login", 2, mb_sim_ctl_hs_login,
      "hotspot-login USER ADDRESS [MAC]" },
    { "hotspot-logout", 1, mb_sim_ctl_hs_logout, "hotspot-logout USER" },
    { "load", 1, mb_sim_ctl_load, "load N [RX_BPS TX_BPS]" },
    { "clear", 0, mb_sim_ctl_clear,
      "clear [sessions|secrets|address-list|all]" },
    { "secret-add", 2, mb_sim_ctl_secret_add,
      "secret-add NAME PASSWORD [PROFILE]" },
    { "fill", 2, mb_sim_ctl_fill, "fill SECRET BYTES" },
    { "user-add", 2, mb_sim_ctl_user_add, "user-add NAME PASSWORD" },
    { "identity", 1, mb_sim_ctl_identity, "identity NAME" },
    { "drop", 0, mb_sim_ctl_drop, "drop" },
    { "stall", 1, mb_sim_ctl_stall, "stall SECONDS" },
    { "fatal", 0, mb_sim_ctl_fatal, "fatal [TEXT]" },
    { "cut", 1, mb_sim_ctl_cut, "cut BYTES" },
    { "stats", 0, mb_sim_ctl_stats, "stats" },
    { "selftime", 0, mb_sim_ctl_selftime, "selftime" },
    { "time-print", 0, mb_sim_ctl_time_print, "time-print [PROPLIST]" },
    { "ping", 0, mb_sim_ctl_ping, "ping" },
    { "help", 0, mb_sim_ctl_help, "help" },
    { "quit", 0, mb_sim_ctl_quit, "quit" },
    { "shutdown", 0, mb_sim_ctl_shutdown, "shutdown" },
};

#define MB_SIM_CTL_N  (sizeof(mb_sim_ctl_cmds) / sizeof(mb_sim_ctl_cmds[0]))


static void
mb_sim_ctl_help(mb_sim_ctl_t *c, int argc, char **argv, char *rest)
{
    char    text[480];
    size_t  i, n = 0;

    (void) argc;
    (void) argv;
    (void) rest;
    for (i = 0; i < MB_SIM_CTL_N && n + 20 < sizeof(text); i++) {
        n += (size_t) snprintf(text + n, sizeof(text) - n, "%s%s",
                               i ? " " : "", mb_sim_ctl_cmds[i].name);
    }
    mb_sim_ctl_reply(c, "OK %s", text);
}


/* ---- lines -------------------------------------------------------------- */

static void
mb_sim_ctl_exec(mb_sim_ctl_t *c, char *line)
{
    char    *argv[MB_SIM_CTL_ARGV], rest[MB_SIM_CTL_LINE], *p = line;
    int      argc = 0;
    size_t   i;

    /* the text after the command word, spaces kept ("fatal TEXT") */
    p += strspn(p, " \t");
    p += strcspn(p, " \t");
    p += strspn(p, " \t");
    snprintf(rest, sizeof(rest), "%s", p);

    p = line;
    while (argc < MB_SIM_CTL_ARGV) {
        p += strspn(p, " \t");
        if (*p == '\0') {
            break;
        }
        argv[argc++] = p;
        p += strcspn(p, " \t");
        if (*p) {
            *p++ = '\0';
        }
    }
    if (argc == 0) {
        return;
    }
    for (i = 0; i < MB_SIM_CTL_N; i++) {
        if (strcmp(argv[0], mb_sim_ctl_cmds[i].name) == 0) {
            if (argc - 1 < mb_sim_ctl_cmds[i].min_args) {
                mb_sim_ctl_reply(c, "ERR usage: %s",
                                 mb_sim_ctl_cmds[i].usage);
                return;
            }
            mb_sim_ctl_cmds[i].run(c, argc, argv, rest);
            return;
        }
    }
    mb_sim_ctl_reply(c, "ERR unknown command %s (try help)", argv[0]);
}


static void
mb_sim_ctl_closed(uv_handle_t *h)
{
    free(h->data);
}


static void
mb_sim_ctl_shut(uv_shutdown_t *req, int status)
{
    (void) status;
    if (!uv_is_closing((uv_handle_t *) req->handle)) {
        uv_close((uv_handle_t *) req->handle, mb_sim_ctl_closed);
    }
    free(req);
}


/* after "quit": the answer first, then the close */
static void
mb_sim_ctl_close_soft(mb_sim_ctl_t *c)
{
    uv_shutdown_t  *req = malloc(sizeof(uv_shutdown_t));

    if (req == NULL
        || uv_shutdown(req, (uv_stream_t *) &c->tcp, mb_sim_ctl_shut) != 0)
    {
        free(req);
        uv_close((uv_handle_t *) &c->tcp, mb_sim_ctl_closed);
    }
}


static void
mb_sim_ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char  rbuf[8192];

    (void) h;
    (void) hint;
    buf->base = rbuf;
    buf->len = sizeof(rbuf);
}


static void
mb_sim_ctl_byte(mb_sim_ctl_t *c, char ch)
{
    if (ch != '\n') {
        if (c->len + 1 < sizeof(c->line)) {
            c->line[c->len++] = ch;
        } else {
            c->overflow = 1;
        }
        return;
    }
    if (c->len > 0 && c->line[c->len - 1] == '\r') {
        c->len--;
    }
    c->line[c->len] = '\0';
    if (c->overflow) {
        mb_sim_ctl_reply(c, "ERR line too long");
    } else {
        mb_sim_ctl_exec(c, c->line);
    }
    c->len = 0;
    c->overflow = 0;
}


static void
mb_sim_ctl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    mb_sim_ctl_t  *c = s->data;
    ssize_t        i;

    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *) s)) {
            uv_close((uv_handle_t *) s, mb_sim_ctl_closed);
        }
        return;
    }
    for (i = 0; i < n && !uv_is_closing((uv_handle_t *) s); i++) {
        mb_sim_ctl_byte(c, buf->base[i]);
        if (c->closing) {
            uv_read_stop(s);
            mb_sim_ctl_close_soft(c);
            return;
        }
    }
}


static void
mb_sim_ctl_accept(uv_stream_t *server, int status)
{
    mb_sim_ctl_t  *c;

    if (status != 0 || (c = calloc(1, sizeof(mb_sim_ctl_t))) == NULL) {
        return;
    }
    uv_tcp_init(mb_sim.loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0) {
        uv_close((uv_handle_t *) &c->tcp, mb_sim_ctl_closed);
        return;
    }
    uv_read_start((uv_stream_t *) &c->tcp, mb_sim_ctl_alloc,
                  mb_sim_ctl_read);
}


int
mb_sim_control_listen(const char *addr)
{
    struct sockaddr_in  sa;
    char                host[64];
    int                 port, rc;

    if (mb_sim_parse_hostport(addr, host, sizeof(host), &port) != 0
        || uv_ip4_addr(host, port, &sa) != 0)
    {
        mb_log_error("bad control address \"%s\"", addr);
        return -1;
    }
    uv_tcp_init(mb_sim.loop, &mb_sim_ctl_listener);
    rc = uv_tcp_bind(&mb_sim_ctl_listener, (struct sockaddr *) &sa, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *) &mb_sim_ctl_listener, 16,
                       mb_sim_ctl_accept);
    }
    if (rc != 0) {
        mb_log_error("control listen %s: %s", addr, uv_strerror(rc));
        return -1;
    }
    mb_log_info("control listening on %s", addr);
    return 0;
}
