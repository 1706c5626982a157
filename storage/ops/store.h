/* Per-user memory persistence behind one small interface; callers see only
 * the opaque struct mp_store. Every op is written once (store.c,
 * store_ops.c, store_read.c) over a small table of backend primitives
 * (store_backend.h): LMDB in store_lmdb.c, in-memory in store_mem.c.
 *
 * What is stored per user: the summary, the recent messages (the buffer),
 * the current facts (up to mp_store_set_max_facts() of them), the episodic
 * archive (every recorded message, kept after it leaves the buffer, when
 * mp_store_set_archive() is on), an inverted index of facts and archive
 * for relevance (core/recall/relevance.h, through mp_store_view_index()), the
 * user's change history (an append-only log of what happened to their
 * facts and summary, with time and actor) and idempotency keys of
 * recorded turns. Store-wide: the pending memory jobs and a random secret.
 * Reads hand out copies (a struct mp_usermem the caller frees), never
 * pointers into a backend's map.
 *
 * Governance lives here because only the store can make it true: deleting
 * a fact erases it and every turn that told any value it had (its past
 * values too, store_erase.c), deleting a message retracts the facts that
 * rested on it alone, retention purges for real
 * (MP_OP_SWEEP_USER), compaction leaves no freed page behind, and with a
 * key every value is sealed and every user id hashed before it reaches
 * the backend.
 *
 * Threads: any thread may read; writes (mp_store_apply) are meant for one
 * writer thread (the memory worker) and are serialized by the backend.
 *
 * User keys: 1..MP_USER_KEY_MAX bytes, laid out as core/memory/userkey.h says: a
 * key whose first byte is MP_USER_KEY_TENANT is namespaced: MP_TENANT_LEN
 * bytes of tenant follow, then the user id (at least one byte). Any other
 * key is a user id of no tenant (user ids are printable, so they never
 * start with that byte). */
#ifndef MP_STORAGE_STORE_H
#define MP_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/inject.h"
#include "recall/relevance.h"
#include "format/seal.h"
#include "format/storetypes.h"
#include "memory/userkey.h"
#include "memory/usermem.h"
#include "memory/usermode.h"
#include "ops/store_vectors.h"

#define MP_IDEM_KEY_LEN        32
#define MP_STORE_LOOP_KEYS     3      /* keys in each of a RECORD_TURN's loop lists, at most */
#define MP_STORE_FACTS_DEFAULT 100000 /* current facts per user unless mp_store_set_max_facts() */
#define MP_USER_KEY_TENANT     MP_USERKEY_TENANT     /* first byte of a tenant-namespaced key */
#define MP_TENANT_LEN          MP_USERKEY_TENANT_LEN /* tenant bytes in a namespaced key */
#define MP_STORE_CURSOR_MAX    MP_USER_KEY_MAX       /* bytes of a users-listing cursor */

_Static_assert(MP_USERKEY_MAX <= MP_USER_KEY_MAX, "the store takes every key core makes");

struct mp_store;

enum mp_store_sync { MP_STORE_SYNC_FULL, MP_STORE_SYNC_META, MP_STORE_SYNC_NONE };

struct mp_store_options {
    const char *path;              /* borrowed; directory, created if missing (LMDB) */
    uint64_t map_size;             /* initial map size, bytes; 0: 16 MiB. An existing store
                                      that grew larger keeps its size. */
    uint64_t map_size_max;         /* the map grows on demand (doubling) up to this; then
                                      writes fail MP_ETOOBIG. 0: 64 x map_size. */
    enum mp_store_sync sync;       /* FULL: fsync every commit; META: skip the meta-page
                                      sync (a crash may lose the last commit, never
                                      corrupt); NONE: leave syncing to the OS */
    const struct mp_seal_key *key; /* borrowed (copied at open); NULL: data in clear.
                                      Set: every value sealed with AES-256-GCM
                                      under it, user ids in keys hashed */
};

/* What a RECORD_TURN's builder found of client text in its turn
 * (core/wire/ownwords.h; docs/memory-whose-words.md "Whose words"), for the store to
 * find the rest by what it has kept (store_whose.c):
 *   - by repetition: the prints of the blocks of its user messages. A
 *     block printed in another conversation of the user's is a client's
 *     template when the turn has words of its own beside it: it is left
 *     out, and so is every earlier copy (the block cut out of its message,
 *     a message of nothing else erased, the facts only it told retracted);
 *   - by shape: a lone request (no earlier turn in it, no tools) whose
 *     user text quotes a turn the user made within window_ms with other
 *     instructions is a client's side request (a title, a summary): not
 *     recorded, and its instructions' prints learned as a side request's
 *     (MP_TABLE_SIDES); a turn quoted so by such a request recorded
 *     earlier is undone. */
#define MP_STORE_PRINTS_MAX 16 /* printed blocks of one turn's user messages */
#define MP_STORE_INSTR_MAX  4  /* printed instruction blocks of one request */

struct mp_store_print {
    uint32_t msg;        /* the op's message, a user message */
    uint32_t start, len; /* the block in its content */
    uint64_t print;      /* core/wire/blocks.h: mp_blocks_print (never 0) */
};

struct mp_store_recognize {
    const struct mp_store_print *prints; /* borrowed */
    size_t nprints;
    bool unprinted; /* a block of the user's words has no print: words repetition never takes */
    bool lone;      /* a lone request without tools: it may be a side request */
    uint64_t instr[MP_STORE_INSTR_MAX]; /* its instruction blocks' prints */
    size_t ninstr;
    uint8_t side_kind; /* the kind (core/wire/clienttask.h) it has, if it is one */
    int64_t window_ms; /* how far apart a side request and the turn it quotes may be */
};

/* What recognition did to a RECORD_TURN (out, whatever its result). */
struct mp_store_recognized {
    bool side;                /* a side request: nothing of it recorded (result MP_NOTFOUND) */
    uint32_t cut_blocks;      /* template blocks left out of the turn */
    uint32_t undone_turns;    /* earlier side requests undone */
    uint32_t undone_messages; /* earlier messages erased or cut (their template left out) */
    uint32_t retracted_facts; /* facts only what was undone told */
    uint64_t learned[MP_STORE_INSTR_MAX]; /* side requests' instruction prints learned */
    size_t nlearned;
    uint8_t learned_kind;
};

