/* The contract between the store's op layer and a backend: a small table of
 * primitives over named tables of byte keys and byte values (get, put,
 * delete, an ordered scan, transactions), the handle every backend embeds,
 * and the record services the op layer gives the backends (sealed values,
 * physical user keys, the meta records checked at open). Every store op
 * (store.c, store_ops.c, store_read.c) is written once over these; a
 * backend (store_lmdb.c, store_mem.c) knows nothing of users, facts or jobs.
 * Model: redis's ae.c over ae_epoll.c and ae_kqueue.c.
 *
 * The records, format version 12 (the encodings are codec.c's). P below is
 * a user's prefix: u16be length | physical user key. T(x) is a tag: u8
 * length | x in a clear store; u8 16 | the first 16 bytes of
 * HMAC-SHA256(index key, x) in a sealed one (mp_store_backend_tag), so
 * that no key of the index carries a word of the user's in a sealed store.
 *
 *   meta     "format"   -> u32 format version. Checked at open: version 2
 *                          is converted in place (migrate.c); versions 3
 *                          to 7 are converted in place (migrate.c:
 *                          mp_store_migrate_lang): their records are read
 *                          as they are (a version 3 user record, without
 *                          a term filter, gets one; messages of format 6
 *                          and older have no conversation: codec.h), every
 *                          message gets its language, and every user's
 *                          index and heads are made again with the terms
 *                          of format 8 (words by script, stems and stop
 *                          words by language); versions 3 to 10 get
 *                          their told records (mp_store_migrate_told),
 *                          in the same transaction as the rest of their
 *                          conversion; versions 2 to 11 get their
 *                          conversations split in two records each
 *                          (mp_store_migrate_convs for 11, with the rest
 *                          of the conversion for the others); another version refuses to
 *                          open (MP_EIO, the reason in err), so that an
 *                          older memproxy refuses a newer store instead of
 *                          failing on its records; a missing one marks a
 *                          new store.
 *            "next_job" -> u64 the id the next job gets (ids start at 1)
 *            "secret"   -> 32 random bytes made with the store (sealed
 *                          when the store has a key)
 *            "key_id"   -> u32 id of the key the store is sealed with;
 *                          absent in a store kept in clear
 *   users    user key -> head record: summary, buffered messages (each with
 *                        its conversation and reply reference from format
 *                        7, its language from format 8: codec.h), counters,
 *                        the index statistics and (record version 4) the
 *                        term filter of the user's index (termfilter.h);
 *                        no facts
 *   history  P | u64be seq -> history record (a reason byte may end it from
 *                          format 11: codec.h)
 *   jobs     u64be id -> job record
 *   idem     P | idem key (32 bytes) -> i64 recorded_at_ms, then for a
 *                        recorded turn u64 first, last seq of its user
 *                        messages | u64 first, last seq of its reply (0:
 *                        none; store_turn.c; a tool loop's keys are
 *                        records of this form too). A record of the time alone
 *                        (an import's line id, a turn recorded before the
 *                        seqs were kept, within format 7) knows no turn.
 *   facts    P | u32be fact id -> fact record (the current value of one key)
 *   factkeys P | T(fact key) -> u32 fact id
 *   factrank P | u8 tier | u16be (65535 - confidence * 65535) |
 *            u64be (INT64_MAX - observed_at_ms) | T(fact key) -> RAW u32
 *                        fact id: the recent order of facts, strongest
 *                        first, ties by key (sealed: by its tag); the tier
 *                        0 admin, 1 corrected, 2 stated, 3 inferred, an
 *                        agent's fact tier 2 with u16 65535 (store_facts.h)
 *   histx    P | T(fact key) | u64be history seq -> RAW: a fact's entries
 *   archive  P | u64be message seq -> message record (every recorded turn, with
 *                        its conversation and reply reference from format
 *                        7, its language from format 8: codec.h)
 *   atime    P | u64be (at_ms + 2^63) | u64be seq -> RAW: the archive by time
 *   docs     P | u8 kind | u32be item id -> doc record: what scoring needs
 *                        of an indexed item (kind 0: a fact, id its fact id;
 *                        1: an archived message, id its seq)
 *   dterms   P | u8 kind | u32be item id -> the item's terms with counts
 *   postings P | T(kind byte | term) | u32be item id -> u16 tc | u16 tk | u8 td
 *   settings user key -> the user's own memory setting (store_settings.c):
 *                        u8 enum mp_user_mode | i64 set_at_ms | u8 actor;
 *                        absent = auto. Not memory: erasing a user's
 *                        memory (MP_OP_DELETE_USER) keeps it. Added within
 *                        format 3: an older store gets the table at open
 *   leases   u64be job id -> u64 owner | i64 until_ms: the process running
 *                        the job, until when (store_lease.c; added within
 *                        format 3 like settings)
 *   heads    P | T(kind byte | term) -> a term's counter, or the head of a
 *                        common term: its df and its postings of highest
 *                        impact (heads.h). Format 6; an older store gets
 *                        its heads built at open (migrate.c)
 *   prints   P | T(u64be print) -> a block of the user's messages seen
 *                        (store_whose.c): u8 flags (1: a template) | u64
 *                        conv[2] (the conversations it was seen in, 0:
 *                        none) | u8 n | u64 seq[n] (messages that hold it,
 *                        at most 8). Format 10, like the three below
 *   layouts  P | u64be seq -> the printed blocks of a recorded user
 *                        message: u8 n | n x (u32 start | u32 len | u64
 *                        print)
 *   turns    P | u64be first seq -> a turn recorded lately: i64 at_ms |
 *                        u8 lone | u8 side kind | u8 n | u64 instr[n] |
 *                        u64 user first, last | u64 reply first, last;
 *                        gone past the side requests' window
 *   sides    P | T(u64be print) -> an instruction block of a side request
 *                        the user's client sent: u64 print | u8 kind |
 *                        i64 at_ms (every process loads them all)
 *   convs    P | u8 0 | 32-byte conversation key -> a conversation's head
 *                        (codec.h: mp_codec_put_conv_head); P | u8 2 |
 *                        the same key -> its last question's tail and when
 *                        it was last written (mp_codec_put_conv_tail):
 *                        format 12, one record of both before; P | u8 1 |
 *                        32-byte client id key -> the beginnings it was
 *                        seen with (store_conv.c). Format 10
 *   told     P | T(fact key) | u64be first seq -> a turn that told a value of
 *                        the fact, current, superseded or kept out
 *                        (store_told.h; codec.h: u64 last seq | u64 the
 *                        value's print | u8 role | request id): what
 *                        erasure follows. Format 11; a store of an older
 *                        format gets them from its facts and history at
 *                        open (migrate_told.c)
 *   links    HMAC-SHA256(links key, the caller's user key) -> i64le
 *                        links_void_ms: the user's memory page links
 *                        issued before it are void (store_links.c). Keyed
 *                        by a keyed hash in clear stores too, so that an
 *                        erased user's id does not stay in the store; the
 *                        links key is derived from the store's secret like
 *                        the index key. Erasure keeps it. Added within
 *                        format 11 (an older store gets the table at open)
 *   vectors  P | u8 kind | u64be item id -> i64le the item's time | an
 *                        embedding record (core/embed/embed_vec.h: its
 *                        model's name hash, dims, scale, int8 codes) of a
 *                        fact (kind 0, its fact id), an archived message
 *                        (1, its seq) or its search keys (2, its seq)
 *                        (store_vectors.h). Erased with its item in the
 *                        same write. Added within format 11 like links: a
 *                        store without vectors holds none, every item is
 *                        pending
 *
 * RAW records are never sealed: they hold one byte (0), their keys say
 * all, or (factrank) the fact id.
 *
 * "user key" above is the physical key: the caller's user key in a clear
 * store; in a sealed store a tag byte (0: no tenant, MP_USER_KEY_TENANT:
 * the tenant follows), the tenant's MP_TENANT_LEN bytes when there is one,
 * then HMAC-SHA256(index key, the caller's whole user key). The index key
 * is derived from the store's secret, so it survives key rotation, and
 * one tenant's users stay one contiguous range either way. The caller's
 * user key is also inside the (sealed) user record, which is how a
 * listing gets the ids back.
 *
 * Numbers in keys are big-endian so that byte order (memcmp, shorter first)
 * is numeric order: jobs come out by id, a user's history oldest first. The
 * user is length-prefixed in every composite key, so one user's history and
 * idem keys are one contiguous range and no user's range holds another's.
 *
 * Sealing: with a key, every value but meta's "format", "next_job" and
 * "key_id" is AES-256-GCM sealed (seal.c: fresh nonce, key id in the
 * record), with the table's name and the record's key as associated data,
 * so a sealed value moved to another key or table fails to open. Sealing
 * happens above the primitives: a backend only ever sees sealed bytes.
 *
 * Why a head record and separate items: a request needs the summary and
 * the buffer at once (one lookup, one decode), but of a user's facts and
 * archive (100,000 and 1,000,000 of them may be stored) only what it may
 * inject: the strongest facts through factrank, the relevant items
 * through postings and docs. Every index record is written by the op that
 * writes what it indexes, in the same transaction (index.c). */
