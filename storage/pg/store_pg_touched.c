/* The users a write transaction changed (store_pg_touched.h): an array
 * searched in full (an apply names a few users). */
#include "pg/store_pg_touched.h"

#include <stdlib.h>
#include <string.h>

#include "pg/store_pg_usnap.h"
#include "status.h"

static struct mp_pg_touched_user *find(const struct mp_pg_touched *s, const unsigned char *part,
                                       size_t plen)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->u[i].plen == plen && memcmp(s->u[i].part, part, plen) == 0)
            return &s->u[i];
    return NULL;
}

int mp_pg_touched_add(struct mp_pg_touched *s, int t, bool sealed, const unsigned char *part,
                      size_t plen, bool deleted)
{
    if (plen == 0 || plen > MP_STORE_USER_PREFIX_MAX || !mp_pg_usnap_table(t, sealed))
        return MP_OK;
    struct mp_pg_touched_user *u = find(s, part, plen);
    if (u != NULL) {
        u->deleted |= deleted;
        return MP_OK;
    }
    if (mp_store_backend_grow(&s->u, &s->cap, s->n, sizeof(*s->u)) != MP_OK)
        return MP_ENOMEM;
    u = &s->u[s->n++];
    memcpy(u->part, part, plen);
    u->plen = plen;
    u->deleted = deleted;
    return MP_OK;
}

bool mp_pg_touched_has(const struct mp_pg_touched *s, const unsigned char *part, size_t plen)
{
    return find(s, part, plen) != NULL;
}

void mp_pg_touched_cleanup(struct mp_pg_touched *s)
{
    free(s->u);
    s->u = NULL;
    s->n = s->cap = 0;
}