/* One change, applied with others in one transaction by mp_store_apply(). */
enum mp_op_kind {
    MP_OP_RECORD_TURN,      /* append messages to the buffer (and the archive, indexed),
                               remember idem key with the turn's seqs; a known key:
                               the earlier turn's reply replaced (see below) */
    MP_OP_ADD_JOB,          /* queue job (id assigned, written back into the op). An
                               EXTRACT job with from_seq == through_seq == 0 takes the
                               seqs of the nearest preceding RECORD_TURN op of the same
                               user in the same apply, and is skipped (MP_NOTFOUND)
                               when that turn was already recorded: a turn and its
                               job commit together or not at all. Right after
                               IMPORT_MESSAGE ops of its user (an imported turn:
                               the last import_turn_ops of them, or the run of
                               them back to another kind of op) it
                               takes instead the seqs of the first through the last
                               of them imported now, and is skipped when none was.
                               The inherited seqs are written back into u.job;
                               MP_EINVAL when there is no such op */
    MP_OP_DONE_JOB,         /* remove job_id */
    MP_OP_UPDATE_JOB,       /* rewrite job (attempts, malformed, failed, not_before_ms) */
    MP_OP_SET_SUMMARY,      /* summary = text; drop buffered messages with seq <= through_seq
                               (the archive keeps them; keep_messages: none) */
    MP_OP_TRIM_MESSAGES,    /* drop messages with seq <= u.summary.through_seq (summary
                               untouched; text ignored): the buffer-only modes */
    MP_OP_UPSERT_ENTITY,    /* entity: new current value, the old one moves to history;
                               ignored (result MP_NOTFOUND... see below) when it would
                               not outrank the current value */
    MP_OP_DELETE_ENTITY,    /* key: erase the fact (see below); MP_NOTFOUND if absent */
    MP_OP_DELETE_USER,      /* everything of the user: summary, messages, archive, index,
                               facts, history, idem keys, and the user's pending jobs */
    MP_OP_SWEEP_USER,       /* retention: purge what u.sweep says has expired */
    MP_OP_IMPORT_MESSAGE,   /* one message (u.turn, nmessages 1) into the archive only,
                              with its own at_ms, request_id, model, pii and
                              conversation: the next seq, indexed; the buffer and
                              the summary are untouched */
    MP_OP_SET_USER_MODE,    /* the user's own setting (u.user_mode): auto removes it; off
                               also removes the user's pending jobs */
    MP_OP_CLAIM_JOB,        /* u.claim: take the lease of a job to run it (several
                               processes share a store: each job runs in one) */
    MP_OP_SET_MESSAGE_KEYS, /* u.keys: the archived message seq gets its search keys,
                             stored with it and indexed as its low-weight "search
                             keys" field; MP_NOTFOUND when it is not archived or
                             has keys already (written once) */
    MP_OP_DELETE_MESSAGE,   /* u.seq: erase one message of the user (see below);
                               MP_NOTFOUND when neither the archive nor the buffer
                               holds it */
    MP_OP_CHECK_EPOCH,      /* u.epoch: a memory job's guard: nothing of the apply is
                               written when the user's memory epoch moved (see below) */
    MP_OP_PUT_CONV,         /* u.conv: a conversation's state (struct mp_store_conv) */
    MP_OP_NOTE_LEAD,        /* u.lead: a client id seen with a conversation's beginning */
    MP_OP_REVOKE_LINKS,     /* the user's page links issued before now_ms are void (kept
                               in the links table, which erasure keeps) */
    MP_OP_PUT_VECTORS,      /* u.vectors: items' vectors (store_vectors.h) */
    MP_OP_DROP_VECTORS,     /* u.vectors.model: the user's vectors of other models go */
    MP_OP_SPEND_TOKENS      /* u.spend: the memory-model tokens the ADD_JOB ops before
                               it in the apply queued are added to the user's spend
                               of now_ms's UTC day (kept in the spend table, which
                               erasure keeps; see below) */
    ,
    MP_OP_REFILE /* u.refile: a turn filed under one conversation moves to
                    another (see below) */
};

/* The most messages one REFILE covers: a turn's. */
#define MP_STORE_REFILE_MAX 64

/* Retention limits for MP_OP_SWEEP_USER, as ages in ms (0: no limit). */
struct mp_retention {
    int64_t max_age_ms;      /* every item */
    int64_t pii_max_age_ms;  /* items flagged pii (0: max_age_ms applies) */
    int64_t idem_max_age_ms; /* idempotency keys */
};

/* What an erasure removed (DELETE_ENTITY, DELETE_MESSAGE, DELETE_USER, and
 * any op that erases as a side effect): counted from the DELETED history
 * entries the op wrote (one per fact, one for the summary, messages by
 * their count). DELETE_USER, which leaves no history, counts the user's
 * current facts, archived (or buffered, when more) messages and summary
 * as they were. */
struct mp_erased {
    uint32_t facts, messages, summaries;
};

/* What one sweep purged. */
struct mp_sweep_counts {
    uint64_t facts, messages, summaries, history, idem;
};

