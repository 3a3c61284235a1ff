/*
 * Unit tests of ngx_mikrobill_secret: AES-256-GCM round trips, wrong key,
 * tampering, wrong purpose, key file parsing, permissions and generation.
 * Prints TAP for prove.
 */

#include "ngx_mikrobill_secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"


#define PURPOSE  NGX_MIKROBILL_SECRET_ROUTER_PASSWORD


static const unsigned char  key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char  key2[32] = "0123456789abcdef0123456789abcdeF";


static int
seal(const unsigned char *key, const char *purpose, const char *plain,
    char *out, size_t outlen)
{
    return ngx_mikrobill_secret_seal(key, purpose,
                                     (const unsigned char *) plain,
                                     strlen(plain), out, outlen);
}


/* 1 when sealed opens to want */
static int
opens_to(const unsigned char *key, const char *purpose, const char *sealed,
    const char *want)
{
    unsigned char  out[256];
    size_t         len = 0;

    if (ngx_mikrobill_secret_open(key, purpose, sealed, out, sizeof(out),
                                  &len) != 0)
    {
        return 0;
    }

    return len == strlen(want) && memcmp(out, want, len) == 0;
}


static int
opens(const unsigned char *key, const char *purpose, const char *sealed)
{
    unsigned char  out[256];
    size_t         len;

    return ngx_mikrobill_secret_open(key, purpose, sealed, out, sizeof(out),
                                     &len) == 0;
}


static void
test_round_trip(void)
{
    char  a[256], b[256];

    ok(seal(key1, PURPOSE, "s3cret=pa ss", a, sizeof(a)) == 0, "seal");
    ok(strlen(a) + 1 == ngx_mikrobill_secret_sealed_size(12),
       "sealed length is as announced");
    ok(opens_to(key1, PURPOSE, a, "s3cret=pa ss"), "round trip");
    ok(strstr(a, "s3cret") == NULL, "the plaintext does not show");

    ok(seal(key1, PURPOSE, "s3cret=pa ss", b, sizeof(b)) == 0
       && strcmp(a, b) != 0, "a fresh nonce per seal");

    ok(seal(key1, PURPOSE, "", a, sizeof(a)) == 0
       && opens_to(key1, PURPOSE, a, ""), "empty plaintext round trip");

    ok(seal(key1, PURPOSE, "x", a, ngx_mikrobill_secret_sealed_size(1) - 1)
       == -1, "output buffer too small: refused");
}


static void
test_wrong_key_and_purpose(void)
{
    char  a[256];

    seal(key1, PURPOSE, "hunter2", a, sizeof(a));
    ok(!opens(key2, PURPOSE, a), "wrong key: refused");
    ok(!opens(key1, "router:username", a), "wrong purpose (AAD): refused");
    ok(!opens(key1, "", a), "empty purpose: refused");
}


/* flips one bit of decoded byte i (0 version, 1..12 nonce, then data) */
static void
flip(const char *in, char *out, size_t i)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t             c = (8 * i + 5) / 6;

    strcpy(out, in);
    /* changing the base64 digit that carries the byte's top bits */
    out[c] = b64[(strchr(b64, out[c]) - b64) ^ 0x20];
}


static void
test_tampering(void)
{
    char    a[256], t[300];
    size_t  n;

    seal(key1, PURPOSE, "hunter2hunter2", a, sizeof(a));
    n = 1 + 12 + 14 + 16;

    flip(a, t, 0);
    ok(!opens(key1, PURPOSE, t), "version byte changed: refused");
    flip(a, t, 5);
    ok(!opens(key1, PURPOSE, t), "nonce changed: refused");
    flip(a, t, 15);
    ok(!opens(key1, PURPOSE, t), "ciphertext changed: refused");
    flip(a, t, n - 3);
    ok(!opens(key1, PURPOSE, t), "tag changed: refused");

    strcpy(t, a);
    t[strlen(t) - 4] = '\0';
    ok(!opens(key1, PURPOSE, t), "truncated: refused");

    ok(!opens(key1, PURPOSE, ""), "empty text: refused");
    ok(!opens(key1, PURPOSE, "not base64!"), "not base64: refused");
    ok(!opens(key1, PURPOSE, "AAAA"), "too short: refused");
    snprintf(t, sizeof(t), " %s", a);
    ok(!opens(key1, PURPOSE, t), "leading blank: refused");
}


