/* The store's record encodings, the same for every backend (the layout is
 * described at the top of store_backend.h): plain bytes in, plain bytes
 * out, no backend and no crypto.
 * Encoders write into a caller's buffer sized by a counting call (p NULL);
 * decoders check every length, enum and order and refuse leftovers, so a
 * corrupt record is MP_EIO, never a crash or an over-allocation. */
#ifndef MP_STORAGE_CODEC_H
#define MP_STORAGE_CODEC_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "recall/lang.h"
#include "format/storetypes.h"
#include "format/termfilter.h"

/* The head record's version: 5 holds the memory epoch (mp_usermem) and
 * says, in one byte of flags, whether a term filter follows (bit 0) and
 * whether the archive's language tally follows (bit 1, record format 8); 4
 * holds the filter, 3 none (both read as they are, epoch 0, no tally), 2
 * (facts inside) for the conversion only. */
#define MP_CODEC_USER_VERSION     5u
#define MP_CODEC_USER_VERSION_MIN 3u /* the oldest a converted store holds */

/* The kinds of indexed items. */
enum mp_codec_kind { MP_CODEC_KIND_FACT, MP_CODEC_KIND_MESSAGE, MP_CODEC_KINDS };

/* Per user and kind: what BM25 and the sessions need. */
struct mp_codec_kind_stats {
    uint32_t ndocs;     /* items indexed */
    uint64_t total_len; /* sum of their content lengths in terms */
    int64_t last_at_ms; /* time of the newest item indexed */
    uint32_t session;   /* the session the newest item is in */
};

/* What a head record holds besides the summary and the buffer. */
struct mp_codec_user {
    char user[MP_USER_KEY_MAX]; /* the user key, as the caller gave it */
    size_t user_len;
    int64_t updated_at_ms; /* the last change */
    uint64_t next_hist;    /* the seq the user's next history entry gets */
    uint32_t next_fact;    /* the id the user's next fact gets (from 1) */
    uint32_t nfacts;       /* current facts */
    uint64_t narchive;     /* archived messages */
    struct mp_codec_kind_stats kinds[MP_CODEC_KINDS];
    /* The (kind, term) pairs of the user's index, when filtered: every pair
     * indexed is in it. A record of version 3 or older has none (filtered
     * false): every term is looked up. Encoded from version 4 on (from 5 on
     * only when filtered). */
    struct mp_termfilter filter;
    bool filtered;
    /* The user-role messages of the user's archive per language (enum
     * mp_lang; langs[MP_LANG_NONE] unused): the user's usual language for
     * a user whose buffer holds none of their words, one whose memory came
     * by import (core/recall/userlang.h). Kept by the archive's writes
     * (store_archive.c) and the conversion to record format 8 (migrate.c);
     * encoded when any is not 0, as u8 n, then n times u8 lang (ascending,
     * 1 .. MP_LANG_COUNT - 1) and u32 count (not 0). */
    uint32_t langs[MP_LANG_COUNT];
    /* Changes, to a value no state of the user's facts had before (random),
     * whenever a fact record of the user is written or removed (store
     * format 9; store_facts.c): the same stamp, the same fact records, so
     * a reader that kept the facts of a stamp need not read them again
     * (storage/view/view_cache.h). 0: not known (no fact written since
     * format 9, or no random bytes to be had): compare the records. Encoded
     * when not 0, as u64 after the language tally. */
    uint64_t facts_stamp;
    uint32_t version; /* decoded: the record's version (2: facts were inside) */
};

/* The language most of meta->langs counts (a tie: the lower id),
 * MP_LANG_NONE when it counts none. */
int mp_codec_user_lang(const struct mp_codec_user *meta);
/* Counts message m in meta->langs, up (delta 1) or down (-1, not below 0):
 * a user-role message with a language only. */
void mp_codec_user_count_lang(struct mp_codec_user *meta, const struct mp_mem_message *m,
                              int delta);

/* What the index keeps of an item for scoring. */
struct mp_codec_doc {
    uint32_t len;     /* content length in terms */
    uint32_t session; /* sessions: runs of items close in time */
    uint32_t bytes;   /* the item's text bytes, for its cost */
    bool timex;       /* the content holds a time expression */
    int64_t at_ms;    /* the item's time */
};

/* One term of an item with its counts per field. */
struct mp_codec_term {
    char t[65]; /* NUL-terminated, at most 64 bytes */
    uint8_t len;
    uint16_t tc, tk;
    uint8_t td;
};

/* Encoders: write the record to p (NULL: only count) and return its size. */
size_t mp_codec_put_user(unsigned char *p, const struct mp_codec_user *meta,
                         const struct mp_usermem *um); /* um's entities are not written */