/* What each op accepts (anything else fails the op, and so the whole apply,
 * with MP_EINVAL):
 * - user: a user key as described at the top (job ops: job.user instead).
 * - RECORD_TURN: 1 or more messages (a loop's link: none), role user or
 *   assistant, at most MP_STORE_LOOP_KEYS keys in each loop list, content_len <=
 *   MP_MESSAGE_CONTENT_MAX (the caller cuts), request_id NUL-terminated,
 *   conv_kind 0 to MP_CONVID_KIND_MAX; conv, conv_kind and reply_ref are
 *   kept with the message wherever it goes (buffer, archive, copies), and
 *   every read gives them back (0 for a message recorded before format 7). On
 *   MP_OK first_seq..last_seq are the seqs given (they start at 1 for a
 *   user and never repeat until the user is deleted). The op's reply is
 *   its trailing assistant messages; the idem key is kept with the seqs
 *   of the turn's user messages and of its reply (store_turn.c).
 *   A known idem key (a regenerated reply, a retry after a lost reply):
 *   when the earlier turn's reply is still kept (buffer or archive) and
 *   the op's reply differs from it, the reply is replaced: its messages
 *   are erased as DELETE_MESSAGE erases one (actor USER), the facts it
 *   alone told (source_role assistant, source_last_seq one of its seqs)
 *   are removed (DELETED entries, actor USER), the op's reply is appended
 *   under the next seqs with the erased reply's request id (the user
 *   messages stay, never recorded again), a new memory epoch; MP_OK with
 *   replaced set, first_seq..last_seq the turn's user messages through
 *   the new reply (the new reply alone when another turn's message lies
 *   between them in the buffer), which an inheriting ADD_JOB takes.
 *   Otherwise (the same reply, none kept, no reply in the op, a key
 *   remembered without seqs: an import's, or one written before seqs
 *   were kept) MP_NOTFOUND, nothing changes (first_seq = last_seq = 0).
 *   An agent's tool loop (store_turn.c; docs/memory-recording.md "Agent loops"):
 *   the turn that began it (the user's request, with the reply that
 *   called a tool, if it had text) is also kept under loop_keep's keys
 *   (with its seqs after a replacement too). A link (nmessages 0,
 *   nloop_find and nloop_keep >= 1, not loop_end): the turn found under
 *   the first of loop_find's keys that holds one is kept under
 *   loop_keep's too; MP_NOTFOUND when none does. The final answer
 *   (loop_end, the op's reply its trailing assistant messages): the turn
 *   found so replaces its reply with the op's (as above: erased as the
 *   user's erasure, its facts dropped, a new epoch; or appended when it
 *   had none or none is kept), with that turn's request id and
 *   conversation, and that key is written again with the new seqs: MP_OK
 *   with replaced set when a reply was erased, first_seq..last_seq as
 *   above; MP_NOTFOUND when the reply is the kept one, or the turn's user
 *   messages are all gone (the user erased the request). No key holds a
 *   turn: the op is recorded as a new turn under idem_key when it has
 *   user messages, else MP_NOTFOUND.
 * - ADD_JOB / UPDATE_JOB: kind valid, job.user as above. UPDATE_JOB and
 *   DONE_JOB: MP_NOTFOUND when the job is gone (done, or its user deleted).
 * - SET_SUMMARY: text_len <= MP_STORE_SUMMARY_MAX; text_len 0 clears the
 *   summary. A fold of buffered messages said before a given value
 *   displaced another or kept a statement out (a SUPERSEDED entry of actor
 *   user or admin, or a KEPT entry, at or after the oldest folded
 *   message's time, for a key whose current value is still given
 *   outright) does not bring that value back: its sentences are dropped
 *   from the text as UPSERT_ENTITY drops them (FILTERED after
 *   SUMMARIZED). So the fold of a batch does not carry what the batch's
 *   own extraction was kept out of. SET_SUMMARY and TRIM_MESSAGES: MP_NOTFOUND when nothing is
 *   stored for the user (a summary never resurrects a deleted user).
 * - UPSERT_ENTITY: key already normalized (mp_usermem_normalize_key() gives
 *   it back unchanged), value_len <= MP_ENTITY_VALUE_MAX, confidence in
 *   [0,1], trust and source_role valid, request_id and model NUL-terminated.
 *   Precedence, against the current value of the key (lifecycle.h,
 *   mp_lifecycle_upsert: between agent, stated and corrected values the
 *   newer wins, the class only at the same time; inferred and admin values
 *   by class first):
 *     none                       -> inserted, revision = 1 + the key's last
 *                                   revision in the history (1 if none)
 *     outranked                  -> MP_NOTFOUND, nothing changes but a KEPT
 *                                   entry for the extractor's statement of
 *                                   the user (trust STATED, actor
 *                                   EXTRACTOR) of another value: its value,
 *                                   the kept value's revision, and why that
 *                                   value holds (reason NEWER, GIVEN or
 *                                   ADMIN; written back into kept)
 *     same value, not outranked  -> metadata refreshed in place (trust,
 *                                   confidence, times, provenance), same
 *                                   revision, no history entry
 *     otherwise (different value, not outranked)
 *                                -> the old value goes to the history as
 *                                   SUPERSEDED, the new one gets revision + 1;
 *                                   when the new value is given outright
 *                                   (mp_usermem_trust_given), the sentences
 *                                   of the summary that hold the old value
 *                                   are dropped (FILTERED; the summary goes
 *                                   when nothing is left of it)
 *   A new key when the user already has the store's max_facts facts
 *   (mp_store_set_max_facts()): result MP_ETOOBIG, nothing changes (the
 *   apply goes on). History: an insert
 *   logs ADDED (CORRECTED for trust CORRECTED or ADMIN; actor user for
 *   CORRECTED and AGENT); a replacement
 *   logs SUPERSEDED holding the displaced value, then ADDED/CORRECTED.
 *   On MP_OK the store writes revision and recorded_at_ms (= now_ms) back
 *   into u.entity. Provenance: an op with source seqs (source_first_seq >
 *   0) that is inserted, supersedes, refreshes or is outranked records its
 *   turn as one that told a value of the key (store_told.h), whatever
 *   value the key holds later: DELETE_ENTITY erases it.
 * - DELETE_ENTITY: key as for UPSERT; actor USER or ADMIN. Erasure, not
 *   hiding, and it follows provenance (store_erase.c): the current value is
 *   removed, and so is what told any value the key ever had. Every turn
 *   recorded as telling one (store_told.h: the current value's source
 *   turn, each superseded value's, each statement kept out) goes whole,
 *   its user messages and its reply; every message that holds the current
 *   value as whole words (core/recall/wordhold.h: "Go" is not in "going")
 *   goes, by one test in the buffer and the archive; in the buffer, the
 *   current value's source turn by its request id too (lifecycle.h:
 *   mp_lifecycle_tells_fact). A past value is followed by its turns, not
 *   by its letters in other messages. They go from the buffer and
 *   from the archive with their postings and search keys (the archive's
 *   holders found through the index: store_archive.h). The user's
 *   pending EXTRACT jobs of a turn it reached that has no user message
 *   left go with their leases: nothing of theirs is left to send (what
 *   is left, a reply, no extraction reads alone).
 *   The summary is dropped (it may restate any of the values; the next
 *   fold writes one from what is left), every past value of the key is
 *   stripped from the history (the entries stay, without their value) and
 *   the key's told-by records go. Other facts the erased turns told stay.
 *   A new memory epoch. History: DELETED for the fact (when it had a
 *   value), the messages (their count) and the summary, the last two of
 *   reason FACT_ERASED. MP_NOTFOUND when the key has no current value, no
 *   told-by record and no value in its history (never set, or erased
 *   already); a key whose value was retracted (DELETE_MESSAGE) is erased
 *   as above.
 * - DELETE_USER: always MP_OK. It also voids the user's page links
 *   issued before now_ms (as REVOKE_LINKS), and keeps that record: a link
 *   given out before the erasure never reads what is stored after it.
 * - REVOKE_LINKS: always MP_OK; never held back.
 * - PUT_VECTORS, DROP_VECTORS: as store_vectors.h says (mp_store_vectors_
 *   check_op, mp_ops_put_vectors, mp_ops_drop_vectors); MP_OK, the count
 *   in u.vectors.count. PUT is held back like SET_MESSAGE_KEYS (a memory
 *   job's write); DROP never is.
 * - SPEND_TOKENS: the ADD_JOB ops before it that queued a job (result
 *   MP_OK; held back or known turns do not count), n of them, spend the
 *   sum of their u.spend.op_tokens plus ceil(n / turns_per_call) calls of
 *   call_tokens; that is added to the user's record of the UTC day of
 *   now_ms (a record of another day starts again from 0). Nothing is
 *   written when it is 0. When u.spend.limit > 0 and the day would pass
 *   it, the whole apply fails with MP_ECONFLICT (nothing written): the
 *   read and the write are one transaction, so processes sharing a
 *   PostgreSQL store cannot both spend what is left. Never held back;
 *   DELETE_USER keeps the record (mp_store_day_spend()).
 * - SWEEP_USER: u.sweep.retention, now_ms. Purges messages (buffered and
 *   archived, with their postings; a message counts once) whose at_ms,
 *   facts whose observed_at_ms, a summary whose observed_at_ms (else
 *   updated_at_ms), history entries whose at_ms, and idem keys whose time
 *   is older than now_ms minus the limit that applies (pii items: the pii
 *   limit when set). Logs EXPIRED for each fact, the summary, and the
 *   messages (count). A sweep that purged messages also removes the told
 *   records (store_told.h) of turns older than every message left. A user
 *   left with nothing, history included, is removed. Counts go to
 *   u.sweep.counts; MP_NOTFOUND when nothing is stored for the user.
 * - IMPORT_MESSAGE: exactly 1 message as for RECORD_TURN (its at_ms,
 *   request_id, model, pii, conv, conv_kind and reply_ref kept), into the archive whatever
 *   mp_store_set_archive() says; first_seq = last_seq = its seq.
 * - SET_USER_MODE: u.user_mode valid, actor USER or ADMIN. Always MP_OK.
 *   The setting then holds back what traffic would remember (each skipped
 *   op's result is MP_NOTFOUND, nothing changes): with read or off,
 *   RECORD_TURN and an ADD_JOB that inherits its turn's seqs; with off,
 *   also every ADD_JOB, SET_SUMMARY, TRIM_MESSAGES and an UPSERT_ENTITY
 *   not given outright (what the memory jobs write: mp_usermem_trust_given).
 *   What a person or their agent does (corrections, admin values, an
 *   agent's add_memory, imports, erasure) is never held back.
 * - CLAIM_JOB: u.claim.job_id, owner (non-zero: the claiming process) and
 *   until_ms > now_ms. A store only one process opens at a time (LMDB, mem)
 *   needs no lease: MP_OK (MP_NOTFOUND when the job is gone), nothing
 *   written. Else MP_OK: the lease is the
 *   owner's until until_ms
 *   (there was none, it had expired, or it was the owner's already);
 *   MP_ECONFLICT: another owner holds it past now_ms (u.claim.until_ms
 *   then says until when: written back whatever the result); MP_NOTFOUND:
 *   the job is gone. DONE_JOB and the jobs DELETE_USER and SET_USER_MODE
 *   remove take their leases with them.
 * - SET_MESSAGE_KEYS: u.keys.text[0..text_len), 1 to MP_MESSAGE_KEYS_MAX
 *   bytes. Held back like UPSERT_ENTITY (a memory job's write). Erasure
 *   and retention remove the keys with their message.
 * - DELETE_MESSAGE: u.seq >= 1, actor USER or ADMIN; never held back.
 *   Erasure of one message, as DELETE_ENTITY erases what tells a fact:
 *   the archived message goes with its postings and search keys
 *   (remove_message in store_archive.c, the path every erasure and
 *   retention takes), its buffered copy goes, and so does the summary when
 *   it covers the message (seq <= covers_through_seq: it may restate it).
 *   A fact whose value rests on the message's turn alone is retracted
 *   (store_erase.c): a current value that turns told (its told-by records
 *   of that value, store_told.h), none of which keeps a message of the
 *   role that told it (the user's words for a statement, the reply for
 *   an inference), is removed as store_whose.c retracts what a client
 *   wrote (its history kept, its value's sentences out of the summary). A
 *   value given outright (mp_usermem_trust_given), one no turn is
 *   recorded as telling, or one another kept turn told stays. The told-by
 *   records of a turn with no message left go. A new memory epoch.
 *   History: DELETED for the messages (count 1) and the summary, then per
 *   fact retracted DELETED (actor op's, reason SOURCES_ERASED) and
 *   FILTERED when the summary held its value.
 * - CHECK_EPOCH: u.epoch, the user's memory epoch (usermem.h) as a memory
 *   job read it with the turns its call sends (mp_store_get_head). Checked
 *   before any op of the apply, wherever it stands: when the user's epoch
 *   is no longer u.epoch (an erasure, a correction or a purge committed
 *   since: each moves it in its own transaction) or nothing is stored for
 *   the user (erased whole), the apply writes nothing and returns MP_OK,
 *   this op's result MP_ECONFLICT and every other op's MP_NOTFOUND: what
 *   the call computed may restore what was erased, so the caller runs it
 *   again on what is stored now. Else its result is MP_OK and the apply
 *   goes on. On PostgreSQL the check is a read of the user's record in
 *   the apply's serializable transaction, so an erasure another process
 *   commits meanwhile makes one of the two run again.
 * - SET_SUMMARY logs SUMMARIZED. Other ops log nothing.
 * Out fields (result, seqs, job id, revision, counts) are written only when
 * the apply returns MP_OK. */
