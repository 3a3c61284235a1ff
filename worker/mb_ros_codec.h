/*
 * RouterOS API wire codec (see design.md section 4): word lengths in five
 * encodings, words, sentences ended by an empty word.  Shared by the client
 * (worker) and the simulator; no I/O, no event loop.
 */

#ifndef _MB_ROS_CODEC_H_INCLUDED_
#define _MB_ROS_CODEC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define MB_ROS_LEN_MAX        0xFFFFFFFFu
/* default cap on one sentence: a hostile peer must not make us allocate */
#define MB_ROS_SENTENCE_MAX   (64u * 1024 * 1024)


typedef struct {
    const char      *data;     /* NUL-terminated (the parser adds it) */
    size_t           len;
} mb_ros_word_t;


typedef struct {
    mb_ros_word_t   *words;
    size_t           nwords;
} mb_ros_sentence_t;


typedef enum {
    MB_ROS_REPLY_RE = 0,
    MB_ROS_REPLY_DONE,
    MB_ROS_REPLY_TRAP,
    MB_ROS_REPLY_FATAL,
    MB_ROS_REPLY_EMPTY,
    MB_ROS_REPLY_OTHER          /* a command, for the simulator */
} mb_ros_reply_e;


/* growable output buffer */
typedef struct {
    unsigned char   *data;
    size_t           len;
    size_t           cap;
} mb_ros_buf_t;


/* length prefix: returns bytes written to out (1..5) */
size_t mb_ros_len_encode(uint32_t len, unsigned char out[5]);

/*
 * Decode a length prefix from p[0..avail): 1 and *len, *used filled;
 * 0 need more bytes; -1 a reserved control byte (first byte >= 0xF8).
 */
int mb_ros_len_decode(const unsigned char *p, size_t avail, uint32_t *len,
    size_t *used);

void mb_ros_buf_init(mb_ros_buf_t *b);
void mb_ros_buf_free(mb_ros_buf_t *b);
/* empty it, keeping the memory */
void mb_ros_buf_reset(mb_ros_buf_t *b);
/* append one word / "=name=value" / ".tag=x" / the terminating empty word;
 * 0 on success, -1 out of memory */
int mb_ros_buf_word(mb_ros_buf_t *b, const char *data, size_t len);
int mb_ros_buf_attr(mb_ros_buf_t *b, const char *prefix, const char *name,
    const char *value);
int mb_ros_buf_end(mb_ros_buf_t *b);
/* raw bytes, already encoded words */
int mb_ros_buf_append(mb_ros_buf_t *b, const void *data, size_t len);


/*
 * Incremental parser: feed bytes as they arrive; each complete sentence is
 * passed to the callback (valid during the call only).  The callback
 * returns 0 to go on, non-zero to stop (feed returns that value).
 * feed returns 0, the callback's non-zero, or MB_ROS_ERR_* below.
 * After an error the byte stream is out of step: reset before reuse.
 * A lone empty word (a sentence without words) is skipped.
 * max_sentence 0 means MB_ROS_SENTENCE_MAX; it bounds the memory one
 * sentence holds: each word costs its length + 1 + sizeof(mb_ros_word_t).
 */
#define MB_ROS_ERR_CONTROL   -1   /* control byte >= 0xF8 */
#define MB_ROS_ERR_TOO_BIG   -2   /* sentence over the cap */
#define MB_ROS_ERR_NOMEM     -3

typedef int (*mb_ros_sentence_pt)(void *arg, const mb_ros_sentence_t *s);

typedef struct mb_ros_parser_s  mb_ros_parser_t;

mb_ros_parser_t *mb_ros_parser_create(size_t max_sentence);
void mb_ros_parser_destroy(mb_ros_parser_t *p);
void mb_ros_parser_reset(mb_ros_parser_t *p);
int mb_ros_parser_feed(mb_ros_parser_t *p, const unsigned char *data,
    size_t len, mb_ros_sentence_pt cb, void *arg);


/* reply type from the first word */
mb_ros_reply_e mb_ros_reply_type(const mb_ros_sentence_t *s);

/*
 * Find "=name=value" (prefix "=") or ".tag=value" style API attributes
 * (prefix "."): 1 and value filled (may be empty), 0 absent.  A value may
 * itself contain '='.
 */
int mb_ros_sentence_get(const mb_ros_sentence_t *s, const char *prefix,
    const char *name, mb_ros_word_t *value);


#endif /* _MB_ROS_CODEC_H_INCLUDED_ */
