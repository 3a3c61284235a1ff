/*
 * libFuzzer target for the RouterOS reply parser (worker/mb_ros_codec.c).
 * The first input byte picks a split pattern, the rest is the byte stream:
 * feeding it in pieces of varying size checks that the incremental parser
 * gives the same sentences whatever the read boundaries are.  Every
 * sentence is looked at the way the client does (type, .tag, =message=).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mb_ros_codec.h"


/* small cap: a fuzzer should find the limit, not eat memory */
#define FUZZ_MAX_SENTENCE  (1024 * 1024)


typedef struct {
    uint64_t  hash;
    size_t    sentences;
} fuzz_sum_t;


static int
fuzz_sentence(void *arg, const mb_ros_sentence_t *s)
{
    fuzz_sum_t     *sum = arg;
    mb_ros_word_t   v;
    size_t          i;

    sum->sentences++;
    sum->hash = sum->hash * 31 + mb_ros_reply_type(s);
    for (i = 0; i < s->nwords; i++) {
        if (s->words[i].data[s->words[i].len] != '\0') {
            abort();
        }
        sum->hash = sum->hash * 31 + s->words[i].len;
        if (s->words[i].len) {
            sum->hash += (unsigned char) s->words[i].data[0];
        }
    }
    if (mb_ros_sentence_get(s, ".", "tag", &v)) {
        sum->hash += v.len;
    }
    if (mb_ros_sentence_get(s, "=", "message", &v)) {
        sum->hash += v.len;
    }
    mb_ros_sentence_get(s, "=", "", &v);
    return 0;
}


static int
fuzz_run(const uint8_t *data, size_t size, unsigned pattern, fuzz_sum_t *sum)
{
    mb_ros_parser_t  *p;
    size_t            at = 0, n;
    unsigned          step = 0;
    int               rc = 0;

    p = mb_ros_parser_create(FUZZ_MAX_SENTENCE);
    if (p == NULL) {
        abort();
    }
    while (at < size && rc == 0) {
        n = pattern == 0 ? size - at : 1 + (pattern * 7 + step++ * 13) % 17;
        n = n > size - at ? size - at : n;
        rc = mb_ros_parser_feed(p, data + at, n, fuzz_sentence, sum);
        at += n;
    }
    mb_ros_parser_destroy(p);
    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_sum_t  whole, split;
    int         rc1, rc2;

    if (size < 1) {
        return 0;
    }
    memset(&whole, 0, sizeof(whole));
    memset(&split, 0, sizeof(split));

    rc1 = fuzz_run(data + 1, size - 1, 0, &whole);
    rc2 = fuzz_run(data + 1, size - 1, 1 + data[0] % 16, &split);

    /* read boundaries must not change what is parsed */
    if (rc1 != rc2 || whole.sentences != split.sentences
        || whole.hash != split.hash)
    {
        abort();
    }
    return 0;
}
