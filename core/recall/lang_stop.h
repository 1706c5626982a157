/* The compiled Snowball stop lists (generated from core/recall/stopwords/
 * by its gen.py): every word, sorted by bytes, with the bit (1 << id) of
 * each language (enum mp_lang) that lists it. Only core/recall/lang.c
 * reads it. */
#ifndef MP_CORE_LANG_STOP_H
#define MP_CORE_LANG_STOP_H

#include <stddef.h>
#include <stdint.h>

struct mp_lang_stop {
    const char *word;
    uint32_t langs;
};

extern const struct mp_lang_stop mp_lang_stops[];
extern const size_t mp_lang_nstops;

/* English's stop words alone (stopwords/english.txt), sorted the same way:
 * the short table the term path searches for every English word. */
extern const char *const mp_english_stops[];
extern const size_t mp_english_nstops;

#endif
