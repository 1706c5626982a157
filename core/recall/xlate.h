/* Translation of a question's words (issue 66): the dictionary tables a
 * deployment enabled, each one direction between English and another
 * language (core/recall/xlatetab.h), and the lookup of one stemmed term in
 * the languages asked for: straight through a table when the question or
 * the memory is English, through English (the pivot) between two others.
 * It opens no file (the proxy maps the tables and hands their bytes) and
 * knows nothing of scoring (relevance_words.c weighs what it gives). */
#ifndef MP_CORE_XLATE_H
#define MP_CORE_XLATE_H

#include <stddef.h>
#include <stdint.h>

#include "recall/lang.h"
#include "recall/xlatetab.h"

/* A set of languages: bit (1 << id) per enum mp_lang. */
#define MP_XLATE_BIT(lang) ((uint64_t)1 << (lang))

/* The languages this build has dictionaries for (both directions with
 * English, English included): the tables meson builds, and what the
 * setting's "all" means. Chinese, Korean, Thai, Hebrew and the others have
 * none (Debian ships no FreeDict pair for them). */
uint64_t mp_xlate_dict_langs(void);

/* The file name of the table from src to dst ("xlate-de-en.tab") into
 * out[0..cap): what the build writes and the proxy maps. MP_OK, or
 * MP_EINVAL when a language has no code or out is too small. */
int mp_xlate_table_name(int src, int dst, char *out, size_t cap);

/* Parses the setting `[memory] translate_languages` s (NUL-terminated):
 * "all" (every language with a dictionary), "none" (off: an empty set),
 * or ISO 639-1 codes separated by commas ("de,fr,es"; "en" may be named
 * and is always in a set that is not empty). MP_OK with *out, or
 * MP_EINVAL with the reason in why[0..cap) (an unknown code, a language
 * without a dictionary, an empty item). */
int mp_xlate_parse_langs(const char *s, uint64_t *out, char *why, size_t cap);

/* The tables of a deployment, by direction. Zero it with mp_xlate_init. */
struct mp_xlate {
    struct mp_xlatetab to_en[MP_LANG_COUNT];   /* language -> English */
    struct mp_xlatetab from_en[MP_LANG_COUNT]; /* English -> language */
    uint64_t to, from;                         /* the languages with each */
};

void mp_xlate_init(struct mp_xlate *x);

/* Adds the table in bytes[0..len) (borrowed: valid as long as x is used).
 * MP_OK; MP_EINVAL when it is no table, neither side is English, or one
 * side is no language. A second table of a direction replaces the first. */
int mp_xlate_add(struct mp_xlate *x, const void *bytes, size_t len);

/* The same, its header read from head (mp_xlatetab_open_head): bytes is
 * not touched. */
int mp_xlate_add_head(struct mp_xlate *x, const void *head, const void *bytes, size_t len);

/* The languages a term of language from can be translated into with x's
 * tables (from itself excluded; 0 when x is NULL). */
uint64_t mp_xlate_reach(const struct mp_xlate *x, int from);

/* Ranks' weights: the first translation 1, then less (xlate.c); a pivot's
 * is the product of its two steps'. */
double mp_xlate_rank_weight(unsigned rank);

/* Called once per translation: its language, term[0..len) (valid during
 * the call only; several terms joined by one space: a phrase) and its
 * weight in (0, 1]. A return other than MP_OK stops the walk. */
typedef int (*mp_xlate_fn)(void *arg, int lang, const char *term, size_t len, double w);

/* Walks the translations of the stemmed term key[0..klen) (borrowed; a
 * phrase of several terms joined by spaces) of language from into each
 * language of to that x reaches (ascending ids), best first: a table's
 * own ranking; through English, the first two English senses and each
 * one's first two translations. MP_OK (none found is no error), or what fn
 * returned. */
int mp_xlate_word(const struct mp_xlate *x, int from, uint64_t to, const char *key, size_t klen,
                  mp_xlate_fn fn, void *arg);

#endif
