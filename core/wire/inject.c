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
#include "wire/inject.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/ownwords.h"
#include "recall/memblock.h"
#include "recall/recall.h"
#include "status.h"
#include "wire/there.h"
#include "memory/usermem.h"
#include "wire/wire.h"

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

/* Message i's text into out (its text_len + 1 bytes), the user's own
 * words of a user message (core/wire/ownwords.h); *len. Read again only
 * when they may differ: not when the request's scan found the message
 * clean (req->own), nor when its bytes hold nothing to leave out. */
static void own_text(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                     size_t i, const struct mp_recall_params *p, char *out, size_t *len)
{
    const struct mp_chatreq_msg *m = &req->msgs[i];
    struct mp_ownwords_run run;
    struct mp_ownwords_text own;
    size_t from, to;
    *len = 0;
    if (m->role == MP_CR_USER && !mp_ownwords_clean(req->own, i) &&
        mp_ownwords_may_differ(p->inserted, body, m)) {
        mp_ownwords_run_bounds(req, i, &from, &to);
        if (mp_ownwords_run(w, body, req, from, to, p->inserted, &run) == MP_OK &&
            mp_ownwords_message(w, body, m, p->inserted, &run, out, m->text_len + 1, &own, NULL) ==
                MP_OK) {
            *len = own.len;
            return;
        }
    }
    (void)w->message_text(body, m, out, m->text_len, len);
}

/* The request's question (its newest user message with text) and the
 * turn before it, the user's own words of each (own_text), decoded into
 * one allocation, *buf (caller frees; NULL when there is no question),
 * each cut to its last MP_RECALL_QUESTION_MAX bytes. */