static void
test_key_parse(void)
{
    unsigned char  k[32];
    const char    *hex =
        "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
    char           buf[80];

    ok(ngx_mikrobill_secret_key_parse((const unsigned char *) hex, 64, k)
       == 0 && k[0] == 0 && k[15] == 0x0f && k[31] == 0x1f,
       "64 hex digits (mixed case)");
    snprintf(buf, sizeof(buf), "%s\n", hex);
    ok(ngx_mikrobill_secret_key_parse((unsigned char *) buf, 65, k) == 0,
       "hex with a newline");
    ok(ngx_mikrobill_secret_key_parse(key1, 32, k) == 0
       && memcmp(k, key1, 32) == 0, "32 raw bytes");
    ok(ngx_mikrobill_secret_key_parse((const unsigned char *) hex, 62, k)
       == -1, "62 hex digits: refused");
    ok(ngx_mikrobill_secret_key_parse((const unsigned char *) hex, 31, k)
       == -1, "31 bytes: refused");
    snprintf(buf, sizeof(buf), "%s", hex);
    buf[10] = 'g';
    ok(ngx_mikrobill_secret_key_parse((unsigned char *) buf, 64, k) == -1,
       "non-hex digit: refused");
}


static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    FILE  *f;

    unlink(path);
    f = fopen(path, "w");
    fwrite(data, 1, len, f);
    fclose(f);
    chmod(path, mode);
}


static void
test_key_file(const char *dir)
{
    unsigned char  k[32], g[32];
    char           path[512], err[512], sealed[256];
    struct stat    st;

    snprintf(path, sizeof(path), "%s/key", dir);

    write_file(path, key1, 32, 0600);
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == 0
       && memcmp(k, key1, 32) == 0, "raw key file, mode 0600");

    write_file(path, "00112233445566778899aabbccddeeff"
                     "00112233445566778899aabbccddeeff\n", 65, 0640);
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == 0
       && k[1] == 0x11, "hex key file, mode 0640");

    chmod(path, 0644);
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == -1
       && strstr(err, "other users") != NULL
       && strstr(err, "0644") != NULL, "world-readable key file: refused");

    write_file(path, "short\n", 6, 0600);
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == -1
       && strstr(err, "64 hex digits") != NULL, "bad contents: refused");

    ok(ngx_mikrobill_secret_key_load(dir, k, err, sizeof(err)) == -1,
       "a directory: refused");

    unlink(path);
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == -1
       && strstr(err, "No such file") != NULL, "missing file: refused");

    ok(ngx_mikrobill_secret_key_generate(path, err, sizeof(err)) == 0,
       "generate a key file");
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600
       && st.st_size == 65, "generated: mode 0600, 64 hex digits + newline");
    ok(ngx_mikrobill_secret_key_load(path, g, err, sizeof(err)) == 0,
       "generated key loads");
    ok(ngx_mikrobill_secret_key_generate(path, err, sizeof(err)) == -1
       && strstr(err, "not overwriting") != NULL,
       "generate refuses to overwrite");
    ok(ngx_mikrobill_secret_key_load(path, k, err, sizeof(err)) == 0
       && memcmp(k, g, 32) == 0, "the existing key is unchanged");

    seal(g, PURPOSE, "pw", sealed, sizeof(sealed));
    ok(opens_to(g, PURPOSE, sealed, "pw"), "generated key seals and opens");

    unlink(path);
}


int
main(void)
{
    char  dir[] = "/tmp/mb-secret-test.XXXXXX";

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    test_round_trip();
    test_wrong_key_and_purpose();
    test_tampering();
    test_key_parse();
    test_key_file(dir);

    rmdir(dir);

    printf("1..%d\n", test_no);
    return failed ? 1 : 0;
}
