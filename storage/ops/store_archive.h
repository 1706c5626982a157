/* The archive ops of the op layer (store_archive.c): every recorded
 * message kept, indexed, erased and expired (store.h). */
#ifndef MP_STORAGE_STORE_ARCHIVE_H
#define MP_STORAGE_STORE_ARCHIVE_H

#include "ops/store_user.h"

/* Archives and indexes the turn's messages um->messages[from..] (just
 * appended) when the store keeps an archive. */
int mp_ops_archive_turn(struct mp_ops_ctx *w, size_t from);
/* IMPORT_MESSAGE: op's message archived and indexed under the next seq
 * (*seq). */
int mp_ops_archive_import(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *seq);
/* SET_MESSAGE_KEYS: the archived message gets its search keys (record and
 * index); MP_NOTFOUND when it is not archived or has keys already. */
int mp_ops_archive_set_keys(struct mp_ops_ctx *w, const struct mp_op *op);
/* The archived messages that hold value[0..len) as whole words
 * (mp_lifecycle_text_holds, the buffer's test too), found through the
 * postings of the value's rarest word, and of its last word written
 * possessive, in each language the user's messages have; a value the
 * index cannot vouch for (no term in some language, or a script written
 * without spaces) is looked for in every archived message. *out: their
 * seqs, ascending (caller frees), *nout how many. Erasure's search for
 * what holds a fact's value (store_erase.c). */
int mp_ops_archive_holding(struct mp_ops_ctx *w, const char *value, size_t len, uint64_t **out,
                           size_t *nout);
/* A copy of archived message seq into *m (caller frees m->content):
 * MP_OK, MP_NOTFOUND, or an error. */
int mp_ops_archive_get(struct mp_ops_ctx *w, uint64_t seq, struct mp_mem_message *m);
/* Archived message seq with content[0..len) (borrowed) instead of its
 * own, indexed again; its search keys go (the model's of the old words):
 * MP_OK, MP_NOTFOUND when the archive does not hold it, or an error. */
int mp_ops_archive_rewrite(struct mp_ops_ctx *w, uint64_t seq, const char *content, size_t len);

/* REFILE (store.h) for the loaded user: the buffered and archived
 * messages in the op's range filed under its from, under its to. */
int mp_ops_refile(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);
/* Removes archived message seq with its postings (DELETE_MESSAGE):
 * MP_OK, or MP_NOTFOUND when the archive does not hold it. */
int mp_ops_archive_erase_message(struct mp_ops_ctx *w, uint64_t seq);
/* Retention of the archive: removes messages past their limit. *count:
 * the messages that go, the buffer's included (each once; the caller
 * drops the buffer's), when the archive holds any; else 0. */
int mp_ops_sweep_archive(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *count);

#endif
