/* Which held memory jobs leave (the rule is in heldjobs.h). */
#include "memory/heldjobs.h"

#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "status.h"

/* Per-user counts for one decision: open addressing over the users of the
 * held jobs, each slot naming the job that brought its user in. */
struct user_count {
    size_t first; /* index + 1 of a job of that user; 0: free */
    uint32_t kept;
};

/* The user's slot (claimed when it has none yet). */
static struct user_count *slot_of(struct user_count *slots, size_t mask,
                                  const struct mp_heldjob *held, size_t i)
{
    const struct mp_heldjob *job = &held[i];
    for (size_t k = mp_fnv1a64(MP_FNV1A64_BASIS, job->user, job->user_len) & mask;;
         k = (k + 1) & mask) {
        struct user_count *s = &slots[k];
        if (s->first == 0) {
            s->first = i + 1;
            return s;
        }
        const struct mp_heldjob *other = &held[s->first - 1];
        if (other->user_len == job->user_len && memcmp(other->user, job->user, job->user_len) == 0)
            return s;
    }
}

int mp_heldjobs_decide(struct mp_heldjob *held, size_t n, const struct mp_heldjob_limits *lim,
                       int64_t now_ms, size_t *leave)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    struct user_count *slots = calloc(cap, sizeof(*slots));
    uint32_t kept = 0;
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        held[i].fate = MP_HELDJOB_KEEP;
    if (slots == NULL)
        return MP_ENOMEM;
    for (size_t i = n; i > 0; i--) { /* the newest first: they stay */
        struct mp_heldjob *job = &held[i - 1];
        if (job->busy)
            continue;
        struct user_count *s = slot_of(slots, cap - 1, held, i - 1);
        if (now_ms - job->created_ms >= lim->ttl_ms) {
            job->fate = MP_HELDJOB_EXPIRED;
        } else if (s->kept >= lim->per_user) {
            job->fate = MP_HELDJOB_OVER_USER;
        } else {
            s->kept++; /* within its user's bound, whatever the total says */
            if (kept < lim->max) {
                kept++;
                continue;
            }
            job->fate = MP_HELDJOB_OVER_TOTAL;
        }
        left++;
    }
    free(slots);
    *leave = left;
    return MP_OK;
}
