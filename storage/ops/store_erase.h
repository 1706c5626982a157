/* A person's erasure follows provenance (store_erase.c; store.h,
 * DELETE_ENTITY and DELETE_MESSAGE): deleting a fact takes every turn that
 * told any value it had, and every message holding one, from the buffer,
 * the archive and its index, the summary and the pending extractions;
 * deleting a message takes the facts that rested on its turn alone.
 * Private to the op layer. */
#ifndef MP_STORAGE_STORE_ERASE_H
#define MP_STORAGE_STORE_ERASE_H

#include "ops/store_user.h"

/* MP_OP_DELETE_ENTITY (store.h). */
int mp_ops_delete_entity(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);

/* MP_OP_DELETE_MESSAGE (store.h). */
int mp_ops_delete_message(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);

#endif
