/* A thread's recently read users' facts and user records (view_cache.h).
 * Entries sit in an array each, most recently used first; a lookup
 * compares a hash of the prefix before its bytes. The record log an entry
 * is checked against is, per fact in scan order, its id (4 bytes), its
 * stored length (4) and its stored bytes. */
#include "view/view_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "fnv1a.h"
#include "status.h"
#include "ops/store_backend.h"
#include "view/view_user.h"

struct mp_view_cache_entry {
    unsigned refs;
    uint64_t hash;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    struct mp_view_facts facts;
    unsigned char *log; /* the record log */
    size_t log_len, log_cap, nrecords;
    struct mp_mem_entity **order;
    size_t norder;
    size_t bytes;   /* what it holds, counted when it is put */
    uint64_t stamp; /* the user's facts stamp its records were read under; 0: none known */
};

/* A user record kept, and what was last read with it. */
struct user_slot {
    struct mp_view_user *u;
    uint64_t hash;              /* its prefix's prefix_hash */
    struct mp_store_version at; /* the store version the record was last read (or checked)
                                   under, with the user's setting; env 0: none */
    enum mp_user_mode mode;     /* the setting read under at */
};

struct thread_cache {
    struct mp_view_cache_entry *e[VIEW_CACHE_ENTRIES_MAX]; /* most recent first */
    size_t n, bytes;
    uint64_t hits, checked, misses;           /* checked: the hits that compared the records */
    struct user_slot u[VIEW_CACHE_USERS_MAX]; /* most recent first */
    size_t nu, ubytes;
    uint64_t absent; /* a prefix hash no slot has (a view's lookups after a miss) */
    bool absent_set; /* absent is set */
    uint64_t user_hits, user_versioned, user_misses;
};

static void user_take(struct thread_cache *tc, size_t i);

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local struct thread_cache *this_thread;

static void free_thread_cache(void *p)
{
    struct thread_cache *tc = p;
    for (size_t i = 0; i < tc->n; i++)
        mp_view_cache_release(tc->e[i]);
    while (tc->nu > 0)
        user_take(tc, tc->nu - 1);
    free(tc);
}

static void make_key(void)
{
    (void)pthread_key_create(&cache_key, free_thread_cache);
}

/* This thread's cache, made on first use (NULL when out of memory). */
static struct thread_cache *thread_cache(void)
{
    if (this_thread != NULL)
        return this_thread;
    pthread_once(&cache_once, make_key);
    struct thread_cache *tc = calloc(1, sizeof(*tc));
    if (tc == NULL || pthread_setspecific(cache_key, tc) != 0) {
        free(tc);
        return NULL;
    }
    this_thread = tc;
    return tc;
}

/* FNV-1a of the prefix. */
static uint64_t prefix_hash(const unsigned char *p, size_t n)
{
    return mp_fnv1a64(MP_FNV1A64_BASIS, p, n);
}

static size_t find(const struct thread_cache *tc, uint64_t h, const unsigned char *prefix,
                   size_t plen)
{
    for (size_t i = 0; i < tc->n; i++) {
        const struct mp_view_cache_entry *e = tc->e[i];
        if (e->hash == h && e->plen == plen && memcmp(e->prefix, prefix, plen) == 0)
            return i;
    }
    return tc->n;
}

/* Takes entry i out of the array (its reference goes with it). */
static struct mp_view_cache_entry *take(struct thread_cache *tc, size_t i)
{
    struct mp_view_cache_entry *e = tc->e[i];
    memmove(&tc->e[i], &tc->e[i + 1], (tc->n - i - 1) * sizeof(tc->e[0]));
    tc->n--;
    tc->bytes -= e->bytes;
    return e;
}

struct mp_view_cache_entry *mp_view_cache_get(const unsigned char *prefix, size_t plen)
{
    struct thread_cache *tc = this_thread;
    if (tc == NULL)
        return NULL;
    size_t i = find(tc, prefix_hash(prefix, plen), prefix, plen);
    if (i == tc->n)
        return NULL;
    struct mp_view_cache_entry *e = tc->e[i];
    memmove(&tc->e[1], &tc->e[0], i * sizeof(tc->e[0])); /* to the front */
    tc->e[0] = e;
    e->refs++;
    return e;
}

struct mp_view_cache_entry *mp_view_cache_new(const unsigned char *prefix, size_t plen)
{
    struct thread_cache *tc = thread_cache();
    if (plen > MP_STORE_USER_PREFIX_MAX)
        return NULL;
    if (tc != NULL)
        tc->misses++;
    struct mp_view_cache_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->refs = 1;
    memcpy(e->prefix, prefix, plen);
    e->plen = plen;
    e->hash = prefix_hash(prefix, plen);
    return e;
}

struct mp_view_facts *mp_view_cache_facts(struct mp_view_cache_entry *e)
{
    return &e->facts;
}

