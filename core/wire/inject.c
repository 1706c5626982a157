/* Injection: asks recall.c for a plan, has memblock.c write the block, and
 * has the request's wire splice the block and the picked messages into the
 * client's body. It does not parse the body (the wire did) nor decide when
 * memory applies (the proxy does).
 *
 * Allocations, each sized exactly or from a bound: the plan's arrays
 * (recall), the block's decoded text (plan.block_len bytes, which recall
 * measured with memblock's own functions), the picks in the wire's order,
 * and the bytes the wire's splice adds (never a copy of the body).
 * Relevant retrieval adds one: the question's decoded text, freed once
 * recall has chosen. */
#include "inject.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chatreq.h"
#include "memblock.h"
#include "recall.h"
#include "status.h"
#include "usermem.h"
#include "wire.h"

/* The request body, for recall's question "does it hold this message?". */
struct request {
    const struct mp_wire *wire;
    const char *body;
    const struct mp_chatreq *req;
};

/* Whether the request already carries a message of this role and text:
 * by role and length first, then by hash (computed only when some message
 * has both), then byte for byte. */
static bool in_request(void *ctx, enum mp_role role, const char *text, size_t len)
{
    const struct request *rq = ctx;
    int cr = role == MP_ROLE_ASSISTANT ? MP_CR_ASSISTANT : MP_CR_USER;
    uint64_t h = 0;
    bool hashed = false;
    for (size_t i = 0; i < rq->req->nmsgs; i++) {
        const struct mp_chatreq_msg *r = &rq->req->msgs[i];
        if (r->role != cr || r->text_len != len)
            continue;
        if (!hashed) {
            h = mp_chatreq_hash_text(cr, text, len);
            hashed = true;
        }
        if (r->text_hash == h && rq->wire->message_text_equals(rq->body, r, text, len))
            return true;
    }
    return false;
}

/* The picked buffered messages, oldest first, for the wire's splice
 * (plan->picks are newest first). NULL when there are none. */
static struct mp_wire_pick *picks_of(const struct mp_recall_plan *plan,
                                     const struct mp_mem_message *msgs, int *rc)
{
    struct mp_wire_pick *pk = NULL;
    *rc = MP_OK;
    if (plan->npicks == 0)
        return NULL;
    pk = malloc(plan->npicks * sizeof(*pk));
    if (pk == NULL) {
        *rc = MP_ENOMEM;
        return NULL;
    }
    for (size_t k = 0; k < plan->npicks; k++) {
        const struct mp_recall_pick *p = &plan->picks[plan->npicks - 1 - k];
        const struct mp_mem_message *m = &msgs[p->idx];
        pk[k] = (struct mp_wire_pick){m->role, m->content, p->len, p->cut};
    }
    return pk;
}

/* ---- putting it together ---- */

static void report(const struct mp_recall_plan *rp, struct mp_inject_plan *plan)
{
    plan->tokens = rp->tokens;
    plan->nfacts = rp->nfacts;
    plan->npast = rp->npast;
    plan->nmessages = rp->npicks;
    plan->summary = rp->summary_len > 0;
    plan->summary_cut = rp->summary_cut;
    plan->message_cut = rp->message_cut;
    plan->ndeduplicated = rp->ndeduplicated;
}

/* The last max bytes of text[0..*len), from a word's start (a long
 * message's question is at its end; scoring costs what it reads). */
static const char *tail_of(const char *text, size_t *len, size_t max)
{
    if (*len <= max)
        return text;
    size_t at = *len - max;
    while (at < *len && text[at - 1] != ' ' && text[at - 1] != '\n')
        at++;
    if (at == *len) /* one long word: its last max bytes, at a UTF-8 start */
        for (at = *len - max; at < *len && ((unsigned char)text[at] & 0xC0) == 0x80; at++)
            ;
    *len -= at;
    return text + at;
}

