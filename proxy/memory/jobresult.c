/* A memory model's answer applied to the store (jobresult.h). */
#include "memory/jobresult.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "memory/jobop.h"
#include "memory/memprompt.h"
#include "status.h"
#include "memory/pii.h"
#include "memory/piipolicy.h"
#include "memory/usermem.h"

_Static_assert(MP_MEMPROMPT_KEYS_MAX <= MP_MESSAGE_KEYS_MAX, "a turn's search keys fit the store");

/* ---- erasure is final: a result computed before an erasure is not written ---- */

/* The guard every result's apply carries (MP_OP_CHECK_EPOCH): the store
 * writes nothing of the apply when the user's memory epoch moved since the
 * call's turns were read (an erasure, a correction or a purge, by any
 * process) or the user is gone. */
static void guard_op(struct mp_op *op, const struct mp_jobrun *r, int64_t now)
{
    mp_jobop_init(op, MP_OP_CHECK_EPOCH, &r->job, now);
    op->u.epoch = r->epoch;
}

/* The verdict of the apply of ops[0..n), the guard among them (rc: the
 * apply's result): ERASED when the guard stopped it (nothing was written;
 * the call's jobs run again on what is stored now: an erased turn is no
 * longer there to send, and a user erased whole has no jobs left, so
 * their claim finds none), FAILED when the write failed, else DONE. */
static void verdict_of(int rc, const struct mp_op *ops, size_t n, struct mp_jobverdict *v)
{
    bool stopped = false;
    for (size_t i = 0; i < n; i++)
        stopped |= ops[i].kind == MP_OP_CHECK_EPOCH && ops[i].result == MP_ECONFLICT;
    v->kind = rc != MP_OK ? MP_JOBV_FAILED : stopped ? MP_JOBV_ERASED : MP_JOBV_DONE;
    v->why = MP_JOB_FAIL_STORE;
}

/* A summary the model wrote, raw[0..raw_len) (NULL: none), as the
 * SET_SUMMARY op of call r covering messages through `through`, written by
 * model: false when there is none to write (none, one that reads as
 * instructions to the model: the memory-poisoning rule, core/memory/pii.h;
 * or pii_mode drops it; personal data in it follows pii_mode). text: the
 * stored text, owned by the caller after true. */
static bool summary_op(const struct mp_config *cfg, const struct mp_jobrun *r, const char *raw,
                       size_t raw_len, uint64_t through, const char *model, int64_t now,
                       struct mp_op *op, char **text)
{
    size_t len = 0;
    bool pii = false;
    if (raw == NULL || mp_pii_looks_like_instruction(raw, raw_len) ||
        mp_piipolicy_apply(cfg->governance.pii_mode, MP_PII_ITEM_SUMMARY, raw, raw_len, false, text,
                           &len, &pii) != MP_OK)
        return false;
    mp_jobop_init(op, MP_OP_SET_SUMMARY, &r->job, now);
    op->u.summary.text = *text;
    op->u.summary.text_len = len;
    op->u.summary.through_seq = through;
    op->u.summary.model = model;
    op->u.summary.pii = pii;
    op->u.summary.check_from = true; /* another process may have folded meanwhile */
    op->u.summary.from_seq = r->summary_from_seq;
    op->u.summary.from_text = r->summary_from_text;
    return true;
}

/* A summary job's answer: the summary, the job done. */
static void apply_summary(const struct mp_memjobs *j, const struct mp_jobrun *r,
                          struct mp_jobverdict *v)
{
    const struct mp_config *cfg = j->cfg;
    char *raw = NULL, *text = NULL;
    size_t raw_len = 0;
    int64_t now = mp_clock_now_ms();
    struct mp_op ops[3];
    bool ok = mp_memprompt_summary_parse(r->api, r->answer.data, r->answer.len,
                                         cfg->memory.summary_max_words, &raw, &raw_len) == MP_OK &&
              summary_op(cfg, r, raw, raw_len, r->job.through_seq, cfg->memory.summary_model, now,
                         &ops[0], &text);
    free(raw);
    if (!ok) {
        v->kind = MP_JOBV_FAILED;
        v->why = MP_JOB_FAIL_MALFORMED;
        return;
    }
    ops[0].u.summary.jobs_known_through = j->jobs_known_through;
    mp_jobop_done(&ops[1], &r->job, now);
    guard_op(&ops[2], r, now);
    verdict_of(mp_jobop_apply(j->store, ops, 3), ops, 3, v);
    /* turns that came in meanwhile may have refilled the buffer */
    v->summarize = true;
    v->extract = false;
    free(text);
}

/* An extracted fact as an UPSERT op, through pii_mode: MP_OK, or
 * MP_NOTFOUND when the policy drops it. value: the stored text (owned by
 * the caller after MP_OK). */
