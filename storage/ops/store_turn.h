/* RECORD_TURN in the op layer (store_turn.c): a turn recorded under its
 * idempotency key, or the earlier reply of a known key replaced (store.h). */
#ifndef MP_STORAGE_STORE_TURN_H
#define MP_STORAGE_STORE_TURN_H

#include "ops/store_user.h"

/* MP_OP_RECORD_TURN of op, as store.h says: out's result, seqs and
 * replaced. */
int mp_ops_record_turn(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);

#endif
