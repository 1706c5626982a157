/* The conversation table (convtab.h): chained hashing over the key's
 * first bytes (a SHA-256 digest: already uniform) and one doubly linked
 * list in use order, most recent first. The lock guards the structure
 * against a peek from another thread: the owner takes it around its
 * changes only (its own reads need none), uncontended but for a peek. */
#include "plane/convtab.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

struct entry {
    unsigned char key[MP_CONVTAB_KEY_LEN];
    struct mp_inject_head head;
    struct mp_inject_tail tail; /* the last question's tail (has_tail), for a tool loop */
    bool has_tail;
    int64_t built_ms, used_ms;
    size_t bytes;
    struct entry *chain;         /* next in the bucket */
    struct entry *newer, *older; /* use order */
};

struct mp_convtab {
    struct entry **buckets;
    size_t nbuckets; /* a power of two; 0 before the first put */
    size_t n, bytes;
    uint64_t evicted;
    struct entry *newest, *oldest;
    pthread_mutex_t lock;
};

struct mp_convtab *mp_convtab_new(void)
{
    struct mp_convtab *t = calloc(1, sizeof(*t));
    if (t != NULL && pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* The bucket of key among nbuckets (a power of two). */
static size_t bucket_in(const unsigned char *key, size_t nbuckets)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return (size_t)(h & (nbuckets - 1));
}

static size_t bucket_of(const struct mp_convtab *t, const unsigned char *key)
{
    return bucket_in(key, t->nbuckets);
}

static void unlink_use(struct mp_convtab *t, struct entry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void link_newest(struct mp_convtab *t, struct entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest != NULL)
        t->newest->newer = e;
    t->newest = e;
    if (t->oldest == NULL)
        t->oldest = e;
}

static struct entry **find(struct mp_convtab *t, const unsigned char *key)
{
    if (t->nbuckets == 0)
        return NULL;
    struct entry **p = &t->buckets[bucket_of(t, key)];
    while (*p != NULL && memcmp((*p)->key, key, MP_CONVTAB_KEY_LEN) != 0)
        p = &(*p)->chain;
    return *p != NULL ? p : NULL;
}

/* Drops the entry *p points at (its bucket link). */
static void drop(struct mp_convtab *t, struct entry **p)
{
    struct entry *e = *p;
    *p = e->chain;
    unlink_use(t, e);
    t->n--;
    t->bytes -= e->bytes;
    mp_inject_head_cleanup(&e->head);
    mp_inject_tail_cleanup(&e->tail);
    free(e);
}

static void evict_oldest(struct mp_convtab *t)
{
    struct entry **p = find(t, t->oldest->key);
    drop(t, p);
    t->evicted++;
}

static bool stale(const struct entry *e, int64_t now_ms, const struct mp_convtab_limits *lim)
{
    return now_ms - e->used_ms > lim->idle_ms || now_ms - e->built_ms > lim->max_age_ms;
}

const struct mp_inject_head *mp_convtab_get(struct mp_convtab *t, const unsigned char *key,
                                            int64_t now_ms, const struct mp_convtab_limits *lim)
{
    struct entry **p = find(t, key);
    if (p == NULL)
        return NULL;
    struct entry *e = *p;
    pthread_mutex_lock(&t->lock);
    if (stale(e, now_ms, lim)) {
        drop(t, p);
        e = NULL;
    } else {
        e->used_ms = now_ms;
        unlink_use(t, e);
        link_newest(t, e);
    }
    pthread_mutex_unlock(&t->lock);
    return e != NULL ? &e->head : NULL;
}

int mp_convtab_peek(struct mp_convtab *t, const unsigned char *key, int64_t now_ms,
                    const struct mp_convtab_limits *lim, struct mp_inject_head *out,
                    int64_t *used_ms)
{
    int rc = MP_NOTFOUND;
    pthread_mutex_lock(&t->lock);
    struct entry **p = find(t, key);
    if (p != NULL && !stale(*p, now_ms, lim)) {
        rc = mp_inject_head_copy(&(*p)->head, out);
        *used_ms = (*p)->used_ms;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* Doubles the buckets while there are more entries than buckets. */
static int grow(struct mp_convtab *t)
{
    if (t->n < t->nbuckets)
        return MP_OK;
    size_t cap = t->nbuckets > 0 ? t->nbuckets * 2 : 64;
    struct entry **b = calloc(cap, sizeof(*b));
    if (b == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (struct entry *e = t->buckets[i], *next; e != NULL; e = next) {
            size_t k = bucket_in(e->key, cap);
            next = e->chain;
            e->chain = b[k];
            b[k] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = cap;
    return MP_OK;
}

/* What a head's arrays hold. */
static size_t head_bytes(const struct mp_inject_head *h)
{
    return h->len + h->nfacts * sizeof(*h->fact_ids) + h->npast * sizeof(*h->past);
}

/* Drops the least recently used until t is within lim. */
static void trim(struct mp_convtab *t, const struct mp_convtab_limits *lim)
{
    while (t->n > lim->max_entries || t->bytes > lim->max_bytes)
        evict_oldest(t);
}

static int put(struct mp_convtab *t, const unsigned char *key, struct mp_inject_head *h,
               int64_t now_ms, const struct mp_convtab_limits *lim)
{
    struct entry **p = find(t, key);
    if (p != NULL)
        drop(t, p);
    size_t bytes = sizeof(struct entry) + head_bytes(h);
    struct entry *e = NULL;
    if (lim->max_entries == 0 || bytes > lim->max_bytes) {
        mp_inject_head_cleanup(h); /* never fits: not kept */
        return MP_OK;
    }
    if (grow(t) != MP_OK || (e = calloc(1, sizeof(*e))) == NULL) {
        mp_inject_head_cleanup(h);
        return MP_ENOMEM;
    }
    memcpy(e->key, key, MP_CONVTAB_KEY_LEN);
    e->head = *h;
    memset(h, 0, sizeof(*h));
    e->built_ms = e->used_ms = now_ms;
    e->bytes = bytes;
    size_t b = bucket_of(t, key);
    e->chain = t->buckets[b];
    t->buckets[b] = e;
    link_newest(t, e);
    t->n++;
    t->bytes += bytes;
    trim(t, lim);
    return MP_OK;
}

int mp_convtab_put(struct mp_convtab *t, const unsigned char *key, struct mp_inject_head *h,
                   int64_t now_ms, const struct mp_convtab_limits *lim)
{
    pthread_mutex_lock(&t->lock);
    int rc = put(t, key, h, now_ms, lim);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

const struct mp_inject_tail *mp_convtab_tail(struct mp_convtab *t, const unsigned char *key)
{
    struct entry **p = find(t, key);
    return p != NULL && (*p)->has_tail ? &(*p)->tail : NULL;
}

int mp_convtab_put_tail(struct mp_convtab *t, const unsigned char *key, struct mp_inject_tail *tl,
                        const struct mp_convtab_limits *lim)
{
    int rc = MP_NOTFOUND;
    pthread_mutex_lock(&t->lock);
    struct entry **p = find(t, key);
    if (p != NULL) {
        struct entry *e = *p;
        size_t before = mp_inject_tail_bytes(&e->tail), after = mp_inject_tail_bytes(tl);
        mp_inject_tail_cleanup(&e->tail);
        e->tail = *tl;
        memset(tl, 0, sizeof(*tl));
        e->has_tail = true;
        e->bytes = e->bytes - before + after;
        t->bytes = t->bytes - before + after;
        trim(t, lim);
        rc = MP_OK;
    }
    pthread_mutex_unlock(&t->lock);
    mp_inject_tail_cleanup(tl);
    return rc;
}

void mp_convtab_stats(const struct mp_convtab *t, size_t *entries, size_t *bytes, uint64_t *evicted)
{
    *entries = t->n;
    *bytes = t->bytes;
    *evicted = t->evicted;
}

void mp_convtab_free(struct mp_convtab *t)
{
    if (t == NULL)
        return;
    while (t->oldest != NULL)
        drop(t, find(t, t->oldest->key));
    free(t->buckets);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
