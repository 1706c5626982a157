/* Injection: a user's memory into a chat request, without touching any of
 * the client's bytes, for every API (core/wire/wire.h). It orchestrates:
 * recall.c chooses what fits the budget (the policy, and the budget rule),
 * memblock.c writes the memory block (its text and the escaping of stored
 * text), and the request's wire splices the block and the replayed
 * messages into the body (for chat completions: one system message, then
 * the recent messages as ordinary user/assistant messages, oldest first,
 * see wire/chat.c). Memory comes in as a struct mp_usermem (summary,
 * buffer) and a struct mp_recall_source (core/recall/recall.h).
 *
 * Nothing is replayed from the buffer when the upstream holds the
 * conversation or stores the request (mp_chatreq.stored); the other
 * sections go in as usual (on the Responses API into "instructions",
 * never into the stored "input": wire/responses.c). A buffered message is replayed unless the
 * request already carries it: same role and same text as any of its messages, compared by hash and
 * then byte for byte (mp_chatreq_hash_text, the wire's
 * message_text_equals). */
#ifndef MP_CORE_INJECT_H
#define MP_CORE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/recall.h"
#include "memory/usermem.h"

struct mp_chatreq;
struct mp_wire;
struct mp_wire_pick;
struct mp_recall_params;
struct mp_recall_source;
struct mp_splice;
struct mp_usermem;
struct mp_mem_entity;

/* What was injected. */
struct mp_inject_plan {
    uint32_t tokens;  /* estimate of everything injected, <= budget_tokens */
    size_t nfacts;    /* facts in the profile line */
    size_t npast;     /* archived messages in the past line */
    size_t nmessages; /* buffered messages injected after the block */
    bool summary;     /* the summary line is present (whole or cut) */
    /* Added with the implementation: */
    bool summary_cut;     /* the summary was cut to fit */
    bool message_cut;     /* the oldest injected message was cut to fit */
    size_t ndeduplicated; /* buffered messages skipped because the request has them (of those
                             looked at before the budget ran out) */
};

/* Builds the new body: body[0..len) (borrowed) with the memory chosen by
 * recall spliced in by wire w where req says (req from w->scan on this very
 * body, borrowed); no other byte changes. um, src and p are borrowed; now_ms is the request's time
 * (facts' dates are printed in UTC from their own timestamps; nothing is filtered by age here, the
 * retention sweeper purges expired items).
 *
 * The strategy: mp_recall_relevant() when p->retrieval is relevant and src
 * is given, with the request's question (its newest user message that has
 * text) and the turn before it (the last user or assistant message with
 * text before that: mp_chatreq_question), read only when p->terms is set;
 * else mp_recall_recent() (src NULL: facts from um, as before sources).
 *
 * Returns MP_OK with *out (the new body as pieces, wire/splice.h: ranges of
 * body, not copied, and the bytes added, which it owns; caller cleans up
 * with mp_splice_cleanup()) and *plan (plan may be NULL); MP_NOTFOUND
 * when nothing qualifies (no section requested, nothing stored for them,
 * everything deduplicated, or a budget too small for the intro plus one
 * item): the caller then forwards body unchanged and reports 0 tokens;
 * MP_EUNSUPPORTED when the wire has no place for the block in this
 * request (wire.h's splice; the body goes as is); MP_ENOMEM; what recall returned from the source
 * or scoring (MP_EINVAL, MP_EIO ...). Outputs are untouched unless MP_OK. */
int mp_inject_build(const struct mp_wire *w, const char *body, size_t len,
                    const struct mp_chatreq *req, const struct mp_usermem *um,
                    const struct mp_recall_source *src, const struct mp_recall_params *p,
                    int64_t now_ms, struct mp_splice *out, struct mp_inject_plan *plan);

/* The question recall read (the newest user message's text, and the turn
 * before it), each its last MP_RECALL_QUESTION_MAX bytes at most. */
struct mp_inject_question {
    char text[MP_RECALL_QUESTION_MAX];
    size_t len; /* 0: no question (or none read: recent retrieval, no tokenizer) */
    char prev[MP_RECALL_QUESTION_MAX];
    size_t prev_len;
};

