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
 * with what budget the earlier ones left (the PAST bit is ignored):
 *   1. the intro; if it does not fit, nothing is injected;
 *   2. the facts (PROFILE), by trust class (higher first), then confidence
 *      (higher first, NaN as 0), then recency (observed time, newer first),
 *      then key; each whole, or skipped when it does not fit (a later,
 *      shorter fact may still fit), until MP_RECALL_FACT_MISSES in a row
 *      did not;
 *   3. the summary (SUMMARY), whole, or cut by memblock's cut rule (left out
 *      when less than MP_MEMBLOCK_MIN_CUT bytes of it would fit);
 *   4. the buffered messages (BUFFER), newest first while each fits whole;
 *      the first that does not is cut the same way (or left out) and ends
 *      the choice; they are injected oldest first.
 * Nothing is injected when no fact, summary or message made it (the intro
 * alone is never sent). Nothing is filtered by age here: the retention
 * sweeper purges expired items.
 *
 * Where the facts come from: without a source, um->entities (sorted here);
 * with a source (struct mp_recall_source: the store's view of facts kept
 * apart, with the search indexes), um carries only the summary and the
 * buffered messages and the facts come from the source, um->entities being
 * ignored. Either way the plan borrows the facts it took.
 *
 * The relevant strategy (mp_recall_relevant) asks which facts and which
 * archived past messages answer the request's question (its newest user
 * message, with the turn before it at lower weight, each read in its
 * language, identified with the user's usual language um's head tells
 * (core/recall/userlang.h) as the prior: core/recall/relevance.h,
 * FACTS and TURNS presets), and
 * splits the budget between four sections by the params' shares
 * (percent). The intro and the block's framing come off the top; R is the
 * budget left, and each section's share of R is its own: in bytes of
 * block text (4 per token) for the profile, past and summary lines, in
 * tokens for the buffered messages.
 *
 * The floor: a fact or an archived message "matches" when relevance
 * scores it (above 0: relevance.h) and
 *   - it holds a word of the question itself (a stem of the question, of
 *     the turn before it, of their lexicon relations or spelling
 *     neighbours: the hit's holds), or it is the item right next to one
 *     that does in its session (one step either way: the hit's beside;
 *     smoothing scores three steps, and the further ones are left out),
 *   - and it scores at least MP_RECALL_FLOOR_FACTS percent (a fact) or
 *     MP_RECALL_FLOOR_PAST percent (a message) of the best score of its
 *     kind for the question.
 * Nothing below the floor is offered, whatever room is left: the budget
 * is a ceiling, not a target. Two rounds:
 *   round 1, each section within its own share (and the budget):
 *     1. PROFILE: the facts that matched, best value per token first, each
 *        whole or skipped;
 *     2. PAST: the archived messages that matched, best value per token
 *        first, each whole (its text capped: memblock.h) or skipped;
 *     3. PROFILE again: the strongest other facts (ranked_facts order, the
 *        recent order) while the profile's share lasts, at most
 *        MP_RECALL_PROFILE_MAX of them in steps 3 and 10 together (a small
 *        profile, whatever the question);
 *     4. SUMMARY: whole, or cut as in the recent strategy;
 *     5. BUFFER: the newest messages, as in the recent strategy (the first
 *        that does not fit is cut or left out, and ends the round);
 *   round 2, what is left of the whole budget, whichever section left it,
 *   offered in this order (each continuing where round 1 stopped):
 *     6. the facts that matched and were skipped, 7. the past messages
 *     that matched and were skipped, 8. the summary if it was cut or left
 *     out, 9. the older buffered messages, 10. the strongest other facts.
 * So the relevant items get the unused shares first, then the summary and
 * the buffer, and a user whose facts all match gets the whole budget for
 * them. A section not asked for (its bit) leaves its whole share to round
 * 2. A question that matches nothing (or none at all, no tokenizer, no
 * index) gets the MP_RECALL_PROFILE_MAX strongest facts (steps 3 and 10)
 * and no past message. At most MP_RECALL_CANDIDATES matched items of each
 * kind are looked at.
 *
 * Counted once: a fact and an archived message of the same turn (the
 * message's request_id is mp_usermem_fact_turn() of the fact: the fact was
 * extracted from that turn; an import is no turn) are both in the block
 * only when the later one adds to the question: whichever is taken first
 * stays, in the order above, and an item of its turn offered later (a
 * message after the turn's facts, a fact after the turn's messages) goes
 * in only when it holds a word of the question (a stem of the question's
 * own words, not of the turn before) that none of the turn's items in the
 * block holds (a fact's words: its key's and its value's). The facts a
 * conversation's head holds (rq->held) count as taken: a fact is not the
 * words of its turn, so the head holding it leaves the turn's messages to
 * this rule (core/wire/there.h, rule 4). So a matched fact keeps out a
 * message of its turn that only repeats it, and lets in one that says
 * more of what was asked ("my staging cluster is called heron-7" beside
 * vector_store: Weaviate). An
 * archived message whose seq is that of a buffered message (um->messages)
 * is not in the past line when the buffer may be replayed with a share of
 * its own (BUFFER, share_buffer > 0): it is the buffer's, injected there
 * if it fits; otherwise (no BUFFER: upstream state; share_buffer 0: a
 * client that resends its conversation, whose replay takes what relevance
 * leaves) it is a past message as any other, and a buffered message the
 * past line took is not replayed. A message that is there already (the seen callback: buffered or
 * archived) is left out. pii as in the recent strategy. The past line is written
 * oldest first (at_ms, then seq), whatever order the messages were taken
 * in.
 *
 * In the notes (buffer_in_notes; either strategy): the buffered messages
 * are not picks but past messages, each turn whole, so that a turn never
 * reaches the model as a bare user message with its reply elsewhere: the
 * BUFFER step walks them newest first a turn at a time (a reply with the
 * user message of the same request right before it, when that one may go
 * in and is not there already; else the message alone), each turn into
 * the past line when all of it fits the block and the buffer's share
 * (its bytes at 4 a token; the past line's share is not theirs), the
 * first that does not ending the step (round 2 offers it again). A turn
 * half of which the past line took already (a relevant reply) gets its
 * other half there, next to it. No cut but the past line's own
 * (MP_MEMBLOCK_PAST_TEXT_MAX); plan->picks stays empty. */
#ifndef MP_CORE_RECALL_H
#define MP_CORE_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "memory/usermem.h"

struct mp_memblock_ahead;

struct mp_recall_dense;
struct mp_recall_fuse_params;

struct mp_inserted_patterns;
struct mp_relevance_index;
struct mp_terms;

#define MP_RECALL_PROFILE 1
#define MP_RECALL_SUMMARY 2
#define MP_RECALL_BUFFER  4
#define MP_RECALL_PAST    8 /* relevant archived messages (relevant strategy only) */

#define MP_RECALL_CANDIDATES 256 /* matched facts, and matched messages, looked at */
/* The relevance floor (see above): a fact, a past message, scores at
 * least this percent of the best of its kind. Chosen on the development
 * sets as evidence per billed token (tests/bench/recall/README.md, "The
 * relevance floor"): the most tokens saved with every set's evidence
 * within half a point at 300, 500 and 1,500 tokens; facts on LoCoMo's (the
 * one set of facts), messages on the multilingual needles (16 lost two). */
#define MP_RECALL_FLOOR_FACTS 10
#define MP_RECALL_FLOOR_PAST  15
/* The strongest facts that did not match, at most (see above): a small
 * profile a question that matches nothing still gets. Any bound keeps the
 * development sets' evidence; 4 costs about 30 tokens. */
#define MP_RECALL_PROFILE_MAX 4

/* Whether a relevance hit (relevance.h: score, holds, beside) of a fact
 * (fact) or an archived message is above the floor, best the best score
 * of its kind for the question. */
bool mp_recall_above_floor(bool fact, double score, double best, bool holds, bool beside);
/* Bytes of the newest user message (and of the turn before it) that make
 * the question: the last ones, from a word's start. A long message's
 * question is at its end, and scoring costs what it reads. */
#define MP_RECALL_QUESTION_MAX 320

/* The question window of text[0..*len) (borrowed): its last max bytes at
 * most, from the start of a word (after a space or a line break), or from
 * the start of a Han, Kana or CJK punctuation character (Chinese and
 * Japanese put no space between words) when one comes before; a text of
 * one long word from its last max bytes at a UTF-8 start. Returns where
 * the window starts, *len its length. */
const char *mp_recall_question_tail(const char *text, size_t *len, size_t max);
/* A walk of the facts in the recent order stops after this many eligible
 * facts in a row that do not fit: a shorter one further down may be left
 * out, but a user with 100,000 facts is not read whole on every request. */
#define MP_RECALL_FACT_MISSES 16

/* The sections a mode injects: buffer -> BUFFER; summary -> SUMMARY|BUFFER;
 * entity -> PROFILE; hybrid -> all four; off -> 0. */
int mp_recall_sections(enum mp_memory_mode mode);

struct mp_recall_params {
    int sections;           /* bit set of MP_RECALL_*: see mp_recall_sections() */
    uint32_t budget_tokens; /* everything injected (block + messages) must fit */
    bool inject_pii; /* false: facts, messages and a summary flagged pii are never injected */
    enum mp_retrieval retrieval; /* which strategy inject.c asks (relevant needs a source) */
    /* The calling thread's tokenizer (borrowed; mp_terms is not
     * thread-safe); NULL: nothing is scored, nothing matches. */
    struct mp_terms *terms;
    /* The relevant strategy's split of the budget, in percent (config:
     * summing to 100; a sum under 100 leaves the rest to round 2). */
    unsigned share_profile, share_past, share_summary, share_buffer;
    /* Text a client inserts into user messages (core/wire/inserted.h,
     * borrowed): left out of the question; NULL: the whole text. */
    const struct mp_inserted_patterns *inserted;
    /* The buffered messages go into the block's past line, turn by turn,
     * instead of as messages of their own (see "In the notes" above). */
    bool buffer_in_notes;
    /* The relevant strategy's round 1 offers the past line the user's
     * newest buffered messages first, before the question's matches (not
     * there already: seen; newest first, each whole, until one does not
     * fit; the matches get what the line's share leaves, and round 2): a
     * conversation's head (core/wire/inject.c), where what the user said
     * last in their other conversations is kept, cached, for every turn.
     * (Offered after the matches and the strongest facts, they found no
     * room on LoCoMo: the head's evidence was the matches' alone.) false:
     * not offered. */
    bool past_recent;
};

/* Whether message m (a buffered or an archived one, borrowed for the
 * call) is already there for the request, so that it is not injected: the
 * request holds it, or it is a turn of the request's own conversation,
 * or it is in the conversation's head (core/wire/inject.c decides). Its
 * answer for a message does not change during a strategy's call (recall
 * asks once a message it offers again). */
typedef bool (*mp_recall_seen_fn)(void *ctx, const struct mp_mem_message *m);

/* The request, as far as recall needs it. Strings are borrowed for the
 * call. */
struct mp_recall_request {
    mp_recall_seen_fn seen; /* NULL: no message is there already */
    void *seen_ctx;         /* passed to seen */
    int64_t now_ms;         /* the request's time */
    const char *question;   /* the newest user message's text; NULL: none (nothing matches) */
    size_t question_len;
    const char *previous; /* the turn before it (lower weight); NULL: none */
    size_t previous_len;
    /* Facts injected elsewhere already (a conversation's head: the same
       pointers the source gives), never taken again; NULL: none. */
    const struct mp_mem_entity *const *held;
    size_t nheld;
};

/* The store's view of one user's facts and archived messages, for the
 * length of one call (every pointer borrowed; each function gets ctx).
 * fact is needed with a facts index, message with a turns index;
 * ranked_facts NULL: no facts beyond the matched ones. Recall reads the
 * indexes only through mp_relevance_score and mp_relevance_pack; an
 * item's tokens should be the estimate of what memblock writes for it
 * (mp_memblock_estimate_tokens of mp_memblock_fact_bytes or
 * mp_memblock_past_bytes, not first): packing orders by it, and the
 * relevant strategy fetches no item the estimate says cannot fit
 * (mp_memblock_past_least, _fact_least); the fit is measured exactly. The facts it gives are its
 * own and stay valid as long as the source does (the plan borrows them), so a source decodes each
 * fact once, whichever call asks first: a fact is the same pointer in every call that gives it
 * (recall tells the facts taken apart by it). */
struct mp_recall_source {
    void *ctx;
    /* Facts in the recent order (trust desc, confidence desc, observed_at
     * desc, key asc): fn once per fact (the source's) until fn returns
     * non-zero (1: stop, the walk returns MP_OK; negative: passed on). */
    int (*ranked_facts)(void *ctx, int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg);
    const struct mp_relevance_index *facts; /* fact ids; NULL: no facts index */
    const struct mp_relevance_index *turns; /* archived message seqs; NULL: no archive */
    /* Fact id (*out: the source's); MP_NOTFOUND. */
    int (*fact)(void *ctx, uint32_t id, const struct mp_mem_entity **out);
    /* A copy of archived message seq id (caller frees content with
     * free()); MP_NOTFOUND. */
    int (*message)(void *ctx, uint32_t id, struct mp_mem_message *out);
    /* The language (enum mp_lang) most of the user's archived user-role
     * messages are written in, the question's prior after the buffer's
     * (userlang.h); MP_LANG_NONE (0): not known. */
    int lang;
    /* The languages the archive holds (mp_userlang_held_counts of the
     * tally: bit 1 << id); 0: none known. A question is also looked up
     * in those other than its own, translated (issue 66). */
    uint64_t langs;
    /* The question's dense hits (recall_fuse.h; NULL: lexical only, as
     * without embeddings) and how they are fused (NULL: the defaults).
     * Borrowed. */
    const struct mp_recall_dense *dense;
    const struct mp_recall_fuse_params *fuse;
};

/* A buffered message chosen. */
struct mp_recall_pick {
    size_t idx; /* in um->messages */
    size_t len; /* bytes of its content injected */
    bool cut;   /* len < content_len: the ellipsis follows */
};

/* Chunks of the texts a plan's buffered turns were written ahead into
 * (recall_fill.c), the newest first. */
struct mp_recall_texts;

/* What was chosen. The arrays are the plan's own (valid until
 * mp_recall_plan_cleanup()); facts point into um or, when a source gave
 * them, into the source (borrowed: valid while they are); past points at
 * the plan's own copies of archived messages and, for the buffered turns
 * in the notes (those with a text written ahead), into um->messages
 * (borrowed, like the facts). */
struct mp_recall_plan {
    const struct mp_mem_entity **facts; /* the profile line, in order */
    size_t nfacts;
    size_t summary_len; /* bytes of um->summary.text in the block; 0: no summary line */
    bool summary_cut;   /* summary_len < text_len: the summary was cut to fit */
    const struct mp_mem_message **past; /* the past line, oldest first */
    size_t npast;
    /* parallel to past (NULL when past is): each one's text written ahead
       by the fill (a buffered turn's, in texts), or none (text NULL: the
       plan's own copy of an archived message) */
    struct mp_memblock_ahead *past_ahead;
    struct mp_recall_texts *texts; /* the plan's own */
    struct mp_recall_pick *picks;  /* buffered messages, newest first */
    size_t npicks;
    bool message_cut;     /* the oldest picked message was cut to fit */
    size_t ndeduplicated; /* buffered messages skipped because the request has them (of those
                             looked at before the budget ran out) */
    size_t block_len;     /* bytes of the block's text (mp_memblock_render) */
    uint64_t block_saved; /* what its letters save: the block costs
                             mp_memblock_message_cost(block_len, block_saved) */
    uint32_t tokens;      /* estimate of everything injected, <= budget_tokens */
};

/* The recent strategy (see above). um, src, p and rq are borrowed; src may
 * be NULL (facts from um), rq may be NULL (nothing deduplicated). Returns
 * MP_OK with *plan (free it with mp_recall_plan_cleanup()); MP_NOTFOUND
 * when nothing qualifies (um NULL, no section requested, nothing stored
 * for them, everything deduplicated, or a budget too small for the intro
 * plus one item); MP_ENOMEM, or what a source function returned. *plan is
 * untouched unless MP_OK. */
int mp_recall_recent(const struct mp_usermem *um, const struct mp_recall_source *src,
                     const struct mp_recall_params *p, const struct mp_recall_request *rq,
                     struct mp_recall_plan *plan);

/* The relevant strategy (see above), with the same arguments, results and
 * ownership as mp_recall_recent. Without a source there is nothing to
 * score: it is mp_recall_recent. Also MP_EINVAL from scoring (an index
 * naming an item out of range). */
int mp_recall_relevant(const struct mp_usermem *um, const struct mp_recall_source *src,
                       const struct mp_recall_params *p, const struct mp_recall_request *rq,
                       struct mp_recall_plan *plan);

/* Frees the plan's arrays and copies; the plan is then empty. */
void mp_recall_plan_cleanup(struct mp_recall_plan *plan);

#endif
