/*
 * API-SSL: OpenSSL over memory BIOs, so that libuv owns the socket.  The
 * transport puts the bytes it reads in with mb_ros_tls_feed() and sends
 * what mb_ros_tls_take() hands out; plaintext goes through read/write.
 */

#ifndef _MB_ROS_TLS_H_INCLUDED_
#define _MB_ROS_TLS_H_INCLUDED_


#include <stddef.h>


typedef struct mb_ros_tls_s  mb_ros_tls_t;


/*
 * host: the name or IP the certificate must match (when ca_file is set);
 * anon_dh: also offer anonymous DH suites.  NULL on error, err filled.
 */
mb_ros_tls_t *mb_ros_tls_create(const char *host, const char *ca_file,
    int anon_dh, char *err, size_t errlen);
void mb_ros_tls_free(mb_ros_tls_t *t);

/* 1 done, 0 needs more bytes from the peer, -1 failed (err filled) */
int mb_ros_tls_handshake(mb_ros_tls_t *t, char *err, size_t errlen);

/* ciphertext from the peer; -1 out of memory */
int mb_ros_tls_feed(mb_ros_tls_t *t, const void *data, size_t len);

/* plaintext: >0 bytes, 0 nothing yet, -1 closed by the peer or failed */
int mb_ros_tls_read(mb_ros_tls_t *t, void *buf, size_t len, char *err,
    size_t errlen);

/* plaintext to send; -1 failed */
int mb_ros_tls_write(mb_ros_tls_t *t, const void *data, size_t len);

/* ciphertext waiting to go out, malloc'ed for the caller; 0 when none */
size_t mb_ros_tls_take(mb_ros_tls_t *t, unsigned char **out);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for logs */
const char *mb_ros_tls_version(mb_ros_tls_t *t, char *buf, size_t len);


#endif /* _MB_ROS_TLS_H_INCLUDED_ */
