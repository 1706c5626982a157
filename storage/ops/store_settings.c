/* The settings record: u8 mode | i64le set_at_ms | u8 actor (10 bytes),
 * sealed like every other value in a sealed store. */
#include "ops/store_settings.h"

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"

#define SETTINGS_LEN 10

int mp_settings_read(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                     enum mp_user_mode *mode, int64_t *set_at_ms)
{
    struct mp_store_plain pv;
    *mode = MP_USER_MODE_AUTO;
    if (set_at_ms != NULL)
        *set_at_ms = 0;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_SETTINGS, phys, len, &pv);
    if (rc == MP_OK) {
        const unsigned char *p = pv.p;
        if (pv.n != SETTINGS_LEN || mp_usermode_name((enum mp_user_mode)p[0])[0] == '\0') {
            rc = MP_EIO;
        } else {
            *mode = (enum mp_user_mode)p[0];
            if (set_at_ms != NULL)
                *set_at_ms = (int64_t)mp_codec_le_get(p + 1, 8);
        }
    }
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_settings_write(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                      enum mp_user_mode mode, int64_t set_at_ms, enum mp_actor actor)
{
    if (mode == MP_USER_MODE_AUTO) {
        int rc = txn->store->be->del(txn, MP_TABLE_SETTINGS, phys, len);
        return rc == MP_NOTFOUND ? MP_OK : rc;
    }
    unsigned char v[SETTINGS_LEN];
    v[0] = (unsigned char)mode;
    mp_codec_le_put(v + 1, (uint64_t)set_at_ms, 8);
    v[9] = (unsigned char)actor;
    return mp_store_backend_put(txn, MP_TABLE_SETTINGS, phys, len, v, sizeof(v));
}

int mp_store_user_mode(struct mp_store *store, const char *user, size_t user_len,
                       enum mp_user_mode *mode, int64_t *set_at_ms)
{
    unsigned char phys[MP_STORE_PHYS_USER_MAX];
    struct mp_store_txn txn;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    size_t n = mp_store_backend_phys_user(store, user, user_len, phys);
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = mp_settings_read(&txn, phys, n, mode, set_at_ms);
    store->be->end(&txn, false);
    return rc;
}
