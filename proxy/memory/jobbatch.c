/* Every user's next extraction batch in one sweep (jobbatch.h). */
#include "memory/jobbatch.h"

#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"

struct mp_jobbatch_entry {
    uint64_t hash;     /* of the user */
    uint64_t first_id; /* the user's first waiting job */
    size_t first;      /* its index in the jobs the table was built from (the sweep only) */
    size_t n;          /* the batch: extraction jobs counted from the first */
    bool stopped;      /* a job of another kind, or a held one, ended the batch */
    bool used;         /* false: a free slot */
};

static uint64_t user_hash(const struct mp_job *job)
{
    return mp_fnv1a64(MP_FNV1A64_BASIS, job->user, job->user_len);
}

static bool same_user(const struct mp_job *a, const struct mp_job *b)
{
    return a->user_len == b->user_len && memcmp(a->user, b->user, a->user_len) == 0;
}

/* Doubles the table, keeping its entries. */
static bool grow(struct mp_jobbatch *b)
{
    size_t cap = b->slots == NULL ? 64 : (b->mask + 1) * 2;
    struct mp_jobbatch_entry *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (size_t i = 0; b->slots != NULL && i <= b->mask; i++) {
        if (!b->slots[i].used)
            continue;
        size_t k = b->slots[i].hash & (cap - 1);
        while (slots[k].used)
            k = (k + 1) & (cap - 1);
        slots[k] = b->slots[i];
    }
    free(b->slots);
    b->slots = slots;
    b->mask = cap - 1;
    return true;
}

/* The entry of job's user (built from jobs), or the free slot where it
 * goes. */
static struct mp_jobbatch_entry *slot_of(struct mp_jobbatch *b, const struct mp_job *jobs,
                                         const struct mp_job *job, uint64_t h)
{
    size_t k = h & b->mask;
    while (b->slots[k].used && (b->slots[k].hash != h || !same_user(&jobs[b->slots[k].first], job)))
        k = (k + 1) & b->mask;
    return &b->slots[k];
}

bool mp_jobbatch_build(struct mp_jobbatch *b, const struct mp_job *jobs, size_t n, size_t max,
                       int64_t now)
{
    memset(b, 0, sizeof(*b));
    if (!grow(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct mp_job *job = &jobs[i];
        uint64_t h = user_hash(job);
        struct mp_jobbatch_entry *e = slot_of(b, jobs, job, h);
        if (job->failed != MP_JOB_FAIL_NONE)
            continue; /* never a first job; a batch goes on past it */
        if (!e->used) {
            if (2 * (b->used + 1) > b->mask + 1) {
                if (!grow(b)) {
                    mp_jobbatch_free(b);
                    return false;
                }
                e = slot_of(b, jobs, job, h);
            }
            *e = (struct mp_jobbatch_entry){
                .hash = h, .first_id = job->id, .first = i, .used = true};
            b->used++;
        }
        if (e->stopped || e->n >= max)
            continue;
        if (job->kind != MP_JOB_EXTRACT || job->not_before_ms > now)
            e->stopped = true;
        else
            e->n++;
    }
    return true;
}

size_t mp_jobbatch_find(const struct mp_jobbatch *b, const struct mp_job *first)
{
    if (b->slots == NULL)
        return MP_JOBBATCH_UNKNOWN;
    uint64_t h = user_hash(first);
    for (size_t k = h & b->mask; b->slots[k].used; k = (k + 1) & b->mask) {
        if (b->slots[k].hash == h && b->slots[k].first_id == first->id)
            return b->slots[k].n;
    }
    return MP_JOBBATCH_UNKNOWN;
}

void mp_jobbatch_free(struct mp_jobbatch *b)
{
    free(b->slots);
    memset(b, 0, sizeof(*b));
}
