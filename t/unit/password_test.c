/*
 * Unit tests of ngx_mikrobill_password: hash, verify, wrong passwords,
 * malformed encodings and iteration bounds.  Prints TAP for prove.
 */

#include "ngx_mikrobill_password.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"


#define ITER  1000      /* the minimum: keeps the test fast */


static int
verify(const char *password, const char *encoded)
{
    return ngx_mikrobill_password_verify(password, strlen(password), encoded);
}


static void
test_round_trip(void)
{
    char  a[NGX_MIKROBILL_PASSWORD_HASH_LEN];
    char  b[NGX_MIKROBILL_PASSWORD_HASH_LEN];

    ok(ngx_mikrobill_password_hash("s3cret-pass", 11, ITER, a, sizeof(a))
       == 0, "hash succeeds");
    ok(strncmp(a, "$pbkdf2-sha256$1000$", 20) == 0, "encoding prefix");
    ok(strchr(a, '=') == NULL, "no base64 padding");
    ok(verify("s3cret-pass", a) == 1, "right password verifies");
    ok(verify("s3cret-pasS", a) == 0, "wrong password rejected");
    ok(verify("", a) == 0, "empty password rejected");
    ok(verify("s3cret-pass ", a) == 0, "trailing space rejected");

    ok(ngx_mikrobill_password_hash("s3cret-pass", 11, ITER, b, sizeof(b))
       == 0 && strcmp(a, b) != 0, "salt makes hashes differ");
    ok(verify("s3cret-pass", b) == 1, "second hash verifies too");

    ok(ngx_mikrobill_password_hash("p\xc3\xa4ss w\xc3\xb6rd \xe2\x82\xac", 16,
                                   ITER, a, sizeof(a)) == 0
       && verify("p\xc3\xa4ss w\xc3\xb6rd \xe2\x82\xac", a) == 1,
       "UTF-8 password round trip");

    ok(ngx_mikrobill_password_hash("ab\0cd", 5, ITER, a, sizeof(a)) == 0
       && ngx_mikrobill_password_verify("ab", 2, a) == 0
       && ngx_mikrobill_password_verify("ab\0cd", 5, a) == 1,
       "length, not NUL, ends the password");
}


static void
test_long_password(void)
{
    char  pw[1025], enc[NGX_MIKROBILL_PASSWORD_HASH_LEN];

    memset(pw, 'x', sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';

    ok(ngx_mikrobill_password_hash(pw, strlen(pw), ITER, enc, sizeof(enc))
       == 0 && verify(pw, enc) == 1, "1024-byte password round trip");

    pw[1023] = 'y';
    ok(verify(pw, enc) == 0, "last byte matters");
}


static void
test_iterations(void)
{
    char  enc[NGX_MIKROBILL_PASSWORD_HASH_LEN];

    ok(ngx_mikrobill_password_hash("password1", 9,
                                   NGX_MIKROBILL_PASSWORD_MIN_ITER - 1,
                                   enc, sizeof(enc)) == -1,
       "hash refuses too few iterations");
    ok(ngx_mikrobill_password_hash("password1", 9,
                                   NGX_MIKROBILL_PASSWORD_MAX_ITER + 1,
                                   enc, sizeof(enc)) == -1,
       "hash refuses too many iterations");
    ok(ngx_mikrobill_password_hash("password1", 9, 0, enc, sizeof(enc))
       == -1, "hash refuses zero iterations");
    ok(ngx_mikrobill_password_hash("password1", 9, ITER, enc, 20) == -1,
       "hash refuses a short output buffer");

    ok(verify("password1", "$pbkdf2-sha256$999$AAAAAAAAAAAAAAAAAAAAAA$"
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == -1,
       "verify refuses too few iterations");
    ok(verify("password1", "$pbkdf2-sha256$10000001$AAAAAAAAAAAAAAAAAAAAAA$"
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == -1,
       "verify refuses too many iterations");
    ok(verify("password1", "$pbkdf2-sha256$99999999999999999999999$AAAA$"
              "AAAA") == -1, "verify refuses overflowing iterations");
    ok(verify("password1", "$pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$"
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == 0,
       "well-formed dummy hash verifies as mismatch");
}


static void
test_malformed(void)
{
    static const char  *bad[] = {
        "",
        "plaintext",
        "$pbkdf2-sha1$1000$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$pbkdf2-sha256$",
        "$pbkdf2-sha256$1000",
        "$pbkdf2-sha256$1000$",
        "$pbkdf2-sha256$abc$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$pbkdf2-sha256$-5$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA",
        "$pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$",
        "$pbkdf2-sha256$1000$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$pbkdf2-sha256$1000$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$****",
        "$pbkdf2-sha256$1000x$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$PBKDF2-SHA256$1000$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };

    char    name[64];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(name, sizeof(name), "malformed encoding %zu refused", i);
        ok(verify("password1", bad[i]) == -1, name);
    }
}


int
main(void)
{
    test_round_trip();
    test_long_password();
    test_iterations();
    test_malformed();

    /* the plan may come last in TAP */
    printf("1..%d\n", test_no);

    return failed ? 1 : 0;
}
