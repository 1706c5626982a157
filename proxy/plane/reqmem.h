/* The memory side of one chat completion request: what it reads before the
 * upstream call (the user's memory spliced into the body) and what it
 * records after (the turn, handed to the memory worker). Owned by the
 * request (struct mp_request embeds one); runs on the request's thread.
 * A memory failure never fails the chat: it is reported in X-Memory-Error
 * and counted, and the request goes on without memory. */
#ifndef MP_PROXY_REQMEM_H
#define MP_PROXY_REQMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "wire/chatreq.h"
#include "config/config.h"
#include "wire/convid.h"
#include "wire/inject.h"
#include "wire/ownwords.h"
#include "json/jsonclip.h"
#include "net/loop.h"
#include "recall/recall.h"
#include "recall/terms.h"
#include "net/respond.h"
#include "plane/cachekey.h"
#include "plane/convlook.h"
#include "memory/turn.h"
#include "plane/qvec.h"
#include "wire/splice.h"
#include "ops/store.h"
#include "memory/userkey.h"
#include "user_id.h"
#include "memory/usermode.h"

struct mp_completion;
struct mp_wire;
struct mp_memticket;
struct mp_memread_call;

/* What one run of the memory read found (plane/memread.h runs it again
 * over more records until it has all it reads). */
struct mp_reqmem_found {
    bool used;           /* written since it was last reset: something to release */
    bool nothing_stored; /* no memory for the user */
    bool have_mode;      /* mode holds the user's own setting */
    enum mp_user_mode mode;
    bool built; /* the injection was tried: inject_rc */
    int inject_rc;
    struct mp_splice splice; /* the memory spliced in (owned) when inject_rc is MP_OK */
    uint32_t tokens;
    uint64_t scored; /* postings relevance scored (storage/ops/store.h: mp_store_view_work) */
    bool capped;     /* ... and whether it met the ceiling */
    /* the conversation (plane/convlook.h): its key, whether its kept head
       was used, else the head built (owned), kept once the read is over */
    unsigned char conv_key[32];
    bool conv_known;   /* conv_key is set: the injection ran in a conversation */
    bool conv_session; /* ... a session's (plane/convlook.h) */
    enum mp_convid_kind conv_kind;
    uint64_t conv_own;    /* its turns are there already (convlook.h: mp_convlook_own_turns) */
    uint64_t conv_digest; /* what its turns are recorded with (convlook.h: digest) */
    /* the request's previous_response_id chain among the user's buffered
       messages (core/wire/chain.h), looked for whether or not the read
       injects: found, its digest (the turn is recorded in it) */
    bool chain_found;
    uint64_t chain_conv;
    /* the conversation's state as the store keeps it (storage/ops/store.h:
       struct mp_store_conv; owned) when conv_had; the head built (owned),
       when not reused, and the tail built for its question, when
       conv_has_tail: written back once the read is over (conv_put) */
    struct mp_store_conv conv_rec;
    bool conv_had;
    bool conv_adopted; /* conv_rec is the user's session's, taken over (adopt_first_turn) */
    bool conv_reused;
    struct mp_convlook_lead lead; /* a client id's new beginning, noted with the turn */
    bool refile_due;              /* a first turn filed under the session moves here */
    struct mp_turn_refile refile;
    struct mp_inject_head conv_built;
    struct mp_inject_tail conv_tail;
    bool conv_has_tail;
    /* the conversation's prompt_cache_key (plane/cachekey.h), when the
       request gets one; "": none */
    char cache_key[MP_CACHEKEY_LEN + 1];
    struct json_t *explanation; /* asked for (m->explain, m->explain_last): plane/explain.h's
                                   document, owned */
};

