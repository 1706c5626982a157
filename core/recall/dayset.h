/* A set of days (memblock.h's day keys: any int64 but INT64_MIN, which
 * marks an empty slot), for the fill's accounting of which days a line of
 * the block already writes. A line seldom spans many days: up to
 * MP_DAYSET_FEW are kept in the struct and scanned (no allocation on the
 * request path); past that, open addressing, grown by doubling, so that
 * asking and adding cost the same however many items a large budget takes. */
#ifndef MP_CORE_DAYSET_H
#define MP_CORE_DAYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_DAYSET_FEW 16

/* A zeroed set is empty and owns nothing. */
struct mp_dayset {
    int64_t few[MP_DAYSET_FEW]; /* the days while there are at most MP_DAYSET_FEW (slot NULL) */
    int64_t *slot;              /* else cap slots; an empty one holds INT64_MIN */
    size_t cap, n;              /* n: days in the set */
};

/* Whether day (not INT64_MIN) is in the set. */
bool mp_dayset_has(const struct mp_dayset *s, int64_t day);

/* Adds day (not INT64_MIN; nothing when it is there already): MP_OK or
 * MP_ENOMEM (the set unchanged). */
int mp_dayset_add(struct mp_dayset *s, int64_t day);

/* Frees what the set owns and empties it. */
void mp_dayset_free(struct mp_dayset *s);

#endif