struct mp_op {
    enum mp_op_kind kind;
    const char *user; /* borrowed; all ops but job ones */
    size_t user_len;
    int64_t now_ms;
    enum mp_actor actor; /* DELETE_ENTITY: USER or ADMIN (others: implied) */
    /* UPSERT_ENTITY, DELETE_ENTITY: when if_match is set, the key's current
       revision (0: no current value) must equal if_revision, else the whole
       apply fails with MP_ECONFLICT (two admins cannot overwrite each other) */
    bool if_match;
    uint32_t if_revision;
    /* UPSERT_ENTITY, IMPORT_MESSAGE: an import's line id (MP_IDEM_KEY_LEN
       bytes, borrowed; NULL: none). Known already: the op is skipped (result
       MP_NOTFOUND); else it is remembered with the user's idem keys. */
    const uint8_t *import_key;
    /* with import_key: the time the key is remembered at (0: now_ms); an
       import sets it so that the key goes exactly when its item goes */
    int64_t import_key_at_ms;
    /* ADD_JOB of an imported turn (EXTRACT, no seqs): how many of the
       IMPORT_MESSAGE ops right before it are its turn's messages (0: all
       of the run of them) */
    uint32_t import_turn_ops;
    /* IMPORT_MESSAGE, UPSERT_ENTITY: the item's recorded_at when > 0 (an
       import whose retention counts from the items' own time), else now_ms */
    int64_t recorded_at_ms;
    /* UPSERT_ENTITY: a new key past max_facts fails the whole apply with
       MP_ECONFLICT (an import is all or nothing) instead of the op's result
       MP_ETOOBIG */
    bool whole;
    union {
        struct {
            const struct mp_mem_message *messages; /* borrowed; seq assigned by the store */
            size_t nmessages;
            uint8_t idem_key[MP_IDEM_KEY_LEN];
            uint64_t first_seq, last_seq; /* out: the seqs given to the messages */
            bool replaced;                /* out: RECORD_TURN replaced a known key's reply */
            /* RECORD_TURN in an agent's tool loop (below; all borrowed,
               MP_IDEM_KEY_LEN bytes each): more keys the turn is kept
               under, keys to find the loop's turn by, and whether the op
               is the loop's final answer */
            const uint8_t (*loop_keep)[MP_IDEM_KEY_LEN];
            size_t nloop_keep;
            const uint8_t (*loop_find)[MP_IDEM_KEY_LEN];
            size_t nloop_find;
            bool loop_end;
            /* RECORD_TURN: what its builder found of client text (borrowed;
               NULL: nothing is recognized), and what recognition did (out) */
            const struct mp_store_recognize *recognize;
            struct mp_store_recognized recognized;
        } turn;
        struct mp_job job; /* ADD_JOB (id out), UPDATE_JOB */
        uint64_t job_id;   /* DONE_JOB */
        struct {
            const char *text; /* borrowed */
            size_t text_len;
            uint64_t through_seq;
            const char *model; /* borrowed, NUL-terminated; NULL: "" */
            bool pii;
            /* SET_SUMMARY: when check_from is set, the fold started from the
               summary that covered messages through from_seq and had a text
               (from_text) or none; the whole apply fails with MP_ECONFLICT
               when the stored summary differs in either by then (another
               process folded first, or an erasure dropped the summary): the
               fold is not written over it */
            bool check_from;
            bool from_text;
            uint64_t from_seq;
            /* SET_SUMMARY: the buffer keeps its messages (the summary covers
               them too; a TRIM_MESSAGES trims the buffer): an extraction
               batch's fold, which covers the newest turns */
            bool keep_messages;
            /* Neither op drops a message that a pending EXTRACT job of the
               user still needs (seq >= the job's from_seq), whichever
               process queued the job: the store looks for such jobs with
               an id above jobs_known_through (0: every job; UINT64_MAX:
               none); the caller vouches for those at or below it
               (mp_memjobs: its index, filled from a read that saw every
               job up to that id) */
            uint64_t jobs_known_through;
        } summary; /* SET_SUMMARY, TRIM_MESSAGES (through_seq, jobs_known_through) */
        struct mp_mem_entity entity;     /* UPSERT: borrowed value; revision assigned */
        char key[MP_ENTITY_KEY_MAX + 1]; /* DELETE_ENTITY */
        struct {
            struct mp_retention retention;
            struct mp_sweep_counts counts; /* out */
        } sweep;
        enum mp_user_mode user_mode; /* SET_USER_MODE */
        struct {
            uint64_t job_id;
            uint64_t owner;
            int64_t until_ms; /* in; out: the holder's when MP_ECONFLICT */
        } claim;              /* CLAIM_JOB */
        struct {
            uint64_t seq;
            const char *text; /* borrowed: keys separated by ", " */
            size_t text_len;  /* 1 .. MP_MESSAGE_KEYS_MAX */
        } keys;               /* SET_MESSAGE_KEYS */
        uint64_t seq;         /* DELETE_MESSAGE */
        uint64_t epoch;       /* CHECK_EPOCH */
        struct {
            const unsigned char *key;  /* MP_STORE_CONV_KEY_LEN bytes, borrowed */
            struct mp_store_conv *rec; /* borrowed; stamp and written_ms written back */
            bool tail_only;            /* rec's head is the one stored under rec->stamp:
                                          only its tail and written_ms are written */
            uint32_t evicted;          /* out: conversations dropped to stay within the bounds */
        } conv;                        /* PUT_CONV */
        struct {
            const unsigned char *key; /* MP_STORE_CONV_KEY_LEN bytes (the client id's), borrowed */
            uint64_t lead;            /* the beginning's hash (core/wire/convid.h) */
        } lead;                       /* NOTE_LEAD */
        struct {
            uint64_t from, to;            /* conversation digests (usermem.h: conv), not 0 */
            uint8_t kind;                 /* the new conv_kind: 1 .. MP_CONVID_KIND_MAX */
            uint64_t first_seq, last_seq; /* the messages, both included: 1 <= first <= last,
                                             last - first < MP_STORE_REFILE_MAX */
        } refile;                         /* REFILE */
        struct {
            const struct mp_store_vector *items; /* PUT: borrowed (store_vectors.h) */
            size_t nitems;
            struct mp_vec_model model; /* every item's record is of it (PUT); kept (DROP) */
            uint32_t count;            /* out: vectors written (PUT) or removed (DROP) */
        } vectors;                     /* PUT_VECTORS, DROP_VECTORS */
        struct {
            /* borrowed: an estimate for each op of the apply before this
               one (read for the ADD_JOB ops only; NULL: none) */
            const uint64_t *op_tokens;
            uint32_t turns_per_call; /* jobs one memory-model call takes, >= 1 */
            uint64_t call_tokens;    /* what a call sends besides its turns */
            uint64_t limit;          /* > 0: the day may not pass it (below) */
        } spend;                     /* SPEND_TOKENS */
    } u;
    /* out, UPSERT_ENTITY of the user's statement (MP_TRUST_STATED): the key
       held another value, given outright (mp_usermem_trust_given: an
       agent's, a correction, an admin's); with result MP_OK the statement
       superseded it,
       with MP_NOTFOUND that value was newer or an admin's and was kept (a
       KEPT history entry when the values differ) */
    bool met_given;
    /* out, UPSERT_ENTITY with result MP_NOTFOUND: why the current value
       held against the user's statement, the KEPT entry's reason
       (MP_REASON_NEWER, _GIVEN or _ADMIN); MP_REASON_NONE when no KEPT
       entry was written (the same value, not the extractor's statement) */
    enum mp_hist_reason kept;
    struct mp_erased erased; /* out, whatever the result: what the op erased */
    int result; /* out: MP_OK, or MP_NOTFOUND (DELETE_ENTITY of a key with nothing kept;
                   every op of an apply a CHECK_EPOCH stopped, MP_ECONFLICT for it;
                   DELETE_MESSAGE of a message not kept;
                   RECORD_TURN already recorded, its reply not replaced; UPSERT outranked by a
                   stronger current value; SWEEP_USER of an unknown user), MP_ETOOBIG (UPSERT of a
                   new key past max_facts), or an error */
};

