/* The block of a view's decoded facts (view_facts.h). A chunk holds
 * CHUNK_FACTS facts and CHUNK_TEXT bytes of values and block texts (a
 * fact's text goes in the newest chunk when it is written, not
 * necessarily its fact's): a user's few dozen facts cost one chunk and one
 * table, whatever their number. */
#include "view/view_facts.h"

#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "recall/memblock.h"
#include "status.h"

/* A chunk: CHUNK_FACTS facts, CHUNK_TEXT bytes of their text (a value and
 * its block text average well under 192 bytes). */
#define CHUNK_FACTS 64
#define CHUNK_TEXT  (CHUNK_FACTS * 192)
#define MAP_START   128 /* slots of the first table */
/* The most text one fact's value takes, its NUL included. */
#define VALUE_TEXT_MAX (MP_ENTITY_VALUE_MAX + 1)

_Static_assert(CHUNK_TEXT >= VALUE_TEXT_MAX && CHUNK_TEXT >= MP_MEMBLOCK_FACT_TEXT_MAX,
               "a chunk holds the longest value and the longest block text");

struct view_fact_chunk {
    struct view_fact_chunk *next;
    size_t nfacts, text_used;
    struct mp_mem_entity facts[CHUNK_FACTS];
    char text[CHUNK_TEXT];
};

struct view_fact_slot {
    uint32_t id;
    struct mp_mem_entity *e; /* NULL: free */
};

static size_t slot_of(const struct view_fact_slot *map, size_t cap, uint32_t id)
{
    size_t i = (size_t)(id * 2654435761u) & (cap - 1); /* Knuth's multiplicative hash */
    while (map[i].e != NULL && map[i].id != id)
        i = (i + 1) & (cap - 1);
    return i;
}

struct mp_mem_entity *mp_view_facts_find(const struct mp_view_facts *vf, uint32_t id)
{
    return vf->map != NULL ? vf->map[slot_of(vf->map, vf->map_cap, id)].e : NULL;
}

/* A table with room for one more fact (more than twice as many slots). */
static int map_room(struct mp_view_facts *vf)
{
    if (2 * (vf->n + 1) < vf->map_cap)
        return MP_OK;
    size_t cap = vf->map_cap > 0 ? 2 * vf->map_cap : MAP_START;
    struct view_fact_slot *map = calloc(cap, sizeof(*map));
    if (map == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < vf->map_cap; i++)
        if (vf->map[i].e != NULL)
            map[slot_of(map, cap, vf->map[i].id)] = vf->map[i];
    free(vf->map);
    vf->map = map;
    vf->map_cap = cap;
    return MP_OK;
}

/* The newest chunk when it has room for facts (0 or 1) more facts and
 * text bytes, else a new one (NULL when out of memory). */
static struct view_fact_chunk *chunk_room(struct mp_view_facts *vf, size_t facts, size_t text)
{
    struct view_fact_chunk *c = vf->chunks;
    if (c != NULL && c->nfacts + facts <= CHUNK_FACTS && text <= CHUNK_TEXT - c->text_used)
        return c;
    c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    c->next = vf->chunks;
    c->nfacts = c->text_used = 0;
    vf->chunks = c;
    return c;
}

int mp_view_facts_add(struct mp_view_facts *vf, uint32_t id, const unsigned char *rec, size_t n,
                      struct mp_mem_entity **out)
{
    const unsigned char *value = NULL;
    if (map_room(vf) != MP_OK)
        return MP_ENOMEM;
    /* a record holds at most MP_ENTITY_VALUE_MAX bytes of value: room for
       the longest, so the head decodes straight into its place (a copy of
       the struct would cost as much as the decode) */
    struct view_fact_chunk *c = chunk_room(vf, 1, VALUE_TEXT_MAX);
    if (c == NULL)
        return MP_ENOMEM;
    struct mp_mem_entity *e = &c->facts[c->nfacts];
    int rc = mp_codec_get_fact_head(rec, n, e, &value);
    if (rc != MP_OK)
        return rc;
    c->nfacts++;
    e->id = id;
    e->has_id = true;
    e->value = c->text + c->text_used;
    memcpy(e->value, value, e->value_len);
    e->value[e->value_len] = '\0';
    c->text_used += e->value_len + 1;
    vf->map[slot_of(vf->map, vf->map_cap, id)] = (struct view_fact_slot){id, e};
    vf->n++;
    *out = e;
    return MP_OK;
}

int mp_view_facts_text(struct mp_view_facts *vf, struct mp_mem_entity *e)
{
    if (e->block_text != NULL)
        return MP_OK;
    struct view_fact_chunk *c = chunk_room(vf, 0, MP_MEMBLOCK_FACT_TEXT_MAX);
    if (c == NULL)
        return MP_ENOMEM;
    /* the decode required a key and a value, as the text does */
    c->text_used += mp_memblock_fact_write_ahead(e, c->text + c->text_used);
    return MP_OK;
}

size_t mp_view_facts_bytes(const struct mp_view_facts *vf)
{
    size_t n = vf->map_cap * sizeof(*vf->map);
    for (const struct view_fact_chunk *c = vf->chunks; c != NULL; c = c->next)
        n += sizeof(*c);
    return n;
}

void mp_view_facts_cleanup(struct mp_view_facts *vf)
{
    while (vf->chunks != NULL) {
        struct view_fact_chunk *c = vf->chunks;
        vf->chunks = c->next;
        free(c);
    }
    free(vf->map);
    memset(vf, 0, sizeof(*vf));
}
