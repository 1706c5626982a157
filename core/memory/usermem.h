/* What one user's memory holds, as plain values shared by every layer:
 * the rolling summary, the recent messages (the buffer) and the extracted
 * facts (entities) with their provenance. No I/O, no policy: storage/
 * persists these, core/recall/recall.c decides what of them reaches a request.
 *
 * Ownership: a struct mp_usermem and everything it points to is one
 * allocation tree owned by whoever received it; free it with
 * mp_usermem_free(). Strings are NUL-terminated UTF-8 and also carry their
 * length. */
#ifndef MP_CORE_USERMEM_H
#define MP_CORE_USERMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_ENTITY_KEY_MAX   64  /* normalized key bytes, without NUL */
#define MP_ENTITY_VALUE_MAX 512 /* value bytes, without NUL */
#define MP_MESSAGE_CONTENT_MAX                                                                     \
    16384                       /* stored message text; longer text is cut at a                    \
                                   UTF-8 boundary and marked */
#define MP_REQUEST_ID_MAX   64  /* provenance ids, without NUL */
#define MP_MESSAGE_KEYS_MAX 256 /* an archived message's search keys, bytes */
#define MP_MODEL_NAME_MAX   128

enum mp_role { MP_ROLE_USER, MP_ROLE_ASSISTANT };

/* How much a fact is trusted, weakest first. Time decides first between
 * the user's own words and what was set for them (agent, stated,
 * corrected: the newer value wins, the class only between values of the
 * same time); what is second-hand (what only the assistant said, what
 * another assistant remembered) never replaces a stronger class, and an
 * admin's value only another admin's (storage/ops/lifecycle.c,
 * docs/governance.md "Stale versus fresh"). The stored byte of a class
 * is not its place here (storage/format/codec.c). */
enum mp_trust {
    MP_TRUST_INFERRED,  /* extracted from what the assistant said */
    MP_TRUST_IMPORTED,  /* another assistant's memory of the user, imported
                           (core/import/memtext.h) */
    MP_TRUST_AGENT,     /* set by an agent for the user (MCP add_memory) */
    MP_TRUST_STATED,    /* extracted from what the user said */
    MP_TRUST_CORRECTED, /* set by the user (PUT /v1/memory/entities/{key}) */
    MP_TRUST_ADMIN      /* set by an admin */
};

/* A buffered message. Provenance: role, request_id, model and the two
 * times; its trust class follows from its role
 * (mp_usermem_trust_of_role()) and its confidence is 1 (verbatim text).
 *
 * Its conversation (docs/memory-conversations.md "Conversations"): the request that
 * recorded it belonged to the conversation whose key (a SHA-256 of the
 * user's store key and the identity core/wire/convid.h's rule gave) is
 * the 32 bytes K; conv is K[0..8) read as a big-endian number, so that
 * conv printed as 16 hex digits is the key's first 16 hex digits. Both
 * messages of a turn carry the same. conv 0: not known (a message
 * recorded before the store kept conversations, an import line without
 * one). conv_kind: the rule that gave it, an enum mp_convid_kind value
 * (MP_CONVID_CLIENT .. MP_CONVID_KIND_MAX), 0 with conv 0.
 * MP_CONVID_FIRST: a lone message keyed by its leading messages, the
 * first turn of the conversation a resending client goes on with.
 * MP_CONVID_SESSION: a client that sends only its newest message, whose
 * earlier turns are not in its request. MP_CONVID_CHAIN: a Responses
 * previous_response_id chain the proxy found (core/wire/chain.h).
 *
 * reply_ref (an assistant message of a Responses turn): the reference of
 * its reply's response id, so that a request that continues that reply
 * (previous_response_id) finds it: the digest a chain named by that id
 * would have (core/wire/chain.h), never 0 for an id; 0: none. */
struct mp_mem_message {
    enum mp_role role;
    char *content;
    size_t content_len;
    int64_t at_ms;          /* observed: when the turn happened (ms since the epoch) */
    int64_t recorded_at_ms; /* when memproxy stored it (set by the store) */
    uint64_t seq;           /* per-user sequence number, increasing */
    char request_id[MP_REQUEST_ID_MAX + 1]; /* the turn that produced it */
    char model[MP_MODEL_NAME_MAX + 1];      /* the chat model of that turn ("" if unknown) */
    bool pii;                               /* holds likely personal data */
    uint64_t conv;                          /* the conversation's digest (above); 0: unknown */
    uint8_t conv_kind;                      /* enum mp_convid_kind; 0: unknown */
    uint64_t reply_ref;                     /* its reply's response id (above); 0: none */
    uint8_t lang; /* its language (enum mp_lang, core/recall/lang.h), identified once when it is
                   * recorded or imported; 0: not identified */
};

struct mp_mem_entity {
    char key[MP_ENTITY_KEY_MAX + 1]; /* normalized: see mp_usermem_normalize_key() */
    char *value;
    size_t value_len;
    double confidence;      /* 0..1 */
    int64_t observed_at_ms; /* the turn's time */
    int64_t recorded_at_ms; /* when memproxy stored it */
    enum mp_trust trust;
    enum mp_role source_role;
    bool pii;
    uint32_t revision;                      /* increases on every change of this key */
    char request_id[MP_REQUEST_ID_MAX + 1]; /* source turn ("" for corrections) */
    char model[MP_MODEL_NAME_MAX + 1];      /* extraction model ("" if none) */
    uint64_t source_first_seq;              /* the source turn's messages, first..last seq */
    uint64_t source_last_seq;               /* (0: not known, e.g. a correction or an import) */
    /* The fact's text in the memory block ("key: value (as of date)",
       core/recall/memblock.h: mp_memblock_fact_text), when its reader wrote it
       ahead (the store's view does, once per fact); NULL: the block writes
       it from the fields above. Borrowed, like value, and set only with it. */
    const char *block_text;
    size_t block_len;
    uint64_t block_saved; /* with block_text: its mp_memblock_script_saving() */
    /* The store view's id of this fact (storage/ops/store.h: a changed value is
       a new id, an erased fact has none), when has_id: a conversation's head
       checks with it that its facts are still the user's (core/wire/inject.h). */
    uint32_t id;
    bool has_id;
};

