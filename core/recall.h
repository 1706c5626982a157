/* Recall: what of a user's memory reaches a request, chosen within a token
 * budget. Pure choice: it renders nothing (memblock.c writes the block and
 * says what each piece costs) and reads no request (the caller says which
 * messages the request already holds). Deterministic: the same memory,
 * parameters and request give the same plan.
 *
 * What can be injected is one system message, the memory block (its text:
 * memblock.h), then in buffer modes recent messages as ordinary
 * user/assistant messages. A section appears only when its bit is set and
 * something of it fits; pii facts, a pii summary and pii messages only with
 * inject_pii. A buffered message the request already carries (same role and
 * same text as one of its messages) is skipped, not injected twice.
 *
 * A strategy fills a struct mp_recall_plan; each one packs its choice under
 * the same budget. Budget: everything injected fits budget_tokens, each
 * message costing mp_memblock_message_tokens(text bytes) (memblock.h: the
 * block text as a whole, each buffered message's content); plan->tokens is
 * that sum. The fit tests are on the exact bytes memblock will write.
 *
 * The recent strategy (mp_recall_recent) takes items in this order, each
 * with what budget the earlier ones left:
 *   1. the intro; if it does not fit, nothing is injected;
 *   2. the facts (PROFILE), by trust class (higher first), then confidence
 *      (higher first, NaN as 0), then recency (observed time, newer first),
 *      then key; each whole, or skipped when it does not fit (a later,
 *      shorter fact may still fit);
 *   3. the summary (SUMMARY), whole, or cut by memblock's cut rule (left out
 *      when less than MP_MEMBLOCK_MIN_CUT bytes of it would fit);
 *   4. the buffered messages (BUFFER), newest first while each fits whole;
 *      the first that does not is cut the same way (or left out) and ends
 *      the choice; they are injected oldest first.
 * Nothing is injected when no fact, summary or message made it (the intro
 * alone is never sent). Nothing is filtered by age here: the retention
 * sweeper purges expired items. */
#ifndef MP_CORE_RECALL_H
#define MP_CORE_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "usermem.h"

#define MP_RECALL_PROFILE 1
#define MP_RECALL_SUMMARY 2
#define MP_RECALL_BUFFER  4

/* The sections a mode injects: buffer -> BUFFER; summary -> SUMMARY|BUFFER;
 * entity -> PROFILE; hybrid -> all three; off -> 0. */
int mp_recall_sections(enum mp_memory_mode mode);

struct mp_recall_params {
    int sections;           /* bit set of MP_RECALL_*: see mp_recall_sections() */
    uint32_t budget_tokens; /* everything injected (block + messages) must fit */
    bool inject_pii; /* false: facts, messages and a summary flagged pii are never injected */
};

/* Whether the request already holds a message of this role and text
 * (text[0..len), borrowed for the call). */
typedef bool (*mp_recall_seen_fn)(void *ctx, enum mp_role role, const char *text, size_t len);

/* The request, as far as recall needs it. */
struct mp_recall_request {
    mp_recall_seen_fn seen; /* NULL: the request holds none of the buffered messages */
    void *seen_ctx;         /* passed to seen */
    int64_t now_ms;         /* the request's time */
};

/* A buffered message chosen. */
struct mp_recall_pick {
    size_t idx; /* in um->messages */
    size_t len; /* bytes of its content injected */
    bool cut;   /* len < content_len: the ellipsis follows */
};

/* What was chosen. Pointers are into the plan's own array (facts, picks:
 * valid until mp_recall_plan_cleanup()) and from there into um (borrowed:
 * valid while um is). */
struct mp_recall_plan {
    const struct mp_mem_entity **facts; /* the profile line, in order */
    size_t nfacts;
    size_t summary_len;           /* bytes of um->summary.text in the block; 0: no summary line */
    bool summary_cut;             /* summary_len < text_len: the summary was cut to fit */
    struct mp_recall_pick *picks; /* buffered messages, newest first */
    size_t npicks;
    bool message_cut;     /* the oldest picked message was cut to fit */
    size_t ndeduplicated; /* buffered messages skipped because the request has them (of those
                             looked at before the budget ran out) */
    size_t block_len;     /* bytes of the block's text (mp_memblock_render) */
    uint32_t tokens;      /* estimate of everything injected, <= budget_tokens */
};

/* The recent strategy (see above). um, p and rq are borrowed; rq may be
 * NULL (nothing deduplicated). Returns MP_OK with *plan (free its arrays
 * with mp_recall_plan_cleanup()); MP_NOTFOUND when nothing qualifies (no
 * section requested, nothing stored for them, everything deduplicated, or
 * a budget too small for the intro plus one item); MP_ENOMEM. *plan is
 * untouched unless MP_OK. */
int mp_recall_recent(const struct mp_usermem *um, const struct mp_recall_params *p,
                     const struct mp_recall_request *rq, struct mp_recall_plan *plan);

/* Frees the plan's arrays; the plan is then empty. */
void mp_recall_plan_cleanup(struct mp_recall_plan *plan);

#endif
