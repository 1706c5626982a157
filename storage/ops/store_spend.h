/* The spend table (store_backend.h): the memory-model tokens a user's
 * imports queued on one UTC day, for [memory]
 * max_model_tokens_per_user_day. One record a user, the day and its
 * tokens (a new day starts from 0; no history). Kept apart from the
 * user's records, under a keyed hash of the user key like the links
 * table, so that erasure, which removes the user, leaves the day's spend
 * (erasing and importing again spends the same day) and no trace of the
 * id. */
#ifndef MP_STORAGE_STORE_SPEND_H
#define MP_STORAGE_STORE_SPEND_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store_backend.h"

/* Adds tokens to the spend of user[0..len) on the UTC day of now_ms (a
 * record of an earlier day is replaced; 0 tokens write nothing). MP_OK;
 * MP_ECONFLICT (nothing written) when limit > 0 and the day would pass
 * it; MP_EIO or an error of the backend. */
int mp_spend_add(struct mp_store_txn *txn, const char *user, size_t len, int64_t now_ms,
                 uint64_t tokens, uint64_t limit);

#endif