/* ---- a conversation: a stable head, a per-question tail ----
 *
 * For the prompt cache (docs/memory-conversations.md "Conversations"), memory in a
 * conversation is split in two. The head is what does not depend on the
 * newest question: the summary, and with head_share above 0 the profile
 * facts chosen when the conversation began (by that turn's question),
 * within head_share percent of the budget (the summary alone: within the
 * larger of head_share and share_summary); it goes where the block goes
 * (above), byte-identical on every turn for as long as the caller keeps
 * it. The tail is the rest of
 * the budget (the budget less the head's tokens), chosen per request with
 * every section but the summary (the profile's facts not in the head, the
 * past, and the buffered messages: for a client that resends its
 * conversation, the user's other conversations' recent turns, its own
 * being there already, core/wire/there.h, each turn whole in the
 * block's past line: recall.h, "In the notes"): its block goes right
 * before the question's message, where recent turns that slide with every
 * recorded one leave the bytes before it, the cached prefix, alone; no
 * message is replayed as a message of its own (mem.picks stays empty).
 * With head_summary_only (a client that sends only its newest message:
 * its memory is its context, chosen per question), the head holds the
 * summary alone, whatever head_share.
 *
 * A kept head is used only while it is still true: each of its facts is
 * still the user's under the same id (an erased or corrected fact is gone
 * or has a new id: storage/ops/store.h), pii as the params allow, and,
 * when the user's memory epoch (usermem.h) moved since it was built (a
 * correction, erasure or retention purge), nothing it holds was touched:
 * its facts' texts, its past messages (by seq, role and text) and its
 * summary are what the store has now (an erased value never goes
 * upstream again); else a new head is built, as on a conversation's
 * first turn. A summary the memory jobs fold on does not rebuild the head
 * of a client that resends its conversation (its bytes stay cached): the
 * new summary goes in the tail instead, within the tail's budget, until
 * the head is rebuilt; a session's head (head_summary_only: the summary is that
 * client's context) follows the summary: same updated_at_ms, or none then
 * and now.
 *
 * The tail's block starts with MP_MEMBLOCK_TAIL_INTRO instead of the
 * intro (core/recall/memblock.h); recall measures it with the intro, on a
 * budget raised by what the shorter line saves (not in the modes with
 * recent turns: the saving is left unused), so the whole still fits. */

/* A past message a head holds, as a tail's candidates are checked against
 * it: its length first, then its mp_chatreq_hash_text (role and text);
 * and its seq in the archive (to name it when explaining the head). */
struct mp_inject_past {
    uint64_t hash;
    size_t len;
    uint64_t seq;
};

/* A head as kept between turns (by the proxy's conversation table). */
struct mp_inject_head {
    char *text; /* the head block's decoded text (owned by whoever holds it); len 0: none */
    size_t len;
    uint32_t tokens;    /* what the head costs of the budget */
    uint32_t *fact_ids; /* the store's ids of its facts (owned likewise) */
    size_t nfacts;
    struct mp_inject_past *past; /* its past messages, to tell them in a tail (owned likewise) */
    size_t npast;
    int64_t summary_at_ms; /* the user's summary's updated_at_ms when it was built (0: none) */
    uint64_t memory_epoch; /* the user's memory epoch when it was built */
    bool follows_summary;  /* built for a session (head_summary_only): rebuilt with the summary */
    bool summary;          /* the head holds the summary (whole or cut) */
    int sections;          /* the sections it was built for (the mode) */
    uint32_t budget_tokens;
    bool inject_pii;
    void *block; /* NULL, or the one allocation text, fact_ids and past share (a head as the
                    store decodes it: mp_inject_head_cleanup frees it alone) */
};

/* A tail as kept between the rounds of a tool loop: a client in a loop
 * (an agent calling tools) resends the request that began it with the
 * assistant's tool calls and their results after the question, and its
 * provider caches each round's request as the next one's prefix. So the
 * tail built for a question is kept, and a later request of the same
 * conversation whose question is that very message (same index, same
 * role and text) with messages after it (a round of the loop) gets the
 * same bytes again while the tail is still true (part checked as a
 * head is: mp_inject_head_valid) and the head was reused; else a new
 * tail is built. A tail that found nothing is kept too (len 0): the
 * loop's rounds get none either: a round chooses nothing anew. */
struct mp_inject_tail {
    struct mp_inject_head part; /* its text as sent (first line included), tokens, facts,
                                   past messages, and what it was built under */
    uint64_t anchor_hash;       /* the question's message: its text_hash */
    size_t anchor_at;           /* ... and its index in the request's messages */
    /* messages replayed with it as messages of their own (core/wire/wire.h
       picks: their texts in pick_text, owned), counted in part.tokens and
       listed in part.past: only in a tail kept by a version that replayed
       them, whose first line is no longer the intro (never reused) */
    struct mp_wire_pick *picks;
    size_t npicks;
    char *pick_text;
};

