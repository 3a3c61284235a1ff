/*
 * Secrets at rest (router passwords): AES-256-GCM under a 32-byte key kept
 * in a file outside the database.  Sealed text is standard base64 of
 *
 *     version (1 byte, 0x01) | nonce (12) | ciphertext | tag (16)
 *
 * with associated data = version byte + a purpose string such as
 * "router:password", so that a value sealed for one purpose cannot be
 * replayed as another.  Plain C with no nginx types: the module and the
 * worker share it.
 */

#ifndef _NGX_MIKROBILL_SECRET_H_INCLUDED_
#define _NGX_MIKROBILL_SECRET_H_INCLUDED_


#include <stddef.h>


#define NGX_MIKROBILL_SECRET_KEY_LEN      32
#define NGX_MIKROBILL_SECRET_VERSION      0x01
#define NGX_MIKROBILL_SECRET_NONCE_LEN    12
#define NGX_MIKROBILL_SECRET_TAG_LEN      16
/* the longest plaintext accepted (a router password is far shorter) */
#define NGX_MIKROBILL_SECRET_MAX          4096

#define NGX_MIKROBILL_SECRET_ROUTER_PASSWORD  "router:password"
#define NGX_MIKROBILL_SECRET_CUSTOMER_PPPOE   "customer:pppoe"


/*
 * Reads a key file: 64 hex digits (blanks and a newline may follow) or
 * exactly 32 raw bytes.  Refuses a file that is not a regular file or
 * that other users may read or write.  0 on success; -1 with a message
 * in err.
 */
int ngx_mikrobill_secret_key_load(const char *path, unsigned char *key,
    char *err, size_t errlen);

/* the file contents above, already read; 0 or -1 */
int ngx_mikrobill_secret_key_parse(const unsigned char *data, size_t len,
    unsigned char *key);

/* a new random key file, mode 0600, never overwriting: 0 or -1 with err */
int ngx_mikrobill_secret_key_generate(const char *path, char *err,
    size_t errlen);

/* buffer size (with the NUL) for the sealed text of len bytes */
size_t ngx_mikrobill_secret_sealed_size(size_t len);

/* 0 on success, -1 on failure (len too long, out too small, OpenSSL) */
int ngx_mikrobill_secret_seal(const unsigned char *key, const char *purpose,
    const unsigned char *plain, size_t len, char *out, size_t outlen);

/*
 * 0 and *len set on success (out is NUL-terminated as a convenience, so
 * outlen must exceed the plaintext length); -1 when the text is malformed,
 * was sealed with another key or purpose, or was tampered with.
 */
int ngx_mikrobill_secret_open(const unsigned char *key, const char *purpose,
    const char *sealed, unsigned char *out, size_t outlen, size_t *len);


#endif /* _NGX_MIKROBILL_SECRET_H_INCLUDED_ */
