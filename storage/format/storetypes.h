/* The store's value types that its records encode (format/codec.h) and its
 * API hands in and out (ops/store.h, which includes this): jobs,
 * conversations' states, the change history's entries. Types only; the
 * store's API says what each op accepts. */
#ifndef MP_STORAGE_STORETYPES_H
#define MP_STORAGE_STORETYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/inject.h"
#include "memory/usermem.h"

#define MP_USER_KEY_MAX      400   /* the store takes keys up to this (>= MP_USERKEY_MAX) */
#define MP_STORE_SUMMARY_MAX 65536 /* summary text bytes */

enum mp_job_kind { MP_JOB_SUMMARIZE, MP_JOB_EXTRACT };

/* Why a job failed for good and waits, stored, for a re-run (POST
 * /admin/extract): MP_JOB_FAIL_NONE while it is pending. */
enum mp_job_fail {
    MP_JOB_FAIL_NONE,
    MP_JOB_FAIL_MALFORMED,    /* the model's answers could not be used */
    MP_JOB_FAIL_RATE_LIMITED, /* 429 past [memory] job_retry_horizon_seconds */
    MP_JOB_FAIL_UPSTREAM,     /* 5xx or no answer past the horizon */
    MP_JOB_FAIL_REJECTED,     /* another 4xx, MP_MEMJOB_MAX_ATTEMPTS times */
    MP_JOB_FAIL_STORE,        /* the store failed past the horizon */
    MP_JOB_FAIL_COUNT
};

/* A pending memory job. Jobs carry the user by value: nothing else ties a
 * job to the request that caused it. */
struct mp_job {
    uint64_t id; /* assigned by the store (increasing); 0 in a new job */
    enum mp_job_kind kind;
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    uint64_t through_seq;  /* EXTRACT: the turn's last message seq; SUMMARIZE: fold messages <= */
    uint64_t from_seq;     /* EXTRACT: the turn's first message seq */
    uint32_t attempts;     /* failed attempts so far (at most 0xffff kept) */
    uint8_t malformed;     /* of which answers that could not be used */
    uint8_t failed;        /* enum mp_job_fail: failed for good, kept for a re-run */
    int64_t not_before_ms; /* retry backoff: do not run before this time; a failed job
                              (never run before a re-run): when it failed (0: not kept) */
    int64_t created_ms;
    /* mp_store_jobs(): the process running it (MP_OP_CLAIM_JOB's owner)
       and until when; 0 and 0 when no process holds it */
    uint64_t lease_owner;
    int64_t lease_until_ms;
};

/* A conversation's state (docs/memory-conversations.md "Conversations"): the head it
 * was given and the tail of its last question (a tool loop's rounds get
 * it again), kept with the user under the conversation's key (32 bytes:
 * proxy/plane/convlook.h), so that every worker and every proxy on the
 * store injects the same bytes (store_conv.c). A person's change of the
 * user's memory (a new memory epoch) drops every conversation of the
 * user: their heads are built again. At most MP_STORE_CONVS_PER_USER are
 * kept per user, the least recently written dropped first. */
#define MP_STORE_CONV_KEY_LEN   32
#define MP_STORE_CONVS_PER_USER 32
#define MP_STORE_CONV_LEADS     4 /* the beginnings a client id is seen with, kept */

struct mp_store_conv {
    bool cleared;       /* a tombstone: its head went with a change of the user's memory */
    uint64_t stamp;     /* a new random value with every write of the head (store.h:
                           PUT_CONV); what a tail written alone names its head by */
    int64_t built_ms;   /* when its head was built */
    int64_t written_ms; /* out: when it was last written */
    struct mp_inject_head head;
    bool has_tail;
    struct mp_inject_tail tail;
};

/* Frees c's head and tail. */
void mp_store_conv_cleanup(struct mp_store_conv *c);

/* Who made a change (the history's actor). */
enum mp_actor {
    MP_ACTOR_EXTRACTOR,  /* the memory worker, from a recorded turn */
    MP_ACTOR_SUMMARIZER, /* the memory worker, folding old messages */
    MP_ACTOR_USER,       /* the user, through /v1/memory */
    MP_ACTOR_ADMIN,      /* an admin, through /admin */
    MP_ACTOR_RETENTION,  /* the retention sweeper */
    MP_ACTOR_CLIENT_TEXT /* recognition: what a client wrote, not the user (store_whose.c) */
};

/* Why a change was made, where its event and actor alone do not say
 * (history entries of store format 11; MP_REASON_NONE in every entry
 * written before, and in the entries that need none). */
enum mp_hist_reason {
    MP_REASON_NONE,
    MP_REASON_NEWER,         /* KEPT: the current value is of a newer time than the statement's
                                turn (a later turn's, an import's of a later time) */
    MP_REASON_GIVEN,         /* KEPT: the current value was given outright (a correction, an
                                agent's) after the statement's turn */
    MP_REASON_ADMIN,         /* KEPT: the current value is an admin's, which only another admin's
                                replaces */
    MP_REASON_FACT_ERASED,   /* DELETED messages or summary: they told a fact a person erased
                                (DELETE_ENTITY) */
    MP_REASON_SOURCES_ERASED /* DELETED fact: every turn that told its value was erased
                                (DELETE_MESSAGE): nothing it rests on is left */
};

/* The change history: one entry per change, per user, in order. */
enum mp_history_event {
    MP_HIST_ADDED,      /* a fact got its first value, or a new one from the extractor or an
                           agent (MP_TRUST_AGENT) */
    MP_HIST_SUPERSEDED, /* a fact's value was replaced: the entry keeps the old value */
    MP_HIST_CORRECTED,  /* a user or admin set a fact */
    MP_HIST_DELETED,    /* a fact, the summary or messages were erased */
    MP_HIST_EXPIRED,    /* retention purged a fact, the summary or messages */
    MP_HIST_SUMMARIZED, /* a new summary was written */
    MP_HIST_KEPT,       /* a fact kept its value against a statement of another value the
                           extractor offered from an older turn, or that a given or admin's
                           value outranks (the entry: that statement's provenance and value,
                           the kept value's revision, the reason) */
    MP_HIST_FILTERED    /* sentences holding a value that a given value displaced left the summary
                           (count: how many) */
};

enum mp_item_kind { MP_ITEM_FACT, MP_ITEM_SUMMARY, MP_ITEM_MESSAGES };

struct mp_history_item {
    uint64_t seq; /* per user, increasing */
    enum mp_history_event event;
    enum mp_actor actor;
    enum mp_hist_reason reason;
    enum mp_item_kind item;
    int64_t at_ms;
    uint32_t count; /* MESSAGES: how many */
    /* FACT: the fact's key, revision and provenance at the change; the value
       only in SUPERSEDED and KEPT entries ("" otherwise, and once erased). SUMMARY:
       request_id and model of the summary. Value owned by the list. */
    struct mp_mem_entity entity;
};

#endif
