/* Format 11's conversation records split into head and tail records (see
 * migrate_conv.h), one user at a time; not the other conversions. */
#include "ops/migrate_conv.h"

#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "format/seal.h"
#include "ops/store_user.h"
#include "status.h"

#define SPLIT_BATCH 256 /* records read per scan (a scan never runs beside its writes) */

struct old_convs {
    size_t plen;
    size_t n;
    unsigned char (*k)[MP_STORE_KEY_MAX];
    size_t *klen;
};

static int on_old(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                  size_t vn)
{
    struct old_convs *o = arg;
    (void)v;
    (void)vn;
    if (klen != o->plen + 1 + MP_STORE_CONV_KEY_LEN)
        return MP_OK;
    memcpy(o->k[o->n], key, klen);
    o->klen[o->n++] = klen;
    return o->n == SPLIT_BATCH ? MP_STORE_SCAN_STOP : MP_OK;
}

/* The record under k[0..klen), of format 11, written as two; dropped
 * when it does not decode. */
static int split_one(struct mp_store_txn *txn, size_t plen, unsigned char *k, size_t klen)
{
    struct mp_store_plain pv;
    struct mp_store_conv c;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_CONVS, k, klen, &pv);
    int dec = rc == MP_OK ? mp_codec_get_conv_v1(pv.p, pv.n, &c) : rc;
    mp_store_backend_plain_done(&pv);
    if (dec == MP_EIO)
        return txn->store->be->del(txn, MP_TABLE_CONVS, k, klen);
    if (dec != MP_OK)
        return dec;
    size_t hn = mp_codec_put_conv_head(NULL, &c), tn = mp_codec_put_conv_tail(NULL, &c, 0);
    unsigned char *buf = malloc(hn > tn ? hn : tn);
    rc = buf != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK) {
        mp_codec_put_conv_head(buf, &c);
        rc = mp_store_backend_put(txn, MP_TABLE_CONVS, k, klen, buf, hn);
    }
    if (rc == MP_OK) {
        size_t stored = hn + (txn->store->sealed ? MP_SEAL_OVERHEAD : 0);
        mp_codec_put_conv_tail(buf, &c, (uint32_t)stored);
        k[plen] = MP_OPS_CONV_TAIL;
        rc = mp_store_backend_put(txn, MP_TABLE_CONVS, k, klen, buf, tn);
        k[plen] = MP_OPS_CONV_STATE;
    }
    free(buf);
    mp_store_conv_cleanup(&c);
    return rc;
}

int mp_conv_split_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    unsigned char p[MP_STORE_KEY_MAX];
    size_t n = 2 + plen, slen = n + 1;
    if (plen > MP_STORE_PHYS_USER_MAX)
        return MP_EIO;
    mp_codec_be_put(p, plen, 2);
    memcpy(p + 2, phys, plen);
    p[n] = MP_OPS_CONV_STATE;
    struct old_convs o = {.plen = n,
                          .k = malloc(SPLIT_BATCH * sizeof(*o.k)),
                          .klen = malloc(SPLIT_BATCH * sizeof(size_t))};
    int rc = o.k != NULL && o.klen != NULL ? MP_OK : MP_ENOMEM;
    /* batch after batch, each scan from the last key split (itself taken
       again: a head record now, left alone) */
    for (bool more = rc == MP_OK; more;) {
        o.n = 0;
        rc = txn->store->be->scan(txn, MP_TABLE_CONVS, p, slen, n + 1, on_old, &o);
        size_t i = 0;
        if (rc == MP_OK && o.n > 0 && slen > n + 1 && o.klen[0] == slen &&
            memcmp(o.k[0], p, slen) == 0)
            i = 1; /* split in the batch before */
        for (; rc == MP_OK && i < o.n; i++)
            rc = split_one(txn, n, o.k[i], o.klen[i]);
        more = rc == MP_OK && o.n == SPLIT_BATCH;
        if (more) {
            memcpy(p, o.k[o.n - 1], o.klen[o.n - 1]);
            slen = o.klen[o.n - 1];
        }
    }
    free(o.k);
    free(o.klen);
    return rc;
}
