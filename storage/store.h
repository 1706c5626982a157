/* Per-user memory persistence behind one small interface. Backends (LMDB in
 * store_lmdb.c, in-memory in store_mem.c for tests) sit behind a table of
 * function pointers; callers see only the opaque struct mp_store.
 *
 * What is stored per user: the summary, the recent messages, the current
 * facts and each fact's history, and idempotency keys of recorded turns.
 * Store-wide: the pending memory jobs. Reads hand out copies (a struct
 * mp_usermem the caller frees), never pointers into a backend's map.
 *
 * Threads: any thread may read; writes (mp_store_apply) are meant for one
 * writer thread (the memory worker) and are serialized by the backend.
 * Users are named by their key: the bytes of the user id (1..256 bytes,
 * validated by the proxy), prefixed later by a tenant. */
#ifndef MP_STORAGE_STORE_H
#define MP_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "usermem.h"

#define MP_USER_KEY_MAX      400
#define MP_IDEM_KEY_LEN      32
#define MP_STORE_SUMMARY_MAX 65536 /* summary text bytes */

struct mp_store;

enum mp_store_sync { MP_STORE_SYNC_FULL, MP_STORE_SYNC_META, MP_STORE_SYNC_NONE };

struct mp_store_options {
    const char *path;        /* borrowed; directory, created if missing (LMDB) */
    uint64_t map_size;       /* initial map size, bytes; 0: 16 MiB. An existing store
                                that grew larger keeps its size. */
    uint64_t map_size_max;   /* the map grows on demand (doubling) up to this; then
                                writes fail MP_ETOOBIG. 0: 64 x map_size. */
    enum mp_store_sync sync; /* FULL: fsync every commit; META: skip the meta-page
                                sync (a crash may lose the last commit, never
                                corrupt); NONE: leave syncing to the OS */
};

enum mp_job_kind { MP_JOB_SUMMARIZE, MP_JOB_EXTRACT };

/* A pending memory job. Jobs carry the user by value: nothing else ties a
 * job to the request that caused it. */
struct mp_job {
    uint64_t id; /* assigned by the store (increasing); 0 in a new job */
    enum mp_job_kind kind;
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    uint64_t through_seq;  /* EXTRACT: the turn's last message seq; SUMMARIZE: fold messages <= */
    uint64_t from_seq;     /* EXTRACT: the turn's first message seq */
    uint32_t attempts;     /* failed attempts so far */
    int64_t not_before_ms; /* retry backoff: do not run before this time */
    int64_t created_ms;
};

/* One change, applied with others in one transaction by mp_store_apply(). */
enum mp_op_kind {
    MP_OP_RECORD_TURN,   /* append messages, remember idem key; skipped if the key is known */
    MP_OP_ADD_JOB,       /* queue job (id assigned, written back into the op). An
                            EXTRACT job with from_seq == through_seq == 0 takes the
                            seqs of the nearest preceding RECORD_TURN op of the same
                            user in the same apply, and is skipped (MP_NOTFOUND)
                            when that turn was already recorded: a turn and its
                            job commit together or not at all. The inherited seqs
                            are written back into u.job; MP_EINVAL when there is
                            no such RECORD_TURN op */
    MP_OP_DONE_JOB,      /* remove job_id */
    MP_OP_UPDATE_JOB,    /* rewrite job (attempts, not_before_ms) */
    MP_OP_SET_SUMMARY,   /* summary = text; drop messages with seq <= through_seq */
    MP_OP_TRIM_MESSAGES, /* drop messages with seq <= u.summary.through_seq (summary
                            untouched; text ignored): the buffer-only modes */
    MP_OP_UPSERT_ENTITY, /* entity: new current value, the old one moves to history;
                            ignored (result MP_NOTFOUND... see below) when it would
                            not outrank the current value */
    MP_OP_DELETE_ENTITY, /* key: current value to history as deleted; MP_NOTFOUND if absent */
    MP_OP_DELETE_USER    /* everything of the user: summary, messages, facts, history,
                            idem keys, and the user's pending jobs */
};

