/*
 * RouterOS API wire codec.  The parser keeps one sentence at a time: the
 * bytes of its words back to back in one buffer, each followed by a NUL so
 * that callers may use them as C strings, and the word lengths in an array.
 * Word pointers are computed only when the sentence is complete, because
 * the buffer moves while it grows.
 *
 * The cap bounds the memory one sentence may hold, so each word is charged
 * its bytes, its NUL and its bookkeeping entry: a peer sending millions of
 * one-byte words is stopped as surely as one announcing a 4 GiB word.  A
 * word's buffer grows with the bytes that actually arrive, never with the
 * length the peer announced.
 */

#include "mb_ros_codec.h"

#include <stdlib.h>
#include <string.h>


typedef enum {
    MB_ROS_PARSE_LEN = 0,
    MB_ROS_PARSE_DATA
} mb_ros_parse_state_e;


struct mb_ros_parser_s {
    size_t                 max;        /* cap on one sentence */
    size_t                 cost;       /* charged so far to this sentence */
    mb_ros_parse_state_e   state;
    unsigned char          lenbuf[5];  /* a length prefix split by reads */
    size_t                 lenhave;
    size_t                 need;       /* bytes still missing of the word */
    unsigned char         *data;       /* word bytes, NUL after each */
    size_t                 len, cap;
    mb_ros_word_t         *words;      /* len only until the sentence ends */
    size_t                 nwords, wcap;
};


size_t
mb_ros_len_encode(uint32_t len, unsigned char out[5])
{
    if (len < 0x80) {
        out[0] = (unsigned char) len;
        return 1;
    }
    if (len < 0x4000) {
        out[0] = (unsigned char) ((len >> 8) | 0x80);
        out[1] = (unsigned char) len;
        return 2;
    }
    if (len < 0x200000) {
        out[0] = (unsigned char) ((len >> 16) | 0xC0);
        out[1] = (unsigned char) (len >> 8);
        out[2] = (unsigned char) len;
        return 3;
    }
    if (len < 0x10000000) {
        out[0] = (unsigned char) ((len >> 24) | 0xE0);
        out[1] = (unsigned char) (len >> 16);
        out[2] = (unsigned char) (len >> 8);
        out[3] = (unsigned char) len;
        return 4;
    }
    out[0] = 0xF0;
    out[1] = (unsigned char) (len >> 24);
    out[2] = (unsigned char) (len >> 16);
    out[3] = (unsigned char) (len >> 8);
    out[4] = (unsigned char) len;
    return 5;
}


int
mb_ros_len_decode(const unsigned char *p, size_t avail, uint32_t *len,
    size_t *used)
{
    size_t    n, i;
    uint32_t  v;

    if (avail == 0) {
        return 0;
    }

    if (p[0] >= 0xF8) {
        return -1;
    }

    /* longer encodings than needed are accepted: RouterOS reads them too */
    if (p[0] < 0x80) {
        n = 1;
        v = p[0];
    } else if (p[0] < 0xC0) {
        n = 2;
        v = p[0] & 0x3F;
    } else if (p[0] < 0xE0) {
        n = 3;
        v = p[0] & 0x1F;
    } else if (p[0] < 0xF0) {
        n = 4;
        v = p[0] & 0x0F;
    } else {
        n = 5;
        v = 0;
    }

    if (avail < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        v = (v << 8) | p[i];
    }

    *len = v;
    *used = n;
    return 1;
}


