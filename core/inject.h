/* Injection: a user's memory into a chat request, without touching any of
 * the client's bytes. It orchestrates: recall.c chooses what fits the budget
 * (the policy, and the budget rule), memblock.c writes the memory block (its
 * text and the escaping of stored text), and this module splices the result
 * into the request body. The request is read by core/chatreq.c, memory comes
 * in as a struct mp_usermem (summary, buffer) and, once the store keeps facts
 * and the archive apart, a struct mp_recall_source (core/recall.h).
 *
 * What is injected (one system message, then in buffer modes the recent
 * messages), placed at mp_chatreq.insert_at:
 *
 *   {"role":"system","content":"<block>"},{"role":"user","content":"..."},...
 *
 * The recent messages follow the block as ordinary user/assistant
 * messages, oldest first, each one only JSON-escaped (they are the user's
 * own past messages; a cut one ends with the ellipsis), except those the
 * request already carries: same role and same text as any of its messages,
 * compared by hash and then byte for byte (mp_chatreq_hash_text,
 * mp_chatreq_message_text_equals). The whole block, and every injected
 * message, is JSON-escaped (runs of plain ASCII copied, everything else
 * through mp_json_escape). */
#ifndef MP_CORE_INJECT_H
#define MP_CORE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_chatreq;
struct mp_recall_params;
struct mp_recall_source;
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

/* Builds the new body: body[0..len) (borrowed) with the memory elements
 * chosen by recall inserted at req->insert_at (req from
 * mp_chatreq_scan on this very body, borrowed); no other byte changes: the
 * result is exactly
 *   body[0..insert_at) + [","] + elements joined by "," + [","] + body[insert_at..len)
 * with the commas per req->insert_needs_comma_before/after. um, src and p
 * are borrowed; now_ms is the request's time (facts' dates are printed in
 * UTC from their own timestamps; nothing is filtered by age here, the
 * retention sweeper purges expired items).
 *
 * The strategy: mp_recall_relevant() when p->retrieval is relevant and src
 * is given, with the request's question (its newest user message that has
 * text) and the turn before it (the last user or assistant message with
 * text before that: mp_chatreq_question), read only when p->terms is set;
 * else mp_recall_recent() (src NULL: facts from um, as before sources).
 *
 * Returns MP_OK with *out (malloc'd, NUL-terminated for convenience, caller
 * frees with free()), *out_len and *plan (plan may be NULL); MP_NOTFOUND
 * when nothing qualifies (no section requested, nothing stored for them,
 * everything deduplicated, or a budget too small for the intro plus one
 * item): the caller then forwards body unchanged and reports 0 tokens;
 * MP_ENOMEM; what recall returned from the source or scoring (MP_EINVAL,
 * MP_EIO ...). Outputs are untouched unless MP_OK. */
int mp_inject_build(const char *body, size_t len, const struct mp_chatreq *req,
                    const struct mp_usermem *um, const struct mp_recall_source *src,
                    const struct mp_recall_params *p, int64_t now_ms, char **out, size_t *out_len,
                    struct mp_inject_plan *plan);

#endif
