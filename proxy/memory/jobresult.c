/* A memory model's answer applied to the store (jobresult.h). */
#include "memory/jobresult.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
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
static void guard_op(struct mp_op *op, const struct mp_jobrun *r)
{
    mp_memjobs_op(op, MP_OP_CHECK_EPOCH, &r->job);
    op->u.epoch = r->epoch;
}

/* Whether the apply of ops[0..n), the guard among them, was stopped by it:
 * then nothing was written, and the call's jobs go back to the index as
 * they were (no attempt counted), to run again on what is stored now (an
 * erased turn is no longer there to send; a user erased whole has no jobs
 * left, so its claim finds none). The log says so, without the user or
 * any text. */
static bool rerun_if_erased(struct mp_memjobs *j, const struct mp_jobrun *r,
                            const struct mp_op *ops, size_t n)
{
    bool stopped = false;
    for (size_t i = 0; i < n; i++)
        stopped |= ops[i].kind == MP_OP_CHECK_EPOCH && ops[i].result == MP_ECONFLICT;
    if (!stopped)
        return false;
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO, "memory job result dropped: erased during the call");
    mp_logline_str(&l, "kind", r->job.kind == MP_JOB_SUMMARIZE ? "summarize" : "extract");
    mp_logline_int(&l, "turns", (int64_t)r->nturns);
    mp_logline_end(&l);
    for (size_t t = 0; t < r->nturns; t++) {
        mp_memjobs_count(j, &r->turns[t].job, MP_JOBR_ERASED);
        mp_memjobs_add(j, &r->turns[t].job);
    }
    return true;
}

/* A summary that reads as instructions to the model is refused (the memory-
 * poisoning rule, core/memory/pii.h); personal data in it follows pii_mode. */
void mp_jobresult_summary(struct mp_memjobs *j, struct mp_jobrun *r)
{
    char *raw = NULL, *text = NULL;
    size_t raw_len = 0, len = 0;
    bool pii = false;
    if (mp_memprompt_summary_parse(r->api, r->answer.data, r->answer.len,
                                   j->cfg->memory.summary_max_words, &raw, &raw_len) != MP_OK ||
        mp_pii_looks_like_instruction(raw, raw_len) ||
        mp_piipolicy_apply(j->cfg->governance.pii_mode, MP_PII_ITEM_SUMMARY, raw, raw_len, false,
                           &text, &len, &pii) != MP_OK) {
        free(raw);
        mp_memjobs_batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_MALFORMED, 0);
        return;
    }
    free(raw);
    struct mp_op ops[3];
    mp_memjobs_op(&ops[0], MP_OP_SET_SUMMARY, &r->job);
    ops[0].u.summary.text = text;
    ops[0].u.summary.text_len = len;
    ops[0].u.summary.through_seq = r->job.through_seq;
    ops[0].u.summary.jobs_known_through = j->jobs_known_through;
    ops[0].u.summary.model = j->cfg->memory.summary_model;
    ops[0].u.summary.pii = pii;
    ops[0].u.summary.check_from = true; /* another process may have folded meanwhile */
    ops[0].u.summary.from_seq = r->summary_from_seq;
    ops[0].u.summary.from_text = r->summary_from_text;
    mp_memjobs_op(&ops[1], MP_OP_DONE_JOB, &r->job);
    ops[1].u.job_id = r->job.id;
    guard_op(&ops[2], r);
    int rc = mp_memjobs_apply(j, ops, 3);
    if (rc != MP_OK) {
        mp_memjobs_batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_STORE, 0);
    } else if (!rerun_if_erased(j, r, ops, 3)) {
        mp_memjobs_count(j, &r->job, MP_JOBR_OK);
        /* turns that came in meanwhile may have refilled the buffer */
        mp_memjobs_after_turn(j, r->job.user, r->job.user_len, true, false);
    }
    free(text);
}

/* An extracted fact as an UPSERT op, through pii_mode: MP_OK, or
 * MP_NOTFOUND when the policy drops it. value: the stored text (owned by
 * the caller after MP_OK). */