/* PUT_CONV: u.conv.key and rec given; the conversation's state replaces
 * what the key held, with a new stamp (written back with written_ms:
 * now_ms, or 1 ms after the user's newest conversation when that is as
 * new, so that conversations written within one millisecond still have an
 * order); past the store's bounds (mp_store_set_conversations()) the
 * user's least recently written conversations go (their number into
 * u.conv.evicted). With u.conv.tail_only, a turn under a kept head: the
 * head (rec->head, not read) and its stamp stay as stored, only the tail
 * (has_tail, tail) and written_ms are written; MP_NOTFOUND when the key's
 * head is not the one of rec->stamp any more (built again since, cleared,
 * dropped: the tail was built for another). MP_NOTFOUND when nothing is
 * stored for the user (a conversation's state never makes a user), or the
 * bounds keep none (max 0, or a conversation larger alone than the bytes
 * bound: nothing written, none dropped for it). Never held back by the
 * user's setting: it is no memory, what memory was injected.
 * A person's change of the user's memory (a new epoch) clears every
 * conversation of the user to a tombstone (cleared: no head, no tail, no
 * text), which says the conversation's head must be built again.
 * NOTE_LEAD: u.lead.key's record keeps lead among the first
 * MP_STORE_CONV_LEADS distinct beginnings it was seen with (one already
 * kept, or past them, or nothing stored for the user: nothing written,
 * MP_NOTFOUND). Erased with the user (DELETE_USER, or retention leaving
 * nothing of the user); never dropped by an epoch.
 * REFILE: every message of the user with a seq in u.refile's range whose
 * conversation is u.refile.from (buffered and archived alike) is filed
 * under u.refile.to with conv_kind u.refile.kind: a lone first turn that a
 * later request resends belongs to that request's conversation (plane/
 * reqmem.c). Nothing else of the message changes (no epoch, no index);
 * MP_NOTFOUND when no message moved. */

