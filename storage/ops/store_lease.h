/* The leases table (store_backend.h): which process is running a memory
 * job, and until when. Read and written inside a transaction of the
 * caller's; the op that claims a job is store_ops.c's (MP_OP_CLAIM_JOB). */
#ifndef MP_STORAGE_STORE_LEASE_H
#define MP_STORAGE_STORE_LEASE_H

#include <stdint.h>

#include "ops/store_backend.h"

/* The lease of job_id into *owner and *until_ms: MP_OK, MP_NOTFOUND (no
 * lease), MP_EIO (a record that does not decode). */
int mp_lease_read(struct mp_store_txn *txn, uint64_t job_id, uint64_t *owner, int64_t *until_ms);

/* Writes the lease of job_id: MP_OK or the backend's error. */
int mp_lease_write(struct mp_store_txn *txn, uint64_t job_id, uint64_t owner, int64_t until_ms);

/* Removes the lease of job_id: MP_OK (also when there was none) or the
 * backend's error. */
int mp_lease_drop(struct mp_store_txn *txn, uint64_t job_id);

#endif