static int read_question(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                         const struct mp_recall_params *p, struct mp_recall_request *rq, char **buf)
{
    size_t q, prev, qlen, plen;
    mp_chatreq_question(req, &q, &prev);
    *buf = NULL;
    if (q == req->nmsgs)
        return MP_OK;
    qlen = req->msgs[q].text_len;
    plen = prev < req->nmsgs ? req->msgs[prev].text_len : 0;
    *buf = malloc(qlen + plen + 2);
    if (*buf == NULL)
        return MP_ENOMEM;
    own_text(w, body, req, q, p, *buf, &rq->question_len);
    rq->question = mp_recall_question_tail(*buf, &rq->question_len, MP_RECALL_QUESTION_MAX);
    if (prev < req->nmsgs) {
        own_text(w, body, req, prev, p, *buf + qlen + 1, &rq->previous_len);
        rq->previous =
            mp_recall_question_tail(*buf + qlen + 1, &rq->previous_len, MP_RECALL_QUESTION_MAX);
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
    rc = p->terms != NULL ? read_question(w, body, req, p, rq, &question) : MP_OK;
    if (rc == MP_OK)
        rc = mp_recall_relevant(um, src, p, rq, rp);
    free(question);
    return rc;
}

/* The block of plan rp into *text (malloc'd, rp->block_len bytes). */
static int render(const struct mp_recall_plan *rp, const struct mp_usermem *um, char **text)
{
    struct mp_memblock_parts parts = {rp->facts, rp->nfacts, &um->summary,  rp->summary_len,
                                      rp->past,  rp->npast,  rp->past_ahead};
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
    struct mp_there in;
    struct mp_wire_pick *picks = NULL;
    mp_there_init(&in, w, body, req, um, 0, NULL);
    struct mp_recall_params own;
    if (req->upstream_state) { /* the upstream holds the conversation: no replay */
        own = *p;
        own.sections &= ~MP_RECALL_BUFFER;
        p = &own;
    }
    struct mp_recall_request rq = {.seen = mp_there_seen, .seen_ctx = &in, .now_ms = now_ms};
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
        struct mp_wire_memory mem = {block, rp.block_len, picks, rp.npicks, NULL, 0, false};
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

/* The user's summary's time, 0 when there is none. */
static int64_t summary_time(const struct mp_usermem *um)
{
    return um->summary.text != NULL ? um->summary.updated_at_ms : 0;
}

void mp_inject_head_cleanup(struct mp_inject_head *h)
{
    if (h->block != NULL) {
        free(h->block);
    } else {
        free(h->text);
        free(h->fact_ids);
        free(h->past);
    }
    memset(h, 0, sizeof(*h));
}

/* A message as a head or a tail holds it: the hash of its role and its
 * whole text, its length and its seq. */
static struct mp_inject_past past_of(const struct mp_mem_message *m)
{
    int cr = m->role == MP_ROLE_ASSISTANT ? MP_CR_ASSISTANT : MP_CR_USER;
    return (struct mp_inject_past){mp_chatreq_hash_text(cr, m->content, m->content_len),
                                   m->content_len, m->seq};
}

/* After a person changed the user's memory (the epoch moved): whether
 * everything h holds is still there as it was: each fact (held[], found
 * by id) written in its text as it is now, each past message under its
 * seq with the same role and text, and the summary, if it holds one, the
 * one there is now. Ids and seqs alone would not do: a user erased whole
 * and made anew numbers them again. */
static bool still_there(const struct mp_inject_head *h, const struct mp_usermem *um,
                        const struct mp_recall_source *src, const struct mp_mem_entity *const *held)
{
    if (h->summary && summary_time(um) != h->summary_at_ms)
        return false;
    for (size_t i = 0; i < h->nfacts; i++) {
        const struct mp_mem_entity *e = held[i];
        const char *t = e->block_text != NULL ? e->block_text : e->value;
        size_t n = e->block_text != NULL ? e->block_len : e->value_len;
        if (n == 0 || h->len == 0 || memmem(h->text, h->len, t, n) == NULL)
            return false;
    }
    for (size_t i = 0; i < h->npast; i++) {
        struct mp_mem_message m;
        const struct mp_inject_past *hp = &h->past[i];
        if (src->message == NULL || hp->seq > UINT32_MAX ||
            src->message(src->ctx, (uint32_t)hp->seq, &m) != MP_OK)
            return false;
        struct mp_inject_past now = past_of(&m);
        bool same = now.len == hp->len && now.hash == hp->hash;
        free(m.content);
        if (!same)
            return false;
    }
    return true;
}

/* Whether text[0..len) (a kept head's or tail's) is written as this
 * version writes it: empty, or opening with the intro or the tail's first
 * line. One kept from before the notes' wording changed is built anew. */
static bool current_wording(const char *text, size_t len)
{
    return len == 0 ||
           (len >= MP_MEMBLOCK_INTRO_LEN &&
            memcmp(text, MP_MEMBLOCK_INTRO, MP_MEMBLOCK_INTRO_LEN) == 0) ||
           (len >= MP_MEMBLOCK_TAIL_INTRO_LEN &&
            memcmp(text, MP_MEMBLOCK_TAIL_INTRO, MP_MEMBLOCK_TAIL_INTRO_LEN) == 0);
}

bool mp_inject_head_valid(const struct mp_inject_head *h, const struct mp_usermem *um,
                          const struct mp_recall_source *src, const struct mp_recall_params *p,
                          const struct mp_mem_entity **held)
{
    if (src == NULL || src->fact == NULL || h->sections != p->sections ||
        h->budget_tokens != p->budget_tokens || h->inject_pii != p->inject_pii ||
        !current_wording(h->text, h->len))
        return false;
    if (h->follows_summary && summary_time(um) != h->summary_at_ms)
        return false; /* a session's head: the summary (re)written since */
    for (size_t i = 0; i < h->nfacts; i++) {
        const struct mp_mem_entity *e;
        if (src->fact(src->ctx, h->fact_ids[i], &e) != MP_OK || (e->pii && !p->inject_pii))
            return false; /* erased, or changed (a new id) */
        held[i] = e;
    }
    /* a person corrected or erased memory, or retention purged some: the
       head stays only if none of it was touched */
    return um->memory_epoch == h->memory_epoch || still_there(h, um, src, held);
}

/* The intro alone into *text (malloc'd, MP_MEMBLOCK_INTRO_LEN bytes). */
static int intro_text(char **text)
{
    *text = malloc(MP_MEMBLOCK_INTRO_LEN);
    if (*text == NULL)
        return MP_ENOMEM;
    memcpy(*text, MP_MEMBLOCK_INTRO, MP_MEMBLOCK_INTRO_LEN);
    return MP_OK;
}

/* A head of the intro alone: where there is nothing else for it and the
 * buffered messages are replayed (the conversation keeps a head; the intro
 * alone is never sent: the replay goes with the tail, behind its own). */
static int intro_head(struct mp_inject_head *h)
{
    int rc = intro_text(&h->text);
    if (rc != MP_OK)
        return rc;
    h->len = MP_MEMBLOCK_INTRO_LEN;
    h->tokens = mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN);
    return MP_OK;
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
    struct mp_recall_plan rp;
    bool chosen = !conv->head_summary_only && conv->head_share > 0;
    int keep = chosen ? MP_RECALL_PROFILE | MP_RECALL_PAST | MP_RECALL_SUMMARY : MP_RECALL_SUMMARY;
    struct mp_there in;
    mp_there_init(&in, w, body, req, um, conv->own_conv, NULL);
    /* the summary has at least its own share, as in one block */
    unsigned share = conv->head_share > p->share_summary ? conv->head_share : p->share_summary;
    hp.sections = p->sections & keep;
    /* the user's last words elsewhere, cached with the head (not where the
       upstream holds the conversation: they may be its own input) */
    hp.past_recent = chosen && !req->upstream_state;
    hp.budget_tokens = (uint32_t)((uint64_t)p->budget_tokens * share / 100);
    *h = (struct mp_inject_head){.sections = p->sections,
                                 .budget_tokens = p->budget_tokens,
                                 .inject_pii = p->inject_pii,
                                 .summary_at_ms = summary_time(um),
                                 .memory_epoch = um->memory_epoch,
                                 .follows_summary = conv->head_summary_only};
    struct mp_recall_request rq = {.seen = mp_there_seen, .seen_ctx = &in, .now_ms = now_ms};
    int rc = hp.sections != 0 ? choose(w, body, req, um, src, &hp, &rq, &rp) : MP_NOTFOUND;
    if (rc == MP_NOTFOUND && (p->sections & MP_RECALL_BUFFER))
        return intro_head(h); /* the replayed messages follow a block, as always */
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
    if (rc == MP_OK && rp.npast > 0) {
        h->past = malloc(rp.npast * sizeof(*h->past));
        if (h->past == NULL)
            rc = MP_ENOMEM;
        for (size_t i = 0; rc == MP_OK && i < rp.npast; i++) {
            const struct mp_mem_message *m = rp.past[i];
            h->past[i] = past_of(m);
        }
        h->npast = rc == MP_OK ? rp.npast : 0;
    }
    h->len = rp.block_len;
    h->nfacts = rp.nfacts;
    h->tokens = rp.tokens;
    h->summary = rp.summary_len > 0;
    mp_recall_plan_cleanup(&rp);
    return rc;
}

/* The tail's plan: every section but the summary (nor the buffer with
 * a stored request; nothing for a loop's round that goes again with its
 * kept tail) within what the head leaves, without the head's facts;
 * the summary too when it was written after the kept head was built
 * (summary_later: the head keeps its bytes, the new summary reaches the
 * conversation here). */
static int choose_tail(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                       const struct mp_usermem *um, const struct mp_recall_source *src,
                       const struct mp_recall_params *p, struct mp_recall_request *rq,
                       uint32_t head_tokens, bool resends, bool summary_later,
                       const struct mp_inject_tail *kept, struct mp_recall_plan *rp)
{
    struct mp_recall_params tp = *p;
    tp.sections = summary_later ? p->sections : p->sections & ~MP_RECALL_SUMMARY;
    /* no recent turns where the upstream holds the conversation (its
       input is stored upstream); a client that resends its own gets the
       user's other recent turns (its own are there already:
       core/wire/there.h), in what the question's relevant items leave (no
       share of its own: round 2, core/recall/recall.h); either way in the
       tail's notes, each turn whole (recall.h: "In the notes"), where
       turns that slide with every recorded one leave the cached prefix
       alone */
    if (req->upstream_state)
        tp.sections &= ~MP_RECALL_BUFFER;
    if (resends)
        tp.share_buffer = 0;
    tp.buffer_in_notes = true;
    if (kept != NULL)
        return MP_NOTFOUND; /* a loop's round: the kept tail again */
    tp.budget_tokens = p->budget_tokens > head_tokens ? p->budget_tokens - head_tokens : 0;
    /* the tail's shorter first line saves what recall measured with the
       intro; with recent turns that saving is left unused (on the LoCoMo
       slice of tests/bench/cache.sh, spending it billed 2 % more input
       for the same evidence) */
    if (head_tokens > 0 && tp.budget_tokens > 0 && !(tp.sections & MP_RECALL_BUFFER))
        tp.budget_tokens += mp_memblock_estimate_tokens(MP_MEMBLOCK_INTRO_LEN) -
                            mp_memblock_estimate_tokens(MP_MEMBLOCK_TAIL_INTRO_LEN) - 1;
    if (tp.sections == 0)
        return MP_NOTFOUND;
    return choose(w, body, req, um, src, &tp, rq, rp);
}

/* A head with nothing of the user's: none, or the intro alone. */
static bool bare_head(const struct mp_inject_head *h)
{
    return h->nfacts == 0 && h->npast == 0 && !h->summary;
}

/* The tail's block text[0..len) with MP_MEMBLOCK_TAIL_INTRO for its
 * first line (shorter than the intro: in place); its new length. */
static size_t tail_intro(char *text, size_t len)
{
    size_t rest = len - MP_MEMBLOCK_INTRO_LEN;
    memcpy(text, MP_MEMBLOCK_TAIL_INTRO, MP_MEMBLOCK_TAIL_INTRO_LEN);
    memmove(text + MP_MEMBLOCK_TAIL_INTRO_LEN, text + MP_MEMBLOCK_INTRO_LEN, rest);
    return MP_MEMBLOCK_TAIL_INTRO_LEN + rest;
}

/* What goes in besides the client's bytes, and its cost. */
struct parts {
    const char *block; /* the head's slot: the head, or nothing (len 0) */
    size_t block_len;
    char *tail; /* owned; tail_len 0 when it went in the head's slot */
    size_t tail_len;
    size_t tail_text_len; /* the tail's text, wherever it went (0: none) */
    uint32_t tail_tokens;
    uint32_t replay_tokens;     /* what the replayed messages cost */
    struct mp_wire_pick *picks; /* owned */
    size_t npicks;
    uint32_t tokens;
};

/* A copy of the kept tail's text into *text (malloc'd). */
static int kept_text(const struct mp_inject_tail *kept, char **text)
{
    *text = malloc(kept->part.len > 0 ? kept->part.len : 1);
    if (*text == NULL)
        return MP_ENOMEM;
    if (kept->part.len > 0)
        memcpy(*text, kept->part.text, kept->part.len);
    return MP_OK;
}

/* The parts of head h and tail plan rp (NULL: no tail), the tail's text
 * the kept one when kept is not NULL (rp then holds the replay alone). A
 * bare head goes only in front of replayed messages (the intro alone is
 * never sent), and then the tail, if any, takes its place instead (no
 * head to keep stable anyway). MP_NOTFOUND when nothing goes in. */
static int conv_parts(const struct mp_inject_head *h, const struct mp_recall_plan *rp,
                      const struct mp_inject_tail *kept, const struct mp_usermem *um,
                      struct parts *out)
{
    int rc = MP_OK;
    uint32_t replay =
        rp != NULL ? rp->tokens - mp_memblock_message_cost(rp->block_len, rp->block_saved) : 0;
    bool rendered = false;
    memset(out, 0, sizeof(*out));
    if (kept != NULL && kept->npicks > 0) { /* a loop's round: its replay again */
        out->picks = malloc(kept->npicks * sizeof(*out->picks));
        rc = out->picks != NULL ? MP_OK : MP_ENOMEM;
        if (rc == MP_OK) {
            memcpy(out->picks, kept->picks, kept->npicks * sizeof(*out->picks));
            out->npicks = kept->npicks;
        }
    } else if (rp != NULL) {
        out->picks = picks_of(rp, um->messages, &rc);
        out->npicks = rp->npicks;
    }
    if (rc == MP_OK && kept != NULL && kept->part.len > 0) {
        rc = kept_text(kept, &out->tail);
        out->tail_len = kept->part.len;
    } else if (rc == MP_OK && kept == NULL && rp != NULL && rp->nfacts + rp->npast > 0) {
        rc = render(rp, um, &out->tail);
        out->tail_len = rp->block_len;
        rendered = true;
        /* after a head its own shorter first line; in front of replayed
           messages the intro, which says they are recalled too */
        if (rc == MP_OK && !bare_head(h) && out->npicks == 0)
            out->tail_len = tail_intro(out->tail, out->tail_len);
    }
    if (rc == MP_OK && out->tail_len == 0 && out->npicks > 0) {
        rc = intro_text(&out->tail); /* replayed messages go behind the intro */
        out->tail_len = rc == MP_OK ? MP_MEMBLOCK_INTRO_LEN : 0;
    }
    if (rc != MP_OK)
        return rc;
    /* mp_memblock_message_cost of the text: a rendered tail's letters
       save what its plan's did, which recall measured as it took each
       piece (recall.h: block_saved; its first line is ASCII either way),
       so its text is not read again */
    uint64_t saved =
        rendered ? rp->block_saved : mp_memblock_script_saving(out->tail, out->tail_len);
    uint32_t tail_tokens = out->tail_len > 0 ? mp_memblock_message_cost(out->tail_len, saved) : 0;
    out->tail_text_len = out->tail_len;
    out->tail_tokens = tail_tokens;
    out->replay_tokens = kept != NULL ? kept->part.tokens - tail_tokens : replay;
    out->tokens = out->replay_tokens + tail_tokens;
    if (!bare_head(h)) { /* a head with nothing of the user's is not sent */
        out->block = h->text;
        out->block_len = h->len;
        out->tokens += h->tokens;
    }
    return out->block_len + out->tail_len + out->npicks > 0 ? MP_OK : MP_NOTFOUND;
}

/* The counts in *plan. */
static void report_conv(const struct mp_inject_head *h, const struct mp_recall_plan *rp,
                        const struct mp_inject_tail *kept, const struct parts *pt,
                        struct mp_inject_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->tokens = pt->tokens;
    plan->nfacts = h->nfacts + (kept != NULL ? kept->part.nfacts : 0);
    plan->npast = kept != NULL ? kept->part.npast - kept->npicks : 0;
    plan->nmessages = kept != NULL ? kept->npicks : 0;
    plan->summary = h->summary;
    if (rp == NULL)
        return;
    plan->nfacts += rp->nfacts;
    plan->npast += rp->npast;
    plan->nmessages = rp->npicks;
    plan->message_cut = rp->message_cut;
    plan->ndeduplicated = rp->ndeduplicated;
}

/* The kept head when it is still true (its facts' pointers into *held),
 * else a new one in conv->built. */
static int conv_head(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                     const struct mp_usermem *um, const struct mp_recall_source *src,
                     const struct mp_recall_params *p, int64_t now_ms, struct mp_inject_conv *conv,
                     const struct mp_inject_head **h, const struct mp_mem_entity ***held)
{
    const struct mp_inject_head *kept = conv->head;
    memset(conv->built, 0, sizeof(*conv->built));
    *held = NULL;
    conv->reused = kept != NULL && (*held = malloc((kept->nfacts + 1) * sizeof(**held))) != NULL &&
                   mp_inject_head_valid(kept, um, src, p, *held);
    if (conv->reused) {
        *h = kept;
        return MP_OK;
    }
    free(*held);
    *held = NULL;
    *h = conv->built;
    return build_head(w, body, req, um, src, p, now_ms, conv, conv->built, held);
}

/* The kept tail when this request is a round of the tool loop it was
 * built for and it is still true (inject.h: struct mp_inject_tail); NULL:
 * a new tail. Only with the kept head (a new head may hold its facts). */
static const struct mp_inject_tail *kept_tail(const struct mp_inject_conv *conv,
                                              const struct mp_chatreq *req,
                                              const struct mp_usermem *um,
                                              const struct mp_recall_source *src,
                                              const struct mp_recall_params *p)
{
    const struct mp_inject_tail *t = conv->tail;
    size_t q, prev;
    if (t == NULL || !conv->reused)
        return NULL;
    mp_chatreq_question(req, &q, &prev);
    if (q + 1 >= req->nmsgs || t->anchor_at != q || t->anchor_hash != req->msgs[q].text_hash)
        return NULL; /* no question, nothing after it (a new turn), or another question */
    const struct mp_mem_entity **held = malloc((t->part.nfacts + 1) * sizeof(*held));
    bool valid = held != NULL && mp_inject_head_valid(&t->part, um, src, p, held);
    free(held);
    return valid ? t : NULL;
}

/* The head (*h, its facts in *held), the kept tail that goes again
 * (*kept; NULL: none) and the tail's plan (*rp when *trc is MP_OK: the
 * replay alone with a kept tail) of a request in a conversation: the
 * choice mp_inject_build_conv renders and mp_inject_choose_conv explains. */
static int conv_choose(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                       const struct mp_usermem *um, const struct mp_recall_source *src,
                       const struct mp_recall_params *p, int64_t now_ms,
                       struct mp_inject_conv *conv, const struct mp_inject_head **h,
                       const struct mp_mem_entity ***held, const struct mp_inject_tail **kept,
                       struct mp_recall_plan *rp, int *trc)
{
    struct mp_there in;
    int rc = conv_head(w, body, req, um, src, p, now_ms, conv, h, held);
    *trc = MP_NOTFOUND;
    *kept = NULL;
    if (rc != MP_OK)
        return rc;
    *kept = kept_tail(conv, req, um, src, p);
    conv->tail_reused = *kept != NULL;
    mp_there_init(&in, w, body, req, um, conv->own_conv, *h);
    struct mp_recall_request rq = {.seen = mp_there_seen,
                                   .seen_ctx = &in,
                                   .now_ms = now_ms,
                                   .held = *held,
                                   .nheld = (*h)->nfacts};
    bool summary_later =
        conv->reused && summary_time(um) != 0 && summary_time(um) != (*h)->summary_at_ms;
    *trc = choose_tail(w, body, req, um, src, p, &rq, bare_head(*h) ? 0 : (*h)->tokens,
                       !conv->head_summary_only, summary_later, *kept, rp);
    return *trc == MP_NOTFOUND ? MP_OK : *trc;
}

size_t mp_inject_tail_bytes(const struct mp_inject_tail *t)
{
    size_t n = t->part.len + t->part.nfacts * sizeof(*t->part.fact_ids) +
               t->part.npast * sizeof(*t->part.past) + t->npicks * sizeof(*t->picks);
    for (size_t k = 0; k < t->npicks; k++)
        n += t->picks[k].len;
    return n;
}

void mp_inject_tail_cleanup(struct mp_inject_tail *t)
{
    mp_inject_head_cleanup(&t->part);
    free(t->picks);
    free(t->pick_text);
    memset(t, 0, sizeof(*t));
}

/* The replayed messages of pt (rp's picks, in the wire's order) into t:
 * copies of their texts, and each as a past message of t->part (by its
 * full text: checked as the tail's past messages are). MP_OK, MP_ENOMEM. */
static int keep_replay(const struct mp_usermem *um, const struct mp_recall_plan *rp,
                       const struct parts *pt, struct mp_inject_tail *t)
{
    size_t bytes = 0, n = pt->npicks, np = t->part.npast;
    if (n == 0)
        return MP_OK;
    for (size_t k = 0; k < n; k++)
        bytes += pt->picks[k].len;
    t->picks = malloc(n * sizeof(*t->picks));
    t->pick_text = malloc(bytes > 0 ? bytes : 1);
    struct mp_inject_past *past = realloc(t->part.past, (np + n) * sizeof(*past));
    if (past != NULL)
        t->part.past = past;
    if (t->picks == NULL || t->pick_text == NULL || past == NULL)
        return MP_ENOMEM;
    char *w = t->pick_text;
    for (size_t k = 0; k < n; k++) {
        const struct mp_mem_message *m = &um->messages[rp->picks[n - 1 - k].idx];
        t->picks[k] = pt->picks[k];
        memcpy(w, pt->picks[k].text, pt->picks[k].len);
        t->picks[k].text = w;
        w += pt->picks[k].len;
        past[np + k] = past_of(m);
    }
    t->npicks = n;
    t->part.npast = np + n;
    t->part.tokens += pt->replay_tokens;
    return MP_OK;
}

/* The tail this request's question got (pt's text, rp's facts and past
 * messages: NULL when it found nothing), kept for the loop's next rounds
 * into *t (see inject.h). MP_OK; MP_NOTFOUND: no question; MP_ENOMEM. */
static int keep_tail(const struct mp_chatreq *req, const struct mp_usermem *um,
                     const struct mp_recall_params *p, const struct mp_recall_plan *rp,
                     const struct parts *pt, struct mp_inject_tail *t)
{
    size_t q, prev, nfacts = rp != NULL ? rp->nfacts : 0, npast = rp != NULL ? rp->npast : 0;
    mp_chatreq_question(req, &q, &prev);
    if (q == req->nmsgs)
        return MP_NOTFOUND;
    bool text = pt->tail_text_len > 0;
    *t = (struct mp_inject_tail){.anchor_hash = req->msgs[q].text_hash, .anchor_at = q};
    struct mp_inject_head *h = &t->part;
    *h = (struct mp_inject_head){.len = text ? pt->tail_text_len : 0,
                                 .tokens = pt->tail_tokens,
                                 .nfacts = text ? nfacts : 0,
                                 .npast = text ? npast : 0,
                                 .memory_epoch = um->memory_epoch,
                                 .sections = p->sections,
                                 .budget_tokens = p->budget_tokens,
                                 .inject_pii = p->inject_pii};
    h->text = text ? malloc(h->len) : NULL;
    h->fact_ids = h->nfacts > 0 ? malloc(h->nfacts * sizeof(*h->fact_ids)) : NULL;
    h->past = h->npast > 0 ? malloc(h->npast * sizeof(*h->past)) : NULL;
    if ((text && h->text == NULL) || (h->nfacts > 0 && h->fact_ids == NULL) ||
        (h->npast > 0 && h->past == NULL)) {
        mp_inject_tail_cleanup(t);
        return MP_ENOMEM;
    }
    if (text)
        memcpy(h->text, pt->tail, h->len);
    for (size_t i = 0; i < h->nfacts; i++)
        h->fact_ids[i] = rp->facts[i]->id;
    for (size_t i = 0; i < h->npast; i++) {
        const struct mp_mem_message *m = rp->past[i];
        h->past[i] = past_of(m);
    }
    int rc = rp != NULL ? keep_replay(um, rp, pt, t) : MP_OK;
    if (rc != MP_OK)
        mp_inject_tail_cleanup(t);
    return rc;
}

int mp_inject_build_conv(const struct mp_wire *w, const char *body, size_t len,
                         const struct mp_chatreq *req, const struct mp_usermem *um,
                         const struct mp_recall_source *src, const struct mp_recall_params *p,
                         int64_t now_ms, struct mp_inject_conv *conv, struct mp_splice *out,
                         struct mp_inject_plan *plan)
{
    const struct mp_inject_head *h = NULL;
    const struct mp_mem_entity **held = NULL;
    const struct mp_inject_tail *kept = NULL;
    struct mp_recall_plan rp;
    struct parts pt = {0};
    int trc = MP_NOTFOUND;
    int rc = conv_choose(w, body, req, um, src, p, now_ms, conv, &h, &held, &kept, &rp, &trc);
    conv->has_built_tail = false;
    if (rc == MP_OK)
        rc = conv_parts(h, trc == MP_OK ? &rp : NULL, kept, um, &pt);
    if (rc == MP_OK) {
        struct mp_wire_memory mem = {pt.block, pt.block_len, pt.picks, pt.npicks,
                                     pt.tail,  pt.tail_len,  true};
        rc = w->splice(body, len, req, &mem, out);
    }
    if ((rc == MP_OK || rc == MP_NOTFOUND) && kept == NULL && conv->built_tail != NULL) {
        int krc = keep_tail(req, um, p, trc == MP_OK ? &rp : NULL, &pt, conv->built_tail);
        conv->has_built_tail = krc == MP_OK; /* none kept: the next round builds one */
    }
    if (rc == MP_OK && plan != NULL)
        report_conv(h, trc == MP_OK ? &rp : NULL, kept, &pt, plan);
    if (trc == MP_OK)
        mp_recall_plan_cleanup(&rp);
    free(pt.picks);
    free(pt.tail);
    free(held);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        mp_inject_head_cleanup(conv->built);
    return rc;
}

int mp_inject_choose_conv(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                          const struct mp_usermem *um, const struct mp_recall_source *src,
                          const struct mp_recall_params *p, int64_t now_ms,
                          struct mp_inject_conv *conv, struct mp_inject_conv_choice *out)
{
    struct parts pt = {0};
    int trc = MP_NOTFOUND;
    memset(out, 0, sizeof(*out));
    const struct mp_inject_tail *kept = NULL;
    int rc = conv_choose(w, body, req, um, src, p, now_ms, conv, &out->head, &out->held, &kept,
                         &out->tail, &trc);
    out->has_tail = trc == MP_OK;
    if (rc == MP_OK) {
        int prc = conv_parts(out->head, out->has_tail ? &out->tail : NULL, kept, um, &pt);
        if (prc == MP_OK) {
            out->tokens = pt.tokens;
            out->head_sent = pt.block_len > 0 && pt.block == out->head->text;
        } else if (prc != MP_NOTFOUND) {
            rc = prc;
        }
    }
    free(pt.picks);
    free(pt.tail);
    if (rc != MP_OK) {
        mp_inject_conv_choice_cleanup(out);
        mp_inject_head_cleanup(conv->built);
    }
    return rc;
}

void mp_inject_conv_choice_cleanup(struct mp_inject_conv_choice *c)
{
    if (c->has_tail)
        mp_recall_plan_cleanup(&c->tail);
    free(c->held);
    memset(c, 0, sizeof(*c));
}

int mp_inject_read_question(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                            const struct mp_recall_params *p, struct mp_inject_question *asked)
{
    struct mp_recall_request rq = {0};
    char *buf = NULL;
    memset(asked, 0, sizeof(*asked));
    if (p->retrieval != MP_RETRIEVAL_RELEVANT || p->terms == NULL)
        return MP_OK;
    int rc = read_question(w, body, req, p, &rq, &buf);
    if (rc == MP_OK && rq.question_len > 0) {
        memcpy(asked->text, rq.question, rq.question_len);
        asked->len = rq.question_len;
    }
    if (rc == MP_OK && rq.previous_len > 0) {
        memcpy(asked->prev, rq.previous, rq.previous_len);
        asked->prev_len = rq.previous_len;
    }
    free(buf);
    return rc;
}

int mp_inject_head_copy(const struct mp_inject_head *h, struct mp_inject_head *out)
{
    *out = *h;
    out->block = NULL;
    out->text = h->len > 0 ? malloc(h->len) : NULL;
    out->fact_ids = h->nfacts > 0 ? malloc(h->nfacts * sizeof(*h->fact_ids)) : NULL;
    out->past = h->npast > 0 ? malloc(h->npast * sizeof(*h->past)) : NULL;
    if ((h->len > 0 && out->text == NULL) || (h->nfacts > 0 && out->fact_ids == NULL) ||
        (h->npast > 0 && out->past == NULL)) {
        mp_inject_head_cleanup(out);
        return MP_ENOMEM;
    }
    if (h->len > 0)
        memcpy(out->text, h->text, h->len);
    if (h->nfacts > 0)
        memcpy(out->fact_ids, h->fact_ids, h->nfacts * sizeof(*h->fact_ids));
    if (h->npast > 0)
        memcpy(out->past, h->past, h->npast * sizeof(*h->past));
    return MP_OK;
}
