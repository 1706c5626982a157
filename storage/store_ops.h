/* The write side of the store ops, over the backend primitives: every
 * mp_op kind as one sequence of gets, puts, deletes and scans in a write
 * transaction, and the apply around them (all or nothing, run again when
 * the backend asks for it). The rules they follow are lifecycle.c's, the
 * record encodings codec.c's. */
#ifndef MP_STORAGE_STORE_OPS_H
#define MP_STORAGE_STORE_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* The input check that needs the whole list: false when ops[i] is an
 * ADD_JOB that inherits its seqs (store.h) with no RECORD_TURN of its user
 * before it. */
bool mp_store_ops_job_ok(const struct mp_op *ops, size_t i);

/* mp_store_apply() once every op has passed the input checks: the same
 * contract. Applies the ops in one write transaction, again from the start
 * while the backend's end answers MP_AGAIN (LMDB: the map grew), and
 * writes the outcomes back into the ops once it committed. */
int mp_store_ops_apply(struct mp_store *store, struct mp_op *ops, size_t nops);

#endif
