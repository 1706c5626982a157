/* The compiled Snowball stop lists (generated from core/recall/stopwords/
 * by its gen.py): every word, sorted by bytes, with its length and the bit
 * (1 << id) of each language (enum mp_lang) that lists it, and a hash of
 * the rows for the lookup made per word. Only core/recall/lang.c reads it
 * (mp_lang_stop_langs). */
#ifndef MP_CORE_LANG_STOP_H
#define MP_CORE_LANG_STOP_H

#include <stddef.h>
#include <stdint.h>

struct mp_lang_stop {
    const char *word;
    uint8_t len; /* bytes of word */
    uint32_t langs;
};

extern const struct mp_lang_stop mp_lang_stops[];
extern const size_t mp_lang_nstops;

/* Open addressing over mp_lang_stops: a word starts at the slot of its
 * 32-bit FNV-1a hash (of its bytes) masked to MP_LANG_STOP_SLOTS - 1 and
 * probes on by one; a slot holds a row's index + 1, 0 ends the probe (the
 * word is no stop word). */
#define MP_LANG_STOP_SLOTS 8192 /* a power of two; gen.py's SLOTS */
extern const uint16_t mp_lang_stop_slots[MP_LANG_STOP_SLOTS];

#endif
