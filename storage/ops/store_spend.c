/* The spend record: key HMAC-SHA256(links key, user key) in its own
 * table, value i64le UTC day (ms / 86,400,000) | u64le tokens (16 bytes),
 * sealed like every other value in a sealed store. */
#include "ops/store_spend.h"

#include "format/codec.h"
#include "format/sha256.h"
#include "ops/store.h"
#include "status.h"

#define SPEND_KEY_LEN 32
#define SPEND_LEN     16
#define DAY_MS        86400000LL

static void spend_key(const struct mp_store *store, const char *user, size_t len,
                      unsigned char out[SPEND_KEY_LEN])
{
    mp_hmac_sha256(store->links_key, MP_SEAL_KEY_LEN, user, len, out);
}

/* The tokens stored for the UTC day of now_ms (0 when none, or of
 * another day) into *tokens: MP_OK or MP_EIO. */
static int read_spend(struct mp_store_txn *txn, const char *user, size_t len, int64_t now_ms,
                      uint64_t *tokens)
{
    unsigned char k[SPEND_KEY_LEN];
    struct mp_store_plain pv;
    spend_key(txn->store, user, len, k);
    *tokens = 0;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_SPEND, k, sizeof(k), &pv);
    if (rc == MP_OK) {
        if (pv.n != SPEND_LEN)
            rc = MP_EIO;
        else if ((int64_t)mp_codec_le_get(pv.p, 8) == now_ms / DAY_MS)
            *tokens = mp_codec_le_get(pv.p + 8, 8);
    }
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_spend_add(struct mp_store_txn *txn, const char *user, size_t len, int64_t now_ms,
                 uint64_t tokens, uint64_t limit)
{
    unsigned char k[SPEND_KEY_LEN], v[SPEND_LEN];
    uint64_t spent = 0;
    int rc = tokens > 0 ? read_spend(txn, user, len, now_ms, &spent) : MP_OK;
    if (rc != MP_OK || tokens == 0)
        return rc;
    uint64_t day = spent + tokens < spent ? UINT64_MAX : spent + tokens;
    if (limit > 0 && day > limit)
        return MP_ECONFLICT;
    spend_key(txn->store, user, len, k);
    mp_codec_le_put(v, (uint64_t)(now_ms / DAY_MS), 8);
    mp_codec_le_put(v + 8, day, 8);
    return mp_store_backend_put(txn, MP_TABLE_SPEND, k, sizeof(k), v, sizeof(v));
}

int mp_store_day_spend(struct mp_store *store, const char *user, size_t user_len, int64_t now_ms,
                       uint64_t *tokens)
{
    struct mp_store_txn txn;
    uint64_t n = 0;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = read_spend(&txn, user, user_len, now_ms, &n);
    store->be->end(&txn, false);
    if (rc == MP_OK)
        *tokens = n;
    return rc;
}