struct mp_reqmem {
    enum mp_memory_mode mode;       /* applied; MP_MEMORY_OFF when none */
    enum mp_memory_control control; /* the request's X-Memory */
    bool reads, writes;             /* per mode, X-Memory, the user id and the
                                       user's own setting (core/memory/usermode.h) */
    char user[MP_USERKEY_MAX];      /* the store user key */
    size_t user_len;
    const char *error;      /* static X-Memory-Error code of the read, or NULL */
    const char *turn_error; /* static code of the turn's recording (queue_full, a
                               write error), or NULL: listed after error */
    int task;               /* a client task's kind (X-Memory-Skipped), or -1: none */
    bool temporary;         /* a temporary chat not recorded (X-Memory-Skipped) */
    uint32_t injected_tokens;
    /* the memory spliced into the client's body (owned; no piece: none,
       send the client's); never copied whole: senders take its pieces */
    struct mp_splice splice;
    const struct mp_wire *wire;       /* the request's API (NULL: not a chat request) */
    enum mp_llm_api route_api;        /* the provider the request goes to (core/memory/memcred.h) */
    struct mp_completion *completion; /* a stream's reply, as relayed */
    struct mp_buf capture;            /* a non-stream reply's bytes, long strings clipped */
    struct mp_jsonclip clip;          /* ... by this (core/json/jsonclip.h) */
    bool capture_failed;
    bool capture_oom;            /* ... failed for want of memory, else of room */
    struct mp_memticket *ticket; /* the recorded turn's commit, while waited for */
    /* the conversation the turn is recorded in (core/memory/usermem.h:
       mp_mem_message's conv, conv_kind): the read's, when it found one;
       else found when the turn is recorded (conv_kind 0 until then) */
    uint64_t conv;
    uint8_t conv_kind;
    /* a Responses previous_response_id's reply's reference (plane/convlook.h:
       mp_convlook_reply_ref; 0: none), for the read to find its chain */
    uint64_t chain_ref;
    /* a Responses stream's reply id (its response.created event's), for
       the turn's reply_ref (core/wire/chain.h): reply_id[0..reply_id_len);
       0: none yet */
    size_t reply_id_len;
    /* the read of the user's memory, while it runs (mp_reqmem_inject()) */
    struct mp_loop *loop;
    struct mp_convid_headers conv_headers; /* the client's conversation ids (borrowed from the
                                              request's head: core/wire/convid.h) */
    const char *in_body;                   /* the client's body (borrowed) */
    size_t in_len;
    struct mp_chatreq req; /* its scan, over loop->wire_msgs */
    bool req_fresh;        /* req is still this request's (no other ran since) */
    bool scanned;          /* mp_reqmem_scan ran: scan_rc */
    int scan_rc;
    /* its conversation's identity (core/wire/convid.h; its id points into
       in_body or the head), found once by mp_reqmem_inject for the chain
       and for the conversation's head: a rescan of the same body finds
       the same */
    struct mp_convid convid;
    struct mp_memread_call *read; /* in flight, or NULL */
    /* retrieval by meaning, with [embeddings] on: the question's vector
       (plane/qvec.h), for memview/meaning.h */
    struct mp_qvec_ask qask;
    struct mp_reqmem_found found;
    void (*ready)(void *arg);
    void *ready_arg;
    /* the conversation's state to write (owned; NULL: nothing new): handed
       to the recorded turn, which writes it in its transaction, else
       queued alone at cleanup (proxy/memory/turn.h: struct mp_turn_conv) */
    struct mp_turn_conv *conv_put;
    /* X-Memory-Explain: 1 with [admin] explain_requests: the read explains
       itself, kept under explain_id (plane/explaintab.h; "" when none) */
    bool explain;
    char explain_id[33];
    /* [page] explain_last: the read explains itself for the user's memory
       page, kept as the user's last (no header goes back) */
    bool explain_last;
    /* last: the arrays read only up to a length set with them, which
       mp_reqmem_clear leaves as they are */
    char reply_id[MP_CONVID_ID_MAX];
    /* its user messages' own words (core/wire/inserted.h): req.own after
       each scan; items[0..n) */
    struct mp_ownwords owns;
};

struct mp_http_request_head;

