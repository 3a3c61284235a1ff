/*
 * RouterOS API client on the worker's libuv loop: one connection to one
 * router (plain TCP 8728 or API-SSL 8729), logged in, with many tagged
 * commands in flight.  It reconnects by itself with backoff and re-issues
 * persistent streams; see docs/routeros.md.
 *
 * Callbacks are never called from inside mb_ros_send() or mb_ros_cancel().
 * They may call any function here, mb_ros_client_close() included.
 */

#ifndef _MB_ROS_CLIENT_H_INCLUDED_
#define _MB_ROS_CLIENT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mb_ros_codec.h"


typedef struct mb_ros_client_s  mb_ros_client_t;
typedef struct mb_ros_cmd_s     mb_ros_cmd_t;


/* why a connection attempt, a connection or a command failed */
typedef enum {
    MB_ROS_OK = 0,
    MB_ROS_E_UNREACHABLE,   /* name not resolved, no route, host down */
    MB_ROS_E_REFUSED,       /* nothing listens on the port */
    MB_ROS_E_TIMEOUT,       /* connect+TLS+login, or a command, too slow */
    MB_ROS_E_TLS,           /* handshake, certificate, CA file */
    MB_ROS_E_LOGIN,         /* the router refused the user or password */
    MB_ROS_E_PROTOCOL,      /* bytes that are not the API (control byte,
                               sentence over the cap, unexpected reply) */
    MB_ROS_E_LOST,          /* connection closed, reset, or keepalive
                               unanswered */
    MB_ROS_E_FATAL,         /* the router sent !fatal (text in reason) */
    MB_ROS_E_CLOSED,        /* mb_ros_client_close() */
    MB_ROS_E_NOMEM
} mb_ros_err_e;

/* "unreachable", "refused", "timeout", "tls", "login", "protocol", "lost",
 * "fatal", "closed", "nomem" (stable: used in JSON answers) */
const char *mb_ros_err_name(mb_ros_err_e err);


typedef struct {
    const char  *host;          /* IP address or name */
    unsigned     port;          /* 0: 8728, or 8729 with tls */
    const char  *username;
    const char  *password;

    int          tls;           /* API-SSL */
    /* verify the router's certificate (chain and host name or IP) against
     * this CA file; NULL: encrypted but the router is not authenticated */
    const char  *tls_ca_file;
    /* also accept anonymous DH ("aNULL" at SECLEVEL 0), which is all a
     * router without a certificate offers; operator opt-in only */
    int          tls_anon_dh;

    /* 0 selects the default given after each field */
    unsigned     connect_timeout_ms;    /* 10000: TCP + TLS + login */
    unsigned     command_timeout_ms;    /* 30000: non-stream commands */
    unsigned     keepalive_idle_ms;     /* 30000: nothing read for this long
                                           sends /system/identity/print */
    unsigned     keepalive_timeout_ms;  /* 10000: its answer's deadline */
    unsigned     backoff_base_ms;       /* 500 */
    unsigned     backoff_cap_ms;        /* 30000 */
    size_t       max_sentence;          /* MB_ROS_SENTENCE_MAX */
    int          no_reconnect;          /* one attempt; start() again */
    const char  *name;                  /* for logs; default host:port */
} mb_ros_client_conf_t;


typedef enum {
    MB_ROS_DOWN = 0,        /* not connected (failed, lost, or not started) */
    MB_ROS_CONNECTING,      /* resolving, TCP, TLS, login */
    MB_ROS_READY            /* logged in */
} mb_ros_state_e;

/*
 * The owner's view of the connection: READY after each successful login;
 * DOWN with the reason after each failed attempt and each lost connection
 * (err and a human text such as "invalid user name or password (6)").
 * Not called for mb_ros_client_close().
 */
typedef void (*mb_ros_state_pt)(mb_ros_client_t *c, mb_ros_state_e state,
    mb_ros_err_e err, const char *reason, void *data);


/* create and start connecting; strings are copied.  NULL: bad conf or
 * out of memory */
