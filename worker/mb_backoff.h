/*
 * Reconnect delays: exponential, capped, with jitter so that many workers
 * that lost the same server do not all come back in the same millisecond.
 */

#ifndef _MB_BACKOFF_H_INCLUDED_
#define _MB_BACKOFF_H_INCLUDED_


typedef struct {
    unsigned  attempt;
    unsigned  base_ms;
    unsigned  cap_ms;
} mb_backoff_t;


void mb_backoff_init(mb_backoff_t *b, unsigned base_ms, unsigned cap_ms);
void mb_backoff_reset(mb_backoff_t *b);
/* the next delay: in [d/2, d] where d = min(cap, base * 2^attempt) */
unsigned mb_backoff_next(mb_backoff_t *b);


#endif /* _MB_BACKOFF_H_INCLUDED_ */
