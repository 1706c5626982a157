/* Terms: the words memory is searched by, the same for what is indexed and
 * for the question, so that both meet (issue 8). Pure text processing: no
 * index, no scoring (core/recall/recall.c), no storage.
 *
 * Text in, terms out, in order:
 *   1. words: maximal runs of letters and digits (UTF-8; any code point of
 *      a letter script counts as a letter, punctuation, symbols, spaces and
 *      emoji separate words). An apostrophe (' or U+2019) between two
 *      letters stays in the word ("don't", "Caroline's"); a dot between two
 *      digits too ("3.5"). Invalid UTF-8 separates words.
 *   2. case folding: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic by
 *      Unicode simple case folding (U+2019 becomes '); other scripts are
 *      kept as they are.
 *   3. stop words (mp_terms_is_stop: the Snowball English list, on the
 *      folded word) are dropped; they still count as positions.
 *   4. stemming: Snowball's English stemmer (libstemmer), which also strips
 *      the possessive 's; a stem that is a stop word is dropped too. Words
 *      with a digit are not stemmed: numbers, years and dates stay whole
 *      ("2023", "8th", "3.5").
 * A term is at most MP_TERMS_MAX bytes (a longer word is cut at a UTF-8
 * boundary). Positions count every word, stop words included, from 0, so
 * that neighbours in the text stay neighbours in positions. */
#ifndef MP_CORE_TERMS_H
#define MP_CORE_TERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_TERMS_MAX 64 /* bytes of one term */

/* A tokenizer with its stemmer. Not thread-safe: one per thread. */
struct mp_terms;

/* MP_OK with *out (free with mp_terms_free()), MP_ENOMEM, or MP_EIO when
 * libstemmer has no English stemmer. */
int mp_terms_new(struct mp_terms **out);
/* mp_terms_free(NULL) does nothing. */
void mp_terms_free(struct mp_terms *t);

/* Called once per term: term[0..len) (valid during the call only, not
 * NUL-terminated) and its word position. A return other than MP_OK stops
 * the walk and is passed on. */
typedef int (*mp_terms_fn)(void *arg, const char *term, size_t len, uint32_t pos);

/* Walks the terms of text[0..len) (borrowed) in order. Returns MP_OK, or
 * what fn returned to stop. */
int mp_terms_each(struct mp_terms *t, const char *text, size_t len, mp_terms_fn fn, void *arg);

/* Called once per word, stop words included: the folded word[0..wlen) and its
 * term[0..len), or term NULL when the word is dropped (stop word); both valid
 * during the call only. A return other than MP_OK stops the walk. */
typedef int (*mp_terms_word_fn)(void *arg, const char *word, size_t wlen, const char *term,
                                size_t len, uint32_t pos);

/* Walks every word of text[0..len) (borrowed) in order, with its term
 * (mp_terms_each is this walk without the dropped words). */
int mp_terms_each_word(struct mp_terms *t, const char *text, size_t len, mp_terms_word_fn fn,
                       void *arg);

/* The index of word[0..len) in words[0..n): an array of n elements of size
 * bytes, each starting with a const char * to a NUL-terminated word, sorted
 * by bytes (memcmp order, a prefix first); -1 when it is not there. One
 * lookup for every compiled-in word list (stop words, lexicons). */
long mp_terms_find_sorted(const void *words, size_t n, size_t size, const char *word, size_t len);

/* True when the folded word[0..len) is an English stop word. */
bool mp_terms_is_stop(const char *word, size_t len);

/* Unicode simple case folding of cp for the scripts listed above (others
 * unchanged). */
uint32_t mp_terms_fold(uint32_t cp);

#endif
