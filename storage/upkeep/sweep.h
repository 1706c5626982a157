/* Retention passes over a whole store: every user, a page at a time, each
 * page swept (MP_OP_SWEEP_USER) in one apply. A pass may be run to the end
 * at once (mp_sweep_run) or step by step (mp_sweep_step), so that a writer
 * thread can commit other work between pages of a long pass. */
#ifndef MP_STORAGE_SWEEP_H
#define MP_STORAGE_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

#define MP_SWEEP_PAGE 256 /* users per apply */

/* Limits from days (0: no limit; pii 0: the general limit applies) and the
 * idempotency window in hours (>= 1: keys older than that are purged). */
void mp_sweep_retention_days(uint32_t retention_days, uint32_t pii_retention_days,
                             uint32_t idempotency_hours, struct mp_retention *out);

/* A pass in progress. */
struct mp_sweep_pass {
    int64_t now_ms; /* everything is judged as of this time */
    struct mp_retention retention;
    unsigned char cursor[MP_STORE_CURSOR_MAX];
    size_t cursor_len; /* 0: at the start */
    struct mp_sweep_counts counts;
};

/* Starts a pass at now_ms with the limits r (copied). */
void mp_sweep_begin(struct mp_sweep_pass *pass, int64_t now_ms, const struct mp_retention *r);

/* Sweeps the pass's next page of up to page users (>= 1), adding to
 * pass->counts: MP_AGAIN while users remain, MP_OK when the pass is
 * complete, else the store's error (what was swept stays swept). Users
 * added behind the cursor meanwhile wait for the next pass. */
int mp_sweep_step(struct mp_store *store, struct mp_sweep_pass *pass, size_t page);

/* A whole pass: MP_OK with the counts added to *out, else the store's error. */
int mp_sweep_run(struct mp_store *store, int64_t now_ms, const struct mp_retention *r,
                 struct mp_sweep_counts *out);

/* to += c, field by field. */
void mp_sweep_counts_add(struct mp_sweep_counts *to, const struct mp_sweep_counts *c);

#endif
