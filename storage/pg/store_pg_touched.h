/* The users a write transaction changed (store_pg.h): each user whose
 * snapshot (store_pg_usnap.h) the transaction must rebuild before it
 * commits, and whether it deleted a row of theirs (an empty snapshot, too
 * big, may then fit again). Bytes only: no statements here. */
#ifndef MP_STORAGE_STORE_PG_TOUCHED_H
#define MP_STORAGE_STORE_PG_TOUCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/store_backend.h"

struct mp_pg_touched_user {
    unsigned char part[MP_STORE_USER_PREFIX_MAX]; /* the user (store_backend.h's P) */
    size_t plen;
    bool deleted; /* a row of it was deleted: the user may fit a snapshot again */
};

struct mp_pg_touched {
    struct mp_pg_touched_user *u; /* owned */
    size_t n, cap;
};

/* Notes that the transaction changed a row of table t of the user part
 * (plen 0: a table of no user) in a store (sealed or not): only tables a
 * snapshot holds count. MP_OK, MP_ENOMEM. */
int mp_pg_touched_add(struct mp_pg_touched *s, int t, bool sealed, const unsigned char *part,
                      size_t plen, bool deleted);

/* Whether the user part is in s. */
bool mp_pg_touched_has(const struct mp_pg_touched *s, const unsigned char *part, size_t plen);

/* Frees s's array. */
void mp_pg_touched_cleanup(struct mp_pg_touched *s);

#endif
