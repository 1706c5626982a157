/* A chat request's conversation: its key into the workers' conversation
 * tables (plane/convtab.h), by the rules of core/wire/convid.h, digested
 * with the user's key (two users never share one). The data plane finds
 * it marking what it learns (a client that resent a conversation, in its
 * worker's resenders table); explain finds it without changing anything,
 * looking at every worker's tables. It keeps nothing itself. */
#ifndef MP_PROXY_CONVLOOK_H
#define MP_PROXY_CONVLOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "wire/convid.h"
#include "plane/convtab.h"

struct mp_chatreq;
struct mp_mem_message;

struct mp_convlook {
    unsigned char key[MP_CONVTAB_KEY_LEN];
    bool known;   /* key is set */
    bool session; /* the user's session (a client that sends only its newest message, or a
                     previous_response_id chain not found): its head holds the summary alone */
    enum mp_convid_kind kind; /* the rule that applied (a lone message of a user whose client
                                 resent lately: LEADING) */
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
uint64_t mp_convlook_digest(const unsigned char key[MP_CONVTAB_KEY_LEN]);

/* The resenders tables' bounds and ages under cfg (users a worker
 * remembers resending, at most MP_CONVLOOK_RESENDERS_MAX; a mark unused
 * for [memory] conversation_idle_seconds is forgotten); idle_ms and
 * max_age_ms are also a stored conversation's
 * (conversation_idle_seconds, head_max_age_seconds). */
#define MP_CONVLOOK_RESENDERS_MAX 10000

/* A client id seen with this many different beginnings or more names
 * no conversation: its requests find their conversation by the next rule
 * (plane/reqmem.c). A body's prompt_cache_key, which apps set per user or
 * per template as OpenAI suggests, at its second; a chat id header, which
 * its client sets per chat, at its third: a chat whose first message was
 * edited once stays one conversation (the abandoned branch stays out of
 * it), one edited or compacted again goes on by the next rule, at the cost
 * of one head built again. */
#define MP_CONVLOOK_SHARED_LEADS_KEY    2
#define MP_CONVLOOK_SHARED_LEADS_HEADER 3
struct mp_convtab_limits mp_convlook_limits(const struct mp_config *cfg);

/* A client id's beginning not seen before, for the store to note
 * (storage/ops/store.h: NOTE_LEAD) when due. */
struct mp_convlook_lead {
    bool due;
    unsigned char key[MP_CONVTAB_KEY_LEN]; /* the id's conversation key */
    uint64_t lead;                         /* core/wire/convid.h: mp_convid_lead */
};

/* Whether the client id id (look: its conversation, mp_convlook_find_as's
 * of the request body scanned into req) is one several conversations
 * share, by the beginnings the user's view has noted for it: seen with
 * MP_CONVLOOK_SHARED_LEADS_KEY (a prompt_cache_key) or _HEADER (a chat id
 * header) different ones or more, as a prompt_cache_key set per user is. The id's first beginning
 * is a resending request's (a lone message may come from an app that sends only its newest one);
 * once it has one, a lone message beginning otherwise is another conversation's first turn. A
 * beginning not noted yet goes into *note (due); else note->due is false. Only a client id (not
 * Responses' "conversation": the upstream's own) can be shared. A shared id names no conversation:
 * the caller finds it by the rule after the id's (core/wire/convid.h: mp_convid_identify_past).
 * Everything borrowed. */
struct mp_store_view;
bool mp_convlook_shared(struct mp_store_view *view, const char *body, const struct mp_chatreq *req,
                        const struct mp_convid *id, const struct mp_convlook *look,
                        struct mp_convlook_lead *note);

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

/* Looks for look's chain (look->chain_ref: mp_convlook_find's) among the
 * user's messages msgs[0..n) (borrowed) and, found, makes *look that chain
 * (mp_convlook_chain_is): whether it found it. Not found (too old, never
 * recorded), *look stays the user's session. */
bool mp_convlook_chain(const char *user, size_t ulen, const struct mp_mem_message *msgs, size_t n,
                       struct mp_convlook *look);

/* The conversation of the request body[0..len) (scanned into req by its
 * wire) with the client's id headers hd (NULL: none) for the store user
 * key user[0..ulen), at now_ms, into *out. resenders[0..n) are the tables
 * of users whose client resent a conversation lately (NULL entries: none).
 * With mark (the data plane; n is 1), a request that resends marks its
 * user in resenders[0] (a new mark only when none is kept; a kept one is
 * marked used), and a lone message of a marked user marks it used; without
 * mark nothing changes (mp_convtab_peek). Everything borrowed. */
void mp_convlook_find(const char *user, size_t ulen, const char *body, size_t len,
                      const struct mp_chatreq *req, const struct mp_convid_headers *hd,
                      struct mp_convtab *const *resenders, size_t n, bool mark, int64_t now_ms,
                      const struct mp_convtab_limits *lim, struct mp_convlook *out);

/* mp_convlook_find for a request already identified: id (borrowed) is
 * mp_convid_identify's of the same body, req and headers (a caller that
 * needed the identity before, for its chain, does not walk the body for it
 * again). */
void mp_convlook_find_as(const char *user, size_t ulen, const char *body,
                         const struct mp_chatreq *req, const struct mp_convid *id,
                         struct mp_convtab *const *resenders, size_t n, bool mark, int64_t now_ms,
                         const struct mp_convtab_limits *lim, struct mp_convlook *out);

/* The key of the user's session (the conversation of a client that sends
 * only its newest message) into key[MP_CONVTAB_KEY_LEN]: whether it could
 * be made. A resending conversation's first turn was a lone message, kept
 * under this key: its second turn takes that head over (reqmem.c). */
bool mp_convlook_session_key(const char *user, size_t ulen, unsigned char *key);

/* The digest of the request's conversation (scanned into req) when its
 * turns are there already (core/wire/there.h, rule 1): its client resends
 * them (the request shows it), or the upstream holds them (Responses'
 * "conversation", or a previous_response_id chain found: mp_convlook_chain;
 * a chain not found is keyed as the user's session, whose turns are not
 * all the chain's: none then); else 0. */
uint64_t mp_convlook_own_turns(const struct mp_convlook *look, const struct mp_chatreq *req);

/* Whether the request (scanned into req; look: its conversation before any
 * chain is applied) is the first turn of the Responses chain its reply may
 * begin: a lone request the upstream stores (core/wire/chatreq.h: stored),
 * no chain yet, no client id. It gets a conversation's head of its own
 * (not the session's summary alone, nor a kept head), which the data plane
 * keeps under that chain's key once the reply's id is known (reqmem.c). */
bool mp_convlook_chain_start(const struct mp_convlook *look, const struct mp_chatreq *req);

#endif