/* What each op accepts (anything else fails the op, and so the whole apply,
 * with MP_EINVAL):
 * - user: 1..MP_USER_KEY_MAX bytes (job ops: job.user instead).
 * - RECORD_TURN: 1 or more messages, role user or assistant, content_len <=
 *   MP_MESSAGE_CONTENT_MAX (the caller cuts), request_id NUL-terminated. On
 *   MP_OK first_seq..last_seq are the seqs given (they start at 1 for a
 *   user and never repeat until the user is deleted); MP_NOTFOUND when the
 *   idem key was recorded before (first_seq = last_seq = 0).
 * - ADD_JOB / UPDATE_JOB: kind valid, job.user as above. UPDATE_JOB and
 *   DONE_JOB: MP_NOTFOUND when the job is gone (done, or its user deleted).
 * - SET_SUMMARY: text_len <= MP_STORE_SUMMARY_MAX; text_len 0 clears the
 *   summary. SET_SUMMARY and TRIM_MESSAGES: MP_NOTFOUND when nothing is
 *   stored for the user (a summary never resurrects a deleted user).
 * - UPSERT_ENTITY: key already normalized (mp_usermem_normalize_key() gives
 *   it back unchanged), value_len <= MP_ENTITY_VALUE_MAX, confidence in
 *   [0,1], trust and source_role valid, request_id and model NUL-terminated.
 *   Precedence, against the current value of the key:
 *     none                       -> inserted, revision = 1 + the key's last
 *                                   revision in the history (1 if none)
 *     trust lower                -> MP_NOTFOUND, nothing changes
 *     trust equal, observed_at_ms older
 *                                -> MP_NOTFOUND (stale never overrides fresh)
 *     same value, same or higher trust
 *                                -> metadata refreshed in place (trust,
 *                                   confidence, times, provenance), same
 *                                   revision, no history entry
 *     otherwise (different value, trust higher, or equal and not older)
 *                                -> the old value goes to the history as
 *                                   SUPERSEDED, the new one gets revision + 1
 *   On MP_OK the store writes revision and recorded_at_ms (= now_ms) back
 *   into u.entity.
 * - DELETE_ENTITY: key as for UPSERT.
 * - DELETE_USER: always MP_OK.
 * Out fields (result, seqs, job id, revision) are written only when the
 * apply returns MP_OK. */
struct mp_op {
    enum mp_op_kind kind;
    const char *user; /* borrowed; all ops but job ones */
    size_t user_len;
    int64_t now_ms;
    union {
        struct {
            const struct mp_mem_message *messages; /* borrowed; seq assigned by the store */
            size_t nmessages;
            uint8_t idem_key[MP_IDEM_KEY_LEN];
            uint64_t first_seq, last_seq; /* out: the seqs given to the messages */
        } turn;
        struct mp_job job; /* ADD_JOB (id out), UPDATE_JOB */
        uint64_t job_id;   /* DONE_JOB */
        struct {
            const char *text; /* borrowed */
            size_t text_len;
            uint64_t through_seq;
        } summary;
        struct mp_mem_entity entity;     /* UPSERT: borrowed value; revision assigned */
        char key[MP_ENTITY_KEY_MAX + 1]; /* DELETE_ENTITY */
    } u;
    int result; /* out: MP_OK, or MP_NOTFOUND (DELETE_ENTITY of an absent key;
                   RECORD_TURN already recorded; UPSERT outranked by a stronger
                   current value), or an error */
};

/* One past value of a fact. */
enum mp_history_event { MP_HIST_SUPERSEDED, MP_HIST_DELETED };

struct mp_history_item {
    struct mp_mem_entity entity; /* value owned by the list */
    enum mp_history_event event;
    int64_t at_ms;
};

struct mp_history {
    struct mp_history_item *items; /* oldest first */
    size_t nitems;
};

/* Storage gauges for metrics. */
struct mp_store_stats {
    uint64_t map_size;     /* current map size, bytes */
    uint64_t map_size_max; /* the cap it may grow to */
    uint64_t map_used;     /* bytes of the map in use (pages up to the last used one) */
    uint32_t readers_used; /* reader slots held right now (all processes) */
    uint32_t readers_max;  /* reader slots available */
};

/* Backend table; each backend fills one. Callers use the mp_store_* wrappers. */
struct mp_store_ops {
    const char *name;
    int (*ping)(struct mp_store *store);
    int (*get)(struct mp_store *store, const char *user, size_t user_len, struct mp_usermem **out);
    int (*apply)(struct mp_store *store, struct mp_op *ops, size_t nops);
    int (*jobs)(struct mp_store *store, struct mp_job **out, size_t *n);
    int (*history)(struct mp_store *store, const char *user, size_t user_len, const char *key,
                   struct mp_history **out);
    void (*close)(struct mp_store *store);
    int (*stats)(struct mp_store *store, struct mp_store_stats *out);
};

/* Every backend's handle starts with this header. */
struct mp_store {
    const struct mp_store_ops *ops;
};

/* Opens the LMDB backend at opts->path (clearing stale reader slots).
 * The LMDB backend may be read from any number of threads at once; a map
 * resize briefly waits for the reads in flight (they are short: a read
 * copies out and closes its transaction inside one call).
 * Returns MP_OK with *out (caller frees with mp_store_free()); MP_EIO when
 * the directory or environment cannot be opened, or holds a record format
 * this version does not know (err, borrowed, receives a reason of at most
 * errcap bytes). */
int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap);

/* Opens an empty in-memory backend (tests). MP_OK or MP_ENOMEM. */
int mp_store_open_mem(struct mp_store **out);

/* MP_OK when the store can serve reads and writes, else MP_EIO. */
int mp_store_ping(struct mp_store *store);

/* The user's memory: MP_OK with *out (caller frees with mp_usermem_free()):
 * messages oldest first, entities current values only, sorted by key (bytes),
 * summary.text NULL when there is none, next_seq the seq the next recorded
 * message will get. MP_NOTFOUND when nothing is stored for the user (not an
 * error); MP_EINVAL for a user key of 0 or more than MP_USER_KEY_MAX bytes;
 * MP_EIO (also for a record that fails to decode); MP_ENOMEM. */