static int entity_op(struct mp_op *op, const struct mp_jobturn *bt, const struct mp_extracted *x,
                     const struct mp_config *cfg, char **value)
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
    mp_memjobs_op(op, MP_OP_UPSERT_ENTITY, &bt->job);
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
 * history entry each), by why, logged and counted
 * (memproxy_memory_statements_kept_out_total): newer truth never drops
 * what the user says silently. Counts and reasons, no user id, no key or
 * value. */
static void log_given(struct mp_memjobs *j, const struct mp_op *ops, size_t n)
{
    static const char *const why_name[] = {
        [MP_REASON_NEWER] = "newer", [MP_REASON_GIVEN] = "given", [MP_REASON_ADMIN] = "admin"};
    struct mp_logline l;
    int64_t superseded = 0, kept_out[MP_REASON_ADMIN + 1] = {0};
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
        mp_metrics_kept_out(j->metrics, (enum mp_hist_reason)why, (unsigned)kept_out[why]);
        mp_logline_begin(&l, MP_LOG_INFO,
                         "user statements kept out: a stored value outranks them (history: kept)");
        mp_logline_str(&l, "reason", why_name[why]);
        mp_logline_int(&l, "facts", kept_out[why]);
        mp_logline_end(&l);
    }
}

/* The batch's fold as a SET_SUMMARY op that keeps the buffer (the trim
 * after the batch trims it): false when there is none to write (no summary
 * in the answer, an instruction, or pii_mode drops it). text: owned by the
 * caller after true. */
static bool fold_op(struct mp_memjobs *j, const struct mp_jobrun *r, char *raw, size_t raw_len,
                    struct mp_op *op, char **text)
{
    size_t len = 0;
    bool pii = false;
    uint64_t through = 0;
    if (raw == NULL || mp_pii_looks_like_instruction(raw, raw_len) ||
        mp_piipolicy_apply(j->cfg->governance.pii_mode, MP_PII_ITEM_SUMMARY, raw, raw_len, false,
                           text, &len, &pii) != MP_OK)
        return false;
    for (size_t t = 0; t < r->nturns; t++)
        if (r->turns[t].number > 0 && r->turns[t].job.through_seq > through)
            through = r->turns[t].job.through_seq;
    if (through < r->summary_from_seq) /* a re-run of turns older than the summary */
        through = r->summary_from_seq;
    mp_memjobs_op(op, MP_OP_SET_SUMMARY, &r->job);
    op->u.summary.text = *text;
    op->u.summary.text_len = len;
    op->u.summary.through_seq = through;
    op->u.summary.model = j->cfg->memory.extraction_model;
    op->u.summary.pii = pii;
    op->u.summary.check_from = true; /* another process may have folded meanwhile */
    op->u.summary.from_seq = r->summary_from_seq;
    op->u.summary.from_text = r->summary_from_text;
    op->u.summary.keep_messages = true;
    return true;
}

/* The facts as UPSERT ops in turn order (so that a newer value supersedes
 * an older one), each with its turn's provenance; returns the ops made. */
static size_t fact_ops(struct mp_memjobs *j, const struct mp_jobrun *r,
                       const struct mp_extracted *f, size_t n, struct mp_op *ops, char **values)
{
    size_t kept = 0;
    for (size_t t = 0; t < r->nturns; t++) {
        const struct mp_jobturn *bt = &r->turns[t];
        for (size_t i = 0; bt->number > 0 && i < n; i++) {
            if (f[i].turn == bt->number &&
                entity_op(&ops[kept], bt, &f[i], j->cfg, &values[kept]) == MP_OK)
                kept++;
        }
    }
    return kept;
}

/* Each sent turn's search keys as a SET_MESSAGE_KEYS op on its first
 * message (the user's words); returns the ops made. */
