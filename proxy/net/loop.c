/* Per-thread context: buffer pool, deferred flush, request ids. */
#include "net/loop.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "wire/chatreq.h"
#include "status.h"
#include "recall/terms.h"
#include "xlatemap.h"

struct mp_shared_config *mp_shared_config_new(const struct mp_config *cfg)
{
    struct mp_shared_config *sc = malloc(sizeof(*sc));
    if (sc == NULL)
        return NULL;
    atomic_init(&sc->refs, 1);
    sc->cfg = *cfg;
    return sc;
}

struct mp_shared_config *mp_shared_config_ref(struct mp_shared_config *sc)
{
    atomic_fetch_add(&sc->refs, 1);
    return sc;
}

void mp_shared_config_unref(struct mp_shared_config *sc)
{
    if (sc != NULL && atomic_fetch_sub(&sc->refs, 1) == 1)
        free(sc);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mp_loop *loop = arg;
    loop->run_dirty(loop);
}

int mp_loop_init(struct mp_loop *loop, struct event_base *base, unsigned id,
                 struct mp_shared_config *shared, struct mp_metrics *metrics,
                 void (*run_dirty)(struct mp_loop *loop))
{
    memset(loop, 0, sizeof(*loop));
    loop->run_dirty = run_dirty;
    loop->base = base;
    loop->id = id;
    loop->shared = shared;
    loop->cfg = &shared->cfg;
    loop->metrics = metrics;
    TAILQ_INIT(&loop->dirty);
    TAILQ_INIT(&loop->conns);
    TAILQ_INIT(&loop->waiting);
    loop->flush_ev = event_new(base, -1, 0, on_flush, loop);
    loop->wire_msgs = malloc(sizeof(*loop->wire_msgs) * MP_CHATREQ_MAX_MESSAGES);
    if (loop->flush_ev == NULL || loop->wire_msgs == NULL)
        return MP_ENOMEM;
    if (getrandom(&loop->rng, sizeof(loop->rng), 0) != sizeof(loop->rng) || loop->rng == 0)
        loop->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)loop;
    return MP_OK;
}

struct mp_terms *mp_loop_terms(struct mp_loop *loop)
{
    if (loop->terms == NULL && mp_terms_new(&loop->terms) != MP_OK)
        loop->terms = NULL;
    else if (loop->terms != NULL)
        mp_terms_set_xlate(loop->terms, mp_xlatemap_get());
    return loop->terms;
}

void mp_loop_cleanup(struct mp_loop *loop)
{
    while (loop->npool > 0)
        free(loop->pool[--loop->npool]);
    for (size_t i = 0; i < sizeof(loop->large) / sizeof(loop->large[0]); i++)
        free(loop->large[i].data);
    if (loop->flush_ev != NULL)
        event_free(loop->flush_ev);
    free(loop->wire_msgs);
    loop->wire_msgs = NULL;
    mp_terms_free(loop->terms);
    loop->terms = NULL;
    loop->flush_ev = NULL;
    mp_shared_config_unref(loop->shared);
    loop->shared = NULL;
    loop->cfg = NULL;
}

void mp_loop_set_config(struct mp_loop *loop, struct mp_shared_config *shared)
{
    mp_shared_config_unref(loop->shared);
    loop->shared = shared;
    loop->cfg = &shared->cfg;
}

/* Takes the smallest cached large buffer of at least min_cap, or none. */
static bool take_large(struct mp_loop *loop, size_t min_cap, struct mp_buf *out)
{
    struct mp_buf *best = NULL;
    for (size_t i = 0; i < sizeof(loop->large) / sizeof(loop->large[0]); i++) {
        struct mp_buf *c = &loop->large[i];
        if (c->data != NULL && c->cap >= min_cap && (best == NULL || c->cap < best->cap))
            best = c;
    }
    if (best == NULL)
        return false;
    *out = *best;
    *best = (struct mp_buf){0};
    return true;
}

/* Caches a large buffer in a free slot, else in place of the smallest
 * cached one if b is bigger, else frees it. */
static void keep_large(struct mp_loop *loop, struct mp_buf *b)
{
    struct mp_buf *slot = &loop->large[0];
    for (size_t i = 0; i < sizeof(loop->large) / sizeof(loop->large[0]); i++) {
        struct mp_buf *c = &loop->large[i];
        if (c->data == NULL) {
            slot = c;
            break;
        }
        if (c->cap < slot->cap)
            slot = c;
    }
    if (slot->data != NULL && slot->cap >= b->cap) {
        free(b->data);
        return;
    }
    free(slot->data);
    *slot = *b;
    slot->len = 0;
}

/* b's storage reallocated to cap bytes (its bytes kept). MP_OK, MP_ENOMEM. */
static int grow_to(struct mp_buf *b, size_t cap)
{
    char *nd = realloc(b->data, cap);
    if (nd == NULL)
        return MP_ENOMEM;
    b->data = nd;
    b->cap = cap;
    return MP_OK;
}

int mp_buf_reserve(struct mp_loop *loop, struct mp_buf *b, size_t min_cap)
{
    struct mp_buf big;
    if (b->cap >= min_cap)
        return MP_OK;
    if (b->data == NULL && min_cap <= MP_BUF_STD) {
        b->data = loop->npool > 0 ? loop->pool[--loop->npool] : malloc(MP_BUF_STD);
        if (b->data == NULL)
            return MP_ENOMEM;
        b->cap = MP_BUF_STD;
        b->len = 0;
        return MP_OK;
    }
    if (min_cap <= MP_BUF_LARGE_MAX && take_large(loop, min_cap, &big)) {
        if (b->len > 0)
            memcpy(big.data, b->data, b->len);
        big.len = b->len;
        mp_buf_release(loop, b);
        *b = big;
        return MP_OK;
    }
    size_t cap = b->cap < MP_BUF_STD ? MP_BUF_STD : b->cap;
    while (cap < min_cap)
        cap *= 2;
    return grow_to(b, cap);
}

int mp_buf_reserve_exact(struct mp_loop *loop, struct mp_buf *b, size_t size)
{
    if (b->cap >= size || size <= MP_BUF_LARGE_MAX)
        return mp_buf_reserve(loop, b, size);
    return grow_to(b, size);
}

void mp_buf_release(struct mp_loop *loop, struct mp_buf *b)
{
    if (b->data != NULL) {
        if (b->cap == MP_BUF_STD && loop->npool < sizeof(loop->pool) / sizeof(loop->pool[0]))
            loop->pool[loop->npool++] = b->data;
        else if (b->cap > MP_BUF_STD && b->cap <= MP_BUF_LARGE_MAX)
            keep_large(loop, b);
        else
            free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void mp_loop_schedule_flush(struct mp_loop *loop)
{
    event_active(loop->flush_ev, 0, 0);
}

void mp_loop_request_id(struct mp_loop *loop, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t x = loop->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    loop->rng = x;
    uint64_t y = x * 0x2545f4914f6cdd1dULL;
    memcpy(out, "req_", 4);
    for (int i = 0; i < 16; i++)
        out[4 + i] = hex[(y >> (i * 4)) & 15];
    out[20] = hex[loop->id & 15];
    out[21] = hex[(loop->id >> 4) & 15];
    out[22] = hex[(x >> 3) & 15];
    out[23] = hex[(x >> 9) & 15];
    out[MP_REQUEST_ID_LEN] = '\0';
}
