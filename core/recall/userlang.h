/* The user's usual language (issue 52): what a question's language is
 * identified against when its own words do not tell (a short Latin
 * question without a stop word of its language). Read from what a request
 * holds already, the head record (buffered messages, the archive's
 * language tally, summary, facts): no store read. Pure: no I/O. */
#ifndef MP_CORE_USERLANG_H
#define MP_CORE_USERLANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/lang.h"

struct mp_usermem;

/* User-role buffered messages looked at, newest first: a request whose
 * question leaves its language open pays for them (a handful of words
 * each for English, which identification stops early on). Not tuned: 8
 * is about the user's half of the default buffer (15 messages), and one
 * message already gives the needles' gain. */
#define MP_USERLANG_MESSAGES 8
/* Bytes of the summary or a fact value read when its language has to be
 * identified: a text tells its language in its first words (lang.c reads
 * 32 Latin words at most). */
#define MP_USERLANG_BYTES 256

/* The language (enum mp_lang) most of the newest MP_USERLANG_MESSAGES
 * user-role messages of um->messages are written in (their stored lang; a
 * message whose lang is 0 casts no vote), a tie going
 * to the newer message's: the newest words tell a change of language;
 * without a user message buffered, the language most of the user's
 * archived user messages are written in (the store's tally, e.g.
 * mp_recall_source.lang; MP_LANG_NONE: not known), which a user whose
 * memory came by import has without a buffer; else the summary's
 * language, else the language most of um->entities' values (at most
 * MP_USERLANG_MESSAGES of them) are written in; MP_LANG_NONE when none of
 * these tells. um (NULL: none) is borrowed for the call. */
int mp_userlang_of(const struct mp_usermem *um, int archived);

/* A vote of texts' languages: the language most votes went to, a tie
 * going to the earlier vote (callers vote newest first). Zero it with
 * mp_userlang_vote_init; best is MP_LANG_NONE until a vote. */
struct mp_userlang_vote {
    unsigned n[MP_LANG_COUNT];
    int best;
};
void mp_userlang_vote_init(struct mp_userlang_vote *v);
/* One vote for lang (MP_LANG_NONE or out of range: none). */
void mp_userlang_vote_lang(struct mp_userlang_vote *v, int lang);
/* One vote for the language of text[0..len) (borrowed; mp_lang_detect of
 * its first MP_USERLANG_BYTES; empty or NULL: none). */
void mp_userlang_vote_text(struct mp_userlang_vote *v, const char *text, size_t len);

/* A language the user's memory holds (issue 66: a question is also looked
 * up in it, translated): at least MP_USERLANG_HELD_MIN of the user-role
 * messages counted and at least one in MP_USERLANG_HELD_SHARE of them, so
 * that a message or two identified wrongly (a short English line read as
 * Danish) make no monolingual user pay for translation. */
#define MP_USERLANG_HELD_MIN   2
#define MP_USERLANG_HELD_SHARE 20

/* The languages (bit 1 << id, enum mp_lang) counts[0..MP_LANG_COUNT) of
 * user-role messages (the archive's tally; counts[MP_LANG_NONE] unused)
 * hold by the rule above; 0 for NULL. */
uint64_t mp_userlang_held_counts(const uint32_t *counts);

/* The languages the user's memory holds: archived (the tally's,
 * mp_userlang_held_counts) and those um's buffered user-role messages
 * hold by the same rule (um NULL: none). */
uint64_t mp_userlang_held(const struct mp_usermem *um, uint64_t archived);

/* The user's usual language as a question's prior, found once and only
 * when a question needs it: um borrowed for as long as the struct is used
 * (NULL: none), archived as mp_userlang_of() takes it. Set up with
 * MP_USERLANG_PRIOR(um, archived). */
struct mp_userlang_prior {
    const struct mp_usermem *um;
    int archived;
    int lang;
    bool known; /* lang was read from um */
    /* The languages the user's memory holds (mp_userlang_held): a
     * question is also looked up in those other than its own, translated
     * (relevance_words.h); 0: none (MP_USERLANG_PRIOR), no translation. */
    uint64_t held;
};
#define MP_USERLANG_PRIOR(um_, archived_)                                                          \
    {                                                                                              \
        (um_), (archived_), 0, false, 0                                                            \
    }
/* MP_USERLANG_PRIOR with the languages the memory holds (held_: the
 * archive's, mp_recall_source.langs; the buffer's are added). */
#define MP_USERLANG_PRIOR_HELD(um_, archived_, held_)                                              \
    {                                                                                              \
        (um_), (archived_), 0, false, mp_userlang_held((um_), (held_))                             \
    }

/* The language of the question q[0..qlen) (borrowed), identified with the
 * user's usual language (mp_userlang_of(prior->um, prior->archived), read only when the
 * question's own words leave the choice to it: mp_lang_detect_lazy, and at
 * most once per prior) as the prior; prior NULL: the text alone. */
int mp_userlang_question(const char *q, size_t qlen, struct mp_userlang_prior *prior);

#endif