#ifndef MP_STORAGE_STORE_BACKEND_H
#define MP_STORAGE_STORE_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/seal.h"
#include "ops/store.h"

struct mp_terms;

/* 12: a conversation's head and tail in two records (store_conv.c);
 * 11: the told records (what erasure follows) and the history entries'
 * reason; 10: recognition's tables (prints, layouts, turns, sides) and the
 * history's actor client_text; 9: a user record may carry its facts stamp
 * (codec.h); 8: the messages' languages, the index by language (a store of
 * 3 to 7 is indexed again) */
#define MP_STORE_FORMAT_VERSION  12u
#define MP_STORE_FORMAT_TOLD     11u
#define MP_STORE_FORMAT_LANGS    8u
#define MP_STORE_FORMAT_STAMP    9u
#define MP_STORE_PHYS_USER_MAX   MP_USER_KEY_MAX /* a hashed key (1 + 16 + 32) is shorter */
#define MP_STORE_USER_PREFIX_MAX (2 + MP_STORE_PHYS_USER_MAX)
#define MP_STORE_HIST_KEY_MAX    (MP_STORE_USER_PREFIX_MAX + 8)
#define MP_STORE_IDEM_KEY_MAX    (MP_STORE_USER_PREFIX_MAX + MP_IDEM_KEY_LEN)
#define MP_STORE_TAG_MAX         (1 + 1 + 64) /* T(x): length, kind, term or key */
#define MP_STORE_KEY_MAX         (MP_STORE_USER_PREFIX_MAX + MP_STORE_TAG_MAX + 16) /* any table */