size_t mp_codec_put_fact(unsigned char *p, const struct mp_mem_entity *e);
/* A message (a buffered one inside the head record, an archived one in
 * its own): u8 role, with bit 7 set when the conversation follows (record
 * format 7: a message whose conv or conv_kind is not 0) and bit 6 when
 * its reply's reference follows (format 7: a message whose reply_ref is
 * not 0) and bit 5 when its language follows (format 8: a message whose
 * lang is not 0) | [u64 conv | u8 conv_kind] | [u64 reply_ref] | [u8 lang,
 * enum mp_lang 1 .. MP_LANG_COUNT - 1] | u64 seq | i64 at_ms | i64
 * recorded_at_ms | u8 pii | u8 length, request id | u8 length, model | u32
 * length, content. A message without a conversation, a reference or a
 * language is written as before format 7, and every message of an older
 * store reads as one without (conv 0, reply_ref 0, lang 0): the conversion
 * to format 7 rewrites none; the conversion to format 8 (migrate.c) gives
 * every message its language. */
size_t mp_codec_put_message(unsigned char *p, const struct mp_mem_message *m);
/* An archived message: the message, then its search keys when keys_len >
 * 0 (u16 length, 1 to MP_MESSAGE_KEYS_MAX bytes). A record without keys is
 * the message's alone, as before keys existed. */
size_t mp_codec_put_archived(unsigned char *p, const struct mp_mem_message *m, const char *keys,
                             size_t keys_len);
size_t mp_codec_put_doc(unsigned char *p, const struct mp_codec_doc *d);
size_t mp_codec_put_terms(unsigned char *p, const struct mp_codec_term *t, size_t n);
/* A history entry: u8 event | u8 actor | u8 item | i64 at_ms | u32 count |
 * the entity as a fact record has it without its source seqs (the value
 * empty unless the entry keeps one) | [u8 reason, 1 .. MP_REASON_SOURCES_ERASED:
 * store format 11, written only when the entry has one; an entry without
 * is the bytes format 10 wrote]. */
size_t mp_codec_put_history(unsigned char *p, const struct mp_history_item *h);
size_t mp_codec_put_job(unsigned char *p, const struct mp_job *j);

/* A turn that told a value of a fact (store format 11; storage/ops/
 * store_told.h), under P | T(fact key) | u64be first seq: u64 last seq |
 * u64 the value's print (mp_told_print(); 0: not known) | u8 role (the
 * source role of what it told) | u8 length, request id (the turn's, or ""
 * when the fact names none: mp_usermem_fact_turn()) | u8 length, the fact
 * key (a sealed store's T(key) does not give it back). */
struct mp_codec_told {
    uint64_t last_seq;
    uint64_t value_print;
    enum mp_role role;
    char request_id[MP_REQUEST_ID_MAX + 1];
    char key[MP_ENTITY_KEY_MAX + 1];
};
size_t mp_codec_put_told(unsigned char *p, const struct mp_codec_told *t);
int mp_codec_get_told(const unsigned char *p, size_t n, struct mp_codec_told *t);

/* Decoders over p[0..n) (borrowed). MP_OK; MP_EIO for a malformed record
 * (outputs then hold nothing to free); MP_ENOMEM. */
int mp_codec_get_user(const unsigned char *p, size_t n, struct mp_codec_user *meta,
                      struct mp_usermem **um); /* *um: caller frees; um NULL: meta only */
/* As mp_codec_get_user() with um (not NULL), the summary's text and the
 * messages' contents in one allocation, *texts, instead of one each (a
 * request's read of a user decodes 16 texts): free both with
 * mp_codec_free_packed() only, and change no text pointer. A record of
 * version 2 is MP_EIO. */
int mp_codec_get_user_packed(const unsigned char *p, size_t n, struct mp_codec_user *meta,
                             struct mp_usermem **um, char **texts);
void mp_codec_free_packed(struct mp_usermem *um, char *texts);
int mp_codec_get_history(const unsigned char *p, size_t n, struct mp_history_item *h);
int mp_codec_get_job(const unsigned char *p, size_t n, struct mp_job *j); /* id untouched */

/* A conversation's state (store.h: struct mp_store_conv; store_conv.c) in
 * two records, so that a turn under a kept head writes only what changed:
 * the head record: u8 version 2 | u64 stamp | i64 built_ms | u8 flags (2:
 * a tombstone, its head empty) | head;
 * the tail record: u8 version 1 | u64 the head's stamp | u32 the head
 * record's bytes as stored | i64 written_ms | u8 flags (1: a tail follows)
 * | [tail: head | u64 anchor hash | u64 anchor index];
 * a head: u32 length, text | u32 tokens | u32 n, n x u32 fact id | u32 n,
 * n x (u64 hash | u64 length | u64 seq) | i64 summary_at_ms | u64 memory
 * epoch | u8 flags (1 follows the summary, 2 holds it, 4 pii) | i32
 * sections | u32 budget. A tail's replayed messages (picks) are not kept.
 * put_conv_tail writes c->stamp as the head's stamp.
 * get_conv_head: c's stamp, built_ms, cleared and head; get_conv_tail: the
 * record's fixed part into *meta and, when c is not NULL, c's written_ms,
 * has_tail and tail. Each sets only its own fields (their arrays the
 * caller's: mp_store_conv_cleanup()): MP_OK, MP_EIO, MP_ENOMEM.
 * get_conv_v1: format 11's one record (u8 version 1 | u64 stamp | i64
 * built_ms | i64 written_ms | u8 flags | head | [tail | u32 n, n x (u8
 * role | u8 cut | u32 length, text)]) whole into *c, for the conversion
 * (migrate_conv.c); a tail that replayed messages is dropped (has_tail
 * false). */
