/* The lease record: u64le owner | i64le until_ms (16 bytes) under the
 * job's id (u64be), sealed like every value in a sealed store. */
#include "ops/store_lease.h"

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"

#define LEASE_LEN 16

int mp_lease_read(struct mp_store_txn *txn, uint64_t job_id, uint64_t *owner, int64_t *until_ms)
{
    unsigned char k[8];
    struct mp_store_plain pv;
    mp_codec_be_put(k, job_id, 8);
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_LEASES, k, sizeof(k), &pv);
    if (rc == MP_OK && pv.n != LEASE_LEN)
        rc = MP_EIO;
    if (rc == MP_OK) {
        *owner = mp_codec_le_get(pv.p, 8);
        *until_ms = (int64_t)mp_codec_le_get(pv.p + 8, 8);
    }
    mp_store_backend_plain_done(&pv);
    return rc;
}

int mp_lease_write(struct mp_store_txn *txn, uint64_t job_id, uint64_t owner, int64_t until_ms)
{
    unsigned char k[8], v[LEASE_LEN];
    mp_codec_be_put(k, job_id, 8);
    mp_codec_le_put(v, owner, 8);
    mp_codec_le_put(v + 8, (uint64_t)until_ms, 8);
    return mp_store_backend_put(txn, MP_TABLE_LEASES, k, sizeof(k), v, sizeof(v));
}

int mp_lease_drop(struct mp_store_txn *txn, uint64_t job_id)
{
    unsigned char k[8];
    mp_codec_be_put(k, job_id, 8);
    int rc = txn->store->be->del(txn, MP_TABLE_LEASES, k, sizeof(k));
    return rc == MP_NOTFOUND ? MP_OK : rc;
}