/* The tables. A backend maps each to its own structure (LMDB: a named DB
 * of the same name). */
enum mp_store_table {
    MP_TABLE_META,
    MP_TABLE_USERS,
    MP_TABLE_HISTORY,
    MP_TABLE_JOBS,
    MP_TABLE_IDEM,
    MP_TABLE_FACTS,
    MP_TABLE_FACTKEYS,
    MP_TABLE_FACTRANK,
    MP_TABLE_HISTX,
    MP_TABLE_ARCHIVE,
    MP_TABLE_ATIME,
    MP_TABLE_DOCS,
    MP_TABLE_DTERMS,
    MP_TABLE_POSTINGS,
    MP_TABLE_SETTINGS,
    MP_TABLE_LEASES,
    MP_TABLE_HEADS,
    MP_TABLE_PRINTS,
    MP_TABLE_LAYOUTS,
    MP_TABLE_TURNS,
    MP_TABLE_SIDES,
    MP_TABLE_CONVS,
    MP_TABLE_TOLD,
    MP_TABLE_LINKS,
    MP_TABLE_VECTORS,
    MP_TABLE_SPEND,
    MP_TABLE_COUNT
};

/* The names the format uses, in enum order ("meta", "users", ...: LMDB DB
 * names, and part of every sealed value's associated data). */
extern const char *const mp_store_table_names[MP_TABLE_COUNT];

/* How a table's keys are made, for a rewrite that maps them from a clear
 * store to a sealed one: USER (a user key), USER_PREFIXED (P | rest),
 * USER_TAG (P | mp_store_table_tag_at[t] bytes | T(x) | rest), OPAQUE (no
 * user in it). */
