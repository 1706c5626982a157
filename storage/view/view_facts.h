/* The facts one store view decoded (store_view.c): each fact read from the
 * store at most once per view and kept, with its value, in the view's one
 * block until the view closes, found again by its id. The block grows in
 * chunks, so a fact never moves: callers hold pointers to the facts for
 * the view's life. No allocation per fact; values are NUL-terminated
 * copies (a backend's bytes live only until its transaction ends). A
 * fact's text in the memory block (e->block_text, core/memory/usermem.h) is
 * written beside it once, when the view first hands the fact to recall
 * (mp_view_facts_text), not at decoding: a request that measures and
 * writes a fact several times sanitizes it once, and the facts a small
 * user's ranked walk decodes only to order them are never written at all
 * when the budget is spent before they are offered. */
#ifndef MP_STORAGE_VIEW_FACTS_H
#define MP_STORAGE_VIEW_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "recall/memblock.h"
#include "memory/usermem.h"

struct view_fact_slot;
struct view_fact_chunk;

struct mp_view_facts {
    struct view_fact_chunk *chunks; /* newest first; each holds facts and their text */
    struct view_fact_slot *map;     /* id -> fact, open addressing; NULL: empty */
    size_t n, map_cap;              /* facts held; slots (a power of two, > 2n) */
};

/* The fact id when the block holds it, else NULL. */
struct mp_mem_entity *mp_view_facts_find(const struct mp_view_facts *vf, uint32_t id);

/* Decodes the fact record rec[0..n) (borrowed) of fact id into the block,
 * without its block text (e->block_text NULL): MP_OK with *out (the
 * block's, valid until mp_view_facts_cleanup()), MP_EIO for a malformed
 * record, MP_ENOMEM. id must not be held yet. */
int mp_view_facts_add(struct mp_view_facts *vf, uint32_t id, const unsigned char *rec, size_t n,
                      struct mp_mem_entity **out);

/* Writes the block text of e (one of the block's facts) beside it unless
 * written already. MP_OK or MP_ENOMEM (e is then as it was). */
int mp_view_facts_text(struct mp_view_facts *vf, struct mp_mem_entity *e);

/* The bytes the block holds (its chunks and table). */
size_t mp_view_facts_bytes(const struct mp_view_facts *vf);

/* Frees the block; vf is then empty. */
void mp_view_facts_cleanup(struct mp_view_facts *vf);

#endif
