/* A store copied record by record through the backends' primitives: one
 * read transaction on the source per table, the records buffered in
 * batches and each batch written in one transaction of the destination
 * (run again when the destination asks: LMDB grows its map). */
#include "upkeep/store_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store_backend.h"

#define BATCH_RECORDS 2000
#define BATCH_BYTES   (4u << 20)

struct batch {
    struct mp_store *to;
    enum mp_store_table t;
    unsigned char *data; /* key | value, back to back */
    size_t len, cap;
    size_t *lens; /* klen, vlen pairs */
    size_t n;
    int failed; /* the first write error */
    struct mp_store_copy_counts *counts;
};

static int write_batch(struct batch *b)
{
    int rc;
    if (b->n == 0)
        return MP_OK;
    do {
        struct mp_store_txn txn;
        rc = b->to->be->begin(b->to, true, &txn);
        if (rc != MP_OK)
            return rc;
        const unsigned char *p = b->data;
        for (size_t i = 0; rc == MP_OK && i < b->n; i++) {
            size_t kl = b->lens[2 * i], vl = b->lens[2 * i + 1];
            rc = b->to->be->put(&txn, b->t, p, kl, p + kl, vl);
            p += kl + vl;
        }
        int end = b->to->be->end(&txn, rc == MP_OK);
        rc = end != MP_OK ? end : rc;
    } while (rc == MP_AGAIN);
    b->len = b->n = 0;
    return rc;
}

static int on_record(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                     size_t vlen)
{
    struct batch *b = arg;
    if (b->n == BATCH_RECORDS || b->len + klen + vlen > BATCH_BYTES) {
        b->failed = write_batch(b);
        if (b->failed != MP_OK)
            return b->failed;
    }
    if (b->len + klen + vlen > b->cap) {
        size_t cap = b->len + klen + vlen > BATCH_BYTES ? b->len + klen + vlen : BATCH_BYTES;
        unsigned char *d = realloc(b->data, cap);
        if (d == NULL)
            return b->failed = MP_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, key, klen);
    if (vlen > 0)
        memcpy(b->data + b->len + klen, val, vlen);
    b->len += klen + vlen;
    b->lens[2 * b->n] = klen;
    b->lens[2 * b->n + 1] = vlen;
    b->n++;
    b->counts->records++;
    if (b->t == MP_TABLE_USERS)
        b->counts->users++;
    return MP_OK;
}

static int on_any(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    *(bool *)arg = true;
    return MP_STORE_SCAN_STOP;
}

/* Whether to holds a record outside meta. */
static int holds_records(struct mp_store *to, bool *any)
{
    struct mp_store_txn txn;
    *any = false;
    int rc = to->be->begin(to, false, &txn);
    for (int t = MP_TABLE_META + 1; rc == MP_OK && !*any && t < MP_TABLE_COUNT; t++)
        rc = to->be->scan(&txn, (enum mp_store_table)t, NULL, 0, 0, on_any, any);
    int end = to->be->end(&txn, false);
    return rc != MP_OK ? rc : end;
}

static int copy_table(struct mp_store *from, struct batch *b)
{
    struct mp_store_txn txn;
    int rc = from->be->begin(from, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = from->be->scan(&txn, b->t, NULL, 0, 0, on_record, b);
    from->be->end(&txn, false);
    if (rc == MP_OK)
        rc = write_batch(b);
    return rc;
}

int mp_store_copy(struct mp_store *from, struct mp_store *to, struct mp_store_copy_counts *counts,
                  char *err, size_t errcap)
{
    bool any = false;
    memset(counts, 0, sizeof(*counts));
    if (from->sealed != to->sealed || (from->sealed && from->key.id != to->key.id)) {
        snprintf(err, errcap,
                 "the stores are not sealed alike: both must be in clear, or both use the same "
                 "[storage] encryption_key_file");
        return MP_EINVAL;
    }
    int rc = holds_records(to, &any);
    if (rc != MP_OK) {
        snprintf(err, errcap, "cannot read the destination store");
        return rc;
    }
    if (any) {
        snprintf(err, errcap, "the destination store is not empty: copy into a new one");
        return MP_EINVAL;
    }
    struct batch b = {.to = to, .counts = counts};
    b.lens = malloc(2 * BATCH_RECORDS * sizeof(*b.lens));
    if (b.lens == NULL) {
        snprintf(err, errcap, "out of memory");
        return MP_ENOMEM;
    }
    for (int t = 0; rc == MP_OK && t < MP_TABLE_COUNT; t++) {
        b.t = (enum mp_store_table)t;
        rc = copy_table(from, &b);
        if (rc != MP_OK)
            snprintf(err, errcap, "copying the %s records failed (%s)", mp_store_table_names[t],
                     rc == MP_ETOOBIG ? "the destination is full" : "an I/O error");
    }
    free(b.lens);
    free(b.data);
    return rc;
}
