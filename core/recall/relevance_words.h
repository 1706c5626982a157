/* The words of relevance (relevance.h): what the index builder and scoring
 * must agree on (time expressions, date terms, surface words), and the
 * question as scoring reads it, parsed once per request: its words split,
 * folded and stemmed (mp_terms), question-framing words dropped, each with
 * its lexicon relations and surface form; its date terms; whether it asks
 * about time. Scoring builds each kind's query from that without reading
 * the text again. */
#ifndef MP_CORE_RELEVANCE_WORDS_H
#define MP_CORE_RELEVANCE_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/terms.h"

struct mp_userlang_prior;

#define MP_RELEVANCE_MAX_GROUPS 64 /* groups of one query (words past them are ignored) */
#define MP_RELEVANCE_DATE_MAX   16 /* bytes of a date term with its NUL */

/* ---- for whoever builds the index, so that it agrees with scoring ---- */

/* *out = text[0..len) holds a time expression: a month or weekday name,
 * yesterday, today, week(s), ... (METHOD.md's TIME_WORDS) or a year 19xx/20xx.
 * MP_OK or MP_ENOMEM. */
int mp_relevance_timex(struct mp_terms *terms, const char *text, size_t len, bool *out);
/* Whether one word (as mp_terms_each_word() hands it) makes text hold a
 * time expression, for a walk over the words that is already made. */
bool mp_relevance_timex_word(const char *word, size_t wlen);

/* The date terms of a date: mon = "@may", yr = "@2023". month 1..12, else
 * MP_EINVAL. */
int mp_relevance_date_terms(unsigned year, unsigned month, char mon[MP_RELEVANCE_DATE_MAX],
                            char yr[MP_RELEVANCE_DATE_MAX]);

/* The surface form of a folded word from mp_terms_each_word (with a term):
 * a trailing 's removed, other apostrophes deleted, into out (MP_TERMS_MAX
 * bytes), *n its length. False when the word has a digit or a dot, or is
 * empty or a stop word after that: no surface word. */
bool mp_relevance_surface_word(const char *word, size_t wlen, char *out, size_t *n);

/* ---- the question ---- */

struct mp_relevance_lex_entry;

/* A word of the question that makes a group: its stem (term), its lexicon
 * entry (NULL: none) and, when alpha, its surface form (for spelling
 * neighbours). */
struct mp_relevance_qword {
    char term[MP_TERMS_MAX];
    uint8_t len;
    bool alpha;
    uint8_t slen;
    char surface[MP_TERMS_MAX];
    const struct mp_relevance_lex_entry *lex;
};

/* Translated terms kept per question (issue 66): the first words' first,
 * so a long question's last words go untranslated (the work ceiling of
 * relevance.h bounds their postings as it does the rest). 96: six
 * translations of each of 16 words, or of 8 in two languages. */
#define MP_RELEVANCE_MAX_XTERMS 96
/* A translation of several words counts each at this share of its weight
 * (each word alone is only part of what the question said). */
#define MP_RELEVANCE_PHRASE_W 0.7

/* The weight of a question's word stemmed as the memory's language stems
 * it (an xterm with same set): the word itself, as its own stem weighs. */
#define MP_RELEVANCE_RESTEM_W 1.0

/* A term of a question's word in another language the user's memory
 * holds (core/recall/xlate.h): a member of word w[group]'s group at
 * w times the group's weight times lex_w's sibling xlate_w (relevance.h),
 * or, when same, the word itself as that language stems it
 * (mp_terms_restem: a name written as the memory writes it, "Priya" in a
 * Spanish question, stemmed as English memory stems it) at w times the
 * group's weight, with no xlate_w. from[0..flen) is the folded word it
 * came from (two, space-separated, when the dictionary had them as one
 * headword: "blood pressure"). */
struct mp_relevance_xterm {
    char term[MP_TERMS_MAX];
    char from[MP_TERMS_MAX];
    uint8_t len, flen, lang, group;
    bool same; /* the word itself in lang's stemmer, not a translation */
    float w;   /* (0, 1]: the translation's rank (and pivot, phrase) */
};

/* w[0..nq) are the question's words, w[nq..n) the previous turn's, each
 * stem once, in order (a query has at most MP_RELEVANCE_MAX_GROUPS groups:
 * words past that many stems make none and are not kept);
 * date[0..ndates) the question's distinct date terms ("@may", "@2023":
 * month names written with a capital, years), in order; x[0..nx) the
 * translations of the words, in their order (none unless the user's
 * memory holds another language than the question's and the tokenizer has
 * tables: mp_terms_set_xlate). About 22 KiB. */
struct mp_relevance_question {
    struct mp_relevance_qword w[MP_RELEVANCE_MAX_GROUPS];
    size_t n, nq;
    struct mp_relevance_xterm x[MP_RELEVANCE_MAX_XTERMS];
    size_t nx;
    int lang; /* the question's language (enum mp_lang) */
    char date[MP_RELEVANCE_MAX_GROUPS][MP_RELEVANCE_DATE_MAX];
    uint8_t dlen[MP_RELEVANCE_MAX_GROUPS];
    size_t ndates;
    bool temporal; /* starts with "when", or holds "how long", "what year", ... */
};

/* Parses q[0..qlen) (the newest user message) and the optional previous turn
 * prev[0..prevlen) (NULL: none) into *out, each read in its own language,
 * identified with the user's usual language as the prior
 * (core/recall/userlang.h: mp_userlang_question; NULL: none, the text
 * alone decides). When prior holds languages (prior->held) other than a
 * text's and terms has tables for them (mp_terms_set_xlate), each of its
 * words that makes a group, and each two neighbouring ones, is looked up
 * in them (mp_xlate_word) into out->x: a word the dictionary does not know
 * (a name) is only itself, and, before its translations, each word is
 * also stemmed as each held language's text would stem it
 * (mp_terms_restem) when that differs. A user whose memory is all in the
 * question's language looks nothing up.
 * Allocates nothing. MP_OK or MP_ENOMEM (the stemmer's). */
int mp_relevance_question_parse(struct mp_terms *terms, const char *q, size_t qlen,
                                const char *prev, size_t prevlen, struct mp_userlang_prior *prior,
                                struct mp_relevance_question *out);

#endif
