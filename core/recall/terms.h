/* Terms: the words memory is searched by, the same for what is indexed and
 * for the question, so that both meet (issue 8). Pure text processing: no
 * index, no scoring (core/recall/recall.c), no storage.
 *
 * Text in, terms out, in order (issue 52: every language):
 *   0. the language (core/recall/lang.h): given by the caller (stored with
 *      a message), or identified from the text (MP_LANG_AUTO).
 *   1. words: maximal runs of letters, combining marks and digits of every
 *      script (UTF-8); punctuation of every script (. ? 。 、 ？ ！ ، ؛ ؟ ۔
 *      । and the full-width forms), symbols, spaces and emoji separate
 *      words. An apostrophe (' or U+2019) between two letters stays in the
 *      word ("don't", "Caroline's"); a dot between two digits too ("3.5").
 *      Invalid UTF-8 separates words.
 *   2. a word all ASCII is folded to lower case (the fast path: English
 *      text comes out exactly as before languages came). Any other word is
 *      NFKC-normalized and case folded in full (ICU nfkc_casefold:
 *      full-width forms become ASCII, "Straße" becomes "strasse"), Arabic
 *      tashkeel and tatweel are dropped, and it is split by script: Han,
 *      Kana, Thai, Lao, Khmer and Burmese into the words of ICU's
 *      dictionary word break (a Han or Kana word of three characters or
 *      more adds its bigrams: 杭州市 gives 杭州市 杭州 州市), Hangul into
 *      overlapping syllable bigrams (a lone syllable is its own term), each
 *      a term as it is (no stop word, no stemmer); digits stay whole
 *      ("2023年": "2023" and "年"). Mixed text gets both: "我的iPhone很好用"
 *      is 我的 iphon 很好 用.
 *   3. stop words of the word's language are dropped; they still count as
 *      positions. A Han or Kana word is Japanese in a Japanese text or when
 *      it has Kana, else Chinese; Chinese drops its question words and
 *      sentence-final particles (什么, 哪里, 吗, 呢: stopwords/chinese.txt),
 *      Japanese has no list. A word's language is the text's when the text's language
 *      is written in the word's script, else the script's first language
 *      (Latin: English, Cyrillic: Russian ...), else none.
 *   4. stemming: the language's Snowball stemmer (libstemmer: English
 *      strips the possessive 's); a stem that is a stop word is dropped
 *      too; a word of a language without a stemmer is its folded self.
 *      Words with a digit are not stemmed: numbers, years and dates stay
 *      whole ("2023", "8th", "3.5").
 * Across languages a question finds a message through what both write
 * the same: names and numbers (a word with a digit is never stemmed, a
 * name mostly stems to itself), Han and Kana words, words of a script
 * whose language both share.
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

struct mp_xlate;
/* The translation tables (core/recall/xlate.h; borrowed, NULL: none) the
 * questions read with t are also looked up in, in the user's other
 * languages (relevance_words.h): the deployment's, set once per thread
 * when t is made. Tokenizing itself does not use them. */
void mp_terms_set_xlate(struct mp_terms *t, const struct mp_xlate *x);
/* What mp_terms_set_xlate() set (NULL: none, or t NULL). */
const struct mp_xlate *mp_terms_xlate(const struct mp_terms *t);

/* Called once per term: term[0..len) (valid during the call only, not
 * NUL-terminated) and its word position. A return other than MP_OK stops
 * the walk and is passed on. */
typedef int (*mp_terms_fn)(void *arg, const char *term, size_t len, uint32_t pos);

/* Walks the terms of text[0..len) (borrowed) in order, read as language
 * lang (enum mp_lang, or MP_LANG_AUTO: identified from the text). Returns
 * MP_OK, or what fn returned to stop. */
int mp_terms_each_lang(struct mp_terms *t, const char *text, size_t len, int lang, mp_terms_fn fn,
                       void *arg);
/* mp_terms_each_lang with MP_LANG_AUTO. */
int mp_terms_each(struct mp_terms *t, const char *text, size_t len, mp_terms_fn fn, void *arg);

