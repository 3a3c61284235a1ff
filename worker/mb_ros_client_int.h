/*
 * Internals shared by mb_ros_client.c (connection, login, timers,
 * reconnect) and mb_ros_cmd.c (the command table).  Not for other files.
 *
 * Commands are freed only by mb_ros_cmd_reap(), which runs when no
 * callback of ours is on the stack (busy == 0): callbacks may then cancel,
 * send or close freely while the client walks the command list.
 */

#ifndef _MB_ROS_CLIENT_INT_H_INCLUDED_
#define _MB_ROS_CLIENT_INT_H_INCLUDED_


#include "mb_backoff.h"
#include "mb_ros_client.h"
#include "mb_ros_conn.h"


/* internal flags, next to MB_ROS_STREAM and MB_ROS_PERSISTENT */
#define MB_ROS_F_INTERNAL  0x100     /* keepalive probe, /cancel */
#define MB_ROS_F_PROBE     0x200


struct mb_ros_cmd_s {
    mb_ros_client_t    *c;
    mb_ros_cmd_t       *prev, *next;
    uint32_t            tag;          /* 0: not on the current connection */
    int                 wire_done;    /* the router is done with it */
    unsigned            flags;
    unsigned            timeout_ms;
    uint64_t            deadline;     /* 0: none */
    mb_ros_buf_t        words;        /* encoded, without .tag and end */
    mb_ros_cmd_pt       cb;           /* NULL: nobody listens any more */
    void               *data;
};


struct mb_ros_client_s {
    uv_loop_t              *loop;
    mb_ros_client_conf_t    conf;         /* strings owned */
    char                   *name;
    mb_ros_state_pt         on_state;
    void                   *data;

    mb_ros_state_e          state;
    int                     login_step;   /* 0 transport, 1 plain, 2 md5 */
    const char             *login_method;
    mb_ros_conn_t          *conn;
    mb_ros_parser_t        *parser;
    mb_ros_buf_t            out;          /* scratch for one sentence */

    uv_timer_t              timer;
    mb_backoff_t            backoff;
    uint64_t                connect_deadline;
    uint64_t                reconnect_at;  /* 0: none planned */
    uint64_t                last_rx;
    uint64_t                up_since;
    mb_ros_cmd_t           *probe;         /* keepalive in flight */
    uint32_t                next_tag;
    int                     busy;          /* our callbacks on the stack */
    int                     closing;
    int                     broken;        /* a write failed */
    int                     garbage;       /* reap at the next chance */

    mb_ros_cmd_t           *head, *tail;   /* oldest first */
    size_t                  ncmds;
};


/* mb_ros_cmd.c */
mb_ros_cmd_t *mb_ros_cmd_add(mb_ros_client_t *c, const mb_ros_word_t *w,
    size_t n, unsigned flags, unsigned timeout_ms, mb_ros_cmd_pt cb,
    void *data);
int mb_ros_cmd_transmit(mb_ros_client_t *c, mb_ros_cmd_t *cmd);
void mb_ros_cmd_flush(mb_ros_client_t *c);
void mb_ros_cmd_dispatch(mb_ros_client_t *c, const mb_ros_sentence_t *s);
void mb_ros_cmd_expire(mb_ros_client_t *c, uint64_t now);
uint64_t mb_ros_cmd_next_deadline(const mb_ros_client_t *c);
void mb_ros_cmd_fail_all(mb_ros_client_t *c, mb_ros_err_e err,
    const char *reason, int keep_persistent);
void mb_ros_cmd_reap(mb_ros_client_t *c);
void mb_ros_cmd_free_all(mb_ros_client_t *c);

/* mb_ros_client.c */
void mb_ros_client_arm(mb_ros_client_t *c);
void mb_ros_client_down(mb_ros_client_t *c, mb_ros_err_e err,
    const char *reason);
void mb_ros_client_probe_answered(mb_ros_client_t *c, int ok);


#endif /* _MB_ROS_CLIENT_INT_H_INCLUDED_ */
