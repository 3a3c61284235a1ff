/*
 * Unit tests of the RouterOS API wire codec (worker/mb_ros_codec.c).
 * Prints TAP for prove.  The big-word tests really build and parse words
 * of 2 MiB and 256 MiB: the boundaries are where encoders go wrong.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_ros_codec.h"

#include "tap.h"


/* what the callback saw: a copy of the last sentence, counts */
typedef struct {
    int              sentences;
    size_t           nwords;
    char             first[64];
    size_t           lens[16];
    int              nul_ok;      /* every word NUL-terminated */
    int              stop_after;  /* return 1 after this many, 0 never */
    mb_ros_reply_e   type;
    int              has_tag;
    char             tag[32];
    char             msg[64];
    int              has_msg;
} seen_t;


static int
collect(void *arg, const mb_ros_sentence_t *s)
{
    seen_t         *seen = arg;
    mb_ros_word_t   v;
    size_t          i;

    seen->sentences++;
    seen->nwords = s->nwords;
    snprintf(seen->first, sizeof(seen->first), "%s", s->words[0].data);
    seen->nul_ok = 1;
    for (i = 0; i < s->nwords; i++) {
        if (i < 16) {
            seen->lens[i] = s->words[i].len;
        }
        if (s->words[i].data[s->words[i].len] != '\0') {
            seen->nul_ok = 0;
        }
    }
    seen->type = mb_ros_reply_type(s);
    seen->has_tag = mb_ros_sentence_get(s, ".", "tag", &v);
    if (seen->has_tag) {
        snprintf(seen->tag, sizeof(seen->tag), "%s", v.data);
    }
    seen->has_msg = mb_ros_sentence_get(s, "=", "message", &v);
    if (seen->has_msg) {
        snprintf(seen->msg, sizeof(seen->msg), "%s", v.data);
    }
    return seen->stop_after && seen->sentences >= seen->stop_after;
}


static void
test_len_boundaries(void)
{
    static const struct {
        uint32_t  len;
        size_t    n;
    } cases[] = {
        { 0, 1 }, { 0x7F, 1 }, { 0x80, 2 }, { 0x3FFF, 2 }, { 0x4000, 3 },
        { 0x1FFFFF, 3 }, { 0x200000, 4 }, { 0xFFFFFFF, 4 },
        { 0x10000000, 5 }, { 0xFFFFFFFF, 5 },
    };
    unsigned char  out[5];
    uint32_t       v;
    size_t         i, k, n, used;
    char           desc[128];
    int            rc, all_short;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = mb_ros_len_encode(cases[i].len, out);
        snprintf(desc, sizeof(desc), "length 0x%X encodes in %zu bytes",
                 cases[i].len, cases[i].n);
        ok(n == cases[i].n, desc);

        rc = mb_ros_len_decode(out, n, &v, &used);
        snprintf(desc, sizeof(desc), "length 0x%X decodes back", cases[i].len);
        ok(rc == 1 && v == cases[i].len && used == n, desc);

        all_short = 1;
        for (k = 0; k < n; k++) {
            if (mb_ros_len_decode(out, k, &v, &used) != 0) {
                all_short = 0;
                break;
            }
        }
        snprintf(desc, sizeof(desc), "length 0x%X: a short prefix needs more",
                 cases[i].len);
        ok(all_short, desc);
    }

    n = mb_ros_len_encode(0x80, out);
    ok(out[0] == 0x80 && out[1] == 0x80, "0x80 is 80 80 on the wire");
    n = mb_ros_len_encode(0x4000, out);
    ok(n == 3 && out[0] == 0xC0 && out[1] == 0x40 && out[2] == 0,
       "0x4000 is C0 40 00");
    n = mb_ros_len_encode(0x200000, out);
    ok(n == 4 && out[0] == 0xE0 && out[1] == 0x20 && out[2] == 0
       && out[3] == 0, "0x200000 is E0 20 00 00");
    n = mb_ros_len_encode(0x10000000, out);
    ok(n == 5 && out[0] == 0xF0 && out[1] == 0x10 && out[4] == 0,
       "0x10000000 is F0 10 00 00 00");

    out[0] = 0xF8;
    ok(mb_ros_len_decode(out, 1, &v, &used) == -1, "0xF8 is a control byte");
    out[0] = 0xFF;
    ok(mb_ros_len_decode(out, 1, &v, &used) == -1, "0xFF is a control byte");
    out[0] = 0x81;
    out[1] = 0x02;
    ok(mb_ros_len_decode(out, 2, &v, &used) == 1 && v == 0x102,
       "two-byte 81 02 is 0x102");
}


