/* Erasure follows provenance (store.h: DELETE_ENTITY, DELETE_MESSAGE).
 *
 * A fact's values come from turns: the extractor read each value it ever
 * had (the current one, those it superseded, statements a stronger value
 * kept out) from a turn the user made, and the told records (store_told.h)
 * name every such turn, whatever the history cap or retention left of the
 * history. Deleting the fact collects, as one set of message seqs, every
 * message of those turns, the buffered messages of the current value's
 * turn by request id (facts older than the seqs), and every message that
 * holds the current value as whole words (a value a turn restated
 * without a new extraction; core/recall/wordhold.h, one test for the
 * buffer and the archive); then it erases the set once: archive (with postings and
 * search keys), buffer, the summary, and the extraction jobs nothing of
 * whose turn is left. A past value is followed by its turns, not by its
 * letters wherever they stand: a message that mentions last year's city
 * in passing told no fact. Erasing a turn whole rather than the value's
 * words: a value is not always its letters in the turn ("the French
 * capital" told Paris), and the reply restates what the user said.
 *
 * The other way round, deleting a message may leave a fact resting on
 * nothing: when no turn that told its current value keeps a message of
 * the role that told it, the fact is retracted as recognition retracts
 * what a client wrote (store_facts.h: mp_ops_retract_facts). A value a
 * person gave outright rests on their word, not on a turn, and stays. */
#include "ops/store_erase.h"

#include <stdlib.h>
#include <string.h>

#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_archive.h"
#include "ops/store_facts.h"
#include "ops/store_jobs.h"
#include "ops/store_told.h"

/* ---- a set of seqs ---- */

struct seq_set {
    uint64_t *v;
    size_t n, cap;
};

static int add(struct seq_set *s, uint64_t seq)
{
    if (mp_store_backend_grow(&s->v, &s->cap, s->n, sizeof(*s->v)) != MP_OK)
        return MP_ENOMEM;
    s->v[s->n++] = seq;
    return MP_OK;
}

static int add_all(struct seq_set *s, const uint64_t *v, size_t n)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        rc = add(s, v[i]);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted, each seq once. */
static void settle(struct seq_set *s)
{
    size_t k = 0;
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    for (size_t i = 0; i < s->n; i++)
        if (k == 0 || s->v[k - 1] != s->v[i])
            s->v[k++] = s->v[i];
    s->n = k;
}

/* ---- what a fact's erasure takes ---- */

/* The turn first..last: its buffered messages, and its archived ones
 * (those the archive keeps: a turn's seqs are few, but a damaged record
 * must not make a long loop). */
static int add_turn(struct mp_ops_ctx *w, uint64_t first, uint64_t last, struct seq_set *s)
{
    int rc = MP_OK;
    if (first == 0 || last < first)
        return MP_OK;
    for (size_t i = 0; rc == MP_OK && i < w->um->nmessages; i++)
        if (w->um->messages[i].seq >= first && w->um->messages[i].seq <= last)
            rc = add(s, w->um->messages[i].seq);
    for (uint64_t seq = first; rc == MP_OK && seq <= last && seq - first < 4096; seq++) {
        struct mp_mem_message m;
        int got = mp_ops_archive_get(w, seq, &m);
        if (got == MP_OK) {
            free(m.content);
            rc = add(s, seq);
        } else if (got != MP_NOTFOUND) {
            rc = got;
        }
    }
    return rc;
}

/* The messages that hold value[0..len): buffered and archived. */
static int add_holders(struct mp_ops_ctx *w, const char *value, size_t len, struct seq_set *s)
{
    uint64_t *held = NULL;
    size_t n = 0;
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < w->um->nmessages; i++) {
        const struct mp_mem_message *m = &w->um->messages[i];
        if (mp_lifecycle_text_holds(m->content, m->content_len, m->lang, value, len))
            rc = add(s, m->seq);
    }
    if (rc == MP_OK)
        rc = mp_ops_archive_holding(w, value, len, &held, &n);
    if (rc == MP_OK)
        rc = add_all(s, held, n);
    free(held);
    return rc;
}

/* Everything that told a value of key: its told records' turns (every
 * value's), and the current value's (cur, NULL: none) turn and holders. */