void
mb_ros_buf_init(mb_ros_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


void
mb_ros_buf_free(mb_ros_buf_t *b)
{
    free(b->data);
    mb_ros_buf_init(b);
}


void
mb_ros_buf_reset(mb_ros_buf_t *b)
{
    b->len = 0;
}


static int
mb_ros_buf_reserve(mb_ros_buf_t *b, size_t more)
{
    size_t          cap;
    unsigned char  *p;

    if (more > SIZE_MAX - b->len) {
        return -1;
    }
    if (b->len + more <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}


int
mb_ros_buf_word(mb_ros_buf_t *b, const char *data, size_t len)
{
    size_t  n;

    if (len > MB_ROS_LEN_MAX || mb_ros_buf_reserve(b, len + 5) != 0) {
        return -1;
    }
    n = mb_ros_len_encode((uint32_t) len, b->data + b->len);
    if (len) {
        memcpy(b->data + b->len + n, data, len);
    }
    b->len += n + len;
    return 0;
}


int
mb_ros_buf_attr(mb_ros_buf_t *b, const char *prefix, const char *name,
    const char *value)
{
    size_t  lp, ln, lv, total, n;
    char   *p;

    lp = strlen(prefix);
    ln = strlen(name);
    lv = value ? strlen(value) : 0;
    total = lp + ln + (value ? 1 + lv : 0);

    if (total > MB_ROS_LEN_MAX || mb_ros_buf_reserve(b, total + 5) != 0) {
        return -1;
    }

    n = mb_ros_len_encode((uint32_t) total, b->data + b->len);
    p = (char *) b->data + b->len + n;
    memcpy(p, prefix, lp);
    memcpy(p + lp, name, ln);
    if (value) {
        p[lp + ln] = '=';
        memcpy(p + lp + ln + 1, value, lv);
    }
    b->len += n + total;
    return 0;
}


int
mb_ros_buf_append(mb_ros_buf_t *b, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }
    if (mb_ros_buf_reserve(b, len) != 0) {
        return -1;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}


int
mb_ros_buf_end(mb_ros_buf_t *b)
{
    return mb_ros_buf_word(b, NULL, 0);
}


mb_ros_parser_t *
mb_ros_parser_create(size_t max_sentence)
{
    mb_ros_parser_t  *p;

    p = calloc(1, sizeof(mb_ros_parser_t));
    if (p == NULL) {
        return NULL;
    }
    p->max = max_sentence ? max_sentence : MB_ROS_SENTENCE_MAX;
    return p;
}


void
mb_ros_parser_destroy(mb_ros_parser_t *p)
{
    if (p == NULL) {
        return;
    }
    free(p->data);
    free(p->words);
    free(p);
}


void
mb_ros_parser_reset(mb_ros_parser_t *p)
{
    p->cost = 0;
    p->state = MB_ROS_PARSE_LEN;
    p->lenhave = 0;
    p->need = 0;
    p->len = 0;
    p->nwords = 0;
}


static int
mb_ros_parser_grow(mb_ros_parser_t *p, size_t more)
{
    size_t          cap;
    unsigned char  *d;

    if (p->len + more <= p->cap) {
        return 0;
    }
    cap = p->cap ? p->cap : 1024;
    while (cap < p->len + more) {
        cap *= 2;
    }
    d = realloc(p->data, cap);
    if (d == NULL) {
        return MB_ROS_ERR_NOMEM;
    }
    p->data = d;
    p->cap = cap;
    return 0;
}


/* a word's length is known: charge it to the sentence, open its entry */
static int
mb_ros_parser_word_start(mb_ros_parser_t *p, uint32_t len)
{
    size_t          charge;
    mb_ros_word_t  *w;

    charge = (size_t) len + 1 + sizeof(mb_ros_word_t);
    if (charge > p->max || p->cost > p->max - charge) {
        return MB_ROS_ERR_TOO_BIG;
    }
    p->cost += charge;

    if (p->nwords == p->wcap) {
        w = realloc(p->words,
                    (p->wcap ? p->wcap * 2 : 16) * sizeof(mb_ros_word_t));
        if (w == NULL) {
            return MB_ROS_ERR_NOMEM;
        }
        p->words = w;
        p->wcap = p->wcap ? p->wcap * 2 : 16;
    }
    p->words[p->nwords].data = NULL;
    p->words[p->nwords].len = len;
    p->need = len;
    p->state = MB_ROS_PARSE_DATA;

    /* an empty word never reaches here: it ends the sentence */
    return 0;
}


static int
mb_ros_parser_word_end(mb_ros_parser_t *p)
{
    if (mb_ros_parser_grow(p, 1) != 0) {
        return MB_ROS_ERR_NOMEM;
    }
    p->data[p->len++] = '\0';
    p->nwords++;
    p->state = MB_ROS_PARSE_LEN;
    return 0;
}


static int
mb_ros_parser_emit(mb_ros_parser_t *p, mb_ros_sentence_pt cb, void *arg)
{
    mb_ros_sentence_t  s;
    size_t             i, off;
    int                rc;

    /* a lone empty word is no sentence: RouterOS skips it as well */
    if (p->nwords == 0) {
        p->cost = 0;
        return 0;
    }

    off = 0;
    for (i = 0; i < p->nwords; i++) {
        p->words[i].data = (const char *) p->data + off;
        off += p->words[i].len + 1;
    }

    s.words = p->words;
    s.nwords = p->nwords;
    rc = cb(arg, &s);

    p->len = 0;
    p->nwords = 0;
    p->cost = 0;
    return rc;
}


/* consume a length prefix, possibly split across calls */
static int
mb_ros_parser_len(mb_ros_parser_t *p, const unsigned char **data,
    size_t *len, mb_ros_sentence_pt cb, void *arg)
{
    uint32_t  wlen;
    size_t    used;
    int       rc;

    if (p->lenhave == 0) {
        rc = mb_ros_len_decode(*data, *len, &wlen, &used);
        if (rc == 1) {
            *data += used;
            *len -= used;
            goto decoded;
        }
        if (rc < 0) {
            return MB_ROS_ERR_CONTROL;
        }
    }

    /* slow path: gather the prefix a byte at a time */
    p->lenbuf[p->lenhave++] = **data;
    *data += 1;
    *len -= 1;

    rc = mb_ros_len_decode(p->lenbuf, p->lenhave, &wlen, &used);
    if (rc < 0) {
        return MB_ROS_ERR_CONTROL;
    }
    if (rc == 0) {
        return 0;
    }
    p->lenhave = 0;

decoded:

    if (wlen == 0) {
        return mb_ros_parser_emit(p, cb, arg);
    }
    return mb_ros_parser_word_start(p, wlen);
}


static int
mb_ros_parser_data(mb_ros_parser_t *p, const unsigned char **data,
    size_t *len)
{
    size_t  n;

    n = p->need < *len ? p->need : *len;
    if (mb_ros_parser_grow(p, n) != 0) {
        return MB_ROS_ERR_NOMEM;
    }
    memcpy(p->data + p->len, *data, n);
    p->len += n;
    p->need -= n;
    *data += n;
    *len -= n;

    return p->need == 0 ? mb_ros_parser_word_end(p) : 0;
}


int
mb_ros_parser_feed(mb_ros_parser_t *p, const unsigned char *data,
    size_t len, mb_ros_sentence_pt cb, void *arg)
{
    int  rc;

    while (len > 0) {
        if (p->state == MB_ROS_PARSE_LEN) {
            rc = mb_ros_parser_len(p, &data, &len, cb, arg);
        } else {
            rc = mb_ros_parser_data(p, &data, &len);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}


mb_ros_reply_e
mb_ros_reply_type(const mb_ros_sentence_t *s)
{
    static const struct {
        const char      *word;
        mb_ros_reply_e   type;
    } types[] = {
        { "!re", MB_ROS_REPLY_RE },
        { "!done", MB_ROS_REPLY_DONE },
        { "!trap", MB_ROS_REPLY_TRAP },
        { "!fatal", MB_ROS_REPLY_FATAL },
        { "!empty", MB_ROS_REPLY_EMPTY },
    };
    size_t  i;

    if (s->nwords == 0) {
        return MB_ROS_REPLY_OTHER;
    }
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (s->words[0].len == strlen(types[i].word)
            && memcmp(s->words[0].data, types[i].word, s->words[0].len) == 0)
        {
            return types[i].type;
        }
    }
    return MB_ROS_REPLY_OTHER;
}


int
mb_ros_sentence_get(const mb_ros_sentence_t *s, const char *prefix,
    const char *name, mb_ros_word_t *value)
{
    size_t               i, lp, ln;
    const mb_ros_word_t  *w;

    lp = strlen(prefix);
    ln = strlen(name);

    /* word 0 is the command or reply word, never an attribute */
    for (i = 1; i < s->nwords; i++) {
        w = &s->words[i];
        if (w->len < lp + ln + 1
            || memcmp(w->data, prefix, lp) != 0
            || memcmp(w->data + lp, name, ln) != 0
            || w->data[lp + ln] != '=')
        {
            continue;
        }
        value->data = w->data + lp + ln + 1;
        value->len = w->len - lp - ln - 1;
        return 1;
    }
    return 0;
}
