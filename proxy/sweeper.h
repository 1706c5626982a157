/* The retention sweeper: one pass over every user of the store, purging
 * what [governance] retention_days and pii_retention_days have expired
 * (MP_OP_SWEEP_USER: for real, history included), and idempotency keys
 * older than a day. Runs on the memory worker's thread, which owns every
 * store write; pages of users are swept one apply at a time, so a pass
 * never holds the write lock for long. */
#ifndef MP_PROXY_SWEEPER_H
#define MP_PROXY_SWEEPER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

#define MP_SWEEPER_PAGE 256 /* users per apply */
#define MP_SWEEPER_IDEM_AGE                                                                        \
    (24LL * 3600 * 1000) /* retried turns older than this may record again */

/* The limits of cfg as ages in ms. */
void mp_sweeper_retention(const struct mp_config *cfg, struct mp_retention *out);

/* A pass in progress, one page at a time: a long pass over a big store
 * must not hold up the turns the memory worker commits in between. */
struct mp_sweep_pass {
    int64_t now_ms; /* the pass's clock: everything is judged as of this */
    unsigned char cursor[MP_STORE_CURSOR_MAX];
    size_t cursor_len; /* 0: at the start */
    struct mp_sweep_counts counts;
};

/* Starts a pass at now_ms. */
void mp_sweeper_begin(struct mp_sweep_pass *pass, int64_t now_ms);

/* Sweeps the pass's next page (MP_SWEEPER_PAGE users, one apply), adding
 * to pass->counts: MP_AGAIN while users remain, MP_OK when the pass is
 * complete, else the store's error (what was swept stays swept). */
int mp_sweeper_step(struct mp_store *store, const struct mp_config *cfg,
                    struct mp_sweep_pass *pass);

/* A whole pass at time now_ms: MP_OK with the counts added to *out; else
 * the store's error. */
int mp_sweeper_run(struct mp_store *store, const struct mp_config *cfg, int64_t now_ms,
                   struct mp_sweep_counts *out);

#endif