/* The rolling summary. Provenance: the model that wrote it, the newest
 * turn folded into it (request_id, observed_at_ms), when it was stored;
 * its trust class is inferred. */
struct mp_mem_summary {
    char *text; /* NULL when there is no summary yet */
    size_t text_len;
    int64_t updated_at_ms;                  /* recorded: when the store wrote it */
    int64_t observed_at_ms;                 /* the newest folded message's time (0: unknown) */
    uint64_t covers_through_seq;            /* messages with seq <= this are folded in */
    char request_id[MP_REQUEST_ID_MAX + 1]; /* the newest folded turn ("" if unknown) */
    char model[MP_MODEL_NAME_MAX + 1];      /* the summary model ("" if unknown) */
    bool pii;                               /* holds likely personal data */
};

struct mp_usermem {
    struct mp_mem_summary summary;
    /* Changes, to a value not used before for the user, whenever a person
     * corrects or erases any of it, retention purges any, or the user's
     * record is created: what was injected under another epoch may hold
     * what is no longer true (a conversation's head is rebuilt: storage/
     * store.h). 0: not known (a record from before epochs; the store sets
     * one on its next write). */
    uint64_t memory_epoch;
    struct mp_mem_message *messages; /* oldest first */
    size_t nmessages;
    struct mp_mem_entity *entities; /* current values only, one per key */
    size_t nentities;
    uint64_t next_seq;
};

/* An empty memory (all zero); returns NULL when out of memory. */
struct mp_usermem *mp_usermem_new(void);
/* Frees um and everything it owns. mp_usermem_free(NULL) does nothing. */
void mp_usermem_free(struct mp_usermem *um);

/* Normalizes an entity key: Unicode letters and digits kept (ASCII letters
 * lower-cased), every run of other characters (space, '-', '_', '.', ...)
 * becomes one '_', no leading or trailing '_'. So "Vector DB", "vector_db"
 * and " vector-db " are all "vector_db". Writes at most MP_ENTITY_KEY_MAX
 * bytes + NUL to out. Returns MP_OK; MP_EINVAL when the result is empty,
 * longer than MP_ENTITY_KEY_MAX or the input is not valid UTF-8. */
int mp_usermem_normalize_key(const char *key, size_t len, char *out);

/* Checks a fact value given from outside memproxy (a user's or an admin's
 * PUT, an import line, the extraction model's answer: one rule for all).
 * s[0..len), trimmed of ASCII whitespace (space, \t, \n, \v, \f, \r) at
 * both ends, must be 1 to MP_ENTITY_VALUE_MAX bytes of valid UTF-8 without
 * control characters (C0, DEL, C1). Returns the first kept byte (borrowed
 * from s) with *out_len, or NULL (*out_len untouched). */
const char *mp_usermem_clean_value(const char *s, size_t len, size_t *out_len);

/* How far an item's own time given from outside (an import line's "at")
 * may lie past now: clock skew between systems, one day. */
#define MP_USERMEM_FUTURE_SKEW_MS (24LL * 3600 * 1000)

/* Whether such a time at_ms is acceptable at now_ms: not before the epoch
 * and at most MP_USERMEM_FUTURE_SKEW_MS past now_ms. A time further ahead
 * would outrank every newer value and never expire. */
bool mp_usermem_time_ok(int64_t at_ms, int64_t now_ms);

/* The trust class of what a role said: the user's own words are stated,
 * what only the assistant said is inferred. Messages and extracted facts
 * alike. */
enum mp_trust mp_usermem_trust_of_role(enum mp_role role);

/* Whether a fact of class t was given outright (an agent's add_memory, a
 * user's correction, an admin's value) rather than extracted from a turn:
 * such a value starts a new memory epoch, the user's memory setting never
 * holds it back, and the value it displaces leaves the summary
 * (storage/store.h, UPSERT_ENTITY). */
bool mp_usermem_trust_given(enum mp_trust t);

/* The request id of the chat turn e was extracted from (borrowed from e),
 * or "" when no turn told it. Only extraction writes a fact from a turn,
 * and it always names its model; an admin's value, a correction and an
 * imported fact carry the request id of the request that set them, which
 * an import shares with every message it archived without their being
 * one turn. */
const char *mp_usermem_fact_turn(const struct mp_mem_entity *e);

/* Fills e's value and provenance for a value a person set themselves (a
 * user's correction, an admin's value, an agent's add_memory): value[0..len)
 * (borrowed: e points at it), trust (MP_TRUST_CORRECTED, MP_TRUST_ADMIN or
 * MP_TRUST_AGENT), confidence 1,
 * observed and recorded now_ms, source role user, no model, request_id
 * (borrowed, cut to MP_REQUEST_ID_MAX) as its source, and pii as given.
 * e->key and e->revision are left as they are. */
void mp_usermem_set_correction(struct mp_mem_entity *e, char *value, size_t len,
                               enum mp_trust trust, const char *request_id, int64_t now_ms,
                               bool pii);

#endif