/* one sentence of a single word of len bytes, parsed whole */
static void
test_big_word(uint32_t len)
{
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    seen_t            seen;
    char             *word, desc[128];
    int               rc;

    word = malloc(len);
    if (word == NULL) {
        ok(0, "malloc for a big word");
        return;
    }
    memset(word, 'x', len);
    memcpy(word, "=a=", 3);

    mb_ros_buf_init(&b);
    ok(mb_ros_buf_word(&b, "!re", 3) == 0
       && mb_ros_buf_word(&b, word, len) == 0 && mb_ros_buf_end(&b) == 0,
       "build a sentence with a big word");
    free(word);

    memset(&seen, 0, sizeof(seen));
    p = mb_ros_parser_create((size_t) len + 4096);
    rc = mb_ros_parser_feed(p, b.data, b.len, collect, &seen);
    snprintf(desc, sizeof(desc), "word of 0x%X bytes parses (%d)", len, rc);
    ok(rc == 0 && seen.sentences == 1 && seen.nwords == 2
       && seen.lens[1] == len && seen.nul_ok, desc);

    /* the same under the default cap when the word is over it */
    if (len > MB_ROS_SENTENCE_MAX) {
        mb_ros_parser_destroy(p);
        p = mb_ros_parser_create(0);
        memset(&seen, 0, sizeof(seen));
        rc = mb_ros_parser_feed(p, b.data, b.len, collect, &seen);
        ok(rc == MB_ROS_ERR_TOO_BIG && seen.sentences == 0,
           "a word over the default cap is too big");
    }

    mb_ros_parser_destroy(p);
    mb_ros_buf_free(&b);
}


/* sizes around each boundary, in one sentence, fed a byte at a time */
static void
test_boundary_words_bytewise(void)
{
    static const uint32_t  sizes[] = {
        1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000
    };
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    seen_t            seen;
    char             *word;
    size_t            i, at;
    int               rc = 0, lens_ok = 1;

    word = malloc(0x200000);
    memset(word, 'y', 0x200000);

    mb_ros_buf_init(&b);
    mb_ros_buf_word(&b, "!re", 3);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        mb_ros_buf_word(&b, word, sizes[i]);
    }
    mb_ros_buf_attr(&b, ".", "tag", "7");
    mb_ros_buf_end(&b);
    free(word);

    memset(&seen, 0, sizeof(seen));
    p = mb_ros_parser_create(0);
    for (at = 0; at < b.len && rc == 0; at++) {
        rc = mb_ros_parser_feed(p, b.data + at, 1, collect, &seen);
    }
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        lens_ok &= seen.lens[i + 1] == sizes[i];
    }
    ok(rc == 0 && seen.sentences == 1, "boundary words: one byte at a time");
    ok(lens_ok && seen.nwords == 9 && seen.nul_ok,
       "boundary words: every length right, NUL-terminated");
    ok(seen.has_tag && strcmp(seen.tag, "7") == 0,
       "boundary words: .tag found after them");

    mb_ros_parser_destroy(p);
    mb_ros_buf_free(&b);
}


static void
build_replies(mb_ros_buf_t *b)
{
    mb_ros_buf_word(b, "!re", 3);
    mb_ros_buf_attr(b, "=", "name", "a=b=c");
    mb_ros_buf_attr(b, "=", "comment", "");
    mb_ros_buf_attr(b, ".", "section", "1");
    mb_ros_buf_attr(b, ".", "tag", "12");
    mb_ros_buf_end(b);

    mb_ros_buf_word(b, "!trap", 5);
    mb_ros_buf_attr(b, "=", "category", "2");
    mb_ros_buf_attr(b, "=", "message", "interrupted");
    mb_ros_buf_attr(b, ".", "tag", "12");
    mb_ros_buf_end(b);

    mb_ros_buf_word(b, "!empty", 6);
    mb_ros_buf_attr(b, ".", "tag", "3");
    mb_ros_buf_end(b);

    mb_ros_buf_end(b);                      /* a lone empty word: skipped */

    mb_ros_buf_word(b, "!done", 5);
    mb_ros_buf_attr(b, "=", "ret", "4fa1");
    mb_ros_buf_end(b);

    mb_ros_buf_word(b, "!fatal", 6);
    mb_ros_buf_word(b, "session terminated on request", 29);
    mb_ros_buf_end(b);
}