struct mp_history {
    struct mp_history_item *items; /* oldest first */
    size_t nitems;
};

/* One user in a listing. */
struct mp_user_info {
    char user[MP_USER_KEY_MAX]; /* the user key (tenant prefix included) */
    size_t user_len;
    size_t nfacts, nmessages; /* current facts, buffered messages */
    uint64_t narchive;        /* archived messages */
    bool summary;
    int64_t updated_at_ms; /* the last change */
};

/* Storage gauges for metrics. */
struct mp_store_stats {
    uint64_t map_size;     /* current map size, bytes */
    uint64_t map_size_max; /* the cap it may grow to */
    uint64_t map_used;     /* bytes of the map in use (pages up to the last used one) */
    uint32_t readers_used; /* reader slots held right now (all processes) */
    uint32_t readers_max;  /* reader slots available */
    uint64_t commits;      /* write transactions mp_store_apply committed since open: on
                              LMDB with sync = full or meta, each one flush to disk; on
                              PostgreSQL, one COMMIT */
};

/* MP_OK when the user key follows the rules at the top, else MP_EINVAL. */
int mp_store_check_user(const char *user, size_t user_len);

/* MP_OK when op follows the rules of struct mp_op (its user included),
 * else MP_EINVAL. mp_store_apply() checks every op with it. */
int mp_store_check_op(const struct mp_op *op);

/* [governance] history_per_fact: applies from then on keep at most cap
 * history entries per fact (and for the summary), dropping the oldest as
 * new ones are written (UPSERT_ENTITY, SET_SUMMARY); 0: no cap (the
 * default of a new store). Call from the writer thread. */
void mp_store_set_history_cap(struct mp_store *store, uint32_t cap);

/* [memory] max_facts_per_user: a user's current facts at most (0: the
 * default, MP_STORE_FACTS_DEFAULT). Call from the writer thread. */
void mp_store_set_max_facts(struct mp_store *store, uint32_t max);

/* [memory] conversations_max and conversation_bytes_max: the
 * conversations kept per user (PUT_CONV), and the bytes of their records,
 * at most (the least recently written dropped first); max 0 keeps none. A
 * new store handle keeps MP_STORE_CONVS_PER_USER and 1 MiB. Call from the
 * writer thread. */
void mp_store_set_conversations(struct mp_store *store, uint32_t max, uint32_t bytes);

/* [memory] archive: whether recorded turns enter the episodic archive (and
 * its index); true in a new store handle. Call from the writer thread. */
void mp_store_set_archive(struct mp_store *store, bool on);

/* Opens the LMDB backend at opts->path (clearing stale reader slots).
 * The LMDB backend may be read from any number of threads at once; a map
 * resize briefly waits for the reads in flight (they are short: a read
 * copies out and closes its transaction inside one call).
 * Returns MP_OK with *out (caller frees with mp_store_free()); MP_EIO when
 * the directory or environment cannot be opened, holds a record format
 * this version does not know, or does not match opts->key (sealed with
 * another key, sealed but no key given, in clear but a key given, or the
 * key fails to open the store's secret), or when another open store (in
 * this or another process) holds the directory's lock, memproxy.lock: one
 * opener per store at a time; err (borrowed) receives a reason
 * of at most errcap bytes that names the problem and never key material.
 * A new store is created sealed when opts->key is set. */
int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap);

/* Opens an empty in-memory backend (tests). MP_OK, MP_ENOMEM, or MP_EIO
 * when no random bytes can be had for its secret. */
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

/* As mp_store_get(), without the facts (entities empty): the summary and
 * the buffer, what the memory jobs need, whatever the number of facts. */
int mp_store_get_head(struct mp_store *store, const char *user, size_t user_len,
                      struct mp_usermem **out);