enum mp_store_key_shape { MP_KEY_OPAQUE, MP_KEY_USER, MP_KEY_USER_PREFIXED, MP_KEY_USER_TAG };
extern const enum mp_store_key_shape mp_store_table_shapes[MP_TABLE_COUNT];
extern const unsigned char mp_store_table_tag_at[MP_TABLE_COUNT];
/* True for the tables of RAW records (never sealed). */
extern const bool mp_store_table_raw[MP_TABLE_COUNT];

/* Every backend's handle starts with this. The backend sets be, and sealed
 * and key for a sealed store; mp_store_backend_attach() fills the rest. */
struct mp_store {
    const struct mp_store_backend *be;
    uint32_t history_cap; /* mp_store_set_history_cap(); read by the writer */
    uint32_t max_facts;   /* mp_store_set_max_facts(); read by the writer */
    uint32_t conv_max;    /* mp_store_set_conversations(); read by the writer */
    uint32_t conv_bytes;
    bool archive;             /* mp_store_set_archive(); read by the writer */
    _Atomic uint64_t commits; /* write transactions of mp_store_apply committed */
    struct mp_terms *terms;   /* the writer's tokenizer, made on first use */
    bool sealed;
    struct mp_seal_key key; /* sealed only */
    unsigned char secret[MP_SEAL_KEY_LEN];
    unsigned char index_key[MP_SEAL_KEY_LEN]; /* HMAC key of physical user keys */
    unsigned char links_key[MP_SEAL_KEY_LEN]; /* HMAC key of the links and spend tables' keys */
    unsigned char route_key[MP_SEAL_KEY_LEN]; /* mp_store_route_key() */
};

/* One transaction: the caller's (usually on its stack), filled by begin and
 * done with after end. store is set by begin; handle and state are the
 * backend's. */
struct mp_store_txn {
    struct mp_store *store;
    void *handle;
    int state;
    bool write;
    /* LMDB: each table's cursor, kept, in a read from one scan to the
       next, in a write from one put to the next (a positioned cursor
       finds a nearby key without a search from the root: a view's
       postings lookups are of one user's few pages, an item's postings
       are written in key order); cursor_busy: the tables whose cursor a
       read's scan is using (a nested scan of the same table, and every
       scan of a write, opens its own). */
    void *cursor[MP_TABLE_COUNT];
    uint32_t cursor_busy;
};

/* A scan visits one record: key[0..klen) and val[0..vlen) are valid during
 * the call only. Returns MP_OK to go on, MP_STORE_SCAN_STOP to end the scan
 * (the scan then returns MP_OK), or a negative status that ends the scan
 * and is its result. It may get() in the same transaction; it must not put
 * or del. */
#define MP_STORE_SCAN_STOP 1
typedef int (*mp_store_scan_fn)(void *arg, const unsigned char *key, size_t klen,
                                const unsigned char *val, size_t vlen);

/* The primitives. Keys are 1..MP_STORE_KEY_MAX bytes, ordered as bytes
 * (memcmp, a prefix before its extensions). Results: MP_OK; MP_NOTFOUND (a
 * miss, not an error); MP_ETOOBIG (full: the backend's space or the disk;
 * the transaction can only end); MP_EIO; MP_ENOMEM. After any error but
 * MP_NOTFOUND the caller ends the transaction without committing. */
/* What a read transaction sees, named (mp_store_backend.version): two
 * reads of one version see the same records in every table. env is
 * never 0 and never the same for two environments of one process (two
 * stores, or one store's environment before and after a compaction swap);
 * txn counts the environment's commits. */
struct mp_store_version {
    uint64_t env, txn;
};

