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
 * Nothing is replayed from the buffer when the upstream already holds the
 * conversation (mp_chatreq.upstream_state); the other sections go in as
 * usual (on the Responses API into "instructions", never into the stored
 * "input": wire/responses.c). A buffered message is replayed unless the request already carries it:
 * same role and same text as any of its messages, compared by hash and
 * then byte for byte (mp_chatreq_hash_text, the wire's
 * message_text_equals). */
#ifndef MP_CORE_INJECT_H
#define MP_CORE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_chatreq;
struct mp_wire;
struct mp_recall_params;
struct mp_recall_source;
struct mp_splice;
struct mp_usermem;

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

#endif
