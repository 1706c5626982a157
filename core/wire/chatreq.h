/* Reading a client's chat completion request in place: where the top-level
 * "messages" array is, each message's role and text, and where memory may be
 * spliced in. It never copies, allocates or re-serializes the body; building
 * the spliced body is core/wire/inject.c's job. */
#ifndef MP_CORE_CHATREQ_H
#define MP_CORE_CHATREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_CHATREQ_MAX_MESSAGES 4096

struct mp_ownwords;

/* Roles as spelled in the request (exact, lower case, after unescaping, so
 * "\u0075ser" is "user"). "function" (the legacy tool result) counts as
 * MP_CR_TOOL; any other string is MP_CR_OTHER. */
enum mp_chatreq_role {
    MP_CR_SYSTEM,
    MP_CR_DEVELOPER,
    MP_CR_USER,
    MP_CR_ASSISTANT,
    MP_CR_TOOL,
    MP_CR_OTHER
};

/* One element of "messages". Offsets index the body given to
 * mp_chatreq_scan and stay valid as long as that body does. */
struct mp_chatreq_msg {
    size_t start, end;  /* the message object, '{' .. one past '}' */
    int role;           /* enum mp_chatreq_role */
    uint64_t text_hash; /* mp_chatreq_hash_text(role, text, text_len) */
    size_t text_len;    /* decoded length of the message's text (0 when none) */
    /* Added with the implementation: */
    bool has_text;                     /* false: mp_chatreq_message_text is MP_NOTFOUND */
    size_t content_start, content_end; /* the "content" value; both 0 when absent */
};

struct mp_chatreq {
    size_t messages_start, messages_end; /* span of the top-level "messages" array value */
    /* Byte offset where injected elements go: just past the last of the
     * leading system/developer messages, or just past '[' when the array
     * does not start with one. */
    size_t insert_at;
    /* How to join injected elements there: a ',' goes before them when a
     * message precedes insert_at (the body's own ',' then already separates
     * them from any message that follows), and after them when they go first
     * in a non-empty array. Never both. */
    bool insert_needs_comma_before;
    bool insert_needs_comma_after;
    struct mp_chatreq_msg *msgs; /* the caller's array given to mp_chatreq_scan (borrowed) */
    size_t nmsgs;
    /* The turn's new user messages: let k be the index just past the last
     * assistant or tool message (0 when there is none); first_new_user is
     * the first user message at or after k, nmsgs when there is none. For
     * [system, user, assistant, user, user] it is 3. The new user messages
     * are the user-role messages in [first_new_user, nmsgs). */
    size_t first_new_user;
    /* Responses API (mp_chatreq_scan_input): */
    bool text_input;     /* "input" is a string, messages_start..end its literal and msgs[0] a
                            user message whose content is that literal */
    bool upstream_state; /* the upstream holds the conversation ("previous_response_id" or
                            "conversation" is set): nothing is replayed from the buffer */
    bool stored;         /* the upstream stores the request's input and carries it into later
                            turns: upstream_state, or "store" absent or not false (the API's
                            default is true) */
    size_t instructions_start, instructions_end; /* the "instructions" value (any JSON value,
                                                    null included); both 0 when absent */
    /* Anthropic's Messages API (mp_chatreq_scan_messages) and the Responses API: */
    size_t object_start;             /* the body object's '{' */
    size_t system_start, system_end; /* the "system" value (a string or an array); both 0
                                        when there is none */
    /* Every API: the top-level "tools" value (any JSON value, null included); both 0 when
       absent. */
    size_t tools_start, tools_end;
    /* The user's own words of its user messages that hold inserted context
       (core/wire/inserted.h), set by the caller after the scan (borrowed);
       NULL, as the scan leaves it: none looked for. */
    const struct mp_ownwords *own;
};

/* Validates body[0..len) (borrowed) as exactly one JSON object and finds its
 * top-level "messages" member, which must be an array whose elements are all
 * objects with a "role" string (the last member wins when a key repeats, as
 * in mp_json_find_member). Fills msgs[0..cap) (the caller's array, at most
 * MP_CHATREQ_MAX_MESSAGES is sensible) and *out, which points at msgs.
 *
 * Returns MP_OK; MP_EINVAL when body is not such an object (invalid JSON,
 * no "messages", "messages" not an array, an element not an object or
 * without a string "role"): the caller forwards the body unchanged and sets
 * X-Memory-Error: invalid_json; MP_ETOOBIG when there are more than cap
 * messages. On failure *out is untouched and msgs holds garbage.
 *
 * Cost: one validating pass over the body (json_scan) and one structural
 * walk over the messages array that decodes and hashes each text once; no
 * allocation. */
int mp_chatreq_scan(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                    struct mp_chatreq *out);