static int
check_reply(void *arg, const mb_ros_sentence_t *s)
{
    int            *n = arg;
    mb_ros_word_t   v;

    switch ((*n)++) {
    case 0:
        ok(mb_ros_reply_type(s) == MB_ROS_REPLY_RE, "!re type");
        ok(mb_ros_sentence_get(s, "=", "name", &v) && v.len == 5
           && strcmp(v.data, "a=b=c") == 0, "value holding '=' found whole");
        ok(mb_ros_sentence_get(s, "=", "comment", &v) && v.len == 0
           && v.data[0] == '\0', "empty value found, empty");
        ok(!mb_ros_sentence_get(s, "=", "nam", &v),
           "a prefix of a name does not match");
        ok(!mb_ros_sentence_get(s, "=", "tag", &v),
           "=tag is not .tag");
        ok(mb_ros_sentence_get(s, ".", "tag", &v)
           && strcmp(v.data, "12") == 0, ".tag lookup");
        ok(mb_ros_sentence_get(s, ".", "section", &v),
           "unknown .section is there, for whoever wants it");
        break;
    case 1:
        ok(mb_ros_reply_type(s) == MB_ROS_REPLY_TRAP, "!trap type");
        ok(mb_ros_sentence_get(s, "=", "message", &v)
           && strcmp(v.data, "interrupted") == 0, "!trap message");
        ok(mb_ros_sentence_get(s, "=", "category", &v)
           && strcmp(v.data, "2") == 0, "!trap category");
        break;
    case 2:
        ok(mb_ros_reply_type(s) == MB_ROS_REPLY_EMPTY, "!empty type");
        ok(s->nwords == 2, "!empty with its tag");
        break;
    case 3:
        ok(mb_ros_reply_type(s) == MB_ROS_REPLY_DONE,
           "!done type (the lone empty word before it was skipped)");
        ok(mb_ros_sentence_get(s, "=", "ret", &v)
           && strcmp(v.data, "4fa1") == 0, "!done =ret=");
        break;
    case 4:
        ok(mb_ros_reply_type(s) == MB_ROS_REPLY_FATAL, "!fatal type");
        ok(s->nwords == 2 && strcmp(s->words[1].data,
           "session terminated on request") == 0, "!fatal text word");
        break;
    default:
        ok(0, "no more sentences expected");
    }
    return 0;
}


static void
test_replies(void)
{
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    size_t            split, nsplit_ok = 0, total = 0;
    int               n, rc;

    mb_ros_buf_init(&b);
    build_replies(&b);

    p = mb_ros_parser_create(0);
    n = 0;
    rc = mb_ros_parser_feed(p, b.data, b.len, check_reply, &n);
    ok(rc == 0 && n == 5, "five reply sentences in one buffer");
    mb_ros_parser_destroy(p);

    /* every split point in two parts gives the same five sentences */
    for (split = 0; split <= b.len; split++) {
        seen_t  seen;

        memset(&seen, 0, sizeof(seen));
        p = mb_ros_parser_create(0);
        rc = mb_ros_parser_feed(p, b.data, split, collect, &seen);
        rc |= mb_ros_parser_feed(p, b.data + split, b.len - split, collect,
                                 &seen);
        nsplit_ok += rc == 0 && seen.sentences == 5
                     && seen.type == MB_ROS_REPLY_FATAL;
        total++;
        mb_ros_parser_destroy(p);
    }
    ok(nsplit_ok == total, "every two-part split parses the same");

    mb_ros_buf_free(&b);
}


