/* The read side of the store ops (store_read.c implements store.h's
 * reads: a user's memory, a user's history, the jobs, the users listing).
 * The record readers below are shared with store_ops.c, which reads
 * inside its write transaction. */
#ifndef MP_STORAGE_STORE_READ_H
#define MP_STORAGE_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"
#include "ops/store_backend.h"

/* The history entries under prefix[0..plen) (one user's), oldest first,
 * appended to h, stopping before the first one whose time is at or after
 * until_ms (INT64_MAX: all); *more (may be NULL) tells whether one is left
 * there. MP_OK, MP_EIO (a record fails to open or decode), MP_ENOMEM. */
int mp_store_read_history_until(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                                int64_t until_ms, struct mp_history *h, bool *more);

/* The job record key[0..klen), value v[0..vn) as stored, into *job. MP_OK,
 * MP_EIO, MP_ENOMEM. */
int mp_store_read_job(const struct mp_store *store, const unsigned char *key, size_t klen,
                      const unsigned char *v, size_t vn, struct mp_job *job);

/* Frees h's entries and empties it (h itself stays). */
void mp_store_read_history_clear(struct mp_history *h);

#endif
