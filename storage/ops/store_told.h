/* The told records of the op layer (store format 11): for each fact key,
 * every turn the extractor read a value of it from, whatever became of
 * that value (current, superseded, kept out), so that erasing the fact
 * reaches every turn that told any value it had (store_erase.c) and
 * erasing a turn finds the facts that rest on it alone. A record names a
 * turn by its seqs, never holds its words (the value only as a print).
 * Kept apart from the history, which history_per_fact caps and retention
 * purges by its own time; gone with its key's erasure, with a turn none
 * of whose messages is left (an erasure's, retention's), and with the
 * user. Private to the op layer. */
#ifndef MP_STORAGE_STORE_TOLD_H
#define MP_STORAGE_STORE_TOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/store_user.h"

/* One told record: the turn first_seq..rec.last_seq told a value of
 * rec.key (codec.h: struct mp_codec_told). */
struct mp_told {
    uint64_t first_seq;
    struct mp_codec_told rec;
};

/* A value's print as told records keep it: FNV-1a 64 over its bytes, 1
 * for the one whose hash is 0 (0 stands for a value not known). */
uint64_t mp_told_print(const char *value, size_t len);

/* Records e's turn (source_first_seq > 0 ..= source_last_seq; nothing
 * when e has none: a correction, an import) as one that told e's value of
 * e->key, with e's source role and turn request id. A record of the same
 * turn and key is replaced. MP_OK or the backend's error. */
int mp_told_note(struct mp_ops_ctx *w, const struct mp_mem_entity *e);
/* The same with the value's print given (0: not known; e's value unread):
 * the conversion of older stores (migrate_told.c). */
int mp_told_note_print(struct mp_ops_ctx *w, const struct mp_mem_entity *e, uint64_t print);

/* The loaded user's told records of key, by first seq: *out (caller
 * frees; NULL when *n is 0). MP_OK, MP_EIO, MP_ENOMEM. */
int mp_told_of_key(struct mp_ops_ctx *w, const char *key, struct mp_told **out, size_t *n);

/* Every told record of the loaded user whose turn holds seq (first_seq
 * <= seq <= last_seq), in key order: *out (caller frees), *n. A walk of
 * all the user's records: a user's erasure of a message is rare. */
int mp_told_covering(struct mp_ops_ctx *w, uint64_t seq, struct mp_told **out, size_t *n);

/* Removes one record (MP_OK when it is gone already), or every record of
 * key. */
int mp_told_drop(struct mp_ops_ctx *w, const char *key, uint64_t first_seq);
int mp_told_drop_key(struct mp_ops_ctx *w, const char *key);

/* Retention (SWEEP_USER, after it purged messages): removes the loaded
 * user's told records of turns older than every message the user still
 * keeps (last_seq below the lowest seq of the buffer and the archive;
 * all of them when none is kept), so that what erasure follows goes the
 * way of what it points at. A turn kept in part keeps its record. */
int mp_told_sweep(struct mp_ops_ctx *w);

/* Whether the loaded user still keeps a message of t's turn (buffer or
 * archive): of role t->rec.role when of_role, of any role else. */
int mp_told_kept(struct mp_ops_ctx *w, const struct mp_told *t, bool of_role, bool *kept);

#endif
