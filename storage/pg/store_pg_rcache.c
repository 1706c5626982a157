/* The link's read cache (store_pg_rcache.h): a small array of entries
 * searched in full (MP_PG_RCACHE_USERS of them), each a snapshot store of
 * its own, the least recently read going out first. */
#include "pg/store_pg_rcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/store.h"
#include "snap/store_snap.h"
#include "status.h"

struct entry {
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    unsigned char ver[MP_PG_RCACHE_VER_MAX];
    size_t vlen;
    struct mp_store *snap; /* owned; NULL: a free entry */
    size_t bytes;
    uint64_t used; /* the read count when it was last read */
};

struct mp_pg_rcache {
    struct entry e[MP_PG_RCACHE_USERS];
    size_t bytes; /* of every entry */
    uint64_t reads;
};

int mp_pg_rcache_new(struct mp_pg_rcache **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? MP_OK : MP_ENOMEM;
}

static void drop(struct mp_pg_rcache *c, struct entry *e)
{
    mp_store_free(e->snap);
    c->bytes -= e->bytes;
    memset(e, 0, sizeof(*e));
}

void mp_pg_rcache_free(struct mp_pg_rcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < MP_PG_RCACHE_USERS; i++)
        if (c->e[i].snap != NULL)
            drop(c, &c->e[i]);
    free(c);
}

static struct entry *find(const struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen)
{
    for (size_t i = 0; i < MP_PG_RCACHE_USERS; i++) {
        const struct entry *e = &c->e[i];
        if (e->snap != NULL && e->plen == plen && memcmp(e->prefix, prefix, plen) == 0)
            return (struct entry *)e;
    }
    return NULL;
}

size_t mp_pg_rcache_version(const struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                            const unsigned char **ver)
{
    const struct entry *e = find(c, prefix, plen);
    *ver = e != NULL ? e->ver : NULL;
    return e != NULL ? e->vlen : 0;
}

struct mp_store *mp_pg_rcache_lend(struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                                   const unsigned char *ver, size_t vlen)
{
    struct entry *e = find(c, prefix, plen);
    if (e == NULL || e->vlen != vlen || memcmp(e->ver, ver, vlen) != 0)
        return NULL;
    e->used = ++c->reads;
    return e->snap;
}

/* The least recently read entry held, or NULL (none). */
static struct entry *oldest(struct mp_pg_rcache *c)
{
    struct entry *best = NULL;
    for (size_t i = 0; i < MP_PG_RCACHE_USERS; i++)
        if (c->e[i].snap != NULL && (best == NULL || c->e[i].used < best->used))
            best = &c->e[i];
    return best;
}

/* A free entry, the least recently read ones going out until one is and
 * the rest leaves room for bytes more. */
static struct entry *make_room(struct mp_pg_rcache *c, size_t bytes)
{
    struct entry *old;
    for (old = oldest(c); old != NULL && c->bytes + bytes > MP_PG_RCACHE_BYTES; old = oldest(c))
        drop(c, old);
    for (size_t i = 0; i < MP_PG_RCACHE_USERS; i++)
        if (c->e[i].snap == NULL)
            return &c->e[i];
    old = oldest(c);
    drop(c, old);
    return old;
}

int mp_pg_rcache_keep(struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                      const unsigned char *ver, size_t vlen, const struct mp_store *snap)
{
    struct mp_store *copy = NULL;
    struct entry *e = find(c, prefix, plen);
    if (e != NULL)
        drop(c, e); /* an older version: never read again */
    if (vlen > MP_PG_RCACHE_VER_MAX || plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL;
    if (mp_store_snap_new(snap, &copy) != MP_OK)
        return MP_ENOMEM;
    if (mp_store_snap_copy(copy, snap) != MP_OK) {
        mp_store_free(copy);
        return MP_ENOMEM;
    }
    size_t bytes = mp_store_snap_bytes(copy);
    if (bytes > MP_PG_RCACHE_BYTES) {
        mp_store_free(copy);
        return MP_EINVAL;
    }
    e = make_room(c, bytes);
    memcpy(e->prefix, prefix, plen);
    e->plen = plen;
    memcpy(e->ver, ver, vlen);
    e->vlen = vlen;
    e->snap = copy;
    e->bytes = bytes;
    e->used = ++c->reads;
    c->bytes += bytes;
    return MP_OK;
}
