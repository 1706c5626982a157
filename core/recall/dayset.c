/* The set of days (see dayset.h): a scan of the few kept in the struct,
 * then linear probing over a power-of-two table kept at most half full. */
#include "recall/dayset.h"

#include <stdlib.h>

#include "status.h"

#define EMPTY INT64_MIN

/* The slot of day, or the empty slot where it would go (cap > n). */
static size_t find(const int64_t *slot, size_t cap, int64_t day)
{
    uint64_t h = (uint64_t)day * UINT64_C(0x9E3779B97F4A7C15);
    size_t i = (size_t)(h >> 32) & (cap - 1);
    while (slot[i] != EMPTY && slot[i] != day)
        i = (i + 1) & (cap - 1);
    return i;
}

bool mp_dayset_has(const struct mp_dayset *s, int64_t day)
{
    if (s->slot != NULL)
        return s->slot[find(s->slot, s->cap, day)] == day;
    for (size_t i = 0; i < s->n; i++)
        if (s->few[i] == day)
            return true;
    return false;
}

/* A table twice the size (the first one four times the few) holding every
 * day of the set. */
static int grow(struct mp_dayset *s)
{
    size_t cap = s->slot == NULL ? 4 * MP_DAYSET_FEW : 2 * s->cap;
    int64_t *slot = malloc(cap * sizeof(*slot));
    if (slot == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slot[i] = EMPTY;
    const int64_t *old = s->slot != NULL ? s->slot : s->few;
    size_t nold = s->slot != NULL ? s->cap : s->n;
    for (size_t i = 0; i < nold; i++)
        if (old[i] != EMPTY)
            slot[find(slot, cap, old[i])] = old[i];
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return MP_OK;
}

int mp_dayset_add(struct mp_dayset *s, int64_t day)
{
    if (mp_dayset_has(s, day))
        return MP_OK;
    if (s->slot == NULL && s->n < MP_DAYSET_FEW) {
        s->few[s->n++] = day;
        return MP_OK;
    }
    if ((s->slot == NULL || 2 * (s->n + 1) > s->cap) && grow(s) != MP_OK)
        return MP_ENOMEM;
    s->slot[find(s->slot, s->cap, day)] = day;
    s->n++;
    return MP_OK;
}

void mp_dayset_free(struct mp_dayset *s)
{
    free(s->slot);
    *s = (struct mp_dayset){0};
}