/* The request's memory identity, the store user key (core/memory/userkey.h):
 * - the user id per docs/http-api.md: the [memory] user_header, else
 *   (user_from_body) the body's "user" string, validated;
 * - with [security] user_signature_key set, X-User-Signature must be the
 *   hex HMAC-SHA256 of the user id under that key (compared in constant
 *   time);
 * - with [security] tenant_from = api_key, the key is namespaced by a
 *   keyed hash of the client's API key (Authorization: Bearer <key>,
 *   else x-api-key), keyed with a secret kept in the store.
 * Each of these headers that is read must carry one value: sent on
 * several lines, they must repeat it byte for byte.
 * Writes the key to out (MP_USERKEY_MAX bytes). Returns MP_OK with
 * *out_len; MP_NOTFOUND when the request names no user; MP_EINVAL with
 * *perr the answer: MP_PERR_INVALID_USER_ID, MP_PERR_CONFLICTING_HEADERS
 * (lines of one of the headers differ), MP_PERR_INVALID_SIGNATURE,
 * MP_PERR_MISSING_API_KEY, or MP_PERR_INTERNAL (the store's secret could
 * not be read). */
int mp_reqmem_user_key(const struct mp_loop *loop, const struct mp_http_request_head *head,
                       const char *body, size_t len, char *out, size_t *out_len,
                       enum mp_perr *perr);

/* The recall parameters a chat request of mode gets under cfg (both
 * borrowed), with the tokenizer terms (borrowed; NULL: nothing scores). */
void mp_reqmem_recall_params(const struct mp_config *cfg, enum mp_memory_mode mode,
                             struct mp_terms *terms, struct mp_recall_params *out);

/* Keeps the newest keep of um's buffered messages in um (a view's head:
 * the arrays stay the view's), the whole list in *all, *all_n. */
void mp_reqmem_keep_newest(struct mp_usermem *um, size_t keep, struct mp_mem_message **all,
                           size_t *all_n);

/* Makes *m a request's memory before mp_reqmem_init (and safe for
 * mp_reqmem_cleanup): zero, but for the arrays read only up to a length
 * (reply_id, owns' items: 1.8 KB a request need not write). */
void mp_reqmem_clear(struct mp_reqmem *m);

/* Sets what applies (m cleared by the caller: mp_reqmem_clear): mode and X-Memory control
 * (0 auto, 1 read, 2 write, 3 off: enum mp_memory_control) and the user id
 * (borrowed; NULL when none). */
void mp_reqmem_init(struct mp_reqmem *m, enum mp_memory_mode mode, int control, const char *user,
                    size_t user_len);

/* Reads the body (the client's, borrowed as for mp_reqmem_inject) with the
 * request's wire once: MP_OK with the scan in m->req, kept for
 * mp_reqmem_inject; else X-Memory-Error: invalid_json, neither read nor
 * record, and the scan's error (again on a second call). */
int mp_reqmem_scan(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len);

/* The request is a client's background task of this kind
 * (core/wire/clienttask.h): memory off (nothing read, injected or recorded),
 * X-Memory-Skipped: client_task:<kind> on the reply, counted. */
void mp_reqmem_skip_task(struct mp_reqmem *m, struct mp_loop *loop, int kind);

/* The request is a temporary chat (core/wire/convid.h) that [memory]
 * record_temporary_chats does not record: memory is read and injected as
 * for any request, nothing of the turn is recorded (whatever the user's
 * own setting), X-Memory-Skipped: temporary_chat on the reply, counted.
 * Only for a request whose turn would be recorded (m->writes). */
void mp_reqmem_skip_temporary(struct mp_reqmem *m, struct mp_loop *loop);

/* Checks the body is a chat request memory can work with (else
 * X-Memory-Error: invalid_json, and neither read nor record), then reads the
 * user's memory and their own setting (which may turn reading, recording
 * or both off: then X-Memory-Mode says off) and splices the memory into
 * the body (on success m->splice: mp_reqmem_body_iov).
 * body is the client's request body (borrowed: it must stay until the read
 * is over, and until the spliced body, which reads from it, is sent).
 * MP_OK: done. MP_AGAIN: the read waits for the database (plane/memread.h)
 * and ready(arg) runs on the loop when it is done; mp_reqmem_cleanup()
 * before that drops it. A read that fails is X-Memory-Error:
 * storage_unavailable, counted; a body the wire has no place for the block
 * in (the Responses API with upstream state and an "instructions" that is
 * not a string) goes as is with X-Memory-Error: instructions_not_string,
 * counted. */
