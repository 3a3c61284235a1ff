/*
 * The command stream consumer: consumer group setup, this consumer's own
 * pending entries, blocking XREADGROUP on the reader connection, and
 * XAUTOCLAIM of entries that dead consumers left pending.
 */

#ifndef _MB_STREAM_H_INCLUDED_
#define _MB_STREAM_H_INCLUDED_


#include "mb_worker.h"


mb_stream_t *mb_stream_create(mb_worker_t *w);

/* mb_redis_t on_up / on_down callbacks of both connections; data: stream */
void mb_stream_redis_up(mb_redis_t *r, void *data);
void mb_stream_redis_down(mb_redis_t *r, void *data);

/* no more reads or claims; in-flight jobs go on */
void mb_stream_stop(mb_stream_t *s);
/* frees s once its timer has closed */
void mb_stream_close(mb_stream_t *s);


#endif /* _MB_STREAM_H_INCLUDED_ */
