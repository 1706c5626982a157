/* Copying a whole snapshot store into another (store_snap.h): the records'
 * bytes in one run of the destination's chunks, the rows and the derived
 * postings pointed at the copy, the covered ranges. It neither decodes nor
 * sorts anything, so a reader that keeps a built snapshot (the PostgreSQL
 * link's read cache, store_pg_rcache.h) pays one copy instead of a build
 * each time it reads the user again. */
#include "snap/store_snap_private.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

const unsigned char *mp_snap_moved_ptr(const struct mp_snap_moved *m, const unsigned char *p)
{
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (p >= m->from[i] && p <= m->from[i] + m->len[i])
            return m->to[i] + (p - m->from[i]);
    return p; /* not in a chunk: a pointer the copy does not own */
}

/* total bytes in dst's chunks, in the newest chunk when it has room, else
 * in one of exactly that size kept behind it (the newest stays the one
 * later records go to). NULL when out of memory. */
static unsigned char *room_for(struct snap_store *dst, size_t total)
{
    struct chunk *head = dst->chunks;
    if (head != NULL && head->cap - head->used >= total) {
        unsigned char *p = head->data + head->used;
        head->used += total;
        return p;
    }
    struct chunk *c = malloc(sizeof(*c) + total);
    if (c == NULL)
        return NULL;
    c->used = c->cap = total;
    if (head != NULL) {
        c->next = head->next;
        head->next = c;
    } else {
        c->next = NULL;
        dst->chunks = c;
    }
    return c->data;
}

/* src's chunks copied into dst, where each went in *m (its arrays
 * malloc'd: the caller frees them). MP_OK, MP_ENOMEM. */
static int copy_chunks(struct snap_store *dst, const struct snap_store *src,
                       struct mp_snap_moved *m)
{
    size_t n = 0, total = 0;
    for (const struct chunk *c = src->chunks; c != NULL; c = c->next, n++)
        total += c->used;
    m->from = malloc((n + 1) * sizeof(*m->from));
    m->to = malloc((n + 1) * sizeof(*m->to));
    m->len = malloc((n + 1) * sizeof(*m->len));
    unsigned char *at = total > 0 ? room_for(dst, total) : NULL;
    if (m->from == NULL || m->to == NULL || m->len == NULL || (total > 0 && at == NULL))
        return MP_ENOMEM;
    for (const struct chunk *c = src->chunks; c != NULL; c = c->next) {
        if (c->used > 0)
            memcpy(at, c->data, c->used);
        m->from[m->n] = c->data;
        m->to[m->n] = at;
        m->len[m->n++] = c->used;
        at += c->used;
    }
    return MP_OK;
}

static int copy_table(struct snap_table *to, const struct snap_table *from,
                      const struct mp_snap_moved *m)
{
    if (from->nrows > to->cap) {
        struct row *rows = realloc(to->rows, from->nrows * sizeof(*rows));
        if (rows == NULL)
            return MP_ENOMEM;
        to->rows = rows;
        to->cap = from->nrows;
    }
    for (size_t i = 0; i < from->nrows; i++)
        to->rows[i] = (struct row){.k = mp_snap_moved_ptr(m, from->rows[i].k),
                                   .klen = from->rows[i].klen,
                                   .v = mp_snap_moved_ptr(m, from->rows[i].v),
                                   .vlen = from->rows[i].vlen};
    to->nrows = from->nrows;
    to->unsorted = from->unsorted;
    if (from->nspans > to->spancap) {
        struct span *spans = realloc(to->spans, from->nspans * sizeof(*spans));
        if (spans == NULL)
            return MP_ENOMEM;
        to->spans = spans;
        to->spancap = from->nspans;
    }
    for (; to->nspans < from->nspans; to->nspans++) {
        const struct span *sp = &from->spans[to->nspans];
        unsigned char *p = malloc(sp->lolen + sp->hilen + 1);
        if (p == NULL)
            return MP_ENOMEM;
        memcpy(p, sp->lo, sp->lolen + sp->hilen); /* one allocation: lo, then hi */
        to->spans[to->nspans] =
            (struct span){.lo = p, .lolen = sp->lolen, .hi = p + sp->lolen, .hilen = sp->hilen};
    }
    return MP_OK;
}

int mp_store_snap_copy(struct mp_store *dst, const struct mp_store *src)
{
    struct snap_store *d = mp_snap_of(dst);
    const struct snap_store *s = mp_snap_of(src);
    struct mp_snap_moved m = {0};
    mp_store_snap_clear(dst);
    int rc = copy_chunks(d, s, &m);
    for (int t = 0; rc == MP_OK && t < MP_TABLE_COUNT; t++)
        rc = copy_table(&d->tables[t], &s->tables[t], &m);
    if (rc == MP_OK)
        rc = mp_snap_derive_copy(d, s, &m);
    free(m.from);
    free(m.to);
    free(m.len);
    if (rc != MP_OK)
        mp_store_snap_clear(dst);
    return rc;
}

size_t mp_store_snap_bytes(const struct mp_store *snap)
{
    const struct snap_store *s = mp_snap_of(snap);
    size_t n = sizeof(*s) + mp_snap_derive_bytes(s->postings);
    for (const struct chunk *c = s->chunks; c != NULL; c = c->next)
        n += sizeof(*c) + c->cap;
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        const struct snap_table *tb = &s->tables[t];
        n += tb->cap * sizeof(*tb->rows) + tb->spancap * sizeof(*tb->spans);
        for (size_t i = 0; i < tb->nspans; i++)
            n += tb->spans[i].lolen + tb->spans[i].hilen + 1;
    }
    return n;
}