/* The request's question (its newest user message with text) and the
 * turn before it, decoded into one allocation, *buf (caller frees; NULL
 * when there is no question), each cut to its last MP_RECALL_QUESTION_MAX
 * bytes. */
static int read_question(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                         struct mp_recall_request *rq, char **buf)
{
    size_t q, prev, qlen, plen;
    mp_chatreq_question(req, &q, &prev);
    *buf = NULL;
    if (q == req->nmsgs)
        return MP_OK;
    qlen = req->msgs[q].text_len;
    plen = prev < req->nmsgs ? req->msgs[prev].text_len : 0;
    *buf = malloc(qlen + plen + 1);
    if (*buf == NULL)
        return MP_ENOMEM;
    (void)w->message_text(body, &req->msgs[q], *buf, qlen, &rq->question_len);
    rq->question = tail_of(*buf, &rq->question_len, MP_RECALL_QUESTION_MAX);
    if (prev < req->nmsgs) {
        (void)w->message_text(body, &req->msgs[prev], *buf + qlen, plen, &rq->previous_len);
        rq->previous = tail_of(*buf + qlen, &rq->previous_len, MP_RECALL_QUESTION_MAX);
    }
    return MP_OK;
}

/* Asks the strategy of p->retrieval for a plan: relevant only with a
 * source to search. */
static int choose(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                  const struct mp_usermem *um, const struct mp_recall_source *src,
                  const struct mp_recall_params *p, struct mp_recall_request *rq,
                  struct mp_recall_plan *rp)
{
    char *question = NULL;
    int rc;
    if (p->retrieval != MP_RETRIEVAL_RELEVANT || src == NULL)
        return mp_recall_recent(um, src, p, rq, rp);
    rc = p->terms != NULL ? read_question(w, body, req, rq, &question) : MP_OK;
    if (rc == MP_OK)
        rc = mp_recall_relevant(um, src, p, rq, rp);
    free(question);
    return rc;
}

/* The block of plan rp into *text (malloc'd, rp->block_len bytes). */
static int render(const struct mp_recall_plan *rp, const struct mp_usermem *um, char **text)
{
    struct mp_memblock_parts parts = {rp->facts,       rp->nfacts, &um->summary,
                                      rp->summary_len, rp->past,   rp->npast};
    char *block = malloc(rp->block_len > 0 ? rp->block_len : 1);
    if (block == NULL)
        return MP_ENOMEM;
    size_t n = mp_memblock_render(block, rp->block_len, &parts);
    assert(n == rp->block_len); /* recall measured with memblock's own functions */
    (void)n;
    *text = block;
    return MP_OK;
}

int mp_inject_build(const struct mp_wire *w, const char *body, size_t len,
                    const struct mp_chatreq *req, const struct mp_usermem *um,
                    const struct mp_recall_source *src, const struct mp_recall_params *p,
                    int64_t now_ms, struct mp_splice *out, struct mp_inject_plan *plan)
{
    struct request in = {.wire = w, .body = body, .req = req};
    struct mp_wire_pick *picks = NULL;
    struct mp_recall_params own;
    if (req->upstream_state) { /* the upstream holds the conversation: no replay */
        own = *p;
        own.sections &= ~MP_RECALL_BUFFER;
        p = &own;
    }
    struct mp_recall_request rq = {.seen = in_request, .seen_ctx = &in, .now_ms = now_ms};
    struct mp_recall_plan rp;
    char *block = NULL;
    int rc = choose(w, body, req, um, src, p, &rq, &rp);
    if (rc != MP_OK)
        return rc;
    rc = render(&rp, um, &block);
    if (rc != MP_OK)
        goto out;
    picks = picks_of(&rp, um->messages, &rc);
    if (rc == MP_OK) {
        struct mp_wire_memory mem = {block, rp.block_len, picks, rp.npicks, NULL, 0};
        rc = w->splice(body, len, req, &mem, out);
    }
    if (rc == MP_OK && plan != NULL)
        report(&rp, plan);
out:
    free(picks);
    free(block);
    mp_recall_plan_cleanup(&rp);
    return rc;
}

