/* The conversations one worker keeps: for each, the stable head it
 * injected (core/wire/inject.h) and the tail of its last question (a tool
 * loop's rounds get it again), keyed by a digest of the user's key and
 * the conversation's identity (core/wire/convid.h). Owned by the worker's
 * loop, which alone changes it (get, put, free); another thread may only
 * peek (the admin plane's explain), under the table's lock, which the
 * owner takes only while it changes the table. No message text beyond
 * the heads' (the memory block as injected, which is the user's memory,
 * not their words). Bounded in entries and bytes (least recently used dropped
 * first); a conversation idle too long is forgotten and a head too old is
 * dropped, both when next looked up. A user's erasure needs no sweep here:
 * a head is checked against the store on every use (inject.h). */
#ifndef MP_PROXY_CONVTAB_H
#define MP_PROXY_CONVTAB_H

#include <stddef.h>
#include <stdint.h>

#include "wire/inject.h"

#define MP_CONVTAB_KEY_LEN 32

struct mp_convtab;

struct mp_convtab_limits {
    size_t max_entries; /* 0: keep nothing */
    size_t max_bytes;
    int64_t idle_ms;    /* a conversation unused this long is forgotten */
    int64_t max_age_ms; /* a head built this long ago is dropped */
};

/* An empty table: NULL when out of memory. mp_convtab_free(NULL) does
 * nothing. */
struct mp_convtab *mp_convtab_new(void);
void mp_convtab_free(struct mp_convtab *t);

/* The head kept for key, marked used at now_ms: NULL when none, or when
 * it was idle past lim->idle_ms or built before now_ms - lim->max_age_ms
 * (then it is dropped). Borrowed until the next call on t. */
const struct mp_inject_head *mp_convtab_get(struct mp_convtab *t, const unsigned char *key,
                                            int64_t now_ms, const struct mp_convtab_limits *lim);

/* From any thread, without changing anything (no use marked, nothing
 * dropped): a copy of the head kept for key into *out (caller cleans up
 * with mp_inject_head_cleanup()) and when it was last used (*used_ms), as
 * mp_convtab_get() at now_ms would find it. MP_OK; MP_NOTFOUND (none, or
 * one get would drop); MP_ENOMEM. */
int mp_convtab_peek(struct mp_convtab *t, const unsigned char *key, int64_t now_ms,
                    const struct mp_convtab_limits *lim, struct mp_inject_head *out,
                    int64_t *used_ms);

/* Keeps *h for key as built at now_ms (replacing what key had), taking its
 * arrays (*h is then empty), then drops the least recently used until t
 * is within lim (the new one too, if it alone is past max_bytes). MP_OK
 * (kept or dropped); MP_ENOMEM (*h cleaned up). */
int mp_convtab_put(struct mp_convtab *t, const unsigned char *key, struct mp_inject_head *h,
                   int64_t now_ms, const struct mp_convtab_limits *lim);

/* The tail kept with key's head (inject.h: struct mp_inject_tail, a tool
 * loop's), after mp_convtab_get() found the head; NULL when none.
 * Borrowed until the next call on t. */
const struct mp_inject_tail *mp_convtab_tail(struct mp_convtab *t, const unsigned char *key);

/* Keeps *tl with key's head, replacing the tail it had, taking its
 * arrays (*tl is then empty), then drops the least recently used until t
 * is within lim (key's own entry too, if it alone is past max_bytes).
 * MP_OK; MP_NOTFOUND when key has no head (*tl cleaned up). A new head
 * for key (mp_convtab_put) drops its tail. */
int mp_convtab_put_tail(struct mp_convtab *t, const unsigned char *key, struct mp_inject_tail *tl,
                        const struct mp_convtab_limits *lim);

/* Entries, bytes held, and evictions by the bounds so far. */
void mp_convtab_stats(const struct mp_convtab *t, size_t *entries, size_t *bytes,
                      uint64_t *evicted);

#endif
