/*
 * One command sentence in, its replies out: /login in both styles,
 * /cancel, /quit, and the menus.  Unknown menus answer "no such command
 * prefix", unknown verbs of a known menu "no such command", as RouterOS
 * does.
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>


static const struct {
    const char      *path;
    mb_sim_table_t  *table;
} mb_sim_menus[] = {
    { "/ppp/secret", &mb_sim.secrets },
    { "/ppp/profile", &mb_sim.profiles },
    { "/ppp/active", &mb_sim.active },
    { "/interface", &mb_sim.ifaces },
    { "/ip/firewall/address-list", &mb_sim.addrlist },
    { "/ip/hotspot/active", &mb_sim.hotspot },
};


/* ---- /login ------------------------------------------------------------ */

static const char *
mb_sim_login_failure(void)
{
    return mb_sim_ver_at_least(6, 43) ? "invalid user name or password (6)"
                                      : "cannot log in";
}


static const mb_sim_user_t *
mb_sim_user(const char *name)
{
    size_t  i;

    for (i = 0; name != NULL && i < mb_sim.nusers; i++) {
        if (strcmp(mb_sim.users[i].name, name) == 0) {
            return &mb_sim.users[i];
        }
    }
    return NULL;
}


static void
mb_sim_login_challenge(mb_sim_req_t *r)
{
    mb_sim_conn_t  *c = r->conn;
    char            hex[33];
    size_t          i;

    if (RAND_bytes(c->challenge, sizeof(c->challenge)) != 1) {
        for (i = 0; i < sizeof(c->challenge); i++) {
            c->challenge[i] = (unsigned char) mb_sim_rand();
        }
    }
    for (i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", c->challenge[i]);
    }
    c->has_challenge = 1;
    mb_sim_reply_done(r, hex);
}


/* "00" + hex(MD5(0x00 + password + challenge)) */
static int
mb_sim_login_response_ok(mb_sim_conn_t *c, const mb_sim_user_t *u,
    const char *response)
{
    unsigned char  buf[1 + sizeof(u->password) + 16], md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen = 0;
    size_t         plen = strlen(u->password), i;
    char           want[3 + 32];

    if (!c->has_challenge) {
        return 0;
    }
    buf[0] = 0;
    memcpy(buf + 1, u->password, plen);
    memcpy(buf + 1 + plen, c->challenge, 16);
    if (EVP_Digest(buf, 1 + plen + 16, md, &mdlen, EVP_md5(), NULL) != 1) {
        return 0;
    }
    want[0] = '0';
    want[1] = '0';
    for (i = 0; i < 16; i++) {
        snprintf(want + 2 + 2 * i, 3, "%02x", md[i]);
    }
    return strcasecmp(want, response) == 0;
}


static void
mb_sim_login_result(mb_sim_req_t *r, const char *name, int ok)
{
    mb_sim_conn_t  *c = r->conn;

    c->has_challenge = 0;
    if (!ok) {
        mb_log_info("login failure for user %s from %s", name ? name : "",
                    c->peer);
        mb_sim_reply_trap(r, NULL, mb_sim_login_failure());
        return;
    }
    c->logged_in = 1;
    snprintf(c->user, sizeof(c->user), "%s", name);
    mb_log_debug("user %s logged in from %s", name, c->peer);
    mb_sim_reply_done(r, NULL);
}


static void
mb_sim_login(mb_sim_req_t *r)
{
    const char           *name = mb_sim_args_get(&r->args, "name");
    const char           *pass = mb_sim_args_get(&r->args, "password");
    const char           *resp = mb_sim_args_get(&r->args, "response");
    const mb_sim_user_t  *u = mb_sim_user(name);

    if (resp != NULL) {
        mb_sim_login_result(r, name,
                            u && mb_sim_login_response_ok(r->conn, u, resp));
        return;
    }
    /* before 6.43 /login ignores a password and hands out a challenge;
     * 6.43..6.49 still do so for a bare /login, 7.x no more */
    if (!mb_sim_ver_at_least(6, 43)
        || (name == NULL && mb_sim.ver_major == 6))
    {
        mb_sim_login_challenge(r);
        return;
    }
    mb_sim_login_result(r, name,
                        u && pass && strcmp(u->password, pass) == 0);
}


/* ---- /cancel ----------------------------------------------------------- */

static void
mb_sim_cancel(mb_sim_req_t *r)
{
    const char  *tag = mb_sim_args_get(&r->args, "tag");

    if (tag == NULL) {
        mb_sim_stream_cancel_all(r->conn, r->tag);
        return;
    }
    if (!mb_sim_stream_cancel(r->conn, tag, r->tag)) {
        /* finished already, or never was: nothing left to cancel, done.
         * node-routeros cancels a stream that ended with a !trap when it
         * closes, and a trap here would crash it (an unhandled rejection) */
        mb_sim_reply_done(r, NULL);
    }
}


/* ---- menus -------------------------------------------------------------- */

static mb_sim_item_t *
mb_sim_target(mb_sim_req_t *r, mb_sim_table_t *t, const char *ref)
{
    mb_sim_item_t  *it;

    if (ref == NULL) {
        mb_sim_reply_trap(r, NULL, "missing value(s) of argument(s) .id");
        return NULL;
    }
    it = mb_sim_table_lookup(t, ref);
    if (it == NULL) {
        mb_sim_reply_trap(r, NULL, "no such item");
    }
    return it;
}