/* The Responses API's request (POST /v1/responses), read as mp_chatreq_scan
 * reads a chat request: its top-level "input" is either a string (one user
 * message: text_input) or an array of items, each an object with a string
 * "role" (a message: its "content" a string or parts) or, without one, a
 * string "type" ("function_call_output" counts as MP_CR_TOOL, any other
 * item, such as "function_call" or "reasoning", as MP_CR_OTHER, without
 * text). The splice point is after the leading system/developer messages
 * as in chat. upstream_state is set when "previous_response_id" or
 * "conversation" is present and not null; stored with upstream_state and
 * whenever "store" is not false; object_start and the span of
 * "instructions" (the last when it repeats) are set for the wire's
 * splice. MP_EINVAL when body is not such
 * an object (no "input", "input" neither a string nor an array, an item
 * not an object or with neither "role" nor "type"); MP_ETOOBIG past cap
 * items. */
int mp_chatreq_scan_input(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                          struct mp_chatreq *out);

/* Anthropic's Messages request (POST /v1/messages), read as mp_chatreq_scan
 * reads a chat request (its "messages" array; roles user and assistant; a
 * user message of tool_result blocks has no text), plus where its
 * top-level "system" is: a string or an array of blocks, or absent.
 * MP_EINVAL also when "system" is present and neither (null included). */
int mp_chatreq_scan_messages(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                             struct mp_chatreq *out);

/* The text of message m of body (both borrowed; m from mp_chatreq_scan on
 * this body): a string content as is, or the "text" strings of the
 * {"type":"text"} parts (the Responses API's "input_text" and
 * "output_text" too) of an array content joined by "\n". Other parts
 * (images, audio, files), "tool_calls", "name" and everything else are
 * ignored. Decoded to UTF-8: escapes are resolved, an escaped lone surrogate
 * becomes U+FFFD, "\u0000" stays a NUL byte. A string content, even "",
 * has text; null, a missing content or an array without text parts has
 * none.
 *
 * Writes out[0..cap). Returns MP_OK with *out_len (== m->text_len);
 * MP_NOTFOUND when the message has no text; MP_ETOOBIG when cap <
 * m->text_len (out untouched). */
int mp_chatreq_message_text(const char *body, const struct mp_chatreq_msg *m, char *out, size_t cap,
                            size_t *out_len);

/* Whether message m's text (as mp_chatreq_message_text would give it) is
 * in body as is: a string content without an escape, whose bytes between
 * its quotes are the decoded text. Then *text (borrowed from body) and
 * *len (== m->text_len); else false, both untouched. One memchr. */
bool mp_chatreq_text_in_place(const char *body, const struct mp_chatreq_msg *m, const char **text,
                              size_t *len);

/* As mp_chatreq_message_text, and where each text part ends in out: for
 * k below *nparts and max, ends[k] is the end of part k's text (the "\n"
 * that joins it to the next part, or out_len); parts past max are counted
 * and run on in the last end kept (ends[max - 1] is then out_len). A
 * string content is one part. Same results as mp_chatreq_message_text
 * (*nparts 0 unless MP_OK). */
int mp_chatreq_message_parts(const char *body, const struct mp_chatreq_msg *m, char *out,
                             size_t cap, size_t *out_len, size_t *ends, size_t max, size_t *nparts);

/* Where the request's question is, for relevance (core/recall/recall.h): *newest
 * gets the index of the last user message that has text, *previous the
 * index of the last user or assistant message with text before it (the
 * turn the question follows up on); either is req->nmsgs when there is
 * none (then *previous is too). req is borrowed. No allocation. */
void mp_chatreq_question(const struct mp_chatreq *req, size_t *newest, size_t *previous);

/* Compares the text of message m (as mp_chatreq_message_text would give it)
 * with text[0..len) without copying; false when m has no text. */
bool mp_chatreq_message_text_equals(const char *body, const struct mp_chatreq_msg *m,
                                    const char *text, size_t len);

/* The hash stored in text_hash: equal role and text give equal hashes on
 * every platform and in every version (the value may be persisted). It is
 * not cryptographic: compare the bytes after a hash match. Definition, with
 * K1 = 0x9e3779b97f4a7c15, K2 = 0xff51afd7ed558ccd, K3 = 0xc4ceb9fe1a85ec53:
 * a = 0x6d656d70726f7879 ^ (role + 1) * K1, b = ~a; text is read in 16-byte
 * blocks (the last one zero-padded), each as two little-endian words w0, w1:
 * a = rotl64((a ^ w0) * K2, 29), b = rotl64((b ^ w1) * K3, 31); then
 * k = a ^ rotl64(b, 32) ^ len, and the murmur3 fmix64 finalizer on k. */
uint64_t mp_chatreq_hash_text(int role, const char *text, size_t len);

#endif