int mp_view_cache_add_record(struct mp_view_cache_entry *e, uint32_t id, const unsigned char *rec,
                             size_t n)
{
    if (n > UINT32_MAX)
        return MP_ENOMEM;
    size_t need = e->log_len + 8 + n;
    if (need > e->log_cap) {
        size_t cap = e->log_cap > 0 ? e->log_cap : 4096;
        while (cap < need)
            cap *= 2;
        unsigned char *log = realloc(e->log, cap);
        if (log == NULL)
            return MP_ENOMEM;
        e->log = log;
        e->log_cap = cap;
    }
    mp_codec_le_put(e->log + e->log_len, id, 4);
    mp_codec_le_put(e->log + e->log_len + 4, n, 4);
    if (n > 0)
        memcpy(e->log + e->log_len + 8, rec, n);
    e->log_len = need;
    e->nrecords++;
    return MP_OK;
}

int mp_view_cache_set_order(struct mp_view_cache_entry *e, struct mp_mem_entity *const *order,
                            size_t n)
{
    struct mp_mem_entity **o = malloc((n > 0 ? n : 1) * sizeof(*o));
    if (o == NULL)
        return MP_ENOMEM;
    if (n > 0)
        memcpy(o, order, n * sizeof(*o));
    free(e->order);
    e->order = o;
    e->norder = n;
    return MP_OK;
}

struct mp_mem_entity *const *mp_view_cache_order(const struct mp_view_cache_entry *e, size_t *n)
{
    *n = e->norder;
    return e->order;
}

void mp_view_cache_check_start(struct mp_view_cache_check *ck, const struct mp_view_cache_entry *e)
{
    *ck = (struct mp_view_cache_check){.e = e};
}

bool mp_view_cache_check_record(struct mp_view_cache_check *ck, uint32_t id,
                                const unsigned char *rec, size_t n)
{
    const struct mp_view_cache_entry *e = ck->e;
    const unsigned char *at = e->log + ck->off;
    ck->differs = ck->next == e->nrecords /* a record the entry does not have */ ||
                  mp_codec_le_get(at, 4) != id || mp_codec_le_get(at + 4, 4) != n ||
                  (n > 0 && memcmp(at + 8, rec, n) != 0);
    if (ck->differs)
        return false;
    ck->next++;
    ck->off += 8 + n;
    return true;
}

bool mp_view_cache_check_end(const struct mp_view_cache_check *ck)
{
    bool same = !ck->differs && ck->next == ck->e->nrecords;
    if (same && this_thread != NULL) {
        this_thread->hits++;
        this_thread->checked++;
    }
    return same;
}

bool mp_view_cache_stamped(const struct mp_view_cache_entry *e, uint64_t stamp)
{
    bool same = stamp != 0 && e->stamp == stamp;
    if (same && this_thread != NULL)
        this_thread->hits++;
    return same;
}

void mp_view_cache_set_stamp(struct mp_view_cache_entry *e, uint64_t stamp)
{
    e->stamp = stamp;
}

void mp_view_cache_put(struct mp_view_cache_entry *e)
{
    struct thread_cache *tc = thread_cache();
    if (tc == NULL)
        return;
    size_t i = find(tc, e->hash, e->prefix, e->plen);
    if (i < tc->n)
        mp_view_cache_release(take(tc, i));
    e->bytes =
        sizeof(*e) + e->log_cap + e->norder * sizeof(*e->order) + mp_view_facts_bytes(&e->facts);
    if (e->bytes > VIEW_CACHE_BYTES_MAX)
        return;
    while (tc->n > 0 &&
           (tc->n == VIEW_CACHE_ENTRIES_MAX || tc->bytes + e->bytes > VIEW_CACHE_BYTES_MAX))
        mp_view_cache_release(take(tc, tc->n - 1));
    memmove(&tc->e[1], &tc->e[0], tc->n * sizeof(tc->e[0]));
    tc->e[0] = e;
    tc->n++;
    tc->bytes += e->bytes;
    e->refs++;
}

void mp_view_cache_release(struct mp_view_cache_entry *e)
{
    if (e == NULL || --e->refs > 0)
        return;
    mp_view_facts_cleanup(&e->facts);
    free(e->log);
    free(e->order);
    free(e);
}

void mp_view_cache_clear(void)
{
    struct thread_cache *tc = this_thread;
    if (tc == NULL)
        return;
    while (tc->n > 0)
        mp_view_cache_release(take(tc, tc->n - 1));
    while (tc->nu > 0)
        user_take(tc, tc->nu - 1);
}

void mp_view_cache_counts(uint64_t *hits, uint64_t *checked, uint64_t *misses)
{
    struct thread_cache *tc = this_thread;
    *hits = tc != NULL ? tc->hits : 0;
    *checked = tc != NULL ? tc->checked : 0;
    *misses = tc != NULL ? tc->misses : 0;
}