/* ---- a conversation: head and tail ---- */

void mp_inject_head_cleanup(struct mp_inject_head *h)
{
    free(h->text);
    free(h->fact_ids);
    memset(h, 0, sizeof(*h));
}

bool mp_inject_head_valid(const struct mp_inject_head *h, const struct mp_usermem *um,
                          const struct mp_recall_source *src, const struct mp_recall_params *p,
                          const struct mp_mem_entity **held)
{
    if (src == NULL || src->fact == NULL || h->sections != p->sections ||
        h->budget_tokens != p->budget_tokens || h->inject_pii != p->inject_pii)
        return false;
    if (h->summary_at_ms != 0 &&
        (um->summary.text == NULL || um->summary.updated_at_ms != h->summary_at_ms))
        return false; /* rewritten, corrected or erased */
    for (size_t i = 0; i < h->nfacts; i++) {
        const struct mp_mem_entity *e;
        if (src->fact(src->ctx, h->fact_ids[i], &e) != MP_OK || (e->pii && !p->inject_pii))
            return false; /* erased, or changed (a new id) */
        held[i] = e;
    }
    return true;
}

/* A new head into *h (see inject.h), its facts' pointers into *held
 * (malloc'd; caller frees). An empty head (nothing qualifies) is MP_OK
 * with h->len 0. */
static int build_head(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                      const struct mp_usermem *um, const struct mp_recall_source *src,
                      const struct mp_recall_params *p, int64_t now_ms,
                      const struct mp_inject_conv *conv, struct mp_inject_head *h,
                      const struct mp_mem_entity ***held)
{
    struct mp_recall_params hp = *p;
    struct mp_recall_request rq = {.now_ms = now_ms};
    struct mp_recall_plan rp;
    int keep = conv->head_summary_only ? MP_RECALL_SUMMARY : MP_RECALL_PROFILE | MP_RECALL_SUMMARY;
    hp.sections = p->sections & keep;
    hp.budget_tokens = (uint32_t)((uint64_t)p->budget_tokens * conv->head_share / 100);
    *h = (struct mp_inject_head){
        .sections = p->sections, .budget_tokens = p->budget_tokens, .inject_pii = p->inject_pii};
    int rc = hp.sections != 0 ? choose(w, body, req, um, src, &hp, &rq, &rp) : MP_NOTFOUND;
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    rc = render(&rp, um, &h->text);
    h->fact_ids = malloc((rp.nfacts > 0 ? rp.nfacts : 1) * sizeof(*h->fact_ids));
    *held = malloc((rp.nfacts > 0 ? rp.nfacts : 1) * sizeof(**held));
    if (rc == MP_OK && (h->fact_ids == NULL || *held == NULL))
        rc = MP_ENOMEM;
    for (size_t i = 0; rc == MP_OK && i < rp.nfacts; i++) {
        h->fact_ids[i] = rp.facts[i]->id; /* with a source, every fact has its id */
        (*held)[i] = rp.facts[i];
    }
    h->len = rp.block_len;
    h->nfacts = rp.nfacts;
    h->tokens = rp.tokens;
    h->summary_at_ms = rp.summary_len > 0 ? um->summary.updated_at_ms : 0;
    mp_recall_plan_cleanup(&rp);
    return rc;
}

/* The tail's plan: every section but the summary (nor the buffer with
 * upstream state) within what the head leaves, without the head's facts. */
