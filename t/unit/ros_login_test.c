/*
 * Unit tests of the RouterOS login sentences (worker/mb_ros_login.c):
 * the MD5 challenge response against known values, and the words sent.
 * Prints TAP for prove.
 */

#include <stdio.h>
#include <string.h>

#include "mb_ros_codec.h"
#include "mb_ros_login.h"

#include "tap.h"


typedef struct {
    int   n;
    char  words[4][64];
} words_t;


static int
collect(void *arg, const mb_ros_sentence_t *s)
{
    words_t  *w = arg;
    size_t    i;

    w->n = (int) s->nwords;
    for (i = 0; i < s->nwords && i < 4; i++) {
        snprintf(w->words[i], sizeof(w->words[i]), "%s", s->words[i].data);
    }
    return 0;
}


static void
parse(mb_ros_buf_t *b, words_t *w)
{
    mb_ros_parser_t  *p;

    memset(w, 0, sizeof(*w));
    p = mb_ros_parser_create(0);
    mb_ros_parser_feed(p, b->data, b->len, collect, w);
    mb_ros_parser_destroy(p);
}


int
main(void)
{
    mb_ros_buf_t  b;
    words_t       w;
    char          resp[35];

    /* expected values: hex(MD5(0x00 + password + challenge bytes)) */
    ok(mb_ros_login_md5_response("secret",
           "4c2f0b4a7e1a3e55e0ef8f2f7a0a1b2c", resp) == 0
       && strcmp(resp, "00372c393e3ebe5be4b71fa54068d6eadc") == 0,
       "md5 response for secret");
    ok(mb_ros_login_md5_response("", "00FF00FF00FF00FF00FF00FF00FF00FF",
                                 resp) == 0
       && strcmp(resp, "00f0e30ea01fa681ef6b78172c8ef3d926") == 0,
       "md5 response, empty password, upper-case challenge");
    ok(mb_ros_login_md5_response("x", "abc", resp) == -1,
       "odd-length challenge refused");
    ok(mb_ros_login_md5_response("x", "zz", resp) == -1,
       "non-hex challenge refused");
    ok(mb_ros_login_md5_response("x", "", resp) == -1,
       "empty challenge refused");

    mb_ros_buf_init(&b);
    ok(mb_ros_login_plain(&b, "admin", "pa=ss") == 0, "plain login built");
    parse(&b, &w);
    ok(w.n == 3 && strcmp(w.words[0], "/login") == 0
       && strcmp(w.words[1], "=name=admin") == 0
       && strcmp(w.words[2], "=password=pa=ss") == 0,
       "plain login words");

    mb_ros_buf_reset(&b);
    ok(mb_ros_login_md5(&b, "admin", "secret",
                        "4c2f0b4a7e1a3e55e0ef8f2f7a0a1b2c") == 0,
       "md5 login built");
    parse(&b, &w);
    ok(w.n == 3 && strcmp(w.words[1], "=name=admin") == 0
       && strcmp(w.words[2],
                 "=response=00372c393e3ebe5be4b71fa54068d6eadc") == 0,
       "md5 login words");
    mb_ros_buf_free(&b);

    printf("1..%d\n", test_no);
    return failed ? 1 : 0;
}
