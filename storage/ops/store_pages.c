/* Pages of one user's facts and history (store.h: mp_store_facts_page,
 * mp_store_history_page), read so that a page costs memory for the page,
 * not for the user: the history is keyed by seq, so its page is a ranged
 * scan; facts are keyed by id (in a sealed store their key index by tag),
 * so a page of them in key order is the scan of every fact keeping the
 * limit smallest keys after the cursor in a bounded max-heap. */
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "status.h"

struct facts_heap {
    const char *after; /* keys at or before it are not wanted */
    struct mp_mem_entity *e;
    size_t n, limit;
    size_t seen; /* facts after the cursor, kept or not */
};

static int key_cmp(const struct mp_mem_entity *a, const struct mp_mem_entity *b)
{
    return strcmp(a->key, b->key);
}

/* Restores the max-heap below slot i (the largest key at e[0]). */
static void sift_down(struct facts_heap *fh, size_t i)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < fh->n && key_cmp(&fh->e[l], &fh->e[big]) > 0)
            big = l;
        if (r < fh->n && key_cmp(&fh->e[r], &fh->e[big]) > 0)
            big = r;
        if (big == i)
            return;
        struct mp_mem_entity t = fh->e[i];
        fh->e[i] = fh->e[big];
        fh->e[big] = t;
        i = big;
    }
}

static void sift_up(struct facts_heap *fh, size_t i)
{
    while (i > 0 && key_cmp(&fh->e[(i - 1) / 2], &fh->e[i]) < 0) {
        struct mp_mem_entity t = fh->e[i];
        fh->e[i] = fh->e[(i - 1) / 2];
        fh->e[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static int on_fact(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct facts_heap *fh = arg;
    struct mp_mem_entity e;
    (void)id;
    memset(&e, 0, sizeof(e));
    int rc = mp_codec_get_fact(pv->p, pv->n, &e);
    if (rc != MP_OK)
        return rc;
    if (strcmp(e.key, fh->after) <= 0) {
        free(e.value);
        return MP_OK;
    }
    fh->seen++;
    if (fh->n < fh->limit) {
        fh->e[fh->n++] = e;
        sift_up(fh, fh->n - 1);
    } else if (key_cmp(&e, &fh->e[0]) < 0) {
        free(fh->e[0].value);
        fh->e[0] = e;
        sift_down(fh, 0);
    } else {
        free(e.value);
    }
    return MP_OK;
}

static int cmp_entity_key(const void *a, const void *b)
{
    return key_cmp(a, b);
}

void mp_store_facts_free(struct mp_mem_entity *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++)
        free(e[i].value);
    free(e);
}

int mp_store_facts_page(struct mp_store *store, const char *user, size_t user_len,
                        const char *after, size_t limit, struct mp_mem_entity **out, size_t *n,
                        bool *more)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    const unsigned char *v;
    size_t vn;
    struct mp_store_txn txn;
    if (mp_store_check_user(user, user_len) != MP_OK || limit == 0)
        return MP_EINVAL;
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
    struct facts_heap fh = {after, calloc(limit, sizeof(*fh.e)), 0, limit, 0};
    if (fh.e == NULL)
        return MP_ENOMEM;
    int status = store->be->begin(store, false, &txn);
    if (status == MP_OK) {
        status = store->be->get(&txn, MP_TABLE_USERS, prefix + 2, plen - 2, &v, &vn);
        if (status == MP_OK)
            status = mp_store_backend_scan_plain(&txn, MP_TABLE_FACTS, prefix, plen, plen, 4,
                                                 on_fact, &fh);
        store->be->end(&txn, false);
    }
    if (status != MP_OK) {
        mp_store_facts_free(fh.e, fh.n);
        return status;
    }
    qsort(fh.e, fh.n, sizeof(*fh.e), cmp_entity_key);
    *out = fh.e;
    *n = fh.n;
    *more = fh.seen > fh.n;
    return MP_OK;
}

struct hist_page {
    struct mp_history *h;
    size_t limit;
    bool more;
};

static int on_history(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct hist_page *hp = arg;
    struct mp_history *h = hp->h;
    if (h->nitems == hp->limit) {
        hp->more = true;
        return MP_STORE_SCAN_STOP;
    }
    memset(&h->items[h->nitems], 0, sizeof(h->items[0]));
    int rc = mp_codec_get_history(pv->p, pv->n, &h->items[h->nitems]);
    if (rc == MP_OK)
        h->items[h->nitems++].seq = mp_codec_be_get(id, 8);
    return rc;
}

int mp_store_history_page(struct mp_store *store, const char *user, size_t user_len, uint64_t after,
                          size_t limit, struct mp_history **out, bool *more)
{
    unsigned char start[MP_STORE_HIST_KEY_MAX];
    const unsigned char *v;
    size_t vn;
    struct mp_store_txn txn;
    if (mp_store_check_user(user, user_len) != MP_OK || limit == 0 || after == UINT64_MAX)
        return MP_EINVAL;
    size_t plen = mp_store_backend_user_prefix(store, start, user, user_len);
    mp_codec_be_put(start + plen, after + 1, 8);
    struct mp_history *h = calloc(1, sizeof(*h));
    struct hist_page hp = {h, limit, false};
    if (h == NULL || (h->items = calloc(limit, sizeof(*h->items))) == NULL) {
        free(h);
        return MP_ENOMEM;
    }
    int status = store->be->begin(store, false, &txn);
    if (status == MP_OK) {
        status = store->be->get(&txn, MP_TABLE_USERS, start + 2, plen - 2, &v, &vn);
        if (status == MP_OK)
            status = mp_store_backend_scan_plain(&txn, MP_TABLE_HISTORY, start, plen + 8, plen, 8,
                                                 on_history, &hp);
        store->be->end(&txn, false);
    }
    if (status != MP_OK) {
        mp_history_free(h);
        return status;
    }
    *out = h;
    *more = hp.more;
    return MP_OK;
}