/* Applies ops in order in one transaction: all or nothing; later ops see
 * the effects of earlier ones. Per-op outcomes that are not failures
 * (MP_NOTFOUND above) do not abort the transaction. Returns MP_OK;
 * MP_EINVAL (an op broke the rules above: that op's result is MP_EINVAL,
 * no other out field is written);
 * MP_ETOOBIG when the map cannot grow any more or the disk is full (nothing
 * applied); MP_EIO;
 * MP_ENOMEM. The LMDB backend grows a full map (abort, double, retry) up
 * to map_size_max before it gives up. */
int mp_store_apply(struct mp_store *store, struct mp_op *ops, size_t nops);

/* Every pending job, ordered by id: MP_OK with *out (caller frees with
 * free(); *out may be NULL when *n is 0); MP_EIO. */
int mp_store_jobs(struct mp_store *store, struct mp_job **out, size_t *n);

/* Job id as mp_store_jobs() lists it, its lease included: MP_OK with *out;
 * MP_NOTFOUND when no job of that id is stored (never added, done,
 * dropped, or gone with its user: not an error); MP_EIO (also for a
 * record that does not decode). One read of the job and its lease, in one
 * transaction: cheap at any queue length. */
int mp_store_job(struct mp_store *store, uint64_t id, struct mp_job *out);

/* The user's change history, oldest first: MP_OK with *out (caller frees
 * with mp_history_free()), possibly empty; MP_NOTFOUND when nothing is
 * stored for the user; MP_EINVAL; MP_EIO. */
int mp_store_history(struct mp_store *store, const char *user, size_t user_len,
                     struct mp_history **out);
void mp_history_free(struct mp_history *h);

/* A page of the user's history: up to limit (>= 1) entries with seq >
 * after, oldest first, read by seq (what a page costs is the page's).
 * MP_OK with *out (caller frees with mp_history_free()) and *more (an
 * entry follows the page); MP_NOTFOUND when nothing is stored for the
 * user; MP_EINVAL (also limit 0); MP_EIO; MP_ENOMEM. */
int mp_store_history_page(struct mp_store *store, const char *user, size_t user_len, uint64_t after,
                          size_t limit, struct mp_history **out, bool *more);

/* A page of the user's current facts in key order (bytes, as
 * mp_store_get() sorts them): up to limit (>= 1) whose key sorts after
 * after (NUL-terminated; "": from the first). Every fact is read, only
 * the page is kept: memory for limit facts whatever the user holds.
 * MP_OK with *out (caller frees with mp_store_facts_free(); every fact's
 * value its own), *n and *more (a fact follows the page); MP_NOTFOUND when
 * nothing is stored for the user; MP_EINVAL; MP_EIO; MP_ENOMEM. */
int mp_store_facts_page(struct mp_store *store, const char *user, size_t user_len,
                        const char *after, size_t limit, struct mp_mem_entity **out, size_t *n,
                        bool *more);
void mp_store_facts_free(struct mp_mem_entity *e, size_t n);

/* The user's own memory setting (MP_OP_SET_USER_MODE) into *mode and, when
 * set_at_ms is not NULL, when it was set (0: never, the default auto):
 * MP_OK (auto when none is stored, also for an unknown user), MP_EINVAL (a
 * bad user key), MP_EIO. */
int mp_store_user_mode(struct mp_store *store, const char *user, size_t user_len,
                       enum mp_user_mode *mode, int64_t *set_at_ms);

/* Since when the user's page links are void (MP_OP_REVOKE_LINKS, or the
 * user's erasure: MP_OP_DELETE_USER voids them too) into *before_ms: a
 * link issued before it is refused; 0 when none was ever revoked (also for
 * an unknown user). MP_OK, MP_EINVAL (a bad user key), MP_EIO. */
int mp_store_links_void(struct mp_store *store, const char *user, size_t user_len,
                        int64_t *before_ms);

/* The memory-model tokens MP_OP_SPEND_TOKENS recorded for the user on
 * the UTC day of now_ms into *tokens: 0 when none (another day, an
 * unknown user; an erased user keeps the day's). MP_OK, MP_EINVAL (a bad
 * user key), MP_EIO. */
int mp_store_day_spend(struct mp_store *store, const char *user, size_t user_len, int64_t now_ms,
                       uint64_t *tokens);

/* ---- the request path: what of one user's memory a request may inject ---- */

/* A read snapshot of one user's memory (store_view.c), open for the span
 * of one call of the caller's (never across an event-loop turn): the head
 * (summary, buffered messages) decoded at open, everything else read on
 * demand: facts in the recent order, the relevance index of facts and of
 * the archive, single facts and archived messages. Any thread; one
 * thread at a time per view. */
struct mp_store_view;

/* Opens the view of user: MP_OK with *out (close with
 * mp_store_view_close()); MP_NOTFOUND when nothing is stored for the
 * user; MP_EINVAL (a bad user key); MP_EIO; MP_ENOMEM. */
int mp_store_view_open(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_store_view **out);

/* The head: summary and buffered messages (no entities), the view's. */
const struct mp_usermem *mp_store_view_head(const struct mp_store_view *v);

/* The user's own memory setting, read with the head (auto when none). */
enum mp_user_mode mp_store_view_user_mode(const struct mp_store_view *v);

/* The conversation state under key (MP_STORE_CONV_KEY_LEN bytes): MP_OK
 * with *out (its arrays the caller's: mp_store_conv_cleanup()),
 * MP_NOTFOUND, MP_EIO, MP_ENOMEM. */
int mp_store_view_conv(struct mp_store_view *v, const unsigned char *key,
                       struct mp_store_conv *out);

/* The beginnings the client id of key was seen with (NOTE_LEAD), into
 * leads[0..MP_STORE_CONV_LEADS) and *n (0: never seen). MP_OK or an
 * error. */
int mp_store_view_leads(struct mp_store_view *v, const unsigned char *key, uint64_t *leads,
                        size_t *n);

/* Calls fn with each current fact in the recent order (trust higher
 * first, then confidence, then observed time newer first, then fact key)
 * until fn returns non-zero: 1 stops the walk (MP_OK), a negative value is
 * passed on. The fact is the view's (valid until it closes), its block
 * text written (e->block_text) when it is offered, not before: facts the
 * walk never reaches are not written. The view keeps what a walk read:
 * another walk replays it and reads the store only past it. */
int mp_store_view_ranked_facts(struct mp_store_view *v,
                               int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg);

/* The relevance index of the user's facts (facts true: item ids are fact
 * ids) or archive (item ids are message seqs), for core/recall/relevance.h,
 * valid while the view is open. No spelling neighbours (surface NULL). */
void mp_store_view_index(struct mp_store_view *v, bool facts, struct mp_relevance_index *out);