struct mp_store_backend {
    const char *name; /* "lmdb", "mem", "postgres" */
    bool shared;      /* several processes may use the store at once (jobs need leases) */
    /* A read may miss a record its source holds (the snapshot store: a run
     * over a partial copy is thrown away and run again), so what a read
     * found is not known whole (store_view.c keeps no facts stamp). */
    bool partial;
    /* Begins a read (write false) or write transaction in *txn. Reads see
     * one consistent snapshot and may run on any thread, many at once;
     * write transactions run one at a time (begin waits for the one in
     * progress). A transaction is begun and ended inside one function
     * call of the op layer, never across an event-loop turn. MP_OK or
     * MP_EIO. */
    int (*begin)(struct mp_store *store, bool write, struct mp_store_txn *txn);
    /* The value under key: MP_OK with *val, *vlen pointing at the backend's
     * bytes, valid until the next put or del in this transaction or its
     * end, whichever comes first (copy what must outlive that);
     * MP_NOTFOUND. */
    int (*get)(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
               const unsigned char **val, size_t *vlen);
    /* The version read transaction txn sees, into *out: whether the
     * backend names one (NULL: it never does; LMDB: the snapshot's
     * transaction id, which every commit moves, the store being one
     * process's alone). */
    bool (*version)(const struct mp_store_txn *txn, struct mp_store_version *out);
    /* Writes val[0..vlen) (copied) under key, replacing any value. */
    int (*put)(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
               const void *val, size_t vlen);
    /* Removes key: MP_OK, or MP_NOTFOUND when it was not there. */
    int (*del)(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen);
    /* Optional (NULL: the caller deletes key by key, as a scan finds
     * them): removes every record of table t whose key starts with
     * prefix[0..plen) (a user's prefix P, plen > 2) at once, for a backend
     * whose deletes cost a round trip each. MP_OK or the backend's error. */
    int (*del_prefix)(struct mp_store_txn *txn, enum mp_store_table t, const void *prefix,
                      size_t plen);
    /* Calls fn for each record whose key is >= start[0..slen) (slen 0: from
     * the first) and begins with start[0..plen) (plen <= slen; 0: any), in
     * key order, until fn stops it or the records run out. MP_OK, fn's
     * error, or the backend's. */
    int (*scan)(struct mp_store_txn *txn, enum mp_store_table t, const void *start, size_t slen,
                size_t plen, mp_store_scan_fn fn, void *arg);
    /* Ends the transaction: commits it when commit is true (a read has
     * nothing to commit: it always answers MP_OK), else throws its writes
     * away. MP_OK; MP_AGAIN when it failed (or its commit did) on a
     * condition the backend has since cured (LMDB: the map was full and
     * has grown): nothing was written, run the whole transaction again;
     * MP_ETOOBIG when it is full for good (nothing written); MP_EIO. An
     * abort answers MP_OK unless the transaction failed on such a
     * condition: then MP_AGAIN, or MP_ETOOBIG or MP_EIO when curing it
     * failed. The backend releases the transaction either way. */
    int (*end)(struct mp_store_txn *txn, bool commit);
    /* Optional (NULL: none). Says that this transaction will read mostly
     * the records of the user of prefix P (u16be length | physical key): a
     * backend whose reads cost a round trip each may fetch them at once
     * and serve them from memory until the end (a write transaction's
     * copy follows its own puts and deletes). Reads answer as before
     * either way. */
    void (*hint_user)(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen);

    /* Whole-store calls, as store.h describes them. */
    int (*stats)(struct mp_store *store, struct mp_store_stats *out);
    int (*compact)(struct mp_store *store, char *err, size_t errcap);
    void (*close)(struct mp_store *store);
};

/* For backends at open, with store->be set and, for a sealed store,
 * store->sealed and store->key (copied from the options). Checks, in one
 * write transaction, what meta says against the key: a store without
 * "format" is new and gets its format, key id and secret (fresh random
 * bytes, or store->secret as it is when keep_secret); an existing one must
 * be of this format version, sealed exactly when the store has a key,
 * under a key of that key's id, and its secret must open (version 2 too:
 * the backend then converts it with mp_store_migrate()). A store of
 * versions 3 to 7 is then converted (mp_store_migrate_lang(), a
 * transaction of its own); one of versions 8 to 10 gets its told records
 * (mp_store_migrate_told(), a transaction of its own: its other records
 * are this format's). Derives the index key. MP_OK; MP_EIO with a reason
 * in err naming what (borrowed: "LMDB store /path") and never key
 * material. */
