/* The settings record: u8 mode | i64le set_at_ms | u8 actor (10 bytes),
 * then, when the user's page links were ever revoked, i64le
 * links_void_ms (18 bytes), sealed like every other value in a sealed
 * store. A 10-byte record reads as never revoked, so records written
 * before the field was added need no conversion. */
#include "ops/store_settings.h"

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"

#define SETTINGS_LEN       10
#define SETTINGS_LINKS_LEN 18

/* The whole record (defaults when none is stored): MP_OK or MP_EIO. */
static int read_record(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                       struct mp_settings *out)
{
    struct mp_store_plain pv;
    *out = (struct mp_settings){.mode = MP_USER_MODE_AUTO};
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_SETTINGS, phys, len, &pv);
    if (rc == MP_OK) {
        const unsigned char *p = pv.p;
        if ((pv.n != SETTINGS_LEN && pv.n != SETTINGS_LINKS_LEN) ||
            mp_usermode_name((enum mp_user_mode)p[0])[0] == '\0') {
            rc = MP_EIO;
        } else {
            out->mode = (enum mp_user_mode)p[0];
            out->set_at_ms = (int64_t)mp_codec_le_get(p + 1, 8);
            out->actor = p[9];
            if (pv.n == SETTINGS_LINKS_LEN)
                out->links_void_ms = (int64_t)mp_codec_le_get(p + 10, 8);
        }
    }
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* Writes s (removes the record when it says nothing: auto, never revoked). */
static int write_record(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                        const struct mp_settings *s)
{
    if (s->mode == MP_USER_MODE_AUTO && s->links_void_ms == 0) {
        int rc = txn->store->be->del(txn, MP_TABLE_SETTINGS, phys, len);
        return rc == MP_NOTFOUND ? MP_OK : rc;
    }
    unsigned char v[SETTINGS_LINKS_LEN];
    v[0] = (unsigned char)s->mode;
    mp_codec_le_put(v + 1, (uint64_t)s->set_at_ms, 8);
    v[9] = s->actor;
    mp_codec_le_put(v + 10, (uint64_t)s->links_void_ms, 8);
    return mp_store_backend_put(txn, MP_TABLE_SETTINGS, phys, len, v,
                                s->links_void_ms != 0 ? SETTINGS_LINKS_LEN : SETTINGS_LEN);
}

int mp_settings_read(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                     enum mp_user_mode *mode, int64_t *set_at_ms)
{
    struct mp_settings s;
    int rc = read_record(txn, phys, len, &s);
    *mode = rc == MP_OK ? s.mode : MP_USER_MODE_AUTO;
    if (set_at_ms != NULL)
        *set_at_ms = rc == MP_OK ? s.set_at_ms : 0;
    return rc;
}

int mp_settings_write(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                      enum mp_user_mode mode, int64_t set_at_ms, enum mp_actor actor)
{
    struct mp_settings s;
    int rc = read_record(txn, phys, len, &s);
    if (rc != MP_OK)
        return rc;
    s.mode = mode;
    s.set_at_ms = mode == MP_USER_MODE_AUTO ? 0 : set_at_ms;
    s.actor = mode == MP_USER_MODE_AUTO ? 0 : (unsigned char)actor;
    return write_record(txn, phys, len, &s);
}

int mp_settings_void_links(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                           int64_t before_ms)
{
    struct mp_settings s;
    int rc = read_record(txn, phys, len, &s);
    if (rc != MP_OK)
        return rc;
    if (before_ms <= s.links_void_ms)
        return MP_OK;
    s.links_void_ms = before_ms;
    return write_record(txn, phys, len, &s);
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

int mp_store_links_void(struct mp_store *store, const char *user, size_t user_len,
                        int64_t *before_ms)
{
    unsigned char phys[MP_STORE_PHYS_USER_MAX];
    struct mp_store_txn txn;
    struct mp_settings s;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    size_t n = mp_store_backend_phys_user(store, user, user_len, phys);
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = read_record(&txn, phys, n, &s);
    store->be->end(&txn, false);
    if (rc == MP_OK)
        *before_ms = s.links_void_ms;
    return rc;
}
