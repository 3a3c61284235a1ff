/*
 * PBKDF2-HMAC-SHA256 password hashes.  Plain C and OpenSSL only, so that the
 * nginx module (on a thread pool) and the worker share one implementation.
 */

#include "ngx_mikrobill_password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>


#define MB_SALT_LEN  16
#define MB_KEY_LEN   32
#define MB_PREFIX    "$pbkdf2-sha256$"


static size_t
mb_b64_encode(const unsigned char *in, size_t len, char *out)
{
    int  n;

    /* EVP_EncodeBlock pads with '='; the stored form drops the padding */
    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);
    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';

    return (size_t) n;
}


static int
mb_b64_decode(const char *in, size_t len, unsigned char *out, size_t max)
{
    char           buf[96];
    unsigned char  tmp[96];
    size_t         padded;
    int            n;

    padded = (len + 3) / 4 * 4;
    if (len == 0 || padded >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, in, len);
    memset(buf + len, '=', padded - len);
    buf[padded] = '\0';

    n = EVP_DecodeBlock(tmp, (unsigned char *) buf, (int) padded);
    if (n < 0) {
        return -1;
    }

    /* EVP_DecodeBlock counts the padding as zero bytes */
    n -= (int) (padded - len);
    if (n <= 0 || (size_t) n > max) {
        return -1;
    }

    memcpy(out, tmp, (size_t) n);

    return n;
}


static int
mb_derive(const char *password, size_t len, const unsigned char *salt,
    size_t salt_len, unsigned iterations, unsigned char *key, size_t key_len)
{
    if (PKCS5_PBKDF2_HMAC(password, (int) len, salt, (int) salt_len,
                          (int) iterations, EVP_sha256(), (int) key_len, key)
        != 1)
    {
        return -1;
    }

    return 0;
}


int
ngx_mikrobill_password_hash(const char *password, size_t len,
    unsigned iterations, char *out, size_t outlen)
{
    char           salt64[32], key64[64];
    unsigned char  salt[MB_SALT_LEN], key[MB_KEY_LEN];
    int            n;

    if (iterations < NGX_MIKROBILL_PASSWORD_MIN_ITER
        || iterations > NGX_MIKROBILL_PASSWORD_MAX_ITER)
    {
        return -1;
    }

    if (RAND_bytes(salt, sizeof(salt)) != 1
        || mb_derive(password, len, salt, sizeof(salt), iterations,
                     key, sizeof(key)) != 0)
    {
        return -1;
    }

    mb_b64_encode(salt, sizeof(salt), salt64);
    mb_b64_encode(key, sizeof(key), key64);
    OPENSSL_cleanse(key, sizeof(key));

    n = snprintf(out, outlen, MB_PREFIX "%u$%s$%s", iterations, salt64, key64);

    return (n > 0 && (size_t) n < outlen) ? 0 : -1;
}


int
ngx_mikrobill_password_verify(const char *password, size_t len,
    const char *encoded)
{
    int             salt_len, key_len, rc;
    char           *end;
    const char     *p, *salt64, *key64;
    unsigned long   iterations;
    unsigned char   salt[64], want[64], got[64];

    if (strncmp(encoded, MB_PREFIX, sizeof(MB_PREFIX) - 1) != 0) {
        return -1;
    }

    p = encoded + sizeof(MB_PREFIX) - 1;
    iterations = strtoul(p, &end, 10);
    if (end == p || *end != '$'
        || iterations < NGX_MIKROBILL_PASSWORD_MIN_ITER
        || iterations > NGX_MIKROBILL_PASSWORD_MAX_ITER)
    {
        return -1;
    }

    salt64 = end + 1;
    p = strchr(salt64, '$');
    if (p == NULL) {
        return -1;
    }

    key64 = p + 1;
    salt_len = mb_b64_decode(salt64, (size_t) (p - salt64), salt,
                             sizeof(salt));
    key_len = mb_b64_decode(key64, strlen(key64), want, sizeof(want));
    if (salt_len <= 0 || key_len <= 0) {
        return -1;
    }

    if (mb_derive(password, len, salt, (size_t) salt_len,
                  (unsigned) iterations, got, (size_t) key_len) != 0)
    {
        return -1;
    }

    rc = CRYPTO_memcmp(got, want, (size_t) key_len) == 0;
    OPENSSL_cleanse(got, sizeof(got));

    return rc;
}
