/* The side requests this process knows (see sidetab.h): an open-addressed
 * set of 64-bit keys (a print mixed with its tenant's hash) with their
 * kinds, twice MP_SIDETAB_MAX slots, behind a read-write lock. */
#include "memory/sidetab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "status.h"
#include "ops/store.h"

#define SLOTS (2 * MP_SIDETAB_MAX)

struct slot {
    uint64_t key; /* 0: empty */
    uint8_t kind;
};

struct mp_sidetab {
    pthread_rwlock_t lock;
    struct slot *slots; /* SLOTS of them */
    size_t n;
};

int mp_sidetab_new(struct mp_sidetab **out)
{
    struct mp_sidetab *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    t->slots = calloc(SLOTS, sizeof(*t->slots));
    if (t->slots == NULL || pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t->slots);
        free(t);
        return MP_ENOMEM;
    }
    *out = t;
    return MP_OK;
}

void mp_sidetab_free(struct mp_sidetab *t)
{
    if (t == NULL)
        return;
    pthread_rwlock_destroy(&t->lock);
    free(t->slots);
    free(t);
}

static uint64_t key_of(const unsigned char *tenant, uint64_t print)
{
    uint64_t h = tenant != NULL ? mp_fnv1a64(MP_FNV1A64_BASIS, tenant, MP_TENANT_LEN) : 0;
    uint64_t k = print ^ (h * 0x9e3779b97f4a7c15ull);
    return k != 0 ? k : 1;
}

/* Puts key into slots (n: how many they hold) unless it is there or they
 * are full. */
static void put(struct slot *slots, size_t *n, uint64_t key, uint8_t kind)
{
    for (size_t i = key % SLOTS, probes = 0; probes < SLOTS; i = (i + 1) % SLOTS, probes++) {
        if (slots[i].key == key) {
            slots[i].kind = kind;
            return;
        }
        if (slots[i].key != 0)
            continue;
        if (*n >= MP_SIDETAB_MAX)
            return;
        slots[i] = (struct slot){key, kind};
        (*n)++;
        return;
    }
}

void mp_sidetab_add(struct mp_sidetab *t, const unsigned char *tenant, uint64_t print, uint8_t kind)
{
    pthread_rwlock_wrlock(&t->lock);
    put(t->slots, &t->n, key_of(tenant, print), kind);
    pthread_rwlock_unlock(&t->lock);
}

struct loading {
    struct slot *slots;
    size_t n;
};

static int on_side(void *arg, const unsigned char *tenant, uint64_t print, uint8_t kind)
{
    struct loading *l = arg;
    put(l->slots, &l->n, key_of(tenant, print), kind);
    return MP_OK;
}

int mp_sidetab_load(struct mp_sidetab *t, struct mp_store *store)
{
    struct loading l = {calloc(SLOTS, sizeof(struct slot)), 0};
    if (l.slots == NULL)
        return MP_ENOMEM;
    int rc = mp_store_sides(store, on_side, &l);
    if (rc != MP_OK) {
        free(l.slots);
        return rc;
    }
    pthread_rwlock_wrlock(&t->lock);
    struct slot *old = t->slots;
    t->slots = l.slots;
    t->n = l.n;
    pthread_rwlock_unlock(&t->lock);
    free(old);
    return MP_OK;
}

bool mp_sidetab_find(struct mp_sidetab *t, const unsigned char *tenant, const uint64_t *prints,
                     size_t n, uint8_t *kind)
{
    bool found = false;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t k = 0; k < n && !found && t->n > 0; k++) {
        uint64_t key = key_of(tenant, prints[k]);
        for (size_t i = key % SLOTS, probes = 0; probes < SLOTS && t->slots[i].key != 0;
             i = (i + 1) % SLOTS, probes++) {
            if (t->slots[i].key == key) {
                *kind = t->slots[i].kind;
                found = true;
                break;
            }
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

size_t mp_sidetab_count(struct mp_sidetab *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t n = t->n;
    pthread_rwlock_unlock(&t->lock);
    return n;
}