int mp_store_backend_attach(struct mp_store *store, bool keep_secret, const char *what, char *err,
                            size_t errcap);

/* Converts a store of format version 2 (facts inside the user record, no
 * archive, no index) to this format in place, in one write transaction:
 * each user's facts become records, their history entries get histx
 * records, the buffered messages enter the archive, everything is
 * indexed, and the told records are made from the facts and history. The LMDB backend calls it
 * after mp_store_backend_attach() (a store of this format is left alone). MP_OK; MP_EIO with a
 * reason in err. */
int mp_store_migrate(struct mp_store *store, const char *what, char *err, size_t errcap);

/* Gives a store of format version from (8 to 10: this format's records
 * but the told ones) the told records its facts and history say
 * (migrate_told.c: mp_told_backfill_user), and this format's number, in
 * one write transaction. mp_store_backend_attach() calls it. MP_OK;
 * MP_EIO with a reason in err. */
int mp_store_migrate_told(struct mp_store *store, uint32_t from, const char *what, char *err,
                          size_t errcap);

/* Splits every conversation record of a store of format version from (11:
 * this format's records but those) into head and tail records
 * (migrate_conv.h), and writes this format's number, in one write
 * transaction. mp_store_backend_attach() calls it. MP_OK; MP_EIO with a
 * reason in err. */
int mp_store_migrate_convs(struct mp_store *store, uint32_t from, const char *what, char *err,
                           size_t errcap);

/* Converts a store of format version from (3 to 7: this format but the
 * messages' languages, the terms of the index, and for 3 to 5 the heads
 * table) in place, in one write transaction, so that a crash leaves it as
 * it was: every user's messages (archive and buffer) get their language
 * identified and stored, its index records (docs, dterms, postings,
 * heads) are dropped, its archived messages with their search keys and
 * its facts are indexed again with the terms of their language, its heads
 * are built (heads.h: mp_heads_build_user) and its term filter made anew,
 * its told records are made (as mp_store_migrate_told() makes them), and
 * the format becomes this one. mp_store_backend_attach() calls it,
 * for both backends: about 1 s per 10,000 archived messages on LMDB, 43 s
 * on PostgreSQL (a round trip per record written; docs/memory-storage.md,
 * tests/bench/langstore). MP_OK; MP_EIO with a reason in err. */
int mp_store_migrate_lang(struct mp_store *store, uint32_t from, const char *what, char *err,
                          size_t errcap);

/* ---- records: used by the op layer, and by a backend that copies
 * records between stores (store_lmdb_rewrite.c) ---- */

/* The physical key of a user (see the layout above) into out
 * (MP_STORE_PHYS_USER_MAX bytes): its length. */
size_t mp_store_backend_phys_user(const struct mp_store *store, const char *user, size_t len,
                                  unsigned char *out);

/* u16be length | physical user key, into k (MP_STORE_USER_PREFIX_MAX
 * bytes): the start of the user's history and idem keys. Its length. */
size_t mp_store_backend_user_prefix(const struct mp_store *store, unsigned char *k,
                                    const char *user, size_t len);

/* A value as stored, opened: p points at the stored bytes (clear store;
 * valid as long as they are) or into owned (sealed store). */
struct mp_store_plain {
    const unsigned char *p;
    size_t n;
    unsigned char *owned;
};

/* Opens the stored value v[0..vn) of key in table t into *out: MP_OK
 * (release with mp_store_backend_plain_done()), MP_EIO (tampered, or
 * sealed under another key), MP_ENOMEM. *out may be released in every
 * case. */
int mp_store_backend_open(const struct mp_store *store, enum mp_store_table t, const void *key,
                          size_t klen, const unsigned char *v, size_t vn,
                          struct mp_store_plain *out);
void mp_store_backend_plain_done(struct mp_store_plain *v);

/* get() of key in table t, then mp_store_backend_open() of what it holds:
 * MP_OK, MP_NOTFOUND, or an error (release *out in every case). */
int mp_store_backend_get_plain(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                               size_t klen, struct mp_store_plain *out);

/* One record of mp_store_backend_scan_stored(): its whole key[0..klen)
 * (the id at key + plen) and its value as stored, not opened (a check of
 * stored bytes needs no more; mp_store_backend_open() opens it), both valid
 * during the call only. Returns as a scan callback does. */