static int collect(struct mp_ops_ctx *w, const struct mp_mem_entity *cur,
                   const struct mp_told *told, size_t ntold, struct seq_set *gone)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < ntold; i++)
        rc = add_turn(w, told[i].first_seq, told[i].rec.last_seq, gone);
    if (rc == MP_OK && cur != NULL)
        rc = add_turn(w, cur->source_first_seq, cur->source_last_seq, gone);
    for (size_t i = 0; rc == MP_OK && cur != NULL && i < w->um->nmessages; i++)
        if (mp_lifecycle_tells_fact(&w->um->messages[i], cur)) /* its turn, by request id */
            rc = add(gone, w->um->messages[i].seq);
    if (rc == MP_OK && cur != NULL)
        rc = add_holders(w, cur->value, cur->value_len, gone);
    settle(gone);
    return rc;
}

/* The messages of gone the archive holds, erased with their postings and
 * search keys (the buffer's are the lifecycle's): into *archived. */
static int erase_archived(struct mp_ops_ctx *w, const struct seq_set *gone,
                          struct seq_set *archived)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < gone->n; i++) {
        rc = mp_ops_archive_erase_message(w, gone->v[i]);
        if (rc == MP_OK)
            rc = add(archived, gone->v[i]);
        else if (rc == MP_NOTFOUND)
            rc = MP_OK;
    }
    return rc;
}

/* An extraction job of a turn the erasure reached, none of whose user
 * messages is left: it would send nothing (an extraction reads the user's
 * words; memjob.h skips a turn without them), and nothing of the turn may
 * reach the memory model, so it goes. */
static int pick_emptied(struct mp_ops_ctx *w, const struct mp_job *job, void *arg, bool *drop)
{
    const struct seq_set *gone = arg;
    bool reached = false;
    *drop = false;
    if (job->kind != MP_JOB_EXTRACT || job->from_seq == 0 || job->through_seq < job->from_seq)
        return MP_OK;
    for (size_t i = 0; i < gone->n && !reached; i++)
        reached = gone->v[i] >= job->from_seq && gone->v[i] <= job->through_seq;
    if (!reached)
        return MP_OK;
    struct mp_told turn = {.first_seq = job->from_seq,
                           .rec = {.last_seq = job->through_seq, .role = MP_ROLE_USER}};
    bool kept = false;
    int rc = mp_told_kept(w, &turn, true, &kept);
    *drop = rc == MP_OK && !kept;
    return rc;
}

static int erase_fact(struct mp_ops_ctx *w, const struct mp_op *op, const struct mp_mem_entity *cur,
                      const struct mp_told *told, size_t ntold)
{
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    struct seq_set gone = {NULL, 0, 0}, archived = {NULL, 0, 0};
    int rc = collect(w, cur, told, ntold, &gone);
    if (rc == MP_OK)
        rc = erase_archived(w, &gone, &archived);
    if (rc == MP_OK) {
        size_t n =
            mp_lifecycle_erase_told(w->um, cur, op, gone.v, gone.n, archived.v, archived.n, ev);
        mp_ops_touch_edited(w, op->now_ms);
        rc = mp_ops_drop_jobs(w, op->user, op->user_len, pick_emptied, &gone, NULL);
        if (rc == MP_OK)
            rc = mp_ops_strip_history(w, op->u.key);
        if (rc == MP_OK)
            rc = mp_told_drop_key(w, op->u.key);
        if (rc == MP_OK)
            rc = mp_ops_append_hist(w, ev, n);
    }
    free(gone.v);
    free(archived.v);
    return rc;
}

int mp_ops_delete_entity(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    struct mp_mem_entity cur;
    struct mp_told *told = NULL;
    size_t ntold = 0;
    uint32_t fid = 0;
    bool past = false;
    memset(&cur, 0, sizeof(cur));
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc == MP_OK)
        rc = w->exists ? mp_ops_find_fact(w, op->u.key, &fid, &cur) : MP_NOTFOUND;
    bool now = rc == MP_OK;
    if (rc == MP_NOTFOUND)
        rc = MP_OK; /* no value now: what told an earlier one may be kept */
    if (rc == MP_OK && op->if_match && (now ? cur.revision : 0) != op->if_revision)
        rc = MP_ECONFLICT;
    if (rc == MP_OK && w->exists)
        rc = mp_told_of_key(w, op->u.key, &told, &ntold);
    if (rc == MP_OK && w->exists)
        rc = mp_ops_history_has_values(w, op->u.key, &past);
    if (rc == MP_OK && !now && ntold == 0 && !past)
        out->result = MP_NOTFOUND; /* nothing of the key is kept */
    else if (rc == MP_OK && now)
        rc = mp_ops_remove_fact(w, fid, &cur);
    if (rc == MP_OK && out->result == MP_OK)
        rc = erase_fact(w, op, now ? &cur : NULL, told, ntold);
    free(told);
    free(cur.value);
    return rc;
}

