/* Conversations kept with the user (store_conv.c): the op layer's writes
 * (PUT_CONV, NOTE_LEAD; a moved epoch clears them: store_user.c) and the reads the view
 * answers with. Private to the op layer. */
#ifndef MP_STORAGE_STORE_CONV_H
#define MP_STORAGE_STORE_CONV_H

#include "ops/store_user.h"

int mp_ops_put_conv(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);
int mp_ops_note_lead(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);
/* The conversation whose head record is head_key[0..klen) (a key of the
 * loaded user's MP_OPS_CONV_STATE records; another is left alone) becomes
 * a tombstone, both records: no head, no tail, written at at_ms. MP_OK or
 * the backend's error. */
int mp_ops_clear_conv(struct mp_ops_ctx *w, const unsigned char *head_key, size_t klen,
                      int64_t at_ms);

/* The record of conversation key (MP_STORE_CONV_KEY_LEN bytes) of the user
 * of prefix P[0..plen) in txn: MP_OK with *out (mp_store_conv_cleanup()),
 * MP_NOTFOUND, MP_EIO, MP_ENOMEM. */
int mp_store_conv_read(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       const unsigned char *key, struct mp_store_conv *out);
/* The beginnings client id key was seen with: MP_OK (*n 0: none) or an
 * error. */
int mp_store_leads_read(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const unsigned char *key, uint64_t *leads, size_t *n);

#endif
