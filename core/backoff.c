/* The per-peer failure table of backoff.h: a linear scan of 512 slots,
 * run only on a refusal (the success path never touches it). */
#include "backoff.h"

#include <string.h>

void mp_backoff_init(struct mp_backoff *b)
{
    memset(b, 0, sizeof(*b));
}

/* The slot of addr, or the one to take for it: a free one, else the one
 * whose last failure is oldest (its count starts again). */
static struct mp_backoff_peer *slot_for(struct mp_backoff *b,
                                        const unsigned char addr[MP_BACKOFF_ADDR_LEN])
{
    struct mp_backoff_peer *oldest = &b->peers[0];
    for (size_t i = 0; i < MP_BACKOFF_PEERS; i++) {
        struct mp_backoff_peer *p = &b->peers[i];
        if (p->fails > 0 && memcmp(p->addr, addr, MP_BACKOFF_ADDR_LEN) == 0)
            return p;
        if (oldest->fails > 0 && (p->fails == 0 || p->last_ms < oldest->last_ms))
            oldest = p;
    }
    memcpy(oldest->addr, addr, MP_BACKOFF_ADDR_LEN);
    oldest->fails = 0;
    return oldest;
}

uint32_t mp_backoff_fail(struct mp_backoff *b, const unsigned char addr[MP_BACKOFF_ADDR_LEN],
                         int64_t now_ms, uint32_t base_ms)
{
    struct mp_backoff_peer *p = slot_for(b, addr);
    if (p->fails > 0 && now_ms - p->last_ms > MP_BACKOFF_FORGET_MS)
        p->fails = 0;
    if (p->fails < UINT32_MAX)
        p->fails++;
    p->last_ms = now_ms;
    if (base_ms == 0 || p->fails <= MP_BACKOFF_FREE)
        return 0;
    uint32_t shift = p->fails - MP_BACKOFF_FREE - 1;
    if (shift > MP_BACKOFF_SHIFT_MAX)
        shift = MP_BACKOFF_SHIFT_MAX;
    uint64_t ms = (uint64_t)base_ms << shift;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}
