/*
 * The command table: sending with a fresh .tag, routing each reply to its
 * command, timeouts, /cancel, and what happens to commands when a
 * connection ends.  Tags are never reused on a client, so a late reply to
 * a forgotten command finds nobody and is dropped.
 */

#include "mb_ros_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"


mb_ros_cmd_t *
mb_ros_cmd_add(mb_ros_client_t *c, const mb_ros_word_t *w, size_t n,
    unsigned flags, unsigned timeout_ms, mb_ros_cmd_pt cb, void *data)
{
    mb_ros_cmd_t  *cmd;
    size_t         i;

    cmd = calloc(1, sizeof(mb_ros_cmd_t));
    if (cmd == NULL) {
        return NULL;
    }
    mb_ros_buf_init(&cmd->words);
    for (i = 0; i < n; i++) {
        if (mb_ros_buf_word(&cmd->words, w[i].data, w[i].len) != 0) {
            mb_ros_buf_free(&cmd->words);
            free(cmd);
            return NULL;
        }
    }
    cmd->c = c;
    cmd->flags = flags;
    cmd->timeout_ms = timeout_ms;
    if (timeout_ms && !(flags & MB_ROS_STREAM)) {
        cmd->deadline = uv_now(c->loop) + timeout_ms;
    }
    cmd->cb = cb;
    cmd->data = data;

    cmd->prev = c->tail;
    if (c->tail) {
        c->tail->next = cmd;
    } else {
        c->head = cmd;
    }
    c->tail = cmd;
    c->ncmds++;
    return cmd;
}


/* on the wire with a new tag; -1 when the write failed */
int
mb_ros_cmd_transmit(mb_ros_client_t *c, mb_ros_cmd_t *cmd)
{
    char  tag[16];

    if (++c->next_tag == 0) {
        c->next_tag = 1;
    }
    cmd->tag = c->next_tag;
    cmd->wire_done = 0;
    snprintf(tag, sizeof(tag), "%u", (unsigned) cmd->tag);

    mb_ros_buf_reset(&c->out);
    if (mb_ros_buf_append(&c->out, cmd->words.data, cmd->words.len) != 0
        || mb_ros_buf_attr(&c->out, ".", "tag", tag) != 0
        || mb_ros_buf_end(&c->out) != 0
        || mb_ros_conn_write(c->conn, c->out.data, c->out.len) != 0)
    {
        c->broken = 1;
        return -1;
    }
    return 0;
}


static void
mb_ros_cmd_event(mb_ros_cmd_t *cmd, mb_ros_ev_e type,
    const mb_ros_sentence_t *s, mb_ros_err_e err, const char *message)
{
    mb_ros_event_t  ev;
    mb_ros_cmd_pt   cb = cmd->cb;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.s = s;
    ev.err = err;
    ev.message = message;
    ev.category = -1;
    if (type == MB_ROS_EV_TRAP) {
        const char  *cat = mb_ros_attr(s, "category");

        ev.message = mb_ros_attr(s, "message");
        ev.message = ev.message ? ev.message : "";
        ev.category = cat ? atoi(cat) : -1;
    }

    /* final: the caller forgets the handle inside cb */
    if (type == MB_ROS_EV_DONE || type == MB_ROS_EV_TRAP
        || type == MB_ROS_EV_ERROR)
    {
        cmd->cb = NULL;
        cmd->c->garbage = 1;
    }
    cb(cmd, &ev, cmd->data);
}


/* /cancel for a command whose caller is gone; its replies are swallowed */
static void
mb_ros_cmd_swallow(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    (void) cmd;
    (void) ev;
    (void) data;
}


static void
mb_ros_cmd_send_cancel(mb_ros_client_t *c, mb_ros_cmd_t *victim)
{
    mb_ros_word_t   w[2];
    mb_ros_cmd_t   *cmd;
    char            tag[24];

    snprintf(tag, sizeof(tag), "=tag=%u", (unsigned) victim->tag);
    w[0].data = "/cancel";
    w[0].len = 7;
    w[1].data = tag;
    w[1].len = strlen(tag);

    cmd = mb_ros_cmd_add(c, w, 2, MB_ROS_F_INTERNAL, 0, mb_ros_cmd_swallow,
                         NULL);
    if (cmd == NULL || mb_ros_cmd_transmit(c, cmd) != 0) {
        c->broken = 1;
        mb_ros_client_arm(c);
    }
}


void
mb_ros_cancel(mb_ros_cmd_t *cmd)
{
    mb_ros_client_t  *c = cmd->c;

    if (cmd->cb == NULL) {
        return;
    }
    cmd->cb = NULL;
    cmd->flags &= ~MB_ROS_PERSISTENT;
    c->garbage = 1;

    if (cmd->tag && !cmd->wire_done && c->state == MB_ROS_READY
        && !c->closing)
    {
        mb_ros_cmd_send_cancel(c, cmd);
    }
    if (c->busy == 0) {
        mb_ros_cmd_reap(c);
    }
}