struct mp_inject_conv {
    const struct mp_inject_head *head; /* the conversation's kept head (borrowed); NULL: none */
    const struct mp_inject_tail *tail; /* its kept tail (borrowed); NULL: none */
    unsigned head_share;               /* percent of the budget a new head may take */
    /* the conversation's digest (usermem.h: mp_mem_message.conv) when its
       turns are the client's (it resends them) or the upstream's: they are
       there already, never injected; 0: none (a client that sends only
       its newest message: its own turns are its memory) */
    uint64_t own_conv;
    bool head_summary_only;
    /* out: *built is a new head when one was built (its arrays malloc'd:
       the caller owns them, mp_inject_head_cleanup()); zeroed when the kept
       head was used */
    struct mp_inject_head *built;
    bool reused; /* out: the kept head was used */
    /* out, when not NULL: the tail built for this request's question (its
       arrays malloc'd: the caller owns them, mp_inject_tail_cleanup()),
       has_built_tail set; untouched when the kept tail was used
       (tail_reused) or the request has no question */
    struct mp_inject_tail *built_tail;
    bool has_built_tail;
    bool tail_reused;
};

/* Frees t's arrays; t is then empty. */
void mp_inject_tail_cleanup(struct mp_inject_tail *t);

/* The bytes t's arrays hold (a table's bound). */
size_t mp_inject_tail_bytes(const struct mp_inject_tail *t);

/* Whether h may be used for this request (see above): the pointers of its
 * facts, from src, go to held[0..h->nfacts) (caller's array). */
bool mp_inject_head_valid(const struct mp_inject_head *h, const struct mp_usermem *um,
                          const struct mp_recall_source *src, const struct mp_recall_params *p,
                          const struct mp_mem_entity **held);

/* mp_inject_build in a conversation (conv borrowed, its outputs set):
 * the head and the tail as described above. Same results; MP_NOTFOUND
 * when neither head nor tail holds anything (a head built empty is still
 * given in *conv->built, so that the conversation keeps it). */
int mp_inject_build_conv(const struct mp_wire *w, const char *body, size_t len,
                         const struct mp_chatreq *req, const struct mp_usermem *um,
                         const struct mp_recall_source *src, const struct mp_recall_params *p,
                         int64_t now_ms, struct mp_inject_conv *conv, struct mp_splice *out,
                         struct mp_inject_plan *plan);

/* What mp_inject_build_conv() would choose for the same arguments, without
 * rendering or splicing anything: for explaining an injection (the admin
 * API's explain). */
struct mp_inject_conv_choice {
    const struct mp_inject_head *head; /* conv->head when reused, else conv->built */
    const struct mp_mem_entity **held; /* the head's facts, head->nfacts of them (owned
                                          array; the facts are src's) */
    bool has_tail;
    struct mp_recall_plan tail; /* when has_tail: the tail's plan (its picks index
                                   um->messages) */
    bool head_sent;             /* the head's block goes upstream (a bare head goes only in front
                                   of replayed messages, and then the tail may take its place) */
    uint32_t tokens;            /* what the whole costs (0: nothing goes in) */
};

/* Fills *out with that choice; conv as for mp_inject_build_conv (its
 * outputs set: a head built goes to *conv->built). MP_OK (also when
 * nothing would go in: out->tokens 0), MP_ENOMEM, or what recall returned;
 * on failure *out is empty and conv->built cleaned up. Free out with
 * mp_inject_conv_choice_cleanup(). */
int mp_inject_choose_conv(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                          const struct mp_usermem *um, const struct mp_recall_source *src,
                          const struct mp_recall_params *p, int64_t now_ms,
                          struct mp_inject_conv *conv, struct mp_inject_conv_choice *out);
void mp_inject_conv_choice_cleanup(struct mp_inject_conv_choice *c);

/* The question recall reads for this request under p (relevant
 * retrieval with p->terms set; else none: asked->len 0) into *asked.
 * MP_OK or MP_ENOMEM. */
int mp_inject_read_question(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                            const struct mp_recall_params *p, struct mp_inject_question *asked);

/* Copies h into *out (its own arrays): MP_OK or MP_ENOMEM (*out empty). */
int mp_inject_head_copy(const struct mp_inject_head *h, struct mp_inject_head *out);

/* Frees h's arrays; h is then empty. */
void mp_inject_head_cleanup(struct mp_inject_head *h);

#endif
