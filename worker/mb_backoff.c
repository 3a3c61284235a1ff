/*
 * Exponential backoff with "equal jitter": half the delay is fixed so that
 * retries never come too fast, the other half is random.
 */

#include "mb_backoff.h"

#include <stdlib.h>


void
mb_backoff_init(mb_backoff_t *b, unsigned base_ms, unsigned cap_ms)
{
    b->attempt = 0;
    b->base_ms = base_ms ? base_ms : 1;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
}


void
mb_backoff_reset(mb_backoff_t *b)
{
    b->attempt = 0;
}


unsigned
mb_backoff_next(mb_backoff_t *b)
{
    unsigned long  d = b->base_ms;
    unsigned       i;

    for (i = 0; i < b->attempt && d < b->cap_ms; i++) {
        d *= 2;
    }
    if (d > b->cap_ms) {
        d = b->cap_ms;
    }

    if (b->attempt < 32) {
        b->attempt++;
    }

    return (unsigned) (d / 2 + (unsigned long) random() % (d / 2 + 1));
}
