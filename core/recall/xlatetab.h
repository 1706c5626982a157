/* A translation table (issue 66): one direction of one dictionary pair
 * (German to English), stemmed term to its ranked translations, in bytes
 * that are read where they lie (an mmap of the built file): a lookup
 * touches the header, one slot and one entry, so only the pages a question
 * asks for are ever read. Writing the bytes (the build tool) and reading
 * them; no file I/O, no tokenizing (the builder is handed terms).
 *
 * Layout (little-endian u32s, every offset checked on read):
 *   0  "MPXL"          magic
 *   4  u32 version     MP_XLATETAB_VERSION
 *   8  u8 src, u8 dst  enum mp_lang of the key and of the translations
 *   10 u16 0
 *   12 u32 nkeys
 *   16 u32 nslots      a power of two, at least 2 * nkeys (at least 2)
 *   20 u32 size        bytes of the whole table
 *   24 slots           u32[nslots]: 0 empty, else 1 + the offset of an
 *                      entry from the start; a key's probe starts at its
 *                      FNV-1a 32 hash masked to nslots - 1, goes on by one
 *   ..  entries        u8 klen, key[klen], u8 n, n times (u8 len,
 *                      term[len]): translations best first; a key or a
 *                      translation of several terms holds them joined by
 *                      one space (a phrase) */
#ifndef MP_CORE_XLATETAB_H
#define MP_CORE_XLATETAB_H

#include <stddef.h>
#include <stdint.h>

#define MP_XLATETAB_VERSION 1
#define MP_XLATETAB_HEADER  24
/* Translations kept per key: the first ones the dictionary gives are
 * mostly the common senses, but a large dictionary lists a word's senses
 * in no order of use (FreeDict eng-deu: "dog" is Bandhaken, Bock,
 * Gerüstklammer, then Hund; "plant" has Pflanze sixth). Six, not four:
 * measured on the cross-language set (tests/bench/xlang.sh, xlang-dev on
 * ml-dev's needles), 4 -> 6 takes the pooled cross-language recall at
 * 1,500 tokens from 85.8 to 86.9 (en->de 88.9 -> 94.4, en->es 77.8 ->
 * 88.9); 8 gives the same as 6, so the shorter list. */
#define MP_XLATETAB_MAX_TRANS 6
#define MP_XLATETAB_KEY_MAX   255 /* bytes of a key or a translation (u8 length) */

/* A table read from bytes (borrowed, valid as long as they are). */
struct mp_xlatetab {
    const unsigned char *p;
    size_t size;
    int src, dst;
    uint32_t nkeys, nslots;
};

/* Reads the header of bytes[0..len): MP_OK with *t, or MP_EINVAL (not a
 * table, another version, a size or slot count that does not fit len). */
int mp_xlatetab_open(struct mp_xlatetab *t, const void *bytes, size_t len);

/* The same, the header read from head (a copy of bytes' first
 * MP_XLATETAB_HEADER bytes, len >= that), so that bytes (a mapping) is not
 * touched before a lookup: a page cache of large folios would otherwise
 * make a whole folio of every table resident at start. */
int mp_xlatetab_open_head(struct mp_xlatetab *t, const void *head, const void *bytes, size_t len);

/* Called once per translation of a key, best first (rank 0): term[0..len)
 * valid during the call only. A return other than MP_OK stops the walk. */
typedef int (*mp_xlatetab_fn)(void *arg, const char *term, size_t len, unsigned rank);

/* Walks the translations of key[0..klen) (borrowed). MP_OK after the
 * walk, MP_NOTFOUND when the table has no such key (or a damaged entry
 * lies in its probe), or what fn returned to stop. */
int mp_xlatetab_find(const struct mp_xlatetab *t, const char *key, size_t klen, mp_xlatetab_fn fn,
                     void *arg);

/* ---- building (the build tool) ---- */

struct mp_xlatetab_builder;

/* MP_OK with *out (free with mp_xlatetab_builder_free()), MP_ENOMEM. */
int mp_xlatetab_builder_new(int src, int dst, struct mp_xlatetab_builder **out);
/* mp_xlatetab_builder_free(NULL) does nothing. */
void mp_xlatetab_builder_free(struct mp_xlatetab_builder *b);

/* Adds term[0..len) as the next-ranked translation of key[0..klen) (both
 * copied): ignored when the key has it already or MP_XLATETAB_MAX_TRANS
 * of them, or when the two are the same (a name translates to itself: the
 * question's own word finds it). MP_OK, MP_EINVAL (an empty key or term,
 * or one over MP_XLATETAB_KEY_MAX bytes), MP_ENOMEM. */
int mp_xlatetab_builder_add(struct mp_xlatetab_builder *b, const char *key, size_t klen,
                            const char *term, size_t len);

/* The table's bytes (caller frees *out with free()) and their length.
 * MP_OK, MP_ETOOBIG (over 4 GiB), MP_ENOMEM. */
int mp_xlatetab_builder_finish(struct mp_xlatetab_builder *b, unsigned char **out, size_t *len);

#endif