static void
test_command_words(void)
{
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    seen_t            seen;
    mb_ros_sentence_t s;
    mb_ros_word_t     w[8], v;
    int               rc;

    mb_ros_buf_init(&b);
    mb_ros_buf_word(&b, "/ppp/secret/print", 17);
    mb_ros_buf_attr(&b, "?", "name", "x");
    mb_ros_buf_attr(&b, "?", "-disabled", NULL);
    mb_ros_buf_attr(&b, "?#", "|", NULL);
    mb_ros_buf_attr(&b, "=", ".proplist", ".id,name");
    mb_ros_buf_end(&b);

    memset(&seen, 0, sizeof(seen));
    p = mb_ros_parser_create(0);
    rc = mb_ros_parser_feed(p, b.data, b.len, collect, &seen);
    ok(rc == 0 && seen.type == MB_ROS_REPLY_OTHER && seen.nwords == 5,
       "a command is type OTHER");
    ok(seen.lens[2] == 10 && seen.lens[3] == 3,
       "value-less query words are written without '='");
    mb_ros_parser_destroy(p);
    mb_ros_buf_free(&b);

    w[0].data = "/ppp/secret/print";
    w[0].len = 17;
    w[1].data = "?name=x";
    w[1].len = 7;
    w[2].data = "=.proplist=.id,name";
    w[2].len = 19;
    s.words = w;
    s.nwords = 3;
    ok(mb_ros_sentence_get(&s, "?", "name", &v) && strcmp(v.data, "x") == 0,
       "query lookup");
    ok(mb_ros_sentence_get(&s, "=", ".proplist", &v)
       && strcmp(v.data, ".id,name") == 0, ".proplist lookup");
}


static void
test_errors(void)
{
    static const unsigned char  ctl[] = { 0x03, '!', 'r', 'e', 0xF8 };
    mb_ros_buf_t      b;
    mb_ros_parser_t  *p;
    seen_t            seen;
    unsigned char     big[5];
    size_t            i, n;
    int               rc;
    char              word[100];

    memset(&seen, 0, sizeof(seen));
    p = mb_ros_parser_create(0);
    rc = mb_ros_parser_feed(p, ctl, sizeof(ctl), collect, &seen);
    ok(rc == MB_ROS_ERR_CONTROL && seen.sentences == 0,
       "control byte 0xF8 after a word is an error");

    mb_ros_parser_reset(p);
    rc = 0;
    for (i = 0; i < 4 && rc == 0; i++) {
        rc = mb_ros_parser_feed(p, ctl + i, 1, collect, &seen);
    }
    rc = mb_ros_parser_feed(p, (const unsigned char *) "\xFC", 1, collect,
                            &seen);
    ok(rc == MB_ROS_ERR_CONTROL, "control byte 0xFC fed alone is an error");
    mb_ros_parser_destroy(p);

    /* a peer announcing 4 GiB is refused before anything is allocated */
    p = mb_ros_parser_create(1024);
    n = mb_ros_len_encode(0xFFFFFFFF, big);
    rc = mb_ros_parser_feed(p, big, n, collect, &seen);
    ok(rc == MB_ROS_ERR_TOO_BIG, "a 4 GiB word is too big");
    mb_ros_parser_destroy(p);

    /* many small words add up to the cap */
    p = mb_ros_parser_create(1024);
    memset(word, 'z', sizeof(word));
    mb_ros_buf_init(&b);
    mb_ros_buf_word(&b, "!re", 3);
    for (i = 0; i < 20; i++) {
        mb_ros_buf_word(&b, word, sizeof(word));
    }
    mb_ros_buf_end(&b);
    rc = mb_ros_parser_feed(p, b.data, b.len, collect, &seen);
    ok(rc == MB_ROS_ERR_TOO_BIG, "many words over the cap are too big");
    mb_ros_parser_destroy(p);

    /* the callback stops the feed, the rest is kept for the next one */
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 1;
    mb_ros_buf_reset(&b);
    mb_ros_buf_word(&b, "!re", 3);
    mb_ros_buf_end(&b);
    mb_ros_buf_word(&b, "!done", 5);
    mb_ros_buf_end(&b);
    p = mb_ros_parser_create(0);
    rc = mb_ros_parser_feed(p, b.data, b.len, collect, &seen);
    ok(rc == 1 && seen.sentences == 1, "a callback's non-zero stops feed");
    mb_ros_parser_destroy(p);
    mb_ros_buf_free(&b);
}


int
main(void)
{
    test_len_boundaries();
    test_replies();
    test_command_words();
    test_errors();
    test_boundary_words_bytewise();
    test_big_word(0x7F);
    test_big_word(0x80);
    test_big_word(0x3FFF);
    test_big_word(0x4000);
    test_big_word(0x1FFFFF);
    test_big_word(0x200000);
    test_big_word(0xFFFFFFF);
    test_big_word(0x10000000);

    printf("1..%d\n", test_no);
    return failed ? 1 : 0;
}