int mp_store_get(struct mp_store *store, const char *user, size_t user_len,
                 struct mp_usermem **out);

/* Applies ops in order in one transaction: all or nothing; later ops see
 * the effects of earlier ones. Per-op outcomes that are not failures
 * (MP_NOTFOUND above) do not abort the transaction. Returns MP_OK;
 * MP_EINVAL (an op broke the rules above: that op's result is MP_EINVAL,
 * no other out field is written);
 * MP_ETOOBIG when the map cannot grow any more (nothing applied); MP_EIO;
 * MP_ENOMEM. The LMDB backend grows a full map (abort, double, retry) up
 * to map_size_max before it gives up. */
int mp_store_apply(struct mp_store *store, struct mp_op *ops, size_t nops);

/* Every pending job, ordered by id: MP_OK with *out (caller frees with
 * free(); *out may be NULL when *n is 0); MP_EIO. */
int mp_store_jobs(struct mp_store *store, struct mp_job **out, size_t *n);

/* The past values of one fact: MP_OK with *out (caller frees with
 * mp_history_free()), possibly with no items when the key has only its
 * current value; MP_NOTFOUND when the key has neither a current value nor
 * a history (or the user nothing); MP_EINVAL; MP_EIO. */
int mp_store_history(struct mp_store *store, const char *user, size_t user_len, const char *key,
                     struct mp_history **out);
void mp_history_free(struct mp_history *h);

/* Fills *out with the storage gauges (all zero for the in-memory backend).
 * MP_OK or MP_EIO. Cheap enough for every metrics scrape. */
int mp_store_stats(struct mp_store *store, struct mp_store_stats *out);

/* The backend's name: "lmdb" or "mem". */
const char *mp_store_backend(const struct mp_store *store);

/* Closes the store. mp_store_free(NULL) does nothing. */
void mp_store_free(struct mp_store *store);

/* For backends only (store_lmdb.c, store_mem.c; callers never need these):
 * the rules both share, so that the two backends mean the same. They edit a
 * struct mp_usermem whose entities are sorted by key; each leaves um
 * unchanged when it fails. The mp_store_* wrappers above have already
 * checked ops with mp_store_check_op() and user keys with
 * mp_store_check_user(). */

/* MP_OK when the user key is 1..MP_USER_KEY_MAX bytes, else MP_EINVAL. */
int mp_store_check_user(const char *user, size_t user_len);
/* MP_OK when op follows the rules of struct mp_op, else MP_EINVAL. */
int mp_store_check_op(const struct mp_op *op);
/* What one op reports, kept by the backend until the whole apply commits. */
struct mp_store_out {
    int result;
    uint64_t first_seq, last_seq; /* RECORD_TURN; ADD_JOB: the job's from/through */
    uint64_t job_id;
    uint32_t revision;
};
/* The job ADD_JOB ops[i] queues: MP_OK with *job (seqs inherited from its
 * RECORD_TURN when the op asks for that), or MP_NOTFOUND when that turn was
 * already recorded. outs[0..i) hold the earlier ops' outcomes. */
int mp_store_job_resolve(const struct mp_op *ops, const struct mp_store_out *outs, size_t i,
                         struct mp_job *job);
/* Copies the outcomes into the ops once the apply has committed. */
void mp_store_write_back(struct mp_op *ops, const struct mp_store_out *outs, size_t nops);
/* Deep copy (dst->value is allocated): MP_OK or MP_ENOMEM. */
int mp_store_entity_copy(struct mp_mem_entity *dst, const struct mp_mem_entity *src);
/* The index of key in um->entities, or -1. */
long mp_store_um_find(const struct mp_usermem *um, const char *key);
/* RECORD_TURN's messages appended with seqs from um->next_seq (a fresh um
 * must have next_seq 1): MP_OK or MP_ENOMEM. */
int mp_store_um_append(struct mp_usermem *um, const struct mp_op *op, uint64_t *first_seq,
                       uint64_t *last_seq);
/* SET_SUMMARY or TRIM_MESSAGES: MP_OK or MP_ENOMEM. */
int mp_store_um_summarize(struct mp_usermem *um, const struct mp_op *op);
/* UPSERT_ENTITY with the precedence of struct mp_op. base_rev: the key's
 * last revision in its history (0 if none), read only when the key has no
 * current value. Returns MP_OK with *rev; when a value was displaced it
 * moves into *old (caller frees old->value) and *has_old is true.
 * MP_NOTFOUND: outranked, nothing changed. MP_ENOMEM. */
int mp_store_um_upsert(struct mp_usermem *um, const struct mp_op *op, uint32_t base_rev,
                       struct mp_mem_entity *old, bool *has_old, uint32_t *rev);
/* DELETE_ENTITY: the current value moves into *old (caller frees
 * old->value): MP_OK, or MP_NOTFOUND when the key has none. */
int mp_store_um_remove(struct mp_usermem *um, const char *key, struct mp_mem_entity *old);

#endif