/* ---- user records ---- */

/* The slot of the user prefix[0..plen) (its prefix_hash h), tc->nu when
 * there is none. */
static size_t user_find(struct thread_cache *tc, uint64_t h, const unsigned char *prefix,
                        size_t plen)
{
    if (tc->absent_set && h == tc->absent)
        return tc->nu; /* the view's next lookup after its miss: only a put adds a slot */
    for (size_t i = 0; i < tc->nu; i++) {
        size_t n;
        if (tc->u[i].hash != h)
            continue;
        const unsigned char *p = mp_view_user_prefix(tc->u[i].u, &n);
        if (n == plen && memcmp(p, prefix, plen) == 0)
            return i;
    }
    tc->absent = h;
    tc->absent_set = true;
    return tc->nu;
}

/* Moves user slot i to the front. */
static void user_front(struct thread_cache *tc, size_t i)
{
    struct user_slot us = tc->u[i];
    memmove(&tc->u[1], &tc->u[0], i * sizeof(tc->u[0]));
    tc->u[0] = us;
}

/* Takes user slot i out of the array and drops the cache's reference. */
static void user_take(struct thread_cache *tc, size_t i)
{
    struct mp_view_user *u = tc->u[i].u;
    memmove(&tc->u[i], &tc->u[i + 1], (tc->nu - i - 1) * sizeof(tc->u[0]));
    tc->nu--;
    tc->ubytes -= mp_view_user_bytes(u);
    mp_view_user_release(u);
}

/* The user's slot moved to the front, NULL when there is none. */
static struct user_slot *user_slot(struct thread_cache *tc, const unsigned char *prefix,
                                   size_t plen)
{
    size_t i = tc != NULL ? user_find(tc, prefix_hash(prefix, plen), prefix, plen) : 0;
    if (tc == NULL || i == tc->nu)
        return NULL;
    user_front(tc, i);
    return &tc->u[0];
}

static bool same_version(const struct mp_store_version *a, const struct mp_store_version *b)
{
    return a->env != 0 && a->env == b->env && a->txn == b->txn;
}

struct mp_view_user *mp_view_cache_user_at(const unsigned char *prefix, size_t plen,
                                           const struct mp_store_version *at,
                                           enum mp_user_mode *mode)
{
    struct user_slot *us = user_slot(this_thread, prefix, plen);
    if (us == NULL || !same_version(&us->at, at))
        return NULL;
    this_thread->user_hits++;
    this_thread->user_versioned++;
    *mode = us->mode;
    return mp_view_user_ref(us->u);
}

struct mp_view_user *mp_view_cache_user_get(const unsigned char *prefix, size_t plen,
                                            const unsigned char *stored, size_t n)
{
    struct user_slot *us = user_slot(this_thread, prefix, plen);
    if (us == NULL || !mp_view_user_same(us->u, stored, n))
        return NULL;
    us->at = (struct mp_store_version){0};
    this_thread->user_hits++;
    return mp_view_user_ref(us->u);
}

void mp_view_cache_user_put(struct mp_view_user *u)
{
    struct thread_cache *tc = thread_cache();
    if (tc == NULL)
        return;
    size_t plen, bytes = mp_view_user_bytes(u);
    const unsigned char *prefix = mp_view_user_prefix(u, &plen);
    uint64_t h = prefix_hash(prefix, plen);
    size_t i = user_find(tc, h, prefix, plen);
    tc->user_misses++;
    tc->absent_set = false;
    if (i < tc->nu)
        user_take(tc, i);
    if (bytes > VIEW_CACHE_USER_BYTES_MAX)
        return;
    while (tc->nu > 0 &&
           (tc->nu == VIEW_CACHE_USERS_MAX || tc->ubytes + bytes > VIEW_CACHE_USER_BYTES_MAX))
        user_take(tc, tc->nu - 1);
    tc->u[tc->nu] = (struct user_slot){.u = mp_view_user_ref(u), .hash = h};
    tc->nu++;
    tc->ubytes += bytes;
    user_front(tc, tc->nu - 1);
}

void mp_view_cache_user_read_at(const struct mp_view_user *u, const struct mp_store_version *at,
                                enum mp_user_mode mode)
{
    size_t plen;
    const unsigned char *prefix = mp_view_user_prefix(u, &plen);
    struct user_slot *us = user_slot(this_thread, prefix, plen);
    if (us == NULL || us->u != u)
        return; /* not kept (too big), or another view put a newer one */
    us->at = *at;
    us->mode = mode;
}

void mp_view_cache_user_counts(uint64_t *hits, uint64_t *versioned, uint64_t *misses)
{
    struct thread_cache *tc = this_thread;
    *hits = tc != NULL ? tc->user_hits : 0;
    *versioned = tc != NULL ? tc->user_versioned : 0;
    *misses = tc != NULL ? tc->user_misses : 0;
}
