/* A finished chat turn, as the memory worker records it: only what
 * recording needs (the user key, the request's new user texts and the
 * reply text, the ids, the model and the idempotency key), never the
 * request body, so a queued turn costs about what it will store. Texts are
 * kept to MP_TURN_TEXT_KEEP bytes: the stored cap plus room for the PII
 * scan to see a pattern that straddles the cut whole. Built on the request's thread from the
 * borrowed request body; owned by the memory worker once queued. It does
 * not apply the PII policy (the worker does, with the configuration in
 * force when it commits). */
#ifndef MP_PROXY_TURN_H
#define MP_PROXY_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "wire/ownwords.h"
#include "wire/sidereq.h"
#include "ops/store.h"
#include "memory/usermem.h"

#define MP_TURN_MAX_USER_TEXTS 64 /* new user messages recorded per turn, at most */
/* how far apart a side request and the turn it quotes may be recorded
   (storage/ops/store.h: struct mp_store_recognize's window_ms) */
#define MP_SIDE_REQUEST_WINDOW_MS (10 * 60 * 1000LL)
/* how long a lone turn with instructions waits for its extraction, at
   least: clients send a side request and the turn it is about within a
   second of each other, and a side request told before its turn is read
   by the memory model is never folded into the summary */
#define MP_SIDE_REQUEST_HOLD_MS (5 * 1000LL)
#define MP_TURN_TEXT_KEEP       (MP_MESSAGE_CONTENT_MAX + 512)

struct mp_chatreq_msg;
struct mp_wire;

/* What the turn is in an agent's tool loop (docs/memory-recording.md "Agent
 * loops"; storage/ops/store.h: RECORD_TURN's loop lists). */
enum mp_turn_loop {
    MP_TURN_PLAIN, /* the user's words and the reply */
    /* the user's request whose reply calls a tool: recorded (the reply
       only if it said something), and kept under keep[] too */
    MP_TURN_LOOP_START,
    /* a round past previous_response_id whose reply calls a tool again:
       nothing recorded; the loop's turn found under find[] is kept under
       keep[] (the new response id) too */
    MP_TURN_LOOP_LINK,
    /* the final answer (tool results in, no tool call out): the reply of
       the loop's turn found under find[] is replaced by it; none found,
       recorded with the request's words (if it has them) under idem_key */
    MP_TURN_LOOP_END,
};

#define MP_TURN_LOOP_KEYS 3 /* == MP_STORE_LOOP_KEYS */

struct mp_turn {
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    char request_id[MP_REQUEST_ID_MAX + 1];
    char model[MP_MODEL_NAME_MAX + 1];       /* the request's "model" ("" when absent or odd) */
    uint8_t idem_key[MP_IDEM_KEY_LEN];       /* SHA-256 over the user key and the request body */
    size_t ntexts;                           /* user texts, then the reply: ntexts - 1 user texts */
    char *texts[MP_TURN_MAX_USER_TEXTS + 1]; /* owned, NUL-terminated, <= MP_TURN_TEXT_KEEP */
    size_t lens[MP_TURN_MAX_USER_TEXTS + 1];
    /* The credential the turn lends its provider's memory jobs
     * (core/memory/memcred.h): lends false for a turn that lends nothing (one read
     * back from a park file); else auth_api is the provider the request
     * went to and auth its credential header line "Name: value" (owned,
     * NUL-terminated), or NULL when the request carried none. */
    bool lends;
    enum mp_llm_api auth_api;
    char *auth;
    size_t auth_len;
    /* The request's conversation, given to both messages
     * (core/memory/usermem.h: mp_mem_message's conv and conv_kind; 0 and 0:
     * not known). The caller fills it. */
    uint64_t conv;
    uint8_t conv_kind;
    /* The reference of the reply's response id, given to the reply's
     * message (core/memory/usermem.h: reply_ref; 0: none, a reply of
     * another API or without one). The caller fills it. */
    uint64_t reply_ref;
    /* The tool loop (above): the kind, and the keys, which
     * mp_turn_loop_keys() makes once conv and reply_ref are filled. An
     * empty reply (texts[ntexts - 1], length 0) records no reply message. */
    enum mp_turn_loop loop;
    bool loop_start_here;   /* the request holds the loop's beginning: loop_prefix names it */
    bool loop_upstream;     /* the Responses API with "conversation" (the upstream holds it) */
    uint64_t loop_prefix;   /* core/wire/toolloop.h: mp_toolloop_prefix */
    uint64_t loop_prev_ref; /* previous_response_id's reference (0: none) */
    uint8_t keep[MP_TURN_LOOP_KEYS][MP_IDEM_KEY_LEN];
    size_t nkeep;
    uint8_t find[MP_TURN_LOOP_KEYS][MP_IDEM_KEY_LEN];
    size_t nfind;
    /* What the turn's builder found of client text, for the store to find
     * the rest by (storage/ops/store.h: struct mp_store_recognize): the
     * prints of the user texts' blocks (msg: the index in texts), whether
     * some kept block has none, the request's shape and the kind of side
     * request its instructions name. */
    struct mp_store_print prints[MP_STORE_PRINTS_MAX];
    size_t nprints;
    bool unprinted;
    struct mp_sidereq shape;
    uint8_t side_kind;
    /* The conversation's state its read built (a new head, or its
     * question's tail; owned, NULL: none), written in the turn's
     * transaction so that the next turn, on any worker, finds it. */
    struct mp_turn_conv *conv_put;
    bool summarize; /* the mode keeps a summary */
    bool extract;   /* the mode extracts entities */
    int64_t at_ms;
    size_t bytes; /* what the turn holds in memory, for the queue's byte bound */
};

