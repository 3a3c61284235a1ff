/*
 * The client's transport: resolve, TCP connect (each address in turn), the
 * optional TLS handshake, then plaintext bytes both ways.  One object per
 * connection attempt; after on_error or mb_ros_conn_close() it calls
 * nothing more and frees itself once libuv is done with it.
 */

#ifndef _MB_ROS_CONN_H_INCLUDED_
#define _MB_ROS_CONN_H_INCLUDED_


#include <stddef.h>

#include <uv.h>

#include "mb_ros_client.h"


typedef struct mb_ros_conn_s  mb_ros_conn_t;

typedef struct {
    void  (*on_open)(void *data);
    void  (*on_data)(void *data, const unsigned char *p, size_t len);
    void  (*on_error)(void *data, mb_ros_err_e err, const char *reason);
} mb_ros_conn_handler_t;


/* NULL only when out of memory; later failures arrive as on_error */
mb_ros_conn_t *mb_ros_conn_open(uv_loop_t *loop,
    const mb_ros_client_conf_t *conf, const mb_ros_conn_handler_t *h,
    void *data);
/* 0 queued, -1 failed (on_error follows on the loop) */
int mb_ros_conn_write(mb_ros_conn_t *k, const unsigned char *p, size_t len);
void mb_ros_conn_close(mb_ros_conn_t *k);


#endif /* _MB_ROS_CONN_H_INCLUDED_ */
