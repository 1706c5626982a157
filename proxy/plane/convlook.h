/* A chat request's conversation: its key into the store's conversation
 * records (storage/ops/store.h: PUT_CONV), by the rules of
 * core/wire/convid.h, digested with the user's key (two users never share
 * one). One resolver (mp_convlook_resolve) that the data plane and
 * explain both call: it reads the user's store view and buffered
 * messages, the same on every worker and proxy, and changes nothing. It
 * keeps nothing itself. */
#ifndef MP_PROXY_CONVLOOK_H
#define MP_PROXY_CONVLOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "wire/convid.h"

#define MP_CONVLOOK_KEY_LEN 32 /* storage/ops/store.h: MP_STORE_CONV_KEY_LEN */

struct mp_chatreq;
struct mp_mem_message;

struct mp_convlook {
    unsigned char key[MP_CONVLOOK_KEY_LEN];
    bool known;   /* key is set */
    bool session; /* the user's session (a client that sends only its newest message, or a
                     previous_response_id chain not found): its head holds the summary alone */
    enum mp_convid_kind kind; /* the rule that applied (a lone message keyed by its leading
                                 messages: LEADING, with first) */
    bool first;               /* a lone message keyed by its leading messages: recorded as
                                 MP_CONVID_FIRST */
    uint64_t digest;          /* what its turns are recorded with (usermem.h: conv), when known */
    uint64_t chain_ref;       /* rule CHAIN: the reference of previous_response_id's reply, to find
                                 among the user's messages (mp_convlook_chain); else 0 */
};

/* The client's own conversation ids from the request's head (borrowed:
 * *out points into it), in core/wire/convid.h's order:
 * X-OpenWebUI-Chat-Id, x-claude-code-session-id, Codex's session-id
 * (or session_id). A header sent on several lines that differ is taken
 * as absent (the next header, or the next rule, applies); repeats of one
 * value are that value. */
struct mp_http_request_head;
void mp_convlook_headers(const struct mp_http_request_head *head, struct mp_convid_headers *out);

/* Whether the request is a temporary chat (mp_convid_temporary): any of
 * its X-OpenWebUI-Chat-Id lines marks one, whatever the others say. */
bool mp_convlook_temporary(const struct mp_http_request_head *head);

/* The digest a recorded message keeps of its conversation
 * (core/memory/usermem.h: mp_mem_message's conv): the key's first 8
 * bytes read as a big-endian number. */
uint64_t mp_convlook_digest(const unsigned char key[MP_CONVLOOK_KEY_LEN]);

/* A stored conversation's ages under cfg: unused for idle_ms
 * ([memory] conversation_idle_seconds) it is over (its next request starts
 * another; a user's session ends), a head built max_age_ms ago
 * (head_max_age_seconds) is built again. */
struct mp_convlook_limits {
    int64_t idle_ms;
    int64_t max_age_ms;
};
struct mp_convlook_limits mp_convlook_limits(const struct mp_config *cfg);

/* A client id seen with this many different beginnings or more names
 * no conversation: its requests find their conversation by the next rule
 * (the resolver's next step). A chat id header, which its client sets
 * per chat, at its third: a chat whose first message was
 * edited once stays one conversation (the abandoned branch stays out of
 * it), one edited or compacted again goes on by the next rule, at the cost
 * of one head built again. */
#define MP_CONVLOOK_SHARED_LEADS_HEADER 3

/* A client id's beginning not seen before, for the store to note
 * (storage/ops/store.h: NOTE_LEAD) when due. */
struct mp_convlook_lead {
    bool due;
    unsigned char key[MP_CONVLOOK_KEY_LEN]; /* the id's conversation key */
    uint64_t lead;                          /* core/wire/convid.h: mp_convid_lead */
};

/* The reference a reply of response id id[0..id_len) (borrowed: the
 * bytes as sent, JSON escapes included) keeps for the store user key
 * user[0..ulen) (core/memory/usermem.h: reply_ref): the digest of the
 * identity CHAIN with that id (core/wire/chain.h); 0 when it could not be
 * made or the id is empty or longer than MP_CONVID_ID_MAX. */
uint64_t mp_convlook_reply_ref(const char *user, size_t ulen, const char *id, size_t id_len);

/* The digest the messages of a conversation imported from another
 * assistant's export keep (usermem.h: conv) for the store user key
 * user[0..ulen): the rule CLIENT's with source (static: the app, "chatgpt")
 * and the conversation's id in the export, id[0..id_len) (borrowed; cut
 * to MP_CONVID_ID_MAX bytes), digested with the user's key as a chat's
 * own id is. */
uint64_t mp_convlook_export_digest(const char *user, size_t ulen, const char *source,
                                   const char *id, size_t id_len);

/* Makes *look the previous_response_id chain of digest conv (found among
 * the user's messages: core/wire/chain.h) for the store user key
 * user[0..ulen): kind CHAIN, not a session, digest conv, and a key derived
 * from the digest (so every turn of the chain has one head). */
