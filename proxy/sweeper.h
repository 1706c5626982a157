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

/* One pass at time now_ms: MP_OK with the counts added to *out; else the
 * store's error (what was swept before it stays swept). */
int mp_sweeper_run(struct mp_store *store, const struct mp_config *cfg, int64_t now_ms,
                   struct mp_sweep_counts *out);

#endif
