/* The translation tables of the process (issue 66): mapped read-only at
 * start for the languages `[memory] translate_languages` enables, from
 * `[memory] translate_dir` (empty: where `meson install` put them), and
 * handed to every thread's tokenizer (net/loop.c). The maps are lazy: a
 * page is read when a question's word lands on it, so idle memory holds
 * none of a table. Read once; a changed setting takes a restart. */
#ifndef MP_PROXY_XLATEMAP_H
#define MP_PROXY_XLATEMAP_H

#include <stdint.h>

struct mp_config;
struct mp_xlate;

/* Maps the tables cfg enables (both directions of each language with
 * English). A table that is missing or not a table is logged (warn) and
 * left out: that language is then matched by its own words only, as
 * before. Call once, before any thread runs; MP_OK always (translation
 * is help, not a condition of start). */
int mp_xlatemap_load(const struct mp_config *cfg);

/* The tables mapped (NULL before mp_xlatemap_load, or when none is):
 * valid until mp_xlatemap_unload. */
const struct mp_xlate *mp_xlatemap_get(void);

/* Unmaps them, after every thread has stopped. */
void mp_xlatemap_unload(void);

#endif