void mp_convlook_chain_is(const char *user, size_t ulen, uint64_t conv, struct mp_convlook *look);

/* Looks for look's chain (look->chain_ref: the resolver's) among the
 * user's messages msgs[0..n) (borrowed) and, found, makes *look that chain
 * (mp_convlook_chain_is): whether it found it. Not found (too old, never
 * recorded), *look stays the user's session. */
bool mp_convlook_chain(const char *user, size_t ulen, const struct mp_mem_message *msgs, size_t n,
                       struct mp_convlook *look);

/* The request's conversation: the one resolver, which the data plane and
 * explain both call (what explain shows is what injection did). The rule
 * of core/wire/convid.h, id (mp_convid_identify's of body[0..len), req,
 * its scan by the request's wire, and the client's id headers hd, NULL:
 * none), for the store user key user[0..ulen) at now_ms, into *out:
 *   - a client id several conversations share (mp_convlook_shared, by the
 *     beginnings view has noted; view NULL: nothing stored) names none: the
 *     rule after it applies; a beginning the store is to note goes into
 *     *note (the data plane notes it with the turn);
 *   - a lone message is keyed by its leading messages, as its client's next
 *     turn, which resends it, is (out->first): a chat is one conversation
 *     from its first turn. Only a client shown to send its newest message
 *     alone has a session: the user's newest buffered user message in um
 *     (NULL: none), recorded within lim->idle_ms, was filed under the
 *     session, or was a lone first turn (MP_CONVID_FIRST) its client never
 *     resent and not this request's. A Responses request the upstream
 *     stores (req->stored) is never the session's: its chain goes on from it;
 *   - a previous_response_id chain found among um's messages is that chain
 *     (mp_convlook_chain); one not found, the user's session.
 * A conversation known by its leading messages (LEADING, a first turn
 * too) has its digest from that identity and its key from the digest
 * alone (mp_convlook_chain_is's): a chain whose first link was a lone
 * first turn (core/wire/chain.h) finds the same key.
 * Changes nothing. Everything borrowed. */
struct mp_store_view;
struct mp_usermem;
void mp_convlook_resolve(struct mp_store_view *view, const struct mp_usermem *um, const char *user,
                         size_t ulen, const char *body, size_t len, const struct mp_chatreq *req,
                         const struct mp_convid_headers *hd, const struct mp_convid *id,
                         int64_t now_ms, const struct mp_convlook_limits *lim,
                         struct mp_convlook *out, struct mp_convlook_lead *note);

/* The state the store keeps for the conversation key (MP_CONVLOOK_KEY_LEN
 * bytes) into *out, when it is still in use at now_ms (lim: its head built
 * no longer than max_age_ms ago, written, a turn's tail, no longer than
 * idle_ms ago): whether (*out's arrays the caller's then:
 * mp_store_conv_cleanup; else *out holds nothing). view borrowed. */
struct mp_store_conv;
bool mp_convlook_kept(struct mp_store_view *view, const unsigned char *key, int64_t now_ms,
                      const struct mp_convlook_limits *lim, struct mp_store_conv *out);

/* A resending request whose first turn was filed under the user's session
 * (its client was taken for one that sends its newest message alone):
 * when the newest user message filed under the session among um's (NULL:
 * none) is the request's first user message (req; its
 * own words when its client inserted context: by length and hash), that
 * turn belongs to look's conversation. Then true, with what moves: from
 * (the session's digest) and the turn's messages first_seq..last_seq (its
 * user message and the reply recorded with it). look must be a resending
 * request's (not a session, not a first turn). Everything borrowed. */
bool mp_convlook_moved_first(const struct mp_usermem *um, const char *user, size_t ulen,
                             const struct mp_chatreq *req, const struct mp_convlook *look,
                             uint64_t *from, uint64_t *first_seq, uint64_t *last_seq);

/* The kind the request's turns are recorded with (core/memory/usermem.h:
 * conv_kind): look's rule, MP_CONVID_FIRST for a lone message keyed by its
 * leading messages. */
enum mp_convid_kind mp_convlook_recorded_kind(const struct mp_convlook *look);

/* The key of the user's session (the conversation of a client that sends
 * only its newest message) into key[MP_CONVLOOK_KEY_LEN]: whether it could
 * be made. A resending conversation whose first turn was filed under the
 * session (its client was taken for one that sends its newest message
 * alone) takes that turn and its head over (plane/reqmem.c). */
bool mp_convlook_session_key(const char *user, size_t ulen, unsigned char *key);

/* The digest of the request's conversation (scanned into req) when its
 * turns are there already (core/wire/there.h, rule 1): its client resends
 * them (the request shows it), or the upstream holds them (Responses'
 * "conversation", or a previous_response_id chain found: mp_convlook_chain;
 * a chain not found is keyed as the user's session, whose turns are not
 * all the chain's: none then); else 0. */
uint64_t mp_convlook_own_turns(const struct mp_convlook *look, const struct mp_chatreq *req);

#endif