static int entity_op(struct mp_op *op, const struct mp_jobturn *bt, const struct mp_extracted *x,
                     const struct mp_config *cfg, int64_t now, char **value)
{
    size_t len = 0;
    bool pii = false;
    int rc = mp_piipolicy_apply(cfg->governance.pii_mode, MP_PII_ITEM_FACT, x->value, x->value_len,
                                x->pii, value, &len, &pii);
    if (rc != MP_OK)
        return MP_NOTFOUND;
    if (len == 0 || len > MP_ENTITY_VALUE_MAX) {
        free(*value);
        *value = NULL;
        return MP_NOTFOUND; /* a redaction that no longer fits is not kept */
    }
    mp_jobop_init(op, MP_OP_UPSERT_ENTITY, &bt->job, now);
    struct mp_mem_entity *e = &op->u.entity;
    memcpy(e->key, x->key, sizeof(e->key));
    e->value = *value;
    e->value_len = len;
    e->confidence = x->confidence;
    e->observed_at_ms = bt->observed_at_ms;
    e->recorded_at_ms = op->now_ms;
    e->trust = mp_usermem_trust_of_role(x->source_role);
    e->source_role = x->source_role;
    e->pii = pii;
    memcpy(e->request_id, bt->request_id, sizeof(e->request_id));
    snprintf(e->model, sizeof(e->model), "%s", cfg->memory.extraction_model);
    e->source_first_seq = bt->job.from_seq; /* the turn's messages, erased with the fact */
    e->source_last_seq = bt->job.through_seq;
    return MP_OK;
}

/* Facts refused because the user holds [memory] max_facts_per_user: never
 * a silent drop, so a warning says how many (no user id, no text). */
static void log_refused(const struct mp_op *ops, size_t n)
{
    struct mp_logline l;
    int64_t refused = 0;
    for (size_t i = 0; i < n; i++)
        refused += ops[i].kind == MP_OP_UPSERT_ENTITY && ops[i].result == MP_ETOOBIG;
    if (refused == 0)
        return;
    mp_logline_begin(&l, MP_LOG_WARN, "extracted facts refused: the user holds max_facts_per_user");
    mp_logline_int(&l, "facts", refused);
    mp_logline_end(&l);
}

/* The user's statements that met a value given outright (a correction,
 * an agent's, an admin's: storage/store.h, met_given) and superseded it
 * (a newer turn); and those a stored value kept out (mp_op.kept: a KEPT
 * history entry each), by why, logged and told in v->kept_out (memjob.c
 * counts them: memproxy_memory_statements_kept_out_total): newer truth never drops
 * what the user says silently. Counts and reasons, no user id, no key or
 * value. */
static void log_given(const struct mp_op *ops, size_t n, struct mp_jobverdict *v)
{
    static const char *const why_name[] = {
        [MP_REASON_NEWER] = "newer", [MP_REASON_GIVEN] = "given", [MP_REASON_ADMIN] = "admin"};
    struct mp_logline l;
    int64_t superseded = 0;
    unsigned *kept_out = v->kept_out;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind != MP_OP_UPSERT_ENTITY)
            continue;
        superseded += ops[i].met_given && ops[i].result == MP_OK;
        if (ops[i].result == MP_NOTFOUND && ops[i].kept >= MP_REASON_NEWER &&
            ops[i].kept <= MP_REASON_ADMIN)
            kept_out[ops[i].kept]++;
    }
    if (superseded > 0) {
        mp_logline_begin(&l, MP_LOG_INFO, "user statements superseded a correction: newer turns");
        mp_logline_int(&l, "facts", superseded);
        mp_logline_end(&l);
    }
    for (int why = MP_REASON_NEWER; why <= MP_REASON_ADMIN; why++) {
        if (kept_out[why] == 0)
            continue;
        mp_logline_begin(&l, MP_LOG_INFO,
                         "user statements kept out: a stored value outranks them (history: kept)");
        mp_logline_str(&l, "reason", why_name[why]);
        mp_logline_int(&l, "facts", (int64_t)kept_out[why]);
        mp_logline_end(&l);
    }
}

/* The batch's fold as a SET_SUMMARY op that keeps the buffer (the trim
 * after the batch trims it), through the last turn sent: false when there
 * is none to write (summary_op()). text: owned by the caller after true. */
static bool fold_op(const struct mp_config *cfg, const struct mp_jobrun *r, const char *raw,
                    size_t raw_len, int64_t now, struct mp_op *op, char **text)
{
    uint64_t through = 0;
    for (size_t t = 0; t < r->nturns; t++)
        if (r->turns[t].number > 0 && r->turns[t].job.through_seq > through)
            through = r->turns[t].job.through_seq;
    if (through < r->summary_from_seq) /* a re-run of turns older than the summary */
        through = r->summary_from_seq;
    if (!summary_op(cfg, r, raw, raw_len, through, cfg->memory.extraction_model, now, op, text))
        return false;
    op->u.summary.keep_messages = true;
    return true;
}

/* The facts as UPSERT ops in turn order (so that a newer value supersedes
 * an older one), each with its turn's provenance; returns the ops made. */
