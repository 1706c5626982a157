/* A Responses previous_response_id chain (docs/memory-conversations.md "Conversations"):
 * the response id a recorded reply keeps, and which conversation a
 * request that continues one of the user's recorded replies is in. Pure:
 * the proxy digests ids with the user's key (plane/convlook.h) and hands
 * the buffered messages in; nothing here reads the store or keeps state.
 *
 * A reply's reference (usermem.h: reply_ref) is the digest the identity
 * CHAIN with the reply's id would have (convid.h; source
 * MP_CONVID_CHAIN_SOURCE, digested with the user's key). So a chain is
 * named by its first link: a request that continues a reply R recorded
 * in another conversation (usually the user's lone first request) begins
 * the chain whose digest is R's reference, and every later turn of the
 * chain is recorded with that digest (conv) and MP_CONVID_CHAIN, so a
 * request that continues one of them finds the digest on it. The first
 * link's turn keeps its own conversation; the chain knows it as the turn
 * whose reply's reference is the chain's digest. A first link that was a
 * lone first turn (MP_CONVID_FIRST: a stored Responses conversation's
 * turn 1) gives its own conversation's digest instead: the chain is that
 * conversation from its first turn (its head's key is derived from the
 * digest alone, plane/convlook.h, so turn 1 and the chain share it). */
#ifndef MP_CORE_WIRE_CHAIN_H
#define MP_CORE_WIRE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/usermem.h"

/* The response id of a Responses reply: in body[0..len), a response
 * object, its top-level "id" string; in a stream event's data[0..len),
 * the "id" string of its top-level "response" object (response.created,
 * response.completed and the other events that carry the response). *id
 * (borrowed: into the bytes) and *id_len: the bytes between the quotes,
 * JSON escapes as sent, as convid.h takes previous_response_id. false
 * when there is none, or it is empty or longer than MP_CONVID_ID_MAX. */
bool mp_chain_reply_id(const char *body, size_t len, const char **id, size_t *id_len);
bool mp_chain_event_id(const char *data, size_t len, const char **id, size_t *id_len);

struct mp_chain {
    uint64_t conv;                     /* the chain's digest */
    const struct mp_mem_message *link; /* the reply the request continues (borrowed) */
    bool first;                        /* link is of another conversation: the chain's first link */
};

/* The chain of a request that continues the reply whose reference is ref,
 * among the user's messages msgs[0..n) (borrowed): the newest assistant
 * message whose reply_ref is ref. A link of kind MP_CONVID_CHAIN gives
 * its conv, and so does a lone first turn's (MP_CONVID_FIRST: first is
 * false then); another (the first link) gives ref. MP_OK with *out;
 * MP_NOTFOUND when no message has it (ref 0: never). */
int mp_chain_find(const struct mp_mem_message *msgs, size_t n, uint64_t ref, struct mp_chain *out);

/* The request id of the chain conv's first link among msgs[0..n)
 * (borrowed): the assistant message whose reply_ref is conv; NULL when
 * none is there (or its request id is empty; conv 0: NULL). Both messages
 * of that turn are the chain's own. */
const char *mp_chain_first_request(const struct mp_mem_message *msgs, size_t n, uint64_t conv);

#endif
