/* The recent strategy, the sections per mode and the plan's end. What
 * fits and what it costs is recall_fill.c's (shared with the relevant
 * strategy, recall_relevant.c); this file says the order: facts by trust,
 * confidence, recency and key, then the summary, then the newest messages.
 * It scores nothing and reads no request. */
#include "recall/recall.h"

#include <stdlib.h>
#include <string.h>

#include "recall/memblock.h"
#include "recall/recall_fill.h"
#include "status.h"

/* Whether a character of the CJK blocks (U+3000..U+9FFF: punctuation,
 * Kana, Han; lead bytes E3..E9) starts at text[i]. */
static bool cjk_start(const char *text, size_t i)
{
    unsigned char b = (unsigned char)text[i];
    return b >= 0xE3 && b <= 0xE9;
}

const char *mp_recall_question_tail(const char *text, size_t *len, size_t max)
{
    if (*len <= max)
        return text;
    size_t at = *len - max;
    while (at < *len && text[at - 1] != ' ' && text[at - 1] != '\n' && !cjk_start(text, at))
        at++;
    if (at == *len) /* one long word: its last max bytes, at a UTF-8 start */
        for (at = *len - max; at < *len && ((unsigned char)text[at] & 0xC0) == 0x80; at++)
            ;
    *len -= at;
    return text + at;
}

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
        return MP_RECALL_PROFILE | MP_RECALL_PAST | MP_RECALL_SUMMARY | MP_RECALL_BUFFER;
    case MP_MEMORY_OFF:
        break;
    }
    return 0;
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

/* The eligible facts of um in order, into plan.facts (sized for all of
 * them, so taking one never grows it: each is appended at or before the
 * place it is read from); each one that still fits is kept. */
static int add_profile(struct mp_recall_fill *f)
{
    const struct mp_usermem *um = f->um;
    const struct mp_mem_entity **sorted;
    size_t n = 0;
    if (um->nentities == 0)
        return MP_OK;
    sorted = malloc(um->nentities * sizeof(*sorted));
    if (sorted == NULL)
        return MP_ENOMEM;
    f->plan.facts = sorted;
    f->facts_room = um->nentities;
    for (size_t i = 0; i < um->nentities; i++) {
        if (mp_recall_fill_fact_ok(f, &um->entities[i]))
            sorted[n++] = &um->entities[i];
    }
    sort_facts(sorted, n);
    for (size_t i = 0, misses = 0; i < n && misses < MP_RECALL_FACT_MISSES; i++) {
        /* borrowed, no growth: cannot fail */
        misses = mp_recall_fill_fact(f, sorted[i]) == 1 ? 0 : misses + 1;
    }
    return MP_OK;
}

int mp_recall_recent(const struct mp_usermem *um, const struct mp_recall_source *src,
                     const struct mp_recall_params *p, const struct mp_recall_request *rq,
                     struct mp_recall_plan *plan)
{
    struct mp_recall_fill f;
    int rc = mp_recall_fill_init(&f, um, p, rq);
    if (rc != MP_OK)
        goto out;
    if (p->sections & MP_RECALL_PROFILE)
        rc = src != NULL ? mp_recall_fill_ranked(&f, src, NULL, NULL) : add_profile(&f);
    if (rc != MP_OK)
        goto out;
    mp_recall_fill_summary(&f);
    rc = mp_recall_fill_messages(&f);
    if (rc != MP_OK)
        goto out;
    return mp_recall_fill_finish(&f, plan);
out:
    mp_recall_fill_cleanup(&f);
    return rc;
}

void mp_recall_plan_cleanup(struct mp_recall_plan *plan)
{
    for (size_t i = 0; i < plan->npast; i++) {
        const struct mp_mem_message *m = plan->past[i];
        if (plan->past_ahead[i].text != NULL)
            continue; /* a buffered turn: um's */
        free(m->content);
        free((void *)m);
    }
    while (plan->texts != NULL) {
        struct mp_recall_texts *c = plan->texts;
        plan->texts = c->next;
        free(c);
    }
    free(plan->facts);
    free(plan->past);
    free(plan->past_ahead);
    free(plan->picks);
    memset(plan, 0, sizeof(*plan));
}
