/* Failures of authentication by peer: a bounded table that says how long
 * to wait before answering a peer's next refusal (401, 403), so that
 * guessing a token or a link from one address slows down exponentially.
 * Pure: time comes in as an argument; the caller waits (never blocking
 * its loop) and counts. It does not decide what a failure is.
 *
 * The rule: a peer's first MP_BACKOFF_FREE failures are answered at once;
 * the next waits base_ms, each further one twice the last, up to
 * base_ms << MP_BACKOFF_SHIFT_MAX. A peer with no failure for
 * MP_BACKOFF_FORGET_MS starts again from none. A success forgets nothing
 * (alternating a good link with guesses would reset it). The table holds
 * MP_BACKOFF_PEERS peers; a new one takes the place of the peer whose
 * last failure is oldest. */
#ifndef MP_CORE_BACKOFF_H
#define MP_CORE_BACKOFF_H

#include <stdint.h>

#define MP_BACKOFF_PEERS     512
#define MP_BACKOFF_FREE      3
#define MP_BACKOFF_SHIFT_MAX 5
#define MP_BACKOFF_FORGET_MS (10 * 60 * 1000)
#define MP_BACKOFF_ADDR_LEN  16 /* an IPv6 address, or an IPv4 one mapped into it */

struct mp_backoff_peer {
    unsigned char addr[MP_BACKOFF_ADDR_LEN];
    uint32_t fails; /* 0: the slot is free */
    int64_t last_ms;
};

/* Zeroed (or mp_backoff_init()) before use; a plain value, never freed. */
struct mp_backoff {
    struct mp_backoff_peer peers[MP_BACKOFF_PEERS];
};

void mp_backoff_init(struct mp_backoff *b);

/* Records a failure of addr (borrowed) at now_ms and returns how many
 * milliseconds its answer waits (0: at once; base_ms 0: always 0). */
uint32_t mp_backoff_fail(struct mp_backoff *b, const unsigned char addr[MP_BACKOFF_ADDR_LEN],
                         int64_t now_ms, uint32_t base_ms);

#endif
