/* Helpers shared by the memory suites (test_inject, test_recall,
 * test_memblock): a user memory built by hand (not through usermem.c) and
 * freed by the fixture, and readers of a memory block's text. Each helper
 * fails the running Check test on misuse; none checks the code under test by
 * itself, but for fx_assert_block_shape(). */
#ifndef MP_TESTS_CORE_MEM_FIXTURE_H
#define MP_TESTS_CORE_MEM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "recall/memblock.h"
#include "memory/usermem.h"

#define DAY   86400000LL
#define MAY1  1714521600000LL /* 2024-05-01T00:00:00Z */
#define INTRO MP_MEMBLOCK_INTRO

/* The memory being built: entities and messages point into fixed arrays of
 * FX_MAX_FACTS and FX_MAX_MESSAGES. */
#define FX_MAX_FACTS    128
#define FX_MAX_MESSAGES 32
extern struct mp_usermem fx_um;
extern struct mp_mem_entity fx_ents[FX_MAX_FACTS];
extern struct mp_mem_message fx_mems[FX_MAX_MESSAGES];

/* Checked fixture: an empty memory before each test, all freed after. */
void fx_setup(void);
void fx_teardown(void);

/* A NUL-terminated copy of s[0..n) (caller frees). */
char *fx_dup(const char *s, size_t n);

/* Adds a fact: key (cut to MP_ENTITY_KEY_MAX), a copy of value[0..len),
 * observed and recorded at observed. Returns it, for more fields. */
struct mp_mem_entity *fx_fact_n(const char *key, const char *value, size_t len, enum mp_trust trust,
                                double conf, int64_t observed);

/* fx_fact_n() of a string value, stated, confidence 0.9, observed MAY1. */
struct mp_mem_entity *fx_fact(const char *key, const char *value);

/* Adds a buffered message (a copy of content), at MAY1. */
void fx_message(enum mp_role role, const char *content);

/* Sets the summary to a copy of text. */
void fx_summary(const char *text);

/* A memory with something in every section: two facts (name: Ada,
 * stated; vector_store: ChromaDB, corrected, a day older), a summary and
 * two messages (user, then assistant). */
void fx_full_memory(void);

/* Five buffered messages of 40 bytes each, alternating user and assistant;
 * the third has an 'e' with acute accent at bytes 20..21. */
void fx_five_messages(void);

/* The token estimate, written out: ceil(bytes / 4). */
uint32_t fx_tok(size_t bytes);

/* A copy of the line of block that starts with prefix, without its
 * newline (the copy lives until the next call). */
const char *fx_line_with(const char *block, const char *prefix);

/* The block has the intro line and at most one line per section, in order,
 * and no other line: stored text never starts a line of its own; and no
 * tag lookalike survives. */
void fx_assert_block_shape(const char *block, size_t want_lines);

#endif