/* send what waits: commands given before the login, re-issued streams */
void
mb_ros_cmd_flush(mb_ros_client_t *c)
{
    mb_ros_cmd_t  *cmd, *last = c->tail;

    for (cmd = c->head; cmd && c->state == MB_ROS_READY; cmd = cmd->next) {
        if (cmd->tag == 0 && cmd->cb) {
            if (mb_ros_cmd_transmit(c, cmd) != 0) {
                return;
            }
            if (cmd->flags & MB_ROS_PERSISTENT) {
                mb_ros_cmd_event(cmd, MB_ROS_EV_RESUMED, NULL, MB_ROS_OK,
                                 NULL);
            }
        }
        if (cmd == last) {
            break;
        }
    }
}


static mb_ros_cmd_t *
mb_ros_cmd_find(mb_ros_client_t *c, uint32_t tag)
{
    mb_ros_cmd_t  *cmd;

    /* newest first: the busiest commands are usually the latest */
    for (cmd = c->tail; cmd; cmd = cmd->prev) {
        if (cmd->tag == tag) {
            return cmd;
        }
    }
    return NULL;
}


void
mb_ros_cmd_dispatch(mb_ros_client_t *c, const mb_ros_sentence_t *s)
{
    mb_ros_word_t   v;
    mb_ros_cmd_t   *cmd;
    mb_ros_reply_e  type;
    unsigned long   tag;
    char           *end;

    type = mb_ros_reply_type(s);
    if (!mb_ros_sentence_get(s, ".", "tag", &v)) {
        mb_log_debug("router %s: untagged %s ignored", c->name,
                     s->words[0].data);
        return;
    }
    tag = strtoul(v.data, &end, 10);
    cmd = (*end == '\0' && tag) ? mb_ros_cmd_find(c, (uint32_t) tag) : NULL;
    if (cmd == NULL || cmd->wire_done) {
        mb_log_debug("router %s: %s for unknown tag %s ignored", c->name,
                     s->words[0].data, v.data);
        return;
    }

    switch (type) {
    case MB_ROS_REPLY_DONE:
        cmd->wire_done = 1;
        c->garbage = 1;
        if (cmd->cb) {
            mb_ros_cmd_event(cmd, MB_ROS_EV_DONE, s, MB_ROS_OK, NULL);
        }
        break;
    case MB_ROS_REPLY_TRAP:
    case MB_ROS_REPLY_RE:
    case MB_ROS_REPLY_EMPTY:
        if (cmd->cb) {
            mb_ros_cmd_event(cmd, type == MB_ROS_REPLY_TRAP ? MB_ROS_EV_TRAP
                                  : type == MB_ROS_REPLY_RE ? MB_ROS_EV_RE
                                  : MB_ROS_EV_EMPTY,
                             s, MB_ROS_OK, NULL);
        }
        break;
    default:
        /* a reply word this client does not know: skip, like .x attrs */
        mb_log_debug("router %s: reply %s ignored", c->name,
                     s->words[0].data);
    }
}


/* commands past their deadline fail; those on the wire are cancelled */
void
mb_ros_cmd_expire(mb_ros_client_t *c, uint64_t now)
{
    mb_ros_cmd_t  *cmd, *last = c->tail;
    char           msg[64];

    for (cmd = c->head; cmd; cmd = cmd->next) {
        if (cmd->cb && cmd->deadline && now >= cmd->deadline) {
            snprintf(msg, sizeof(msg), "no answer in %u ms",
                     cmd->timeout_ms);
            if (cmd->tag && !cmd->wire_done && c->state == MB_ROS_READY) {
                mb_ros_cmd_send_cancel(c, cmd);
            }
            mb_ros_cmd_event(cmd, MB_ROS_EV_ERROR, NULL, MB_ROS_E_TIMEOUT,
                             msg);
        }
        if (cmd == last || c->closing) {
            break;
        }
    }
}


uint64_t
mb_ros_cmd_next_deadline(const mb_ros_client_t *c)
{
    const mb_ros_cmd_t  *cmd;
    uint64_t             t = 0;

    for (cmd = c->head; cmd; cmd = cmd->next) {
        if (cmd->cb && cmd->deadline && (t == 0 || cmd->deadline < t)) {
            t = cmd->deadline;
        }
    }
    return t;
}


/*
 * The connection is gone (or never came): nothing is on the wire any
 * more.  Persistent streams wait for the next connection when there will
 * be one; every other command fails with the reason.
 */
