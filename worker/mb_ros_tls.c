/*
 * API-SSL with OpenSSL memory BIOs.  A context per connection: it is cheap
 * next to the handshake, and a renewed CA file is picked up on reconnect.
 *
 * Without a certificate a router offers only anonymous DH suites, which
 * OpenSSL 3 refuses below security level 0; they are enabled only when the
 * operator asked for them, because they authenticate nobody.
 */

#include "mb_ros_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>


#define MB_ROS_TLS_CIPHERS       "HIGH:!aNULL:!MD5"
#define MB_ROS_TLS_CIPHERS_ANON  "HIGH:aNULL:!MD5:@SECLEVEL=0"


struct mb_ros_tls_s {
    SSL_CTX  *ctx;
    SSL      *ssl;
    BIO      *rbio;        /* peer -> us, ciphertext */
    BIO      *wbio;        /* us -> peer, ciphertext */
};


/* the last OpenSSL error queue entry, or what the caller says */
static void
mb_ros_tls_err(char *err, size_t errlen, const char *what)
{
    unsigned long  e;
    char           buf[256];

    e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(err, errlen, "%s", what);
    } else {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(err, errlen, "%s: %s", what, buf);
    }
    ERR_clear_error();
}


static int
mb_ros_tls_is_ip(const char *host)
{
    unsigned char  a[16];

    return inet_pton(AF_INET, host, a) == 1
           || inet_pton(AF_INET6, host, a) == 1;
}


static int
mb_ros_tls_verify_setup(mb_ros_tls_t *t, const char *host,
    const char *ca_file, char *err, size_t errlen)
{
    X509_VERIFY_PARAM  *vp;

    if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
        mb_ros_tls_err(err, errlen, "cannot load the CA file");
        return -1;
    }
    vp = SSL_get0_param(t->ssl);
    if (mb_ros_tls_is_ip(host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
            mb_ros_tls_err(err, errlen, "bad IP address for verification");
            return -1;
        }
    } else if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1) {
        mb_ros_tls_err(err, errlen, "bad host name for verification");
        return -1;
    }
    SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
    return 0;
}


mb_ros_tls_t *
mb_ros_tls_create(const char *host, const char *ca_file, int anon_dh,
    char *err, size_t errlen)
{
    mb_ros_tls_t  *t;

    t = calloc(1, sizeof(mb_ros_tls_t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL
        || SSL_CTX_set_cipher_list(t->ctx, anon_dh ? MB_ROS_TLS_CIPHERS_ANON
                                                   : MB_ROS_TLS_CIPHERS) != 1)
    {
        mb_ros_tls_err(err, errlen, "cannot set up TLS");
        goto failed;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);

    t->ssl = SSL_new(t->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        mb_ros_tls_err(err, errlen, "cannot set up TLS");
        goto failed;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);

    if (!mb_ros_tls_is_ip(host)) {
        SSL_set_tlsext_host_name(t->ssl, host);
    }

    if (ca_file && ca_file[0]
        && mb_ros_tls_verify_setup(t, host, ca_file, err, errlen) != 0)
    {
        goto failed;
    }
    return t;

failed:
    mb_ros_tls_free(t);
    return NULL;
}


void
mb_ros_tls_free(mb_ros_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);       /* frees the BIOs too */
    SSL_CTX_free(t->ctx);
    free(t);
}


int
mb_ros_tls_handshake(mb_ros_tls_t *t, char *err, size_t errlen)
{
    int   rc, e;
    long  vr;

    rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        return 1;
    }
    e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }

    vr = SSL_get_verify_result(t->ssl);
    if (vr != X509_V_OK) {
        snprintf(err, errlen, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
    } else {
        mb_ros_tls_err(err, errlen, "TLS handshake failed");
    }
    return -1;
}


int
mb_ros_tls_feed(mb_ros_tls_t *t, const void *data, size_t len)
{
    return len == 0 || BIO_write(t->rbio, data, (int) len) == (int) len
           ? 0 : -1;
}


int
mb_ros_tls_read(mb_ros_tls_t *t, void *buf, size_t len, char *err,
    size_t errlen)
{
    int  n, e;

    n = SSL_read(t->ssl, buf, (int) len);
    if (n > 0) {
        return n;
    }
    e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(err, errlen, "TLS connection closed by the router");
    } else {
        mb_ros_tls_err(err, errlen, "TLS read failed");
    }
    return -1;
}


int
mb_ros_tls_write(mb_ros_tls_t *t, const void *data, size_t len)
{
    /* a memory BIO takes everything: no partial writes */
    return SSL_write(t->ssl, data, (int) len) == (int) len ? 0 : -1;
}


size_t
mb_ros_tls_take(mb_ros_tls_t *t, unsigned char **out)
{
    size_t  n;

    n = BIO_ctrl_pending(t->wbio);
    if (n == 0) {
        return 0;
    }
    *out = malloc(n);
    if (*out == NULL) {
        return 0;
    }
    return (size_t) BIO_read(t->wbio, *out, (int) n);
}


const char *
mb_ros_tls_version(mb_ros_tls_t *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl));
    return buf;
}
