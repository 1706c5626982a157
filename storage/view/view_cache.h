/* A thread's recently read users' facts and user records, kept from one
 * store view to the next (store_view.c), so that a user's next request
 * does not decode, order and write their facts again, nor decode a user
 * record whose stored bytes are those the last view decoded.
 *
 * The facts:
 *
 *   view open (the user record: its facts stamp) -> first fact wanted
 *        |
 *        |   the entry's stamp is the record's (not 0)?
 *        |        yes: borrow the entry's facts and order (a hit)
 *        |        no: scan the user's fact records
 *        |            every record's id and stored bytes equal the entry's?
 *        |                 yes: borrow (a hit that checked), and keep
 *        |                      the record's stamp with the entry
 *        |                 no, or no entry: decode and order them into a
 *        |                      new entry, which replaces the old (a miss)
 *
 * The stamp changes, in the same transaction, with every write of the
 * user's fact records (codec.h: mp_codec_user.facts_stamp, random), so
 * an entry whose stamp the record holds holds what the store holds. One
 * without (a record from before store format 9, whose facts no write
 * changed since) is checked against the store's own bytes on every use.
 * Either way it is never stale, whoever changed the facts (this process,
 * another process on the same store, an erasure, a restore): nothing has
 * to tell the cache. What it holds is what the view would have built
 * from those bytes. Each
 * thread has its own entries (no locks; a worker's loop is one thread);
 * at most VIEW_CACHE_ENTRIES_MAX users and about VIEW_CACHE_BYTES_MAX
 * bytes a thread, the least recently used let go first. An entry a view
 * still borrows lives until the view releases it. */
#ifndef MP_STORAGE_VIEW_CACHE_H
#define MP_STORAGE_VIEW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/usermode.h"
#include "ops/store_backend.h"
#include "view/view_facts.h"

#define VIEW_CACHE_ENTRIES_MAX    64
#define VIEW_CACHE_BYTES_MAX      (8u << 20) /* counted when an entry is put: its texts come later */
#define VIEW_CACHE_USERS_MAX      64
#define VIEW_CACHE_USER_BYTES_MAX (2u << 20) /* the user records' (view_user.h: bytes) */

struct mp_view_cache_entry;

/* This thread's entry for the user prefix[0..plen), with a reference the
 * caller releases, or NULL. */
struct mp_view_cache_entry *mp_view_cache_get(const unsigned char *prefix, size_t plen);

/* A new, empty entry for prefix[0..plen) (reference 1), NULL when out of
 * memory. plen is at most MP_STORE_USER_PREFIX_MAX. */
struct mp_view_cache_entry *mp_view_cache_new(const unsigned char *prefix, size_t plen);

/* The entry's facts: filled while it is built; once it is put, the views
 * that borrow it add only their facts' block texts (mp_view_facts_text),
 * each written once, for every later view too. */
struct mp_view_facts *mp_view_cache_facts(struct mp_view_cache_entry *e);

/* Building: fact id was decoded from the stored bytes rec[0..n) (in the
 * order the store scans them). MP_OK or MP_ENOMEM. */
int mp_view_cache_add_record(struct mp_view_cache_entry *e, uint32_t id, const unsigned char *rec,
                             size_t n);

/* Building: the facts' recent order (n pointers into the entry's facts,
 * copied). MP_OK or MP_ENOMEM. */
int mp_view_cache_set_order(struct mp_view_cache_entry *e, struct mp_mem_entity *const *order,
                            size_t n);

/* The recent order: *n pointers into the entry's facts. */
struct mp_mem_entity *const *mp_view_cache_order(const struct mp_view_cache_entry *e, size_t *n);

/* Checking an entry against a scan of the user's fact records: start,
 * then each record in scan order (false: it differs, stop), then end
 * (true: every record matched and none is missing; counted as a hit). */
struct mp_view_cache_check {
    const struct mp_view_cache_entry *e;
    size_t next;  /* records matched */
    size_t off;   /* their bytes in the entry's record log */
    bool differs; /* a record did not match */
};
void mp_view_cache_check_start(struct mp_view_cache_check *ck, const struct mp_view_cache_entry *e);
bool mp_view_cache_check_record(struct mp_view_cache_check *ck, uint32_t id,
                                const unsigned char *rec, size_t n);