int mp_reqmem_inject(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len,
                     void (*ready)(void *arg), void *arg);

/* The body to send upstream, in order, as iovecs into out[0..cap): the
 * spliced body's pieces (the client's bytes from client_body, the added
 * ones from m), or, when no memory was spliced, client_body[0..client_len)
 * as one (none when it is empty). client_body is the body given to
 * mp_reqmem_inject(). The iovecs are valid while client_body is and until
 * mp_reqmem_cleanup(). MP_OK with *n; MP_ETOOBIG when cap is too small
 * (MP_SPLICE_PIECES_MAX is enough). */
int mp_reqmem_body_iov(const struct mp_reqmem *m, const char *client_body, size_t client_len,
                       struct iovec *out, size_t cap, size_t *n);

/* Appends the X-Memory-* response header lines ("Name: value\r\n") to out
 * (cap bytes, NUL-terminated); X-Memory-Explain-Id when the request's
 * explanation is kept. X-Memory-Error lists the read's code, then
 * the turn's, comma-separated: "storage_unavailable, queue_full" says both
 * that nothing was read and that the turn will not be recorded. Returns
 * the length written. */
size_t mp_reqmem_headers(const struct mp_reqmem *m, char *out, size_t cap);

/* The upstream answered status with this content type, before the
 * response head goes out: decides whether the turn will be recorded (a
 * 2xx, writes apply, and the memory worker admits a turn: else
 * X-Memory-Error: queue_full, counted) and prepares the capture. While the
 * store refuses writes, X-Memory-Error carries the reason
 * (mp_memworker_write_error()) and the turn is still tried. A turn whose
 * memory jobs will wait for a credential (mp_memcred_missing() of
 * route_api) says no_memory_credential when it has no other code. Either
 * code is the turn's (turn_error), given besides a failed read's. */
void mp_reqmem_start_reply(struct mp_reqmem *m, struct mp_loop *loop, int status, bool sse);
/* Whether the reply's bytes are kept for recording (a JSON reply whose
 * turn will be recorded): then mp_reqmem_reply_body() gives them, and no
 * one else need copy them. Decided by mp_reqmem_start_reply(). */
bool mp_reqmem_keeps_body(const struct mp_reqmem *m, bool sse);

/* The JSON reply's bytes kept so far (borrowed until mp_reqmem_cleanup()),
 * or NULL when they are not kept whole (not kept, or past the capture's
 * cap). */
const char *mp_reqmem_reply_body(const struct mp_reqmem *m, size_t *len);

/* Relayed reply bytes (non-stream) or one whole SSE event (stream). */
void mp_reqmem_on_reply(struct mp_reqmem *m, struct mp_loop *loop, const char *data, size_t len,
                        bool sse_event);

/* The response completed: hands the turn to the memory worker if the reply
 * is complete and recording applies, in the request's conversation (the
 * read's; when no read found it, found again by the same rule without
 * marking anything: plane/convlook.h). body is the client's request body and
 * head its head (both borrowed): the turn takes the credential header
 * route_api's memory jobs may borrow (mp_memcred_client()). With
 * done set ([memory] durable_ack), done(t, arg, status) runs on the loop's
 * thread once the turn is committed or failed, and MP_OK says to wait for
 * it; any other return means nothing will be answered (nothing to record,
 * or it could not be queued). mp_reqmem_cleanup() before done gives up
 * waiting. */
int mp_reqmem_record(struct mp_reqmem *m, struct mp_loop *loop, const char *request_id,
                     const char *body, size_t len, const struct mp_http_request_head *head,
                     void (*done)(struct mp_memticket *t, void *arg, int status), void *arg);

/* Releases what m owns (and stops waiting for a commit). */
void mp_reqmem_cleanup(struct mp_reqmem *m, struct mp_loop *loop);

#endif