/* Called once per word, stop words included: the folded word[0..wlen) and its
 * term[0..len), or term NULL when the word is dropped (stop word); both valid
 * during the call only. A return other than MP_OK stops the walk. */
typedef int (*mp_terms_word_fn)(void *arg, const char *word, size_t wlen, const char *term,
                                size_t len, uint32_t pos);

/* Walks every word of text[0..len) (borrowed) in order, with its term
 * (mp_terms_each is this walk without the dropped words), read as language
 * lang (or MP_LANG_AUTO). A Han, Kana or Hangul bigram, and a word of ICU's
 * word break, is handed as both word and term. */
int mp_terms_each_word_lang(struct mp_terms *t, const char *text, size_t len, int lang,
                            mp_terms_word_fn fn, void *arg);
/* mp_terms_each_word_lang with MP_LANG_AUTO. */
int mp_terms_each_word(struct mp_terms *t, const char *text, size_t len, mp_terms_word_fn fn,
                       void *arg);

/* mp_terms_each_word_lang that may leave out a word of ASCII letters (no
 * digit, no apostrophe) it has handed already in the same walk: the same
 * folded word, so the same term; its position is counted all the same.
 * Which repeats are left out is not promised (most are): for a fn on
 * which a word's second time changes nothing but the position (the
 * question's groups, relevance_words.h), and which does not walk t itself
 * (mp_terms_restem is fine). */
int mp_terms_each_new_word_lang(struct mp_terms *t, const char *text, size_t len, int lang,
                                mp_terms_word_fn fn, void *arg);

/* The term the folded word[0..wlen) (as mp_terms_each_word_lang hands it,
 * of a text read as language from) would have in a text of language lang:
 * the stemmer and stop words its script takes there (a Latin word in a
 * Turkish text: Turkish; in a Russian text: English), after from's
 * elision and English possessive (Ridgeline'da read as Turkish, asked of
 * English memory: "ridgelin"; Katrin's: "katrin"; Алиса's in English, of
 * Russian memory: "алис"). *term NULL (and *n 0) when the word takes the
 * same stemmer in both and loses nothing (nothing to add), has a digit,
 * is Han, Kana, Hangul or Thai-like (no stemmer reads them), or is a stop
 * word there. *term is valid until the next call with t. MP_OK or
 * MP_ENOMEM (issue 66: a question's names in the memory's spelling). */
int mp_terms_restem(struct mp_terms *t, const char *word, size_t wlen, int from, int lang,
                    const char **term, size_t *n);

/* The index of word[0..len) in words (elements of size bytes, each starting
 * with a const char * to a NUL-terminated word, no two alike), found
 * through its hash table slots[0..nslots): nslots a power of two, more than
 * the words; the word's probe starts at its 32-bit FNV-1a hash (of its
 * bytes) masked to nslots - 1 and goes on by one; a slot holds a word's
 * index + 1, 0 ends the probe. -1 when the word is not there. The lookup of
 * every compiled-in word list (stop words, lexicons), met for every word of
 * a text: a hash and a compare or two. Their generators
 * (core/recall/stopwords/gen.py, tests/bench/recall/reference/
 * gen_lexicon.py) write the tables. */
long mp_terms_find_hashed(const void *words, size_t size, const uint16_t *slots, size_t nslots,
                          const char *word, size_t len);
/* mp_terms_find_hashed of a word whose hash h is known already
 * (mp_fnv1a32(MP_FNV1A32_BASIS, word, len), made as the word was read). */
long mp_terms_find_hash(const void *words, size_t size, const uint16_t *slots, size_t nslots,
                        uint32_t h, const char *word, size_t len);

/* True when the folded word[0..len) is an English stop word. */
bool mp_terms_is_stop(const char *word, size_t len);

/* Whether cp is a word character (step 1 above: a letter, combining mark
 * or number of any script); anything else separates words. */
bool mp_terms_is_word_char(uint32_t cp);

/* Unicode simple case folding of cp for ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic, full-width ASCII forms (U+FF01..FF5E) to ASCII first
 * as NFKC does (others unchanged; U+2019 becomes '): what callers fold a
 * single character by. */
uint32_t mp_terms_fold(uint32_t cp);

#endif
