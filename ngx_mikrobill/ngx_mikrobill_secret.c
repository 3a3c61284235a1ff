/*
 * AES-256-GCM secrets at rest and the key file they are sealed with.
 * OpenSSL's EVP interface; a fresh random nonce per seal (2^32 seals per
 * key stay far inside GCM's random-nonce bound).
 */

#include "ngx_mikrobill_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>


#define MB_SECRET_HDR   (1 + NGX_MIKROBILL_SECRET_NONCE_LEN)
#define MB_SECRET_OVER  (MB_SECRET_HDR + NGX_MIKROBILL_SECRET_TAG_LEN)
#define MB_SECRET_RAW   (NGX_MIKROBILL_SECRET_MAX + MB_SECRET_OVER)
#define MB_KEY_FILE_MAX 128


static int
mb_secret_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }

    return -1;
}


static int
mb_secret_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


int
ngx_mikrobill_secret_key_parse(const unsigned char *data, size_t len,
    unsigned char *key)
{
    size_t  i, n = len;
    int     hi, lo;

    if (len == NGX_MIKROBILL_SECRET_KEY_LEN) {
        memcpy(key, data, len);
        return 0;
    }

    /* hex, maybe followed by a newline or blanks from an editor */
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'
                     || data[n - 1] == ' ' || data[n - 1] == '\t'))
    {
        n--;
    }

    if (n != 2 * NGX_MIKROBILL_SECRET_KEY_LEN) {
        return -1;
    }

    for (i = 0; i < NGX_MIKROBILL_SECRET_KEY_LEN; i++) {
        hi = mb_secret_hex(data[2 * i]);
        lo = mb_secret_hex(data[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, NGX_MIKROBILL_SECRET_KEY_LEN);
            return -1;
        }
        key[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


/* fstat on the open descriptor: the file checked is the file read */
static int
mb_secret_key_check(int fd, const char *path, char *err, size_t errlen)
{
    struct stat  st;

    if (fstat(fd, &st) != 0) {
        return mb_secret_err(err, errlen, "%s: %s", path, strerror(errno));
    }

    if (!S_ISREG(st.st_mode)) {
        return mb_secret_err(err, errlen, "%s: not a regular file", path);
    }

    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        return mb_secret_err(err, errlen,
                   "%s: the key file is accessible to other users "
                   "(mode %04o); chmod 600 it", path,
                   (unsigned) (st.st_mode & 07777));
    }

    return 0;
}


int
ngx_mikrobill_secret_key_load(const char *path, unsigned char *key,
    char *err, size_t errlen)
{
    unsigned char  buf[MB_KEY_FILE_MAX + 1];
    ssize_t        n;
    size_t         len = 0;
    int            fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return mb_secret_err(err, errlen, "%s: %s", path, strerror(errno));
    }

    rc = mb_secret_key_check(fd, path, err, errlen);

    while (rc == 0 && len < sizeof(buf)
           && (n = read(fd, buf + len, sizeof(buf) - len)) != 0)
    {
        if (n < 0 && errno != EINTR) {
            rc = mb_secret_err(err, errlen, "%s: %s", path, strerror(errno));
        }
        len += n > 0 ? (size_t) n : 0;
    }

    close(fd);

    if (rc == 0 && ngx_mikrobill_secret_key_parse(buf, len, key) != 0) {
        rc = mb_secret_err(err, errlen,
                 "%s: a key file holds 64 hex digits or 32 raw bytes",
                 path);
    }

    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}


static int
mb_secret_write_all(int fd, const char *p, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }

    return 0;
}


int
ngx_mikrobill_secret_key_generate(const char *path, char *err,
    size_t errlen)
{
    unsigned char  key[NGX_MIKROBILL_SECRET_KEY_LEN];
    char           hex[2 * NGX_MIKROBILL_SECRET_KEY_LEN + 2];
    size_t         i;
    int            fd, rc;

    /* O_EXCL: an existing key would make every stored secret unreadable */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        return mb_secret_err(err, errlen, "%s: %s", path,
                             errno == EEXIST ? "exists; not overwriting it"
                                             : strerror(errno));
    }

    if (RAND_bytes(key, sizeof(key)) != 1) {
        close(fd);
        unlink(path);
        return mb_secret_err(err, errlen, "no random bytes from OpenSSL");
    }

    for (i = 0; i < sizeof(key); i++) {
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    hex[2 * sizeof(key)] = '\n';

    rc = (fchmod(fd, 0600) == 0
          && mb_secret_write_all(fd, hex, 2 * sizeof(key) + 1) == 0
          && fsync(fd) == 0) ? 0 : -1;
    if (rc != 0) {
        mb_secret_err(err, errlen, "%s: %s", path, strerror(errno));
        unlink(path);
    }

    close(fd);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(hex, sizeof(hex));

    return rc;
}