struct mp_codec_conv_tail {
    uint64_t head_stamp; /* the head it follows */
    uint32_t head_bytes; /* what its head record takes in the store */
    int64_t written_ms;  /* when the conversation was last written */
};
size_t mp_codec_put_conv_head(unsigned char *p, const struct mp_store_conv *c);
size_t mp_codec_put_conv_tail(unsigned char *p, const struct mp_store_conv *c, uint32_t head_bytes);
#define MP_CODEC_CONV_TOMB_MAX                                                                     \
    128 /* bytes of a head record with an empty head, or a tail                                    \
           record with no tail */
int mp_codec_get_conv_head(const unsigned char *p, size_t n, struct mp_store_conv *c);
int mp_codec_get_conv_tail(const unsigned char *p, size_t n, struct mp_store_conv *c,
                           struct mp_codec_conv_tail *meta);
int mp_codec_get_conv_v1(const unsigned char *p, size_t n, struct mp_store_conv *c);
/* A client id's beginnings (NOTE_LEAD): u8 n | n x u64, n at most
 * MP_STORE_CONV_LEADS. */
size_t mp_codec_put_leads(unsigned char *p, const uint64_t *leads, size_t n);
int mp_codec_get_leads(const unsigned char *p, size_t n, uint64_t *leads, size_t *nleads);
int mp_codec_get_fact(const unsigned char *p, size_t n,
                      struct mp_mem_entity *e); /* e->value: caller frees */
/* The same fact's fields but its value, which is checked and not copied
 * (e->value NULL, value_len set; *value, unless value is NULL: where its
 * value_len bytes are in p): nothing to free. */
int mp_codec_get_fact_head(const unsigned char *p, size_t n, struct mp_mem_entity *e,
                           const unsigned char **value);
int mp_codec_get_message(const unsigned char *p, size_t n,
                         struct mp_mem_message *m); /* content: caller frees; keys skipped */
/* An archived message's search keys: *keys (borrowed from p) and *len; 0
 * and NULL when it has none. */
int mp_codec_get_archived_keys(const unsigned char *p, size_t n, const unsigned char **keys,
                               size_t *len);
int mp_codec_get_doc(const unsigned char *p, size_t n, struct mp_codec_doc *d);
/* The terms: *t (caller frees; NULL when *n is 0). */
int mp_codec_get_terms(const unsigned char *p, size_t n, struct mp_codec_term **t, size_t *nt);
/* The same terms without copies: fn once per term, term[0..t->len) (not
 * NUL-terminated; t->t unset), both valid during the call only; a return
 * other than MP_OK stops the walk and is the result. MP_OK, MP_EIO. */
typedef int (*mp_codec_term_fn)(void *arg, const char *term, const struct mp_codec_term *t);
int mp_codec_each_term(const unsigned char *p, size_t n, mp_codec_term_fn fn, void *arg);

/* Fixed-width integers: big-endian in keys (memcmp order is numeric
 * order), little-endian in values. Inline; the getters read widths 8 and 4
 * as one load (GCC leaves the byte loop a loop where a decoder reads field
 * after field), other widths byte by byte. */
static inline void mp_codec_be_put(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
}

/* Widths 8 and 4 of the getters below: one load into *v (big-endian or
 * not); false for other widths. */
static inline bool mp_codec_load(const unsigned char *p, size_t width, bool big, uint64_t *v)
{
    uint64_t x8;
    uint32_t x4;
    if (width == 8) {
        memcpy(&x8, p, 8);
        *v = big ? be64toh(x8) : le64toh(x8);
        return true;
    }
    if (width == 4) {
        memcpy(&x4, p, 4);
        *v = big ? be32toh(x4) : le32toh(x4);
        return true;
    }
    return false;
}

static inline uint64_t mp_codec_be_get(const unsigned char *p, size_t width)
{
    uint64_t v = 0;
    if (mp_codec_load(p, width, true, &v))
        return v;
    for (size_t i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void mp_codec_le_put(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t mp_codec_le_get(const unsigned char *p, size_t width)
{
    uint64_t v = 0;
    if (mp_codec_load(p, width, false, &v))
        return v;
    for (size_t i = width; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

#endif