/* Relevance's ceiling for the view's indexes (core/recall/relevance.h:
 * postings one scoring call reads at most; 0: MP_RELEVANCE_MAX_POSTINGS,
 * the default of a view), set before mp_store_view_index(): the view then
 * reads a term's postings only up to one past it. */
void mp_store_view_set_max_postings(struct mp_store_view *v, uint32_t max);

/* What relevance did over the view's indexes so far: the postings it
 * scored and its calls that met the ceiling. */
void mp_store_view_work(const struct mp_store_view *v, uint64_t *scored, unsigned *capped);

/* The postings the view has read from the store so far, every index
 * call and both kinds together: a term's first read (one past what it
 * asked), its sample's windows (relevance.h: at most five samples for a
 * sampled term), the terms of feedback. */
uint64_t mp_store_view_postings_read(const struct mp_store_view *v);

/* Fact id as the view decoded it, its block text written: MP_OK with
 * *out, the view's (valid until it closes; a fact is read from the store
 * and its text written once per view, whichever call reads it first),
 * MP_NOTFOUND, MP_EIO, MP_ENOMEM. */
int mp_store_view_fact_ref(struct mp_store_view *v, uint32_t id, const struct mp_mem_entity **out);

/* A copy of archived message seq: MP_OK (caller frees out->content),
 * MP_NOTFOUND, MP_EIO, MP_ENOMEM. */
int mp_store_view_message(struct mp_store_view *v, uint64_t seq, struct mp_mem_message *out);

/* The view as core/recall/recall.h's source (ctx: the view; facts and turns NULL
 * when that index is empty), its two index views kept in ix[0..2), which
 * must live as long as src is used. */
struct mp_recall_source;
void mp_store_view_source(struct mp_store_view *v, struct mp_recall_source *src,
                          struct mp_relevance_index ix[2]);

/* Ends the snapshot and frees the view. NULL: nothing. */
void mp_store_view_close(struct mp_store_view *v);

/* A page of the user's archive: up to limit (>= 1) messages with seq >
 * after, oldest first. MP_OK with *out (caller frees with
 * mp_store_messages_free()), *n and *more (a message follows the page);
 * MP_NOTFOUND when nothing is stored for the user; MP_EINVAL; MP_EIO;
 * MP_ENOMEM. */
int mp_store_archive(struct mp_store *store, const char *user, size_t user_len, uint64_t after,
                     size_t limit, struct mp_mem_message **out, size_t *n, bool *more);
void mp_store_messages_free(struct mp_mem_message *m, size_t n);

/* One side request's instruction print the store learned
 * (store_whose.c), with the tenant of the user whose client sent it
 * (MP_TENANT_LEN bytes, borrowed for the call; NULL: none) and its kind
 * (core/wire/clienttask.h). Returns MP_OK to go on, or an error that ends
 * the walk. */
typedef int (*mp_store_side_fn)(void *arg, const unsigned char *tenant, uint64_t print,
                                uint8_t kind);
/* Calls fn on every side request's print learned, every user's, in one
 * read. MP_OK, fn's error, or the store's. */
int mp_store_sides(struct mp_store *store, mp_store_side_fn fn, void *arg);

/* One user's line of the listing (struct mp_user_info, no listing walked):
 * MP_OK with *out; MP_NOTFOUND when nothing is stored for the user;
 * MP_EINVAL (a bad user key); MP_EIO; MP_ENOMEM. Any thread. */
int mp_store_user_info(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_user_info *out);

/* Pass as tenant to mp_store_users() to list every user, of every tenant. */
extern const unsigned char mp_store_all_tenants[1];

/* A page of users: those of tenant (MP_TENANT_LEN bytes, borrowed; NULL:
 * users of no tenant; mp_store_all_tenants: all), in the backend's order, after the cursor
 * after[0..after_len) (borrowed; after_len 0: from the start). At most
 * limit (>= 1) users: MP_OK with *out (caller frees with free(); NULL when
 * *n is 0) and next[0..*next_len) the cursor of the following page
 * (next: MP_STORE_CURSOR_MAX bytes; *next_len 0 when this was the last
 * page). The cursor is opaque; with a key it reveals no user id.
 * MP_EINVAL (limit 0, after_len too long, a cursor of another tenant's
 * listing); MP_EIO; MP_ENOMEM. */
int mp_store_users(struct mp_store *store, const unsigned char *tenant, const unsigned char *after,
                   size_t after_len, size_t limit, struct mp_user_info **out, size_t *n,
                   unsigned char *next, size_t *next_len);

/* The store's secret: MP_SEAL_KEY_LEN random bytes made when the store was
 * created, kept with it (sealed when the store has a key). The proxy keys
 * its tenant hashes with it, so they survive restarts. MP_OK or MP_EIO. */
int mp_store_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN]);

/* The key memproxy's prompt_cache_key is an HMAC under
 * (proxy/plane/cachekey.h): HMAC-SHA256(the store's secret, "memproxy
 * prompt_cache_key v1"), derived once when the store is opened, so the
 * same in every process sharing the store and after a restart. Copied
 * to out (MP_SEAL_KEY_LEN bytes). */
void mp_store_route_key(const struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN]);

/* Rewrites the store without free pages, so that no byte of erased data is
 * left in its files (LMDB: every live record copied into a fresh
 * environment that then replaces the old file; readers wait for the
 * swap). Call from the writer thread. MP_OK (the in-memory backend has
 * nothing to do); MP_EIO with a reason in err; MP_ETOOBIG (disk full). */
int mp_store_compact(struct mp_store *store, char *err, size_t errcap);

/* Offline key rotation: with nothing else using the store at opts->path,
 * rewrites it under new_key (borrowed; not NULL: there is no rotation
 * back to clear), reading it with opts->key (NULL: a store in clear, which
 * this encrypts). Afterwards the store opens only with new_key. MP_OK;
 * MP_EIO with a reason in err (no new key, wrong old key, unreadable
 * store, disk full). */
int mp_store_rekey_lmdb(const struct mp_store_options *opts, const struct mp_seal_key *new_key,
                        char *err, size_t errcap);

/* Fills *out with the storage gauges (all zero for the in-memory backend).
 * MP_OK or MP_EIO. Cheap enough for every metrics scrape. */
int mp_store_stats(struct mp_store *store, struct mp_store_stats *out);

/* The backend's name: "lmdb" or "mem". */
const char *mp_store_backend(const struct mp_store *store);

/* Closes the store. mp_store_free(NULL) does nothing. */
void mp_store_free(struct mp_store *store);

#endif