/* ---- a message's erasure: the facts left resting on nothing ---- */

/* Whether key's current value rests on told turns alone, none of which
 * keeps a message of the role that told it: *bare. */
static int rests_on_nothing(struct mp_ops_ctx *w, const char *key, bool *bare)
{
    struct mp_mem_entity cur;
    struct mp_told *told = NULL;
    size_t ntold = 0, support = 0;
    uint32_t fid;
    bool kept = false;
    *bare = false;
    memset(&cur, 0, sizeof(cur));
    int rc = mp_ops_find_fact(w, key, &fid, &cur);
    if (rc != MP_OK || mp_usermem_trust_given(cur.trust)) {
        free(cur.value);
        return rc == MP_NOTFOUND ? MP_OK : rc; /* none, or a person's word */
    }
    uint64_t print = mp_told_print(cur.value, cur.value_len);
    rc = mp_told_of_key(w, key, &told, &ntold);
    for (size_t i = 0; rc == MP_OK && i < ntold && !kept; i++) {
        if (told[i].rec.value_print != print)
            continue; /* it told another value */
        support++;
        rc = mp_told_kept(w, &told[i], true, &kept);
    }
    *bare = rc == MP_OK && support > 0 && !kept;
    free(told);
    free(cur.value);
    return rc;
}

struct key_set {
    char (*keys)[MP_ENTITY_KEY_MAX + 1];
    size_t n, cap;
};

static bool in_keys(const struct key_set *ks, const char *key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->keys[i], key) == 0)
            return true;
    return false;
}

static bool pick_key(const struct mp_mem_entity *e, const void *arg)
{
    return in_keys(arg, e->key);
}

/* The keys of the records covering seq whose fact rests on nothing now
 * (*bare); then the records whose turn has no message left go (after:
 * such a record still says what its turn told). */
static int find_bare(struct mp_ops_ctx *w, const struct mp_told *told, size_t n,
                     struct key_set *bare)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        bool nothing = false;
        if (in_keys(bare, told[i].rec.key))
            continue;
        rc = rests_on_nothing(w, told[i].rec.key, &nothing);
        if (rc == MP_OK && nothing)
            rc = mp_store_backend_grow(&bare->keys, &bare->cap, bare->n, sizeof(*bare->keys));
        if (rc == MP_OK && nothing)
            memcpy(bare->keys[bare->n++], told[i].rec.key, sizeof(*bare->keys));
    }
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        bool left = false;
        rc = mp_told_kept(w, &told[i], false, &left);
        if (rc == MP_OK && !left)
            rc = mp_told_drop(w, told[i].rec.key, told[i].first_seq);
    }
    return rc;
}

/* The facts that rested on message seq's turn alone, retracted: DELETED
 * (reason SOURCES_ERASED) and FILTERED entries appended. */
static int retract_bare(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t seq)
{
    struct mp_told *told = NULL;
    struct key_set bare = {NULL, 0, 0};
    struct mp_history_item *ev = NULL;
    size_t ntold = 0, nev = 0;
    int rc = mp_told_covering(w, seq, &told, &ntold);
    if (rc == MP_OK)
        rc = find_bare(w, told, ntold, &bare);
    if (rc == MP_OK && bare.n > 0)
        rc = mp_ops_retract_facts(w, op, pick_key, &bare, &ev, &nev);
    for (size_t i = 0; rc == MP_OK && i < nev; i++)
        if (ev[i].item == MP_ITEM_FACT)
            ev[i].reason = MP_REASON_SOURCES_ERASED;
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, ev, nev);
    free(ev);
    free(bare.keys);
    free(told);
    return rc;
}

int mp_ops_delete_message(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    struct mp_history_item ev[2];
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc == MP_OK && !w->exists) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc == MP_OK)
        rc = mp_ops_archive_erase_message(w, op->u.seq);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    size_t n = mp_lifecycle_erase_message(w->um, op->u.seq, rc == MP_OK, op, ev);
    if (n == 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    mp_ops_touch_edited(w, op->now_ms); /* a head may hold it: a new epoch */
    rc = mp_ops_append_hist(w, ev, n);
    return rc == MP_OK ? retract_bare(w, op, op->u.seq) : rc;
}