static size_t key_ops(const struct mp_jobrun *r, const struct mp_turn_keys *keys, struct mp_op *ops)
{
    size_t n = 0;
    for (size_t t = 0; keys != NULL && t < r->nturns; t++) {
        const struct mp_jobturn *bt = &r->turns[t];
        if (bt->number == 0 || keys[bt->number - 1].len == 0)
            continue;
        mp_memjobs_op(&ops[n], MP_OP_SET_MESSAGE_KEYS, &bt->job);
        ops[n].u.keys.seq = bt->job.from_seq;
        ops[n].u.keys.text = keys[bt->number - 1].text;
        ops[n].u.keys.text_len = keys[bt->number - 1].len;
        n++;
    }
    return n;
}

/* Applies an extraction batch's answer: its facts, its fold, every job
 * done, in one transaction. A fold that lost a race (another process
 * folded, an erasure dropped the summary) is left out, the facts kept. */
void mp_jobresult_batch(struct mp_memjobs *j, struct mp_jobrun *r)
{
    size_t cap = r->nsent * MP_MEMJOB_FACTS_PER_TURN;
    struct mp_memprompt_batch b = {.nturns = r->nsent,
                                   .min_confidence = j->cfg->memory.min_confidence,
                                   .per_turn_max = MP_MEMJOB_FACTS_PER_TURN,
                                   .summary_words = r->fold ? j->cfg->memory.summary_max_words : 0,
                                   .keys = r->keys};
    struct mp_batch_answer res = {.facts = calloc(cap, sizeof(*res.facts)),
                                  .cap = cap,
                                  .keys = r->keys ? calloc(r->nsent, sizeof(*res.keys)) : NULL};
    struct mp_op *ops = calloc(cap + 2 + 2 * r->nturns, sizeof(*ops)); /* + fold, guard */
    char **values = calloc(cap + 1, sizeof(*values));
    size_t kept = 0, nops;
    int rc = MP_ENOMEM;
    if (res.facts != NULL && ops != NULL && values != NULL && (res.keys != NULL || !r->keys))
        rc = mp_memprompt_batch_parse(r->api, r->answer.data, r->answer.len, &b, &res);
    if (rc != MP_OK) {
        mp_memjobs_batch_failed(j, r->turns, r->nturns,
                                rc == MP_ENOMEM ? MP_JOB_FAIL_STORE : MP_JOB_FAIL_MALFORMED, 0);
        goto out;
    }
    kept = fact_ops(j, r, res.facts, res.n, ops, values);
    nops = kept;
    bool fold = r->fold && fold_op(j, r, res.summary, res.summary_len, &ops[nops], &values[kept]);
    nops += fold;
    nops += key_ops(r, res.keys, &ops[nops]);
    for (size_t t = 0; t < r->nturns; t++) {
        mp_memjobs_op(&ops[nops], MP_OP_DONE_JOB, &r->turns[t].job);
        ops[nops++].u.job_id = r->turns[t].job.id;
    }
    guard_op(&ops[nops++], r); /* last: the fold's retry below keeps it */
    rc = mp_memjobs_apply(j, ops, nops);
    if (rc == MP_ECONFLICT && fold) {
        memmove(&ops[kept], &ops[kept + 1], (nops - kept - 1) * sizeof(*ops));
        fold = false;
        rc = mp_memjobs_apply(j, ops, --nops);
    }
    if (rc != MP_OK) {
        mp_memjobs_batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_STORE, 0);
        goto out;
    }
    if (rerun_if_erased(j, r, ops, nops))
        goto out;
    for (size_t t = 0; t < r->nturns; t++)
        mp_memjobs_count(j, &r->turns[t].job, MP_JOBR_OK);
    log_refused(ops, kept);
    log_given(j, ops, kept);
    /* the fold kept the buffer: trim it now */
    mp_memjobs_after_turn(j, r->job.user, r->job.user_len, r->fold, true);
out:
    for (size_t i = 0; values != NULL && i <= kept; i++)
        free(values[i]);
    free(res.summary);
    free(res.keys);
    free(res.facts);
    free(ops);
    free(values);
}