static const char *
mb_sim_ref(mb_sim_req_t *r)
{
    const char  *ref = mb_sim_args_get(&r->args, ".id");

    return ref ? ref : mb_sim_args_get(&r->args, "numbers");
}


static void
mb_sim_verb_add(mb_sim_req_t *r, mb_sim_table_t *t)
{
    mb_sim_item_t  *it;
    const char     *err;
    char            ret[16];

    err = mb_sim_table_add(t, &r->args, 0, 0, &it);
    if (err != NULL) {
        mb_sim_reply_trap(r, NULL, err);
        return;
    }
    snprintf(ret, sizeof(ret), "*%X", (unsigned) it->id);
    mb_sim_reply_done(r, ret);
}


static void
mb_sim_verb_set(mb_sim_req_t *r, mb_sim_table_t *t)
{
    mb_sim_item_t  *it = mb_sim_target(r, t, mb_sim_ref(r));
    const char     *err;

    if (it == NULL) {
        return;
    }
    err = mb_sim_table_set(t, it, &r->args, 0);
    if (err != NULL) {
        mb_sim_reply_trap(r, NULL, err);
        return;
    }
    mb_sim_reply_done(r, NULL);
}


/* "=.id=*1,*2": all must exist, or nothing is removed */
static void
mb_sim_verb_remove(mb_sim_req_t *r, mb_sim_table_t *t)
{
    mb_sim_item_t  *items[256];
    const char     *ref = mb_sim_ref(r), *s;
    char            one[64];
    size_t          n = 0, i, len;

    if (ref == NULL) {
        mb_sim_target(r, t, NULL);
        return;
    }
    for (s = ref; *s && n < 256; s += len + (s[len] == ',')) {
        len = strcspn(s, ",");
        snprintf(one, sizeof(one), "%.*s", (int) len, s);
        items[n] = mb_sim_target(r, t, one);
        if (items[n++] == NULL) {
            return;
        }
    }
    for (i = 0; i < n; i++) {
        if (mb_sim_table_get(t, items[i]->id) == items[i]) {
            mb_sim_table_remove(t, items[i]);
        }
    }
    mb_sim_reply_done(r, NULL);
}


static int
mb_sim_verb(mb_sim_req_t *r, mb_sim_table_t *t, const char *verb)
{
    if ((t->verbs & MB_SIM_V_PRINT)
        && (strcmp(verb, "print") == 0 || strcmp(verb, "getall") == 0))
    {
        mb_sim_print_table(r, t);
    } else if ((t->verbs & MB_SIM_V_ADD) && strcmp(verb, "add") == 0) {
        mb_sim_verb_add(r, t);
    } else if ((t->verbs & MB_SIM_V_SET) && strcmp(verb, "set") == 0) {
        mb_sim_verb_set(r, t);
    } else if ((t->verbs & MB_SIM_V_REMOVE) && strcmp(verb, "remove") == 0) {
        mb_sim_verb_remove(r, t);
    } else if (t == &mb_sim.ifaces && strcmp(verb, "monitor-traffic") == 0) {
        mb_sim_monitor_traffic(r);
    } else {
        return 0;
    }
    return 1;
}


static void
mb_sim_route(mb_sim_req_t *r)
{
    char         menu[128];
    const char  *slash = strrchr(r->cmd, '/'), *verb = slash + 1;
    size_t       i, len = (size_t) (slash - r->cmd);

    if (len >= sizeof(menu)) {
        mb_sim_reply_trap(r, NULL, "no such command prefix");
        return;
    }
    memcpy(menu, r->cmd, len);
    menu[len] = '\0';

    for (i = 0; i < sizeof(mb_sim_menus) / sizeof(mb_sim_menus[0]); i++) {
        if (strcmp(menu, mb_sim_menus[i].path) == 0) {
            if (!mb_sim_verb(r, mb_sim_menus[i].table, verb)) {
                mb_sim_reply_trap(r, NULL, "no such command");
            }
            return;
        }
    }
    switch (mb_sim_system_command(r, menu, verb)) {
    case 1:
        return;
    case 0:
        mb_sim_reply_trap(r, NULL, "no such command");
        return;
    default:
        mb_sim_reply_trap(r, NULL, "no such command prefix");
    }
}


void
mb_sim_dispatch(mb_sim_conn_t *c, const mb_ros_sentence_t *s)
{
    mb_sim_req_t   r;
    mb_ros_word_t  tag;

    r.conn = c;
    r.s = s;
    r.cmd = s->words[0].data;
    r.tag = mb_ros_sentence_get(s, ".", "tag", &tag) ? tag.data : NULL;
    c->commands++;
    mb_sim.commands++;

    if (mb_sim_args_from(&r.args, s) != 0) {
        mb_sim_reply_trap(&r, NULL, "too many arguments");
    } else if (strcmp(r.cmd, "/login") == 0) {
        mb_sim_login(&r);
    } else if (strcmp(r.cmd, "/quit") == 0) {
        mb_sim_conn_fatal(c, "session terminated on request");
    } else if (!c->logged_in) {
        mb_sim_reply_trap(&r, NULL, "not logged in");
    } else if (strcmp(r.cmd, "/cancel") == 0) {
        mb_sim_cancel(&r);
    } else if (r.cmd[0] != '/' || strchr(r.cmd + 1, '/') == NULL) {
        mb_sim_reply_trap(&r, NULL, "no such command prefix");
    } else {
        mb_sim_route(&r);
    }
}
