/* A day's token spend by user (importquota.h): the store's spend table
 * (storage/ops/store_spend.h) read before an import and added to in the
 * import's transaction. */
#include "admin/importquota.h"

#include <string.h>

#include "status.h"

#define DAY_MS 86400000LL

int mp_importquota_spent(struct mp_store *store, const char *user, size_t len, int64_t now_ms,
                         uint64_t *tokens)
{
    *tokens = 0;
    return mp_store_day_spend(store, user, len, now_ms, tokens);
}

void mp_importquota_op(struct mp_op *op, const char *user, size_t len, int64_t now_ms,
                       const uint64_t *op_tokens, unsigned turns_per_call, uint32_t call_tokens,
                       uint64_t limit)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_SPEND_TOKENS;
    op->user = user;
    op->user_len = len;
    op->now_ms = now_ms;
    op->u.spend.op_tokens = op_tokens;
    op->u.spend.turns_per_call = turns_per_call > 0 ? turns_per_call : 1;
    op->u.spend.call_tokens = call_tokens;
    op->u.spend.limit = limit;
}

unsigned mp_importquota_seconds_left(int64_t now_ms)
{
    int64_t left = DAY_MS - now_ms % DAY_MS;
    return (unsigned)((left + 999) / 1000);
}