size_t
ngx_mikrobill_secret_sealed_size(size_t len)
{
    return (len + MB_SECRET_OVER + 2) / 3 * 4 + 1;
}


/* one GCM pass either way: enc 1 seals, enc 0 opens (tag in/out) */
static int
mb_secret_gcm(int enc, const unsigned char *key, const unsigned char *nonce,
    const char *purpose, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX       *ctx;
    const unsigned char   version = NGX_MIKROBILL_SECRET_VERSION;
    int                   n, ok;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                NGX_MIKROBILL_SECRET_NONCE_LEN, NULL)
         && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc)
         && EVP_CipherUpdate(ctx, NULL, &n, &version, 1)
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *) purpose,
                             (int) strlen(purpose))
         && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int) len))
         && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                                        NGX_MIKROBILL_SECRET_TAG_LEN, tag))
         && EVP_CipherFinal_ex(ctx, out + len, &n)
         && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                                         NGX_MIKROBILL_SECRET_TAG_LEN, tag));

    EVP_CIPHER_CTX_free(ctx);

    return ok ? 0 : -1;
}


int
ngx_mikrobill_secret_seal(const unsigned char *key, const char *purpose,
    const unsigned char *plain, size_t len, char *out, size_t outlen)
{
    unsigned char  raw[MB_SECRET_RAW];
    size_t         rawlen = len + MB_SECRET_OVER;
    int            rc = -1;

    if (len > NGX_MIKROBILL_SECRET_MAX
        || outlen < ngx_mikrobill_secret_sealed_size(len))
    {
        return -1;
    }

    raw[0] = NGX_MIKROBILL_SECRET_VERSION;

    if (RAND_bytes(raw + 1, NGX_MIKROBILL_SECRET_NONCE_LEN) == 1
        && mb_secret_gcm(1, key, raw + 1, purpose, plain, len,
                         raw + MB_SECRET_HDR, raw + MB_SECRET_HDR + len)
           == 0)
    {
        EVP_EncodeBlock((unsigned char *) out, raw, (int) rawlen);
        rc = 0;
    }

    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}


/* strict base64: EVP_DecodeBlock skips blanks and counts padding as data */
static int
mb_secret_unbase64(const char *in, unsigned char *out, size_t max,
    size_t *len)
{
    size_t  n = strlen(in), pad = 0;
    int     got;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > max
        || strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789+/=") != n)
    {
        return -1;
    }

    pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    if (strchr(in, '=') != NULL && strchr(in, '=') < in + n - pad) {
        return -1;
    }

    got = EVP_DecodeBlock(out, (const unsigned char *) in, (int) n);
    if (got < 0) {
        return -1;
    }

    *len = (size_t) got - pad;
    return 0;
}


int
ngx_mikrobill_secret_open(const unsigned char *key, const char *purpose,
    const char *sealed, unsigned char *out, size_t outlen, size_t *len)
{
    unsigned char  raw[MB_SECRET_RAW + 3];
    size_t         rawlen, plen;
    int            rc = -1;

    if (mb_secret_unbase64(sealed, raw, sizeof(raw), &rawlen) != 0
        || rawlen < MB_SECRET_OVER
        || raw[0] != NGX_MIKROBILL_SECRET_VERSION)
    {
        return -1;
    }

    plen = rawlen - MB_SECRET_OVER;

    if (plen < outlen
        && mb_secret_gcm(0, key, raw + 1, purpose, raw + MB_SECRET_HDR, plen,
                         out, raw + MB_SECRET_HDR + plen) == 0)
    {
        out[plen] = '\0';
        *len = plen;
        rc = 0;

    } else if (plen < outlen) {
        /* GCM wrote unauthenticated plaintext before the tag check */
        OPENSSL_cleanse(out, plen);
    }

    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}