void
mb_ros_cmd_fail_all(mb_ros_client_t *c, mb_ros_err_e err, const char *reason,
    int keep_persistent)
{
    mb_ros_cmd_t  *cmd, *last = c->tail;

    for (cmd = c->head; cmd; cmd = cmd->next) {
        cmd->tag = 0;
        cmd->wire_done = 1;
        c->garbage = 1;

        if (cmd->cb && (cmd->flags & MB_ROS_F_INTERNAL)) {
            cmd->cb = NULL;
        } else if (cmd->cb && keep_persistent
                   && (cmd->flags & MB_ROS_PERSISTENT))
        {
            cmd->wire_done = 0;
            mb_ros_cmd_event(cmd, MB_ROS_EV_INTERRUPTED, NULL, err, reason);
        } else if (cmd->cb) {
            mb_ros_cmd_event(cmd, MB_ROS_EV_ERROR, NULL, err, reason);
        }
        if (cmd == last) {
            break;
        }
    }
}


static void
mb_ros_cmd_unlink(mb_ros_client_t *c, mb_ros_cmd_t *cmd)
{
    if (cmd->prev) {
        cmd->prev->next = cmd->next;
    } else {
        c->head = cmd->next;
    }
    if (cmd->next) {
        cmd->next->prev = cmd->prev;
    } else {
        c->tail = cmd->prev;
    }
    c->ncmds--;
    if (c->probe == cmd) {
        c->probe = NULL;
    }
    mb_ros_buf_free(&cmd->words);
    free(cmd);
}


/* free commands nobody listens to and the router no longer works on */
void
mb_ros_cmd_reap(mb_ros_client_t *c)
{
    mb_ros_cmd_t  *cmd, *next;

    if (c->busy || !c->garbage) {
        return;
    }
    c->garbage = 0;
    for (cmd = c->head; cmd; cmd = next) {
        next = cmd->next;
        if (cmd->cb == NULL && (cmd->tag == 0 || cmd->wire_done)) {
            mb_ros_cmd_unlink(c, cmd);
        }
    }
}


void
mb_ros_cmd_free_all(mb_ros_client_t *c)
{
    while (c->head) {
        mb_ros_cmd_unlink(c, c->head);
    }
}


mb_ros_cmd_t *
mb_ros_sendv(mb_ros_client_t *c, const mb_ros_word_t *words, size_t nwords,
    const mb_ros_opts_t *opts, mb_ros_cmd_pt cb, void *data)
{
    mb_ros_cmd_t  *cmd;
    unsigned       flags, timeout;

    if (c->closing || nwords == 0 || cb == NULL) {
        return NULL;
    }
    flags = opts ? opts->flags & (MB_ROS_STREAM | MB_ROS_PERSISTENT) : 0;
    if (flags & MB_ROS_PERSISTENT) {
        flags |= MB_ROS_STREAM;
    }
    timeout = opts && opts->timeout_ms ? opts->timeout_ms
                                       : c->conf.command_timeout_ms;

    cmd = mb_ros_cmd_add(c, words, nwords, flags, timeout, cb, data);
    if (cmd == NULL) {
        return NULL;
    }
    if (c->state == MB_ROS_READY && mb_ros_cmd_transmit(c, cmd) != 0) {
        /* the loss is handled from the timer, never inside send */
        c->broken = 1;
    }
    mb_ros_client_arm(c);
    return cmd;
}


mb_ros_cmd_t *
mb_ros_send(mb_ros_client_t *c, const char *const *words,
    const mb_ros_opts_t *opts, mb_ros_cmd_pt cb, void *data)
{
    mb_ros_word_t   w[64], *wp = w;
    mb_ros_cmd_t   *cmd;
    size_t          n, i;

    for (n = 0; words[n]; n++) {
        /* count */
    }
    if (n == 0) {
        return NULL;
    }
    if (n > sizeof(w) / sizeof(w[0])) {
        wp = malloc(n * sizeof(mb_ros_word_t));
        if (wp == NULL) {
            return NULL;
        }
    }
    for (i = 0; i < n; i++) {
        wp[i].data = words[i];
        wp[i].len = strlen(words[i]);
    }
    cmd = mb_ros_sendv(c, wp, n, opts, cb, data);
    if (wp != w) {
        free(wp);
    }
    return cmd;
}


uint32_t
mb_ros_cmd_tag(const mb_ros_cmd_t *cmd)
{
    return cmd->tag;
}


const char *
mb_ros_attr(const mb_ros_sentence_t *s, const char *name)
{
    mb_ros_word_t  v;

    return mb_ros_sentence_get(s, "=", name, &v) ? v.data : NULL;
}