typedef int (*mp_store_stored_fn)(void *arg, const unsigned char *key, size_t klen,
                                  const unsigned char *v, size_t vn);

/* mp_store_backend_scan_plain() with each value as stored. */
int mp_store_backend_scan_stored(struct mp_store_txn *txn, enum mp_store_table t,
                                 const unsigned char *start, size_t slen, size_t plen, size_t idlen,
                                 mp_store_stored_fn fn, void *arg);

/* One record of mp_store_backend_scan_plain(): id[0..idlen) the part of
 * its key after the prefix, v its opened value, both valid during the call
 * only. Returns as a scan callback does (MP_STORE_SCAN_STOP ends it). */
typedef int (*mp_store_plain_fn)(void *arg, const unsigned char *id,
                                 const struct mp_store_plain *v);

/* Scans table t from start[0..slen) over the records that begin with its
 * first plen bytes (a user's prefix, or more) and have exactly idlen bytes
 * after them (a record of another shape ends the scan), each value opened
 * for fn. The op layer's, the reads' and the view's walks over one user's
 * records of one kind. MP_OK, fn's error, or the backend's. */
int mp_store_backend_scan_plain(struct mp_store_txn *txn, enum mp_store_table t,
                                const unsigned char *start, size_t slen, size_t plen, size_t idlen,
                                mp_store_plain_fn fn, void *arg);

/* The bytes to store for plain[0..n) under key in table t: plain itself in
 * a clear store (*out = plain, *owned NULL); sealed, in a new buffer
 * (*owned, caller frees) of n + MP_SEAL_OVERHEAD bytes, in a sealed one.
 * MP_OK, MP_ENOMEM, MP_EIO (the cipher failed). */
int mp_store_backend_seal(const struct mp_store *store, enum mp_store_table t, const void *key,
                          size_t klen, const void *plain, size_t n, const unsigned char **out,
                          size_t *outn, unsigned char **owned);

/* Room for one more item of size bytes in the array *items, which holds n
 * of its *cap: when full, doubled (from 16). MP_OK or MP_ENOMEM (the array
 * untouched). Both sides collect records with it during a scan. */
int mp_store_backend_grow(void *items, size_t *cap, size_t n, size_t size);

/* Every user's physical key (the users table's keys), copied out of a
 * scan: k[i][0..len[i]). The walks over all users (a format's
 * conversion, counts over every user) read it first, then visit each. */
struct mp_store_user_keys {
    unsigned char (*k)[MP_STORE_PHYS_USER_MAX];
    size_t *len;
    size_t n, kcap, lcap;
};

/* Fills *out (zeroed by the caller) with every user's key, in the store's
 * order, inside txn: MP_OK, MP_ENOMEM, MP_EIO (a key longer than a
 * physical user key), or the backend's error. Free with
 * mp_store_user_keys_free() in every case. */
int mp_store_user_keys(struct mp_store_txn *txn, struct mp_store_user_keys *out);
void mp_store_user_keys_free(struct mp_store_user_keys *keys);

/* The contract's key order: memcmp over the shorter length, then the
 * shorter key first. <0, 0 or >0. */
int mp_store_backend_key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
                             size_t blen);

/* The least key above every key that begins with p[0..n), into out (n
 * bytes at most): p with its trailing 0xff bytes dropped and the last
 * byte raised. Its length; 0 when there is none (p is all 0xff bytes: no
 * upper bound). */
size_t mp_store_backend_prefix_end(const unsigned char *p, size_t n, unsigned char *out);

/* T(x) of x[0..len) (len <= 65) into out (MP_STORE_TAG_MAX bytes): its
 * length. */
size_t mp_store_backend_tag(const struct mp_store *store, const void *x, size_t len,
                            unsigned char *out);

/* Puts a RAW record (one 0 byte) under key. */
int mp_store_backend_put_raw(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                             size_t klen);

/* Seals plain (as mp_store_backend_seal()) and puts it under key. */
int mp_store_backend_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                         size_t klen, const void *plain, size_t n);

#endif
