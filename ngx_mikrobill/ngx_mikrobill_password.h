/*
 * Password hashing: PBKDF2-HMAC-SHA256 from OpenSSL, encoded as
 * "$pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" (standard base64,
 * no padding).  Plain C with no nginx types: the module calls it on its
 * thread pool, the worker from its create-admin subcommand.
 */

#ifndef _NGX_MIKROBILL_PASSWORD_H_INCLUDED_
#define _NGX_MIKROBILL_PASSWORD_H_INCLUDED_


#include <stddef.h>


#define NGX_MIKROBILL_PASSWORD_ITERATIONS  600000
#define NGX_MIKROBILL_PASSWORD_MIN_ITER    1000
#define NGX_MIKROBILL_PASSWORD_MAX_ITER    10000000
#define NGX_MIKROBILL_PASSWORD_HASH_LEN    128   /* buffer size, with NUL */


/* 0 on success, -1 on failure; out holds the encoded hash */
int ngx_mikrobill_password_hash(const char *password, size_t len,
    unsigned iterations, char *out, size_t outlen);

/* 1 when the password matches, 0 when not, -1 when encoded is malformed */
int ngx_mikrobill_password_verify(const char *password, size_t len,
    const char *encoded);


#endif /* _NGX_MIKROBILL_PASSWORD_H_INCLUDED_ */
