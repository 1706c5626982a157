/* The per-user inverted index of facts and archived messages (the docs,
 * dterms and postings tables of store_backend.h), kept by the op layer in
 * the transaction that writes what it indexes. What an item's terms are
 * follows core/recall/terms.h and core/recall/relevance.h, so that the question and the
 * stored items meet:
 *   content  the fact's value, or the message's text after its speaker
 *            label (a leading "Name: " of one to three words, at most 40
 *            bytes, as in "Caroline: I went ...");
 *   key      the fact's key ('_' separates its words), or that label;
 *   date     "@<month>" and "@<year>" of the item's time (UTC).
 * Sessions: an item starts a new session of its kind when it is the first,
 * or more than MP_INDEX_SESSION_GAP_MS from the item indexed before it.
 * Writer thread only (it uses the store's tokenizer). */
#ifndef MP_STORAGE_INDEX_H
#define MP_STORAGE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"

#define MP_INDEX_SESSION_GAP_MS (4LL * 3600 * 1000)
/* Distinct terms of one item: more than any item can have (a message of
 * MP_MESSAGE_CONTENT_MAX bytes holds at most half as many words, a fact
 * fewer; two date terms), so that every word of an item is indexed:
 * erasure finds the archived messages holding a value through the
 * postings of one of its words (store_archive.h: mp_ops_archive_erase_fact). */
#define MP_INDEX_TERMS_MAX (MP_MESSAGE_CONTENT_MAX / 2 + 8)

/* One item to index. */
struct mp_index_item {
    enum mp_codec_kind kind;
    uint32_t id; /* fact id, or message seq */
    const char *text;
    size_t text_len; /* the value, or the whole message */
    const char *key; /* facts: the key; messages: NULL (the label is found in text) */
    int64_t at_ms;
    int lang; /* the language its terms are made in (a message's stored one, enum mp_lang);
               * 0: identified from its text and key (a fact) */
};

/* Indexes it under the user's prefix[0..plen): its doc, its terms, a
 * posting per term; meta's statistics of the kind and its term filter
 * follow. MP_OK or the backend's error. */
int mp_index_add(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                 struct mp_codec_user *meta, const struct mp_index_item *it);

/* A posting's value: tc (2 bytes, little-endian), tk (2), td (1, below),
 * and the item's content length (4), so that scoring reads no item for
 * it. A store written before the length has 5-byte values: read as such
 * (mp_relevance_posting.has_len false), never rewritten. */
#define MP_INDEX_POSTING_LEN     9
#define MP_INDEX_POSTING_LEN_OLD 5

/* A hash of (kind, term[0..len)) (FNV-1a): the view's table of terms,
 * the heads' sampling and their build's table of counts. */
uint64_t mp_index_term_hash(enum mp_codec_kind kind, const char *term, size_t len);

/* Decodes the posting value v[0..n) of item id into *out. MP_OK, or
 * MP_EIO when n is neither posting length. */
struct mp_relevance_posting;
int mp_index_posting_decode(uint32_t id, const unsigned char *v, size_t n,
                            struct mp_relevance_posting *out);

/* The date field is a flag; search keys (mp_index_add_keys) count in the
 * same byte of a posting: td = date (bit 0) | keys << 1, keys at most 127.
 * A store written before search keys has td 0 or 1. */
#define MP_INDEX_TD_KEY 2u
/* Search keys of one item make at most this many terms: a word takes a
 * byte and a separator of MP_MESSAGE_KEYS_MAX bytes. */
#define MP_INDEX_KEY_TERMS_MAX (MP_MESSAGE_KEYS_MAX / 2)
uint8_t mp_index_td_merge(uint8_t a, uint8_t b);

/* Adds the search keys keys[0..len) (words, as the content's, read as
 * language lang: the item's, 0 identified from the keys) to indexed item
 * id of kind: its terms record and a posting per term, the keys
 * counted in the date byte (above), a low-weight field of relevance
 * (core/recall/relevance.h, ts). Its doc (length, session) is unchanged.
 * MP_NOTFOUND when the item is not indexed, or holds so many terms that
 * the keys' would not fit; else MP_OK or the backend's error. */
int mp_index_add_keys(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                      struct mp_codec_user *meta, enum mp_codec_kind kind, uint32_t id, int lang,
                      const char *keys, size_t len);

/* Removes item id of kind from the index (its doc, terms and postings);
 * MP_OK also when it was not indexed. It needs no text and no language:
 * the item's terms record says which postings it added, so removal takes
 * exactly those whatever the terms of its text are today. */
int mp_index_remove(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                    struct mp_codec_user *meta, enum mp_codec_kind kind, uint32_t id);

/* fn once per term of every item indexed under prefix[0..plen) (each
 * item's terms record, in key order: the kinds apart, ids ascending), with
 * the item's kind; term[0..t->len) and t valid during the call only. A
 * return other than MP_OK stops the walk and is its result; MP_EIO for a
 * damaged record, or the backend's error. */
typedef int (*mp_index_term_fn)(void *arg, enum mp_codec_kind kind, const char *term,
                                const struct mp_codec_term *t);
int mp_index_each_term(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       mp_index_term_fn fn, void *arg);

/* Builds meta's term filter from the user's terms records (every item
 * indexed under prefix[0..plen), both kinds) and sets meta->filtered: for
 * a record of version 3, which has none. Reads each terms record once; a
 * user of more than MP_INDEX_FILTER_ITEMS_MAX items, whose terms would
 * fill the filter anyway, gets a full one (every term "maybe": looked up
 * as before) without reading any. MP_OK (meta untouched otherwise),
 * MP_EIO, or the backend's error. */
#define MP_INDEX_FILTER_ITEMS_MAX 1024
int mp_index_filter_build(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                          struct mp_codec_user *meta);

/* Keys: docs / dterms key of (kind, id), and a posting's key of (kind,
 * term, id), into k (MP_STORE_KEY_MAX bytes); their lengths. A posting
 * key's prefix without the id (its first n - 4 bytes) is where the term's
 * postings start. */
size_t mp_index_doc_key(unsigned char *k, const unsigned char *prefix, size_t plen,
                        enum mp_codec_kind kind, uint32_t id);
size_t mp_index_posting_key(const struct mp_store *s, unsigned char *k, const unsigned char *prefix,
                            size_t plen, enum mp_codec_kind kind, const char *term, size_t tlen,
                            uint32_t id);

#endif
