/* Recall strategies: choosing what of a user's memory fits a request's
 * budget. It writes no text: every fit test asks memblock.c what a piece
 * adds, in exact bytes of the block, and it reads no request (the caller's
 * seen callback says what the request holds).
 *
 * The block is one message, so its cost is that of its whole text, not the
 * sum of its pieces' estimates: the plan tracks the block's bytes and the
 * block fits while they stay within the largest text the budget allows.
 * Buffered messages are priced one by one with what budget the block left.
 * Measuring is bounded by what can fit, not by what is stored: a fact
 * value is measured up to its cap, a summary up to the room left. */
#include "recall.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "memblock.h"
#include "status.h"

/* A plan being filled. */
struct pack {
    const struct mp_usermem *um;
    const struct mp_recall_params *p;
    size_t max_block; /* largest block text the budget allows */
    struct mp_recall_plan plan;
};

int mp_recall_sections(enum mp_memory_mode mode)
{
    switch (mode) {
    case MP_MEMORY_BUFFER:
        return MP_RECALL_BUFFER;
    case MP_MEMORY_SUMMARY:
        return MP_RECALL_SUMMARY | MP_RECALL_BUFFER;
    case MP_MEMORY_ENTITY:
        return MP_RECALL_PROFILE;
    case MP_MEMORY_HYBRID:
        return MP_RECALL_PROFILE | MP_RECALL_SUMMARY | MP_RECALL_BUFFER;
    case MP_MEMORY_OFF:
        break;
    }
    return 0;
}

/* What the block can still take, in bytes. */
static size_t block_room(const struct pack *k)
{
    return k->max_block - k->plan.block_len;
}

/* ---- facts ---- */

static double confidence(const struct mp_mem_entity *e)
{
    return e->confidence == e->confidence ? e->confidence : 0.0; /* NaN sorts as 0 */
}

/* Trust class, then confidence, then recency, higher first; then key, so
 * the order does not depend on qsort. */
static int fact_cmp(const void *pa, const void *pb)
{
    const struct mp_mem_entity *a = *(const struct mp_mem_entity *const *)pa;
    const struct mp_mem_entity *b = *(const struct mp_mem_entity *const *)pb;
    double ca = confidence(a), cb = confidence(b);
    if (a->trust != b->trust)
        return a->trust > b->trust ? -1 : 1;
    if (ca != cb)
        return ca > cb ? -1 : 1;
    if (a->observed_at_ms != b->observed_at_ms)
        return a->observed_at_ms > b->observed_at_ms ? -1 : 1;
    return strncmp(a->key, b->key, sizeof(a->key));
}

static bool fact_eligible(const struct mp_mem_entity *e, bool inject_pii)
{
    return (inject_pii || !e->pii) && e->key[0] != '\0' && e->value != NULL && e->value_len > 0;
}

/* qsort for many facts; for the usual few dozen a binary insertion sort,
 * which makes a third of qsort's indirect comparator calls. fact_cmp is a
 * total order (keys are unique), so both give the same result. */