static int choose_tail(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                       const struct mp_usermem *um, const struct mp_recall_source *src,
                       const struct mp_recall_params *p, struct mp_recall_request *rq,
                       uint32_t head_tokens, struct mp_recall_plan *rp)
{
    struct mp_recall_params tp = *p;
    tp.sections = p->sections & ~MP_RECALL_SUMMARY;
    if (req->upstream_state)
        tp.sections &= ~MP_RECALL_BUFFER;
    tp.budget_tokens = p->budget_tokens > head_tokens ? p->budget_tokens - head_tokens : 0;
    if (tp.sections == 0)
        return MP_NOTFOUND;
    return choose(w, body, req, um, src, &tp, rq, rp);
}

/* The head's and the tail's counts in *plan. */
static void report_conv(const struct mp_inject_head *h, const struct mp_recall_plan *rp,
                        bool have_tail, size_t tail_len, struct mp_inject_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->tokens = h->tokens;
    plan->nfacts = h->nfacts;
    plan->summary = h->summary_at_ms != 0;
    if (!have_tail)
        return;
    plan->tokens += rp->tokens - mp_memblock_message_tokens(rp->block_len);
    if (tail_len > 0)
        plan->tokens += mp_memblock_message_tokens(tail_len);
    plan->nfacts += rp->nfacts;
    plan->npast = rp->npast;
    plan->nmessages = rp->npicks;
    plan->message_cut = rp->message_cut;
    plan->ndeduplicated = rp->ndeduplicated;
}

int mp_inject_build_conv(const struct mp_wire *w, const char *body, size_t len,
                         const struct mp_chatreq *req, const struct mp_usermem *um,
                         const struct mp_recall_source *src, const struct mp_recall_params *p,
                         int64_t now_ms, struct mp_inject_conv *conv, struct mp_splice *out,
                         struct mp_inject_plan *plan)
{
    struct request in = {.wire = w, .body = body, .req = req};
    const struct mp_inject_head *h = conv->head;
    const struct mp_mem_entity **held = NULL;
    struct mp_wire_pick *picks = NULL;
    struct mp_recall_plan rp;
    char *tail = NULL;
    size_t tail_len = 0;
    int rc = MP_OK;
    memset(conv->built, 0, sizeof(*conv->built));
    conv->reused = h != NULL && (held = malloc((h->nfacts + 1) * sizeof(*held))) != NULL &&
                   mp_inject_head_valid(h, um, src, p, held);
    if (!conv->reused) {
        free(held);
        held = NULL;
        h = conv->built;
        rc = build_head(w, body, req, um, src, p, now_ms, conv, conv->built, &held);
    }
    if (rc != MP_OK)
        goto out;
    struct mp_recall_request rq = {
        .seen = in_request, .seen_ctx = &in, .now_ms = now_ms, .held = held, .nheld = h->nfacts};
    int trc = choose_tail(w, body, req, um, src, p, &rq, h->tokens, &rp);
    if (trc != MP_OK && trc != MP_NOTFOUND) {
        rc = trc;
        goto out;
    }
    if (trc == MP_OK && rp.nfacts + rp.npast > 0) {
        rc = render(&rp, um, &tail);
        tail_len = rp.block_len;
    }
    if (rc == MP_OK && trc == MP_OK)
        picks = picks_of(&rp, um->messages, &rc);
    if (rc == MP_OK && h->len == 0 && tail_len == 0 && (trc != MP_OK || rp.npicks == 0))
        rc = MP_NOTFOUND;
    if (rc == MP_OK) {
        struct mp_wire_memory mem = {h->text, h->len,  picks, trc == MP_OK ? rp.npicks : 0,
                                     tail,    tail_len};
        rc = w->splice(body, len, req, &mem, out);
    }
    if (rc == MP_OK && plan != NULL)
        report_conv(h, &rp, trc == MP_OK, tail_len, plan);
    if (trc == MP_OK)
        mp_recall_plan_cleanup(&rp);
out:
    free(picks);
    free(tail);
    free(held);
    if (rc != MP_OK && rc != MP_NOTFOUND && !conv->reused)
        mp_inject_head_cleanup(conv->built);
    return rc;
}
