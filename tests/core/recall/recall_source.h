/* A struct mp_recall_source in memory, for the recall suites: the facts
 * are the memory fixture's (fx_fact, mem_fixture.h), the archive is built
 * here, and both search indexes are built from their text with mp_terms,
 * the way a store would (content = a fact's value or a message's text, key
 * = a fact's key; no dates, no spelling neighbours; each fact a session of
 * its own, the messages of a day one session, so the archive must be added
 * in time order). An item's
 * cost is the token estimate of what memblock writes for it. Fact ids are
 * indexes into fx_ents; archived message ids are their seqs (0, 1, ...).
 * The fixture counts its calls and can be told to fail. */
#ifndef MP_TESTS_CORE_RECALL_SOURCE_H
#define MP_TESTS_CORE_RECALL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "recall/recall.h"
#include "memory/usermem.h"

#define FS_MAX_ARCHIVE 64
#define FS_MAY8        1683547200000LL /* 2023-05-08T12:00:00Z */
#define FS_JUN1        1685620800000LL /* 2023-06-01T12:00:00Z */

extern struct mp_recall_source fs_src; /* valid after fs_build() */
extern struct mp_terms *fs_terms;      /* for the params */
extern struct mp_usermem fs_head;      /* fx_um without its facts (valid after fs_build()) */
extern struct mp_mem_message fs_msgs[FS_MAX_ARCHIVE];
extern size_t fs_nmsgs;

/* Calls the source got, and what it is told to return instead. */
struct fs_calls {
    size_t ranked_walks, ranked_facts;        /* walks, and facts passed to the walks' fn */
    size_t facts, messages;                   /* fact() and message() calls */
    int fail_ranked, fail_fact, fail_message; /* nonzero: returned instead */
    long missing_fact;                        /* this fact id is MP_NOTFOUND; -1: none */
};
extern struct fs_calls fs_calls;

/* Checked fixture, with fx_setup/fx_teardown: an empty archive, no index. */
void fs_setup(void);
void fs_teardown(void);

/* Adds an archived message (a copy of text), its seq the next id. */
struct mp_mem_message *fs_archive(enum mp_role role, const char *text, int64_t at_ms,
                                  const char *request_id);

/* e made a fact extracted from turn request_id (an extraction model
 * named); returns e. */
struct mp_mem_entity *fs_extracted(struct mp_mem_entity *e, const char *request_id);

/* Ada and her beagle, built: facts name (admin), pet (r-pet), job
 * (r-job), city (r-city), hobby (inferred, r-hobby), those four extracted
 * from their turns (fs_extracted); archived messages 0
 * and 1 of turn r-pet on May 8 2023 (the adoption), 2 of r-work on May 9
 * (the pipeline at work), 3 and 4 of r-shoes on June 1 ("Rex chewed my
 * climbing shoes", "Maybe keep the shoes on a high shelf."). */
void fs_pets(void);

/* Builds both indexes (NULL when they have no item) and fs_src, fs_head.
 * Call again after adding more. */
void fs_build(void);

/* The block of plan as memblock renders it, with the summary sm (caller
 * frees); fails the test unless it is plan->block_len bytes. */
char *fs_render(const struct mp_recall_plan *plan, const struct mp_mem_summary *sm);

#endif