static void sort_facts(const struct mp_mem_entity **f, size_t n)
{
    if (n > 64) {
        qsort(f, n, sizeof(*f), fact_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const struct mp_mem_entity *e = f[i];
        size_t lo = 0, hi = i;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (fact_cmp(&f[mid], &e) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&f[lo + 1], &f[lo], (i - lo) * sizeof(*f));
        f[lo] = e;
    }
}

/* The eligible facts in order, into plan.facts; then each one that still
 * fits is kept there, the others dropped. */
static void add_profile(struct pack *k)
{
    const struct mp_usermem *um = k->um;
    const struct mp_mem_entity **f = k->plan.facts;
    size_t n = 0;
    for (size_t i = 0; i < um->nentities; i++) {
        if (fact_eligible(&um->entities[i], k->p->inject_pii))
            f[n++] = &um->entities[i];
    }
    sort_facts(f, n);
    for (size_t i = 0; i < n; i++) {
        size_t bytes = mp_memblock_fact_bytes(f[i], k->plan.nfacts == 0, block_room(k));
        if (bytes > 0) {
            k->plan.block_len += bytes;
            f[k->plan.nfacts++] = f[i];
        }
    }
}

/* ---- summary ---- */

static void add_summary(struct pack *k)
{
    const struct mp_mem_summary *sm = &k->um->summary;
    size_t keep = 0, bytes;
    if (sm->text == NULL || sm->text_len == 0 || (sm->pii && !k->p->inject_pii))
        return;
    bytes = mp_memblock_summary_bytes(sm->text, sm->text_len, block_room(k), &keep);
    if (bytes == 0)
        return;
    k->plan.block_len += bytes;
    k->plan.summary_len = keep;
    k->plan.summary_cut = keep < sm->text_len;
}

/* ---- buffered messages ---- */

static bool seen(const struct mp_recall_request *rq, const struct mp_mem_message *m)
{
    return rq != NULL && rq->seen != NULL &&
           rq->seen(rq->seen_ctx, m->role, m->content, m->content_len);
}

/* Picks the newest messages into what budget is left (in tokens), newest
 * first; the oldest taken may be cut. Returns the tokens they cost. */
static uint32_t pick_messages(struct pack *k, const struct mp_recall_request *rq, uint32_t left)
{
    const struct mp_usermem *um = k->um;
    uint32_t used = 0;
    for (size_t i = um->nmessages; i-- > 0;) {
        const struct mp_mem_message *m = &um->messages[i];
        struct mp_recall_pick *pk = &k->plan.picks[k->plan.npicks];
        size_t room;
        if (m->content == NULL || m->content_len == 0 || (m->pii && !k->p->inject_pii))
            continue;
        if (seen(rq, m)) {
            k->plan.ndeduplicated++;
            continue;
        }
        room = mp_memblock_message_room(left - used);
        pk->idx = i;
        pk->len = mp_memblock_fit_text(m->content, m->content_len, room);
        pk->cut = pk->len < m->content_len;
        if (pk->len == 0)
            break;
        used += mp_memblock_message_tokens(pk->len + (pk->cut ? MP_MEMBLOCK_ELLIPSIS_LEN : 0));
        k->plan.npicks++;
        if (pk->cut) {
            k->plan.message_cut = true;
            break;
        }
    }
    return used;
}

/* ---- the plan ---- */

/* One allocation, which plan.facts starts, holds the fact order and the
 * picks, each only when its section is asked for. */
static int plan_alloc(struct pack *k)
{
    size_t al = alignof(max_align_t), facts = 0, picks = 0;
    char *p;
    if (k->p->sections & MP_RECALL_PROFILE)
        facts = (k->um->nentities * sizeof(*k->plan.facts) + al - 1) / al * al;
    if (k->p->sections & MP_RECALL_BUFFER)
        picks = k->um->nmessages * sizeof(*k->plan.picks);
    if (facts + picks == 0)
        return MP_OK;
    p = malloc(facts + picks);
    if (p == NULL)
        return MP_ENOMEM;
    k->plan.facts = (const struct mp_mem_entity **)(void *)p;
    k->plan.picks = (struct mp_recall_pick *)(void *)(p + facts);
    return MP_OK;
}

void mp_recall_plan_cleanup(struct mp_recall_plan *plan)
{
    free(plan->facts); /* the start of the one allocation, if any */
    memset(plan, 0, sizeof(*plan));
}

int mp_recall_recent(const struct mp_usermem *um, const struct mp_recall_params *p,
                     const struct mp_recall_request *rq, struct mp_recall_plan *plan)
{
    struct pack k = {.um = um, .p = p, .max_block = mp_memblock_message_room(p->budget_tokens)};
    int rc;
    if (um == NULL || p->sections == 0 || k.max_block < MP_MEMBLOCK_INTRO_LEN)
        return MP_NOTFOUND;
    rc = plan_alloc(&k);
    if (rc != MP_OK)
        return rc;
    k.plan.block_len = MP_MEMBLOCK_INTRO_LEN;
    if (p->sections & MP_RECALL_PROFILE)
        add_profile(&k);
    if (p->sections & MP_RECALL_SUMMARY)
        add_summary(&k);
    k.plan.tokens = mp_memblock_message_tokens(k.plan.block_len);
    if (p->sections & MP_RECALL_BUFFER)
        k.plan.tokens += pick_messages(&k, rq, p->budget_tokens - k.plan.tokens);
    if (k.plan.nfacts == 0 && k.plan.summary_len == 0 && k.plan.npicks == 0) {
        mp_recall_plan_cleanup(&k.plan);
        return MP_NOTFOUND;
    }
    *plan = k.plan;
    return MP_OK;
}
