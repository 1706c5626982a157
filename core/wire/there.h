/* The one "already there" rule (docs/memory-conversations.md "Conversations"; DESIGN
 * §5): whether a message of the user's memory, buffered or archived, is
 * there already for a request, so that it is not injected (again). Every
 * part of an injection asks it (the head, the tail, the replayed recent
 * messages, the past line) through recall's seen callback, and explain
 * asks it for its reasons. A pure rule over the request's scan and the
 * user's buffer; it keeps nothing past the request.
 *
 * In this order, the first that applies:
 *   1. "own_conversation": a turn of the request's own conversation when
 *      its client resends it or the upstream holds it (own_conv, the
 *      stored digest: usermem.h); a client that sends only its newest
 *      message has none (its own turns are its memory). For a Responses
 *      previous_response_id chain (core/wire/chain.h) also the turn of
 *      its first link, recorded in another conversation: the turn whose
 *      reply's reference is own_conv (both its messages, by request id);
 *   2. "upstream_holds_conversation": a buffered message, for a request
 *      whose upstream holds a conversation the store cannot name (a
 *      previous_response_id chain the proxy did not find among the
 *      user's recorded replies: too old, or never recorded);
 *   3. "asked_again": the reply of a buffered turn whose user message is
 *      the request's question (the same question sent again: a
 *      regenerated reply replaces it, the rejected one never goes in);
 *   4. "in_head": a past message the conversation's head holds (by role
 *      and text). Its words are there; a fact the head holds is not the
 *      words of the turn it was drawn from, so a message of that turn is
 *      not in_head: recall's "counted once" (core/recall/recall.h) lets it
 *      in when it holds words of the question the turn's facts do not;
 *   5. "already_in_request": the request holds a message of the same role
 *      and text.
 * A request message that holds context its client inserted (req->own,
 * core/wire/inserted.h) is, for rules 3 and 5, also its user's own words,
 * which is what was archived of it: compared by length and 64-bit hash,
 * since no copy of them is kept.
 * Anything else is eligible, by score and budget. */
#ifndef MP_CORE_WIRE_THERE_H
#define MP_CORE_WIRE_THERE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/inject.h"
#include "memory/usermem.h"

struct mp_chatreq;
struct mp_wire;

#define MP_THERE_AGAIN_MAX 4 /* buffered turns of the question asked again, at most */

/* A request, as the rule reads it. Everything borrowed for its life. */
struct mp_there {
    const struct mp_wire *wire;
    const char *body;
    const struct mp_chatreq *req;
    const struct mp_inject_head *head; /* the conversation's head (NULL: none) */
    uint64_t own_conv;                 /* rule 1's digest; 0: none */
    const char *own_request; /* rule 1's chain first link's request id (um's); NULL: none */
    const struct mp_usermem *buffer_there;                 /* rule 2's buffer; NULL: rule 2 off */
    char again[MP_THERE_AGAIN_MAX][MP_REQUEST_ID_MAX + 1]; /* rule 3's turns */
    size_t nagain;
    /* The lengths that may match, one bit each (length % 64): of the
       head's past messages (for lens_head, the head they were read from)
       and of the request's user and assistant texts (own words too), so
       that a text no length matches is not hashed or compared. */
    const struct mp_inject_head *lens_head;
    uint64_t head_lens;
    uint64_t request_lens[2]; /* [0] user, [1] assistant */
};

/* Sets t for the request body (req: its scan by w) of a user whose
 * buffer is um, in the conversation own_conv (0: none; a chain's first
 * link is looked for in um). head NULL: none (t->head set later is read,
 * only more slowly). */
void mp_there_init(struct mp_there *t, const struct mp_wire *w, const char *body,
                   const struct mp_chatreq *req, const struct mp_usermem *um, uint64_t own_conv,
                   const struct mp_inject_head *head);

/* The rule's reason m is there already (a static string, above), or NULL:
 * eligible. */
const char *mp_there_why(const struct mp_there *t, const struct mp_mem_message *m);

/* recall's mp_recall_seen_fn over ctx, a struct mp_there: whether
 * mp_there_why() has a reason, each text hashed at most once. */
bool mp_there_seen(void *ctx, const struct mp_mem_message *m);

/* Rule 5 alone: whether the request holds a message of this role and
 * text (or the head a past message of them). */
bool mp_there_holds(const struct mp_there *t, enum mp_role role, const char *text, size_t len);

#endif
