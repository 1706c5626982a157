/* Languages of text for relevance (issue 52): the ids that terms are made
 * by (core/recall/terms.c), each language's Snowball stemmer name and stop
 * words, and the identification of a text's language. Pure: no I/O.
 *
 * Identification reads the letters of the text: the script decides first
 * (Han with Kana: ja; Han: zh; Hangul: ko; Cyrillic: ru; Arabic: ar;
 * Devanagari: hi; Greek: el; Thai: th ...); Latin text is scored against
 * the Snowball stop lists of the Latin languages (en da nl fi fr de hu it
 * no pt es sv tr), and the language whose stop words it holds most wins;
 * English wins a tie and takes Latin text that holds no stop word, so that
 * English text is read exactly as before languages came. */
#ifndef MP_CORE_LANG_H
#define MP_CORE_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A language id. The number is what an index stores with a message: never
 * renumber, only append. MP_LANG_NONE: not known (words are folded, not
 * stemmed). */
enum mp_lang {
    MP_LANG_NONE = 0,
    MP_LANG_EN,
    MP_LANG_DA,
    MP_LANG_NL,
    MP_LANG_FI,
    MP_LANG_FR,
    MP_LANG_DE,
    MP_LANG_HU,
    MP_LANG_IT,
    MP_LANG_NO,
    MP_LANG_PT,
    MP_LANG_ES,
    MP_LANG_SV,
    MP_LANG_TR,
    MP_LANG_RU,
    MP_LANG_NE,
    MP_LANG_AR,
    MP_LANG_HI,
    MP_LANG_EL,
    MP_LANG_HY,
    MP_LANG_TA,
    MP_LANG_CA,
    MP_LANG_EU,
    MP_LANG_GA,
    MP_LANG_ID,
    MP_LANG_LT,
    MP_LANG_RO,
    MP_LANG_SR,
    MP_LANG_YI,
    MP_LANG_ZH,
    MP_LANG_JA,
    MP_LANG_KO,
    MP_LANG_TH,
    MP_LANG_HE,
    MP_LANG_COUNT
};

/* Asks mp_terms_each_lang() and friends to identify the language of the
 * text they are given (mp_lang_detect). */
#define MP_LANG_AUTO 255

/* The ISO 639-1 code of lang ("en", "zh"; "" for MP_LANG_NONE or an id out
 * of range). Static storage. */
const char *mp_lang_code(int lang);

/* The English name of lang ("Japanese"; "" for MP_LANG_NONE or an id out
 * of range): what a prompt calls the user's language. Static storage. */
const char *mp_lang_name(int lang);

/* The language of the ISO 639-1 code[0..len) (case-sensitive, lower
 * case), MP_LANG_NONE when none is known. */
int mp_lang_from_code(const char *code, size_t len);

/* libstemmer's name of lang's stemmer ("english"), NULL when Snowball has
 * none (zh, ja, ko, th, he, none). Static storage. */
const char *mp_lang_stemmer(int lang);

/* True when the folded word[0..len) is one of lang's stop words (English:
 * the list of mp_terms_is_stop; a language without a published Snowball
 * list has none). */
bool mp_lang_is_stop(int lang, const char *word, size_t len);

/* The languages whose stop lists hold the folded word[0..len): a bit
 * (1 << id) for each (enum mp_lang), 0 for none. One hash lookup: what a
 * walk that meets every word of a text asks. */
uint32_t mp_lang_stop_langs(const char *word, size_t len);

/* The language of text[0..len) (borrowed, UTF-8; invalid bytes are
 * skipped): read from its first 4 KiB at most. Text without a letter
 * (numbers, emoji, empty) is English, as is Latin text without a stop word
 * of another language. */
int mp_lang_detect(const char *text, size_t len);

/* mp_lang_detect with another default than English for Latin text: prior
 * (a Latin language with a stop list: en da nl fi fr de hu it no pt es sv
 * tr; any other is read as English) wins a tie and takes Latin text whose
 * stop words and letters tell no language apart. For the question of a
 * user whose archive is in one language ("Tenis derslerim hangi
 * kortlarda?" holds no Turkish stop word). */
int mp_lang_detect_prior(const char *text, size_t len, int prior);

/* mp_lang_detect_prior with the prior asked for only when the text leaves
 * the choice to it: prior(arg) is called at most once, when text's letters
 * are Latin (or none) and its stop words and letters tell no language apart
 * (or two alike); otherwise the result is mp_lang_detect's. For a prior
 * that costs something to find (the user's usual language): a question
 * with two English stop words, or in another script, never needs it. */
int mp_lang_detect_lazy(const char *text, size_t len, int (*prior)(void *arg), void *arg);

/* The language a word of script (an ICU UScriptCode) takes in a text of
 * language lang: lang when lang is written in that script, else the
 * script's first language (Latin: en, Cyrillic: ru, Arabic: ar, Devanagari:
 * hi, Greek: el ...), else MP_LANG_NONE. */
int mp_lang_of_script(int lang, int script);

#endif
