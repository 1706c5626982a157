/* The compiled Snowball stop lists (generated from core/recall/stopwords/
 * by its gen.py): every word, sorted by bytes, with the bit (1 << id) of
 * each language (enum mp_lang) that lists it, and the rows' hash table for
 * the lookup made per word. Only core/recall/lang.c reads it
 * (mp_lang_stop_langs). */
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

/* mp_lang_stops's hash table, as mp_terms_find_hashed reads it. */
#define MP_LANG_STOP_SLOTS 8192 /* a power of two; gen.py's SLOTS */
extern const uint16_t mp_lang_stop_slots[MP_LANG_STOP_SLOTS];

#endif
