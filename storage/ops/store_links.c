/* The links record: key HMAC-SHA256(links key, user key), value i64le
 * links_void_ms (8 bytes), sealed like every other value in a sealed
 * store. */
#include "ops/store_links.h"

#include "format/codec.h"
#include "format/sha256.h"
#include "ops/store.h"
#include "status.h"

#define LINKS_KEY_LEN 32
#define LINKS_LEN     8

static void links_key(const struct mp_store *store, const char *user, size_t len,
                      unsigned char out[LINKS_KEY_LEN])
{
    mp_hmac_sha256(store->links_key, MP_SEAL_KEY_LEN, user, len, out);
}

/* The stored time (0 when none) into *ms: MP_OK or MP_EIO. */
static int read_void(struct mp_store_txn *txn, const char *user, size_t len, int64_t *ms)
{
    unsigned char k[LINKS_KEY_LEN];
    struct mp_store_plain pv;
    links_key(txn->store, user, len, k);
    *ms = 0;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_LINKS, k, sizeof(k), &pv);
    if (rc == MP_OK) {
        if (pv.n != LINKS_LEN)
            rc = MP_EIO;
        else
            *ms = (int64_t)mp_codec_le_get(pv.p, LINKS_LEN);
    }
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_links_void(struct mp_store_txn *txn, const char *user, size_t len, int64_t before_ms)
{
    unsigned char k[LINKS_KEY_LEN], v[LINKS_LEN];
    int64_t now = 0;
    int rc = read_void(txn, user, len, &now);
    if (rc != MP_OK || before_ms <= now)
        return rc;
    links_key(txn->store, user, len, k);
    mp_codec_le_put(v, (uint64_t)before_ms, LINKS_LEN);
    return mp_store_backend_put(txn, MP_TABLE_LINKS, k, sizeof(k), v, sizeof(v));
}

int mp_store_links_void(struct mp_store *store, const char *user, size_t user_len,
                        int64_t *before_ms)
{
    struct mp_store_txn txn;
    int64_t ms = 0;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = read_void(&txn, user, user_len, &ms);
    store->be->end(&txn, false);
    if (rc == MP_OK)
        *before_ms = ms;
    return rc;
}