static size_t fact_ops(const struct mp_config *cfg, const struct mp_jobrun *r,
                       const struct mp_extracted *f, size_t n, int64_t now, struct mp_op *ops,
                       char **values)
{
    size_t kept = 0;
    for (size_t t = 0; t < r->nturns; t++) {
        const struct mp_jobturn *bt = &r->turns[t];
        for (size_t i = 0; bt->number > 0 && i < n; i++) {
            if (f[i].turn == bt->number &&
                entity_op(&ops[kept], bt, &f[i], cfg, now, &values[kept]) == MP_OK)
                kept++;
        }
    }
    return kept;
}

/* Each sent turn's search keys as a SET_MESSAGE_KEYS op on its first
 * message (the user's words); returns the ops made. */
static size_t key_ops(const struct mp_jobrun *r, const struct mp_turn_keys *keys, int64_t now,
                      struct mp_op *ops)
{
    size_t n = 0;
    for (size_t t = 0; keys != NULL && t < r->nturns; t++) {
        const struct mp_jobturn *bt = &r->turns[t];
        if (bt->number == 0 || keys[bt->number - 1].len == 0)
            continue;
        mp_jobop_init(&ops[n], MP_OP_SET_MESSAGE_KEYS, &bt->job, now);
        ops[n].u.keys.seq = bt->job.from_seq;
        ops[n].u.keys.text = keys[bt->number - 1].text;
        ops[n].u.keys.text_len = keys[bt->number - 1].len;
        n++;
    }
    return n;
}

/* An extraction batch's answer: its facts, its fold, every job done, in
 * one transaction. A fold that lost a race (another process folded, an
 * erasure dropped the summary) is left out, the facts kept. */
static void apply_batch(const struct mp_memjobs *j, const struct mp_jobrun *r,
                        struct mp_jobverdict *v)
{
    const struct mp_config *cfg = j->cfg;
    size_t cap = r->nsent * MP_MEMJOB_FACTS_PER_TURN;
    struct mp_memprompt_batch b = {.nturns = r->nsent,
                                   .min_confidence = cfg->memory.min_confidence,
                                   .per_turn_max = MP_MEMJOB_FACTS_PER_TURN,
                                   .summary_words = r->fold ? cfg->memory.summary_max_words : 0,
                                   .keys = r->keys};
    struct mp_batch_answer res = {.facts = calloc(cap, sizeof(*res.facts)),
                                  .cap = cap,
                                  .keys = r->keys ? calloc(r->nsent, sizeof(*res.keys)) : NULL};
    struct mp_op *ops = calloc(cap + 2 + 2 * r->nturns, sizeof(*ops)); /* + fold, guard */
    char **values = calloc(cap + 1, sizeof(*values));
    size_t kept = 0, nops;
    int64_t now = mp_clock_now_ms();
    int rc = MP_ENOMEM;
    if (res.facts != NULL && ops != NULL && values != NULL && (res.keys != NULL || !r->keys))
        rc = mp_memprompt_batch_parse(r->api, r->answer.data, r->answer.len, &b, &res);
    if (rc != MP_OK) {
        v->kind = MP_JOBV_FAILED;
        v->why = rc == MP_ENOMEM ? MP_JOB_FAIL_STORE : MP_JOB_FAIL_MALFORMED;
        goto out;
    }
    kept = fact_ops(cfg, r, res.facts, res.n, now, ops, values);
    nops = kept;
    bool fold =
        r->fold && fold_op(cfg, r, res.summary, res.summary_len, now, &ops[nops], &values[kept]);
    nops += fold;
    nops += key_ops(r, res.keys, now, &ops[nops]);
    for (size_t t = 0; t < r->nturns; t++)
        mp_jobop_done(&ops[nops++], &r->turns[t].job, now);
    guard_op(&ops[nops++], r, now); /* last: the fold's retry below keeps it */
    rc = mp_jobop_apply(j->store, ops, nops);
    if (rc == MP_ECONFLICT && fold) {
        memmove(&ops[kept], &ops[kept + 1], (nops - kept - 1) * sizeof(*ops));
        rc = mp_jobop_apply(j->store, ops, --nops);
    }
    verdict_of(rc, ops, nops, v);
    if (v->kind != MP_JOBV_DONE)
        goto out;
    log_refused(ops, kept);
    log_given(ops, kept, v);
    /* the fold kept the buffer: trim it now */
    v->summarize = r->fold;
    v->extract = true;
out:
    for (size_t i = 0; values != NULL && i <= kept; i++)
        free(values[i]);
    free(res.summary);
    free(res.keys);
    free(res.facts);
    free(ops);
    free(values);
}

void mp_jobresult_apply(const struct mp_memjobs *j, const struct mp_jobrun *r,
                        struct mp_jobverdict *v)
{
    if (r->job.kind == MP_JOB_SUMMARIZE)
        apply_summary(j, r, v);
    else
        apply_batch(j, r, v);
}