mb_ros_client_t *mb_ros_client_create(uv_loop_t *loop,
    const mb_ros_client_conf_t *conf, mb_ros_state_pt on_state, void *data);

/* connect again after a no_reconnect failure (no-op when not DOWN) */
void mb_ros_client_start(mb_ros_client_t *c);

/*
 * Every pending command's callback gets MB_ROS_E_CLOSED (from inside this
 * call), then nothing more is called; memory is freed once libuv has
 * closed the handles.  Safe from any callback.
 */
void mb_ros_client_close(mb_ros_client_t *c);

mb_ros_state_e mb_ros_client_state(const mb_ros_client_t *c);
/* "plain" or "md5" once logged in, else NULL */
const char *mb_ros_client_login_method(const mb_ros_client_t *c);
/* commands known to the client, those cancelled and still finishing on the
 * wire included (0 once every /cancel has been answered) */
size_t mb_ros_client_pending(const mb_ros_client_t *c);


/* what a command's callback receives */
typedef enum {
    MB_ROS_EV_RE = 0,       /* one !re item */
    MB_ROS_EV_EMPTY,        /* !empty (RouterOS 7.18+): no items */
    MB_ROS_EV_DONE,         /* final: !done (may carry =ret=) */
    MB_ROS_EV_TRAP,         /* final: !trap, message and category */
    MB_ROS_EV_ERROR,        /* final: no answer; err says why */
    MB_ROS_EV_INTERRUPTED,  /* persistent stream: connection lost, it will
                               be re-issued (err, message say why) */
    MB_ROS_EV_RESUMED       /* persistent stream: re-issued after reconnect */
} mb_ros_ev_e;

typedef struct {
    mb_ros_ev_e               type;
    /* RE, EMPTY, DONE, TRAP: the reply (valid during the callback only) */
    const mb_ros_sentence_t  *s;
    mb_ros_err_e              err;        /* ERROR, INTERRUPTED */
    const char               *message;    /* TRAP, ERROR, INTERRUPTED */
    int                       category;   /* TRAP: =category=, -1 absent */
} mb_ros_event_t;

/* after a final event the handle is gone */
typedef void (*mb_ros_cmd_pt)(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev,
    void *data);


#define MB_ROS_STREAM      0x1   /* many !re until cancelled; no timeout */
#define MB_ROS_PERSISTENT  0x2   /* a stream re-issued after reconnects */

typedef struct {
    unsigned  flags;
    unsigned  timeout_ms;         /* 0: conf command_timeout_ms */
} mb_ros_opts_t;


/*
 * words: the command and its attribute, query and API words as they go
 * on the wire ("/ppp/secret/print", "?name=x", "=.proplist=.id,name"),
 * NULL-terminated; the client adds .tag.  opts may be NULL.  Commands
 * given while not READY wait for the login (their timeout runs) and fail
 * with the attempt's error if it fails.  NULL: closed or out of memory.
 */
mb_ros_cmd_t *mb_ros_send(mb_ros_client_t *c, const char *const *words,
    const mb_ros_opts_t *opts, mb_ros_cmd_pt cb, void *data);
/* the same with counted words (binary-safe) */
mb_ros_cmd_t *mb_ros_sendv(mb_ros_client_t *c, const mb_ros_word_t *words,
    size_t nwords, const mb_ros_opts_t *opts, mb_ros_cmd_pt cb, void *data);

/*
 * No more callbacks for cmd, from the moment of the call.  A command on the
 * wire is ended with /cancel; the client swallows its "interrupted" !trap
 * and !done itself.  Not for a handle whose final event was delivered.
 */
void mb_ros_cancel(mb_ros_cmd_t *cmd);

uint32_t mb_ros_cmd_tag(const mb_ros_cmd_t *cmd);   /* 0: not on the wire */


/* value of "=name=..." in a reply, NUL-terminated; NULL when absent */
const char *mb_ros_attr(const mb_ros_sentence_t *s, const char *name);


#endif /* _MB_ROS_CLIENT_H_INCLUDED_ */