bool mp_view_cache_check_end(const struct mp_view_cache_check *ck);

/* Whether e was read under the facts stamp stamp (not 0): then it holds
 * what the store holds (counted as a hit). */
bool mp_view_cache_stamped(const struct mp_view_cache_entry *e, uint64_t stamp);

/* Keeps with e the facts stamp its records were read (or checked) under
 * (0: none known). */
void mp_view_cache_set_stamp(struct mp_view_cache_entry *e, uint64_t stamp);

/* Puts a built entry in this thread's cache (which takes a reference of
 * its own), in place of its prefix's entry; lets the least recently used
 * go beyond the bounds. An entry bigger than the byte bound alone is not
 * kept. */
void mp_view_cache_put(struct mp_view_cache_entry *e);

/* Drops a reference; the last frees the entry. NULL: nothing. */
void mp_view_cache_release(struct mp_view_cache_entry *e);

/* ---- user records ----
 *
 *   view open (its store version, when the backend names one)
 *        |
 *        |   this thread's record of the user last read under that version?
 *        |        yes: borrow it and the setting read with it (a hit: no read)
 *        |        no: the user record's stored value (sealed or clear, as
 *        |            the backend holds it)
 *        |            this thread's record of the user decoded from the same bytes?
 *        |                 yes: borrow it (a hit: nothing decoded)
 *        |                 no: decode them (view_user.h) and put the record
 *        |                     in place of the user's (a miss)
 *        |            the setting read; both kept with the version
 *
 * The stored bytes are the key: the same bytes decode to the same record,
 * so a record borrowed is never stale, whoever wrote the user's since (a
 * turn, a summary, a fact's counters): any write changes the bytes and
 * the next view decodes them. A store version is all the store's records
 * as one snapshot saw them (store_backend.h: mp_store_version; LMDB: one
 * commit's, and a store is one process's alone): any commit since, of any
 * user, moves it, and the bytes decide again. A record a view still
 * borrows lives until the view releases it. At most VIEW_CACHE_USERS_MAX
 * users and VIEW_CACHE_USER_BYTES_MAX bytes a thread, the least recently
 * used let go first; a record bigger than the bound alone is not kept. */
struct mp_view_user;

/* This thread's record of the user prefix[0..plen) when it was decoded
 * from the stored value stored[0..n) (borrowed), with a reference the
 * caller releases (mp_view_user_release); else NULL. */
struct mp_view_user *mp_view_cache_user_get(const unsigned char *prefix, size_t plen,
                                            const unsigned char *stored, size_t n);

/* This thread's record of the user prefix[0..plen) when it was last read
 * (mp_view_cache_user_read_at) under store version at, with the user's
 * setting then in *mode and a reference the caller releases; else NULL. */
struct mp_view_user *mp_view_cache_user_at(const unsigned char *prefix, size_t plen,
                                           const struct mp_store_version *at,
                                           enum mp_user_mode *mode);

/* Puts a record just decoded in this thread's cache (which takes a
 * reference of its own) in place of its user's; counted as a miss. */
void mp_view_cache_user_put(struct mp_view_user *u);

/* Notes that u, this thread's record of its user (else nothing is
 * noted), and the user's setting mode were read under store version at. */
void mp_view_cache_user_read_at(const struct mp_view_user *u, const struct mp_store_version *at,
                                enum mp_user_mode mode);

/* This thread's user record hits (versioned of them by the store version
 * alone) and misses so far. */
void mp_view_cache_user_counts(uint64_t *hits, uint64_t *versioned, uint64_t *misses);

/* Lets go of every entry and user record of this thread's cache (a thread
 * that ends lets go of its own). */
void mp_view_cache_clear(void);

/* This thread's hits, the hits that checked the records (the others: by
 * the stamp), and misses so far (a miss: an entry built). */
void mp_view_cache_counts(uint64_t *hits, uint64_t *checked, uint64_t *misses);

#endif
