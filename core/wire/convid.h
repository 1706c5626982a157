/* Conversation identity: which conversation a chat request belongs to, so
 * that memproxy can keep what it injected stable from one turn to the next
 * (the prompt cache, docs/memory-conversations.md "Conversations"). A pure rule over the
 * request's headers and its scan; it keys nothing with the user (the proxy
 * digests the identity together with the user's key) and keeps no state.
 * It also tells a client's temporary chat (mp_convid_temporary).
 *
 * The rule, first that applies:
 *   1. CLIENT: the client's own id, in this order: the X-OpenWebUI-Chat-Id
 *      header, x-claude-code-session-id, Codex's session-id (or session_id),
 *      the Responses API's "conversation" (a string, or an object's "id"
 *      string). A body's "prompt_cache_key" is no conversation's id: apps
 *      set it per user or per template as OpenAI suggests, so the
 *      conversation is its first user message's (rule 3);
 *   2. CHAIN: the Responses API's "previous_response_id" string (the
 *      conversation of the response it names: the proxy finds it among
 *      the user's recorded replies, core/wire/chain.h);
 *   3. LEADING: a client that resends its conversation (an assistant
 *      message or what only the model writes and a client sends back: a
 *      tool result, a Responses function_call or reasoning item; or more
 *      than one user message): the request's leading
 *      messages, i.e. its instructions (the leading system/developer
 *      messages, Messages' "system", Responses' "instructions", as sent)
 *      and its first user message (its user's own words when its client
 *      inserted context in it, req->own: core/wire/inserted.h);
 *   4. SESSION: a lone message (no earlier turn in the request). The
 *      proxy keys it by its leading messages as rule 3 would (mp_convid_lead:
 *      the first turn of the conversation its client goes on with, filed as
 *      FIRST), unless the user's client is shown to send only its newest
 *      message: then it is the user's session (plane/convlook.h).
 * An id that is empty or longer than MP_CONVID_ID_MAX bytes is ignored
 * (the next rule applies). */
#ifndef MP_CORE_WIRE_CONVID_H
#define MP_CORE_WIRE_CONVID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_chatreq;

#define MP_CONVID_ID_MAX 256

/* CHAIN's source: a reply's reference (core/wire/chain.h) is the digest
 * of the identity CHAIN with this source and the reply's id. */
#define MP_CONVID_CHAIN_SOURCE "previous_response_id"

enum mp_convid_kind {
    MP_CONVID_CLIENT = 1,
    MP_CONVID_CHAIN = 2,
    MP_CONVID_LEADING = 3,
    MP_CONVID_SESSION = 4,
    MP_CONVID_FIRST = 5, /* recorded only: a lone message keyed by its leading
                            messages (LEADING's key), the first turn of its conversation */
};
#define MP_CONVID_KIND_MAX MP_CONVID_FIRST

/* The rule's name: "client", "chain", "leading", "session" or "first_turn". */

const char *mp_convid_rule(enum mp_convid_kind kind);

/* The client's id headers' values, as received (borrowed, not
 * NUL-terminated; NULL when absent), in the rule's order:
 * X-OpenWebUI-Chat-Id, x-claude-code-session-id, session-id. */
#define MP_CONVID_HEADERS   3
#define MP_CONVID_OPENWEBUI 0 /* X-OpenWebUI-Chat-Id's place */
struct mp_convid_headers {
    const char *value[MP_CONVID_HEADERS];
    size_t len[MP_CONVID_HEADERS];
};

/* What identifies the conversation. CLIENT and CHAIN: id[0..id_len) (borrowed
 * from a header or the body: the raw bytes, JSON escapes as sent) and
 * source, which names where it came from (a static string, part of the
 * identity: the same id from two sources is two conversations). LEADING:
 * lead, a hash of the leading messages (equal leading messages, equal
 * hash: mp_chatreq_hash_text over each, combined in order). SESSION:
 * nothing more. */
struct mp_convid {
    enum mp_convid_kind kind;
    const char *source;
    const char *id;
    size_t id_len;
    uint64_t lead;
};

/* Applies the rule to body[0..len) and req (its scan by the request's
 * wire: borrowed) and the headers h (borrowed; NULL: none). Fills *out
 * (its pointers into body and h). Never fails. */
void mp_convid_identify(const char *body, size_t len, const struct mp_chatreq *req,
                        const struct mp_convid_headers *h, struct mp_convid *out);

/* mp_convid_identify without the client id of source shared (a static
 * source name as an identity carries it: "prompt_cache_key",
 * "session-id", ...; NULL: none): a client id the proxy found shared by
 * several conversations (a prompt_cache_key set per user) names none of
 * them, and the next rule applies. */
void mp_convid_identify_past(const char *body, size_t len, const struct mp_chatreq *req,
                             const struct mp_convid_headers *h, const char *shared,
                             struct mp_convid *out);

/* Whether the client resends its conversation in req (borrowed): an
 * assistant message (or what only the model writes and a client sends
 * back: a tool result, a Responses function_call or reasoning item), or a
 * second user message. */
bool mp_convid_resends(const struct mp_chatreq *req);

/* The hash of the leading messages of body[0..len) (its instructions and
 * first user message, as LEADING hashes them) into *lead, whether or not
 * the client resends: false when there is no user message. */
bool mp_convid_lead(const char *body, const struct mp_chatreq *req, uint64_t *lead);

/* The bytes that name the identity, for the proxy's digest: writes at most
 * cap bytes of "<kind>\0<source>\0<id>" (LEADING: the hash as 16 hex
 * digits; SESSION: the kind alone) to out and returns the length it
 * needs (MP_CONVID_NAME_MAX always suffices). */
#define MP_CONVID_NAME_MAX (2 + 32 + 1 + MP_CONVID_ID_MAX)
size_t mp_convid_name(const struct mp_convid *c, char *out, size_t cap);

/* Whether the request is a temporary chat: one its client keeps nowhere,
 * which the user expects forgotten. Open WebUI names a temporary chat
 * "local:" and the browser's socket id in X-OpenWebUI-Chat-Id (a chat it
 * saves has a UUID; it saves no "local:" chat). The prefix is compared as
 * Open WebUI writes it (lower case), whatever follows (nothing too) and
 * however long (MP_CONVID_ID_MAX caps ids for keying only). h: the
 * client's id headers (borrowed; NULL: none). Headers only: no client
 * checked marks a temporary chat in the body it sends upstream. */
#define MP_CONVID_TEMPORARY_PREFIX "local:"
bool mp_convid_temporary(const struct mp_convid_headers *h);

#endif
