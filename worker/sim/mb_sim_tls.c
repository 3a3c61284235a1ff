/*
 * API-SSL through OpenSSL memory BIOs: libuv owns the socket, OpenSSL
 * only turns bytes into bytes.  With --tls-cert/--tls-key the router has a
 * certificate; without one it offers only anonymous DH ciphers, like a
 * real router whose api-ssl service has no certificate (TLS 1.2 at most:
 * TLS 1.3 has no anonymous suites).
 */

#include "mb_sim.h"
#include "mb_log.h"

#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>


struct mb_sim_tls_s {
    SSL             *ssl;
    BIO             *rbio;             /* ciphertext in */
    BIO             *wbio;             /* ciphertext out */
};


static SSL_CTX  *mb_sim_ssl_ctx;


static int
mb_sim_tls_anon(SSL_CTX *ctx)
{
    /* anonymous suites need security level 0 in OpenSSL 3 */
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_dh_auto(ctx, 1);
    return SSL_CTX_set_cipher_list(ctx, "aNULL:!eNULL:@SECLEVEL=0") == 1
           ? 0 : -1;
}


static int
mb_sim_tls_cert(SSL_CTX *ctx, const char *cert, const char *key)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1)
    {
        return -1;
    }
    return 0;
}


int
mb_sim_tls_init(const char *cert, const char *key)
{
    int  rc;

    mb_sim_ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (mb_sim_ssl_ctx == NULL) {
        return -1;
    }
    SSL_CTX_set_min_proto_version(mb_sim_ssl_ctx, TLS1_2_VERSION);
    rc = cert ? mb_sim_tls_cert(mb_sim_ssl_ctx, cert, key)
              : mb_sim_tls_anon(mb_sim_ssl_ctx);
    if (rc != 0) {
        char  err[256];

        ERR_error_string_n(ERR_get_error(), err, sizeof(err));
        mb_log_error("TLS setup failed: %s", err);
        SSL_CTX_free(mb_sim_ssl_ctx);
        mb_sim_ssl_ctx = NULL;
        return -1;
    }
    mb_log_info("api-ssl: %s", cert ? "certificate loaded"
                                    : "no certificate, anonymous DH only");
    return 0;
}


void
mb_sim_tls_cleanup(void)
{
    SSL_CTX_free(mb_sim_ssl_ctx);
    mb_sim_ssl_ctx = NULL;
}


mb_sim_tls_t *
mb_sim_tls_new(void)
{
    mb_sim_tls_t  *t;

    if (mb_sim_ssl_ctx == NULL || (t = calloc(1, sizeof(*t))) == NULL) {
        return NULL;
    }
    t->ssl = SSL_new(mb_sim_ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);    /* the SSL owns them now */
    SSL_set_accept_state(t->ssl);
    return t;
}


void
mb_sim_tls_free(mb_sim_tls_t *t)
{
    if (t != NULL) {
        SSL_free(t->ssl);
        free(t);
    }
}


static int
mb_sim_tls_want(mb_sim_tls_t *t, int rc)
{
    int  e = SSL_get_error(t->ssl, rc);

    ERR_clear_error();
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}


int
mb_sim_tls_input(mb_sim_tls_t *t, const unsigned char *data, size_t len,
    int (*cb)(void *arg, const unsigned char *p, size_t n), void *arg)
{
    unsigned char  plain[16384];
    int            rc;

    if (BIO_write(t->rbio, data, (int) len) != (int) len) {
        return -1;
    }
    if (!SSL_is_init_finished(t->ssl)) {
        rc = SSL_do_handshake(t->ssl);
        if (rc != 1) {
            return mb_sim_tls_want(t, rc);
        }
    }
    for ( ;; ) {
        rc = SSL_read(t->ssl, plain, sizeof(plain));
        if (rc <= 0) {
            return mb_sim_tls_want(t, rc);
        }
        if (cb(arg, plain, (size_t) rc) != 0) {
            return 0;                   /* the connection is closing */
        }
    }
}


int
mb_sim_tls_output(mb_sim_tls_t *t, const unsigned char *data, size_t len,
    mb_ros_buf_t *out)
{
    size_t  pending;
    int     n;

    /* memory BIOs take everything: one SSL_write per reply batch */
    if (len > 0 && SSL_write(t->ssl, data, (int) len) != (int) len) {
        ERR_clear_error();
        return -1;
    }
    while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
        if (out->cap - out->len < pending) {
            unsigned char  *d = realloc(out->data, out->len + pending);

            if (d == NULL) {
                return -1;
            }
            out->data = d;
            out->cap = out->len + pending;
        }
        n = BIO_read(t->wbio, out->data + out->len, (int) pending);
        if (n <= 0) {
            break;
        }
        out->len += (size_t) n;
    }
    return 0;
}