/* A turn that moves to another conversation (storage/ops/store.h:
 * REFILE, as u.refile). */
struct mp_turn_refile {
    uint64_t from, to;
    uint8_t kind;
    uint64_t first_seq, last_seq;
};

/* A conversation's state to keep (storage/ops/store.h: PUT_CONV, when
 * has_rec; with tail_only, rec holds the kept head's stamp and the new
 * tail, no head), a client id's new beginning (NOTE_LEAD, when has_lead) and a
 * first turn filed under the user's session that moves to this
 * conversation (REFILE, when has_refile: refile as the op takes it). */
struct mp_turn_conv {
    unsigned char key[MP_STORE_CONV_KEY_LEN];
    bool has_rec;
    bool tail_only;
    struct mp_store_conv rec;
    bool has_lead;
    unsigned char lead_key[MP_STORE_CONV_KEY_LEN];
    uint64_t lead;
    bool has_refile;
    struct mp_turn_refile refile;
};

/* The most ops a struct mp_turn_conv writes. */
#define MP_TURN_CONV_OPS 3

/* Frees c (its record's arrays too). NULL: nothing. */
void mp_turn_conv_free(struct mp_turn_conv *c);

/* The ops that write c for the user key user[0..len) into ops (room for
 * MP_TURN_CONV_OPS; they borrow user and c, and write back into c->rec),
 * stamped now_ms. Returns how many (0 to MP_TURN_CONV_OPS). */
size_t mp_turn_conv_ops(struct mp_op *ops, const char *user, size_t len, struct mp_turn_conv *c,
                        int64_t now_ms);

/* The credential a request lends its provider's memory jobs (all borrowed):
 * value NULL when it carried none. */
struct mp_turn_auth {
    enum mp_llm_api api; /* the provider the request went to */
    const char *name;    /* "Authorization" or "x-api-key" */
    const char *value;
    size_t value_len;
};

/* The reply as the turn takes it: its decoded text (borrowed; "" when it
 * has none), whether it calls a tool the client runs, and the reference
 * of the request's previous_response_id (plane/convlook.h:
 * mp_convlook_reply_ref; 0: none). */
struct mp_turn_reply {
    const char *text;
    size_t len;
    bool calls_tool;
    uint64_t prev_ref;
};

/* Builds the turn of a chat request of wire w: body[0..len) is the
 * client's request (borrowed), reply the assistant's (borrowed), auth
 * what it lends memory jobs (borrowed), inserted the patterns of what a
 * client inserts into user messages (borrowed; NULL: none): the user's
 * texts are their own words (core/wire/ownwords.h: the patterns' blocks
 * and what structure tells a client's left out), a message of nothing
 * else adds no text, and the blocks kept are printed; stripped (may be
 * NULL) gets the blocks removed added to it, whatever the result, and in
 * patterns.only the new user messages that held nothing else when the
 * request answers no tool call (a loop round's reminder beside tool
 * results is not a turn of only context); msgs scratch room for
 * MP_CHATREQ_MAX_MESSAGES scanned messages. The caller fills conv, conv_kind, reply_ref, summarize,
 * extract and at_ms, then calls mp_turn_loop_keys(). What it records:
 *   - new user text, a reply without a tool call: the words and the
 *     reply (PLAIN; a reply without text: none);
 *   - new user text, a reply that calls a tool: the same, as a loop's
 *     beginning (LOOP_START);
 *   - no new user text, the request answers tool calls
 *     (core/wire/toolloop.h), a reply with text and no tool call: the
 *     loop's final answer (LOOP_END), with the user messages that began
 *     the loop when the request holds them;
 *   - the same with a reply that calls a tool again, past a
 *     previous_response_id: a link (LOOP_LINK), no text.
 * Tool results and tool call arguments are never texts of the turn.
 * Returns MP_OK with *out (caller frees with mp_turn_free() unless it
 * hands it over); MP_NOTFOUND when there is nothing to remember (no new
 * user text and no loop round, an intermediate round, an answer without
 * text); MP_EINVAL when the body is not a chat request; MP_ENOMEM. */
int mp_turn_new(const struct mp_wire *w, const char *user, size_t user_len, const char *request_id,
                const char *body, size_t len, const struct mp_turn_reply *reply,
                const struct mp_turn_auth *auth, const struct mp_inserted_patterns *inserted,
                struct mp_ownwords_count *stripped, struct mp_chatreq_msg *msgs,
                struct mp_turn **out);

/* Makes t's loop keys (SHA-256 over the user key and what names the
 * loop's beginning: the conversation up to the request, a response's
 * reference, the upstream's conversation), after conv and reply_ref are
 * filled; a loop's final answer gets the first of its find keys as
 * idem_key. MP_OK; MP_NOTFOUND when a round has nothing to find the
 * loop by, or a link nothing to keep (the turn is dropped). A PLAIN turn:
 * MP_OK, nothing. */
int mp_turn_loop_keys(struct mp_turn *t);

/* Frees a turn (wiping its credential). mp_turn_free(NULL) does nothing. */
void mp_turn_free(struct mp_turn *t);

#endif
