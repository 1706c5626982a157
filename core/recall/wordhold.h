/* Whole words: whether a text holds a value where a reader sees the
 * value's own words, never inside longer ones. Erasure's one test of what
 * holds a fact's value, for the buffer and for every message the archive's
 * index offers (storage/ops/store_erase.c, docs/governance.md#erasure).
 * Pure text: no index, no stemming ("going" does not hold "Go", although
 * recall stems both to "go").
 *
 * The rule, with the words recall reads (core/recall/terms.h):
 *   - both sides are folded as recall folds a character (mp_terms_fold:
 *     case in Latin, Greek and Cyrillic, full-width forms to ASCII);
 *     a run of spaces in the value matches a run of spaces in the text;
 *   - where the value begins or ends with a word character (a letter,
 *     mark or number of any script), the text's neighbouring character
 *     must not continue that word: a letter, mark or number of the same
 *     script (or of none, as digits), so "Go" is not in "going", "ago"
 *     or "Cargo", "AI" not in "AIM" or "said", "7" not in "17" or "7th";
 *     a dot or comma between two digits joins them ("7" is not in "7.5"
 *     or "7,000"); a letter of another script ends the word ("Go语言");
 *   - scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao,
 *     Khmer, Myanmar) and Hangul (whose particles are written onto the
 *     noun: "서울에서") need no boundary: a value of those scripts is held
 *     wherever its characters stand in a row ("杭州" in "我住在杭州");
 *   - an apostrophe joins, as it does in recall's words ("O'Brien" does
 *     not hold "Brien"), except where recall's reading takes it off: a
 *     possessive "'s" after the value ("Caroline's" holds "Caroline") in
 *     any text, any suffix after it in a Turkish text ("Ankara'da" holds
 *     "Ankara"), and a French, Italian or Catalan article or pronoun of
 *     at most five letters before it in a text of those languages
 *     ("l'Italie" holds "Italie"). */
#ifndef MP_CORE_WORDHOLD_H
#define MP_CORE_WORDHOLD_H

#include <stdbool.h>
#include <stddef.h>

/* Whether text[0..n), a text of language lang (enum mp_lang; MP_LANG_NONE
 * when not known), holds value[0..len) as whole words (above). Both
 * borrowed, UTF-8 (an invalid byte matches only itself and separates
 * words). A value of blanks alone is held nowhere. */
bool mp_wordhold_in(const char *text, size_t n, int lang, const char *value, size_t len);

/* Whether value[0..len) has a character of a script written without
 * spaces, or Hangul: recall's index splits those by a dictionary or into
 * bigrams, so a text that holds it may have no term of it; a caller that
 * finds holders through the index reads every text instead. */
bool mp_wordhold_unspaced(const char *value, size_t len);

/* The possessive a text may write after a value and still hold it: a
 * caller that finds holders through the index looks the value's last word
 * up with it too (recall stems "caroline's" to "carolin" in English, keeps
 * it whole in French). */
#define MP_WORDHOLD_POSSESSIVE "'s"

#endif
