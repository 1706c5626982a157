/* The memory-model tokens each user's imports queue in a UTC day, for
 * [memory] max_model_tokens_per_user_day (docs/admin-import-export.md
 * "Bounds of an import"): the one place that reads and spends the day.
 * The spend is kept in the store (mp_store_day_spend(), the spend
 * table), written in the import's own transaction, so a restart keeps
 * it, every process on one PostgreSQL store shares it, and erasing the
 * user does not reset it. It does not count chat turns' extraction or
 * summaries: the queue bounds those. Memory worker's thread. */
#ifndef MP_PROXY_ADMIN_IMPORTQUOTA_H
#define MP_PROXY_ADMIN_IMPORTQUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

/* The tokens the user key user[0..len) (borrowed) spent on the UTC day
 * of now_ms into *tokens (0 for a user not seen that day): MP_OK or the
 * store's error. */
int mp_importquota_spent(struct mp_store *store, const char *user, size_t len, int64_t now_ms,
                         uint64_t *tokens);

/* Fills op, the last of an import's apply, to add to the user's day what
 * the ADD_JOB ops before it queue: op_tokens[i] (borrowed until the
 * apply) the estimate of op i's turn, turns_per_call (0 taken as 1) of
 * them a call, each call call_tokens more. The apply fails whole with
 * MP_ECONFLICT when the day would pass limit (0: unchecked), which
 * another process sharing the store may have spent since the check. */
void mp_importquota_op(struct mp_op *op, const char *user, size_t len, int64_t now_ms,
                       const uint64_t *op_tokens, unsigned turns_per_call, uint32_t call_tokens,
                       uint64_t limit);

/* Seconds from now_ms to the next UTC midnight, when the spend restarts
 * (at least 1). */
unsigned mp_importquota_seconds_left(int64_t now_ms);

#endif
