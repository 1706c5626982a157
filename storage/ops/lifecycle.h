/* The rules of one user's memory, written once for every backend: which
 * value wins (newer supersedes, stale and weaker are ignored), which
 * history entries a change writes, what erasing a fact takes with it, what
 * retention purges. They edit a struct mp_usermem (entities sorted by key;
 * each leaves it unchanged when it fails) and describe history entries;
 * persisting those is store_ops.c's job. No I/O. */
#ifndef MP_STORAGE_LIFECYCLE_H
#define MP_STORAGE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

/* Most entries one UPSERT_ENTITY or DELETE_ENTITY writes. */
#define MP_LIFECYCLE_EVENTS_MAX 3

/* The history entries of an UPSERT_ENTITY op that succeeded: old is the
 * displaced value (NULL for an insert), fresh the new current value.
 * Writes 1 or 2 entries to ev (values borrowed from old) and returns how
 * many; 0 for a refresh (same revision). seq is left 0. */
size_t mp_lifecycle_upsert_events(const struct mp_op *op, const struct mp_mem_entity *old,
                                  const struct mp_mem_entity *fresh, struct mp_history_item *ev);

/* The KEPT entry of an UPSERT_ENTITY op outranked by cur, the key's
 * current value: written (1 returned) when the op offered the user's
 * statement (MP_TRUST_STATED, by the extractor: an import's line is
 * counted skipped instead) of another value than cur's, whatever
 * outranked it; else 0. The entry has the statement's provenance and
 * value (borrowed from op), cur's revision and why cur holds: ADMIN (an
 * admin's value), GIVEN (a value given outright, newer than the turn:
 * mp_usermem_trust_given) or NEWER (a statement or an import of a later
 * time). So what the user says is never left out without a trace. */
size_t mp_lifecycle_kept_event(const struct mp_op *op, const struct mp_mem_entity *cur,
                               struct mp_history_item *ev);

/* A value[0..len) that is no longer true (a given value displaced it)
 * leaves the summary of um: its sentences that hold it are dropped
 * (core/memory/summfilter.h), the summary too when nothing is left.
 * Writes a FILTERED entry of actor (count: the sentences) to ev and
 * returns 1; 0 when the summary holds no such sentence (unchanged). */
size_t mp_lifecycle_filter_summary(struct mp_usermem *um, const char *value, size_t len,
                                   enum mp_actor actor, const struct mp_op *op,
                                   struct mp_history_item *ev);

/* The history entry of a SET_SUMMARY op (um: the memory after it). */
void mp_lifecycle_summary_event(const struct mp_op *op, const struct mp_usermem *um,
                                struct mp_history_item *ev);

/* Whether the buffered message tells the fact e: it is of e's source turn
 * (the request id of mp_usermem_fact_turn(), or a seq in e's source range)
 * or holds e's value as whole words (mp_lifecycle_text_holds). */
bool mp_lifecycle_tells_fact(const struct mp_mem_message *m, const struct mp_mem_entity *e);

/* The archive's rule: a seq in e's source range, or e's value held as
 * whole words (the request id is not enough there: an import gives all
 * its items one). */
bool mp_lifecycle_holds_fact(const struct mp_mem_message *m, const struct mp_mem_entity *e);

/* DELETE_ENTITY on the head um (store_erase.c: the fact, its current
 * value cur, already removed; NULL when it had none): drops the buffered
 * messages whose seq is in gone[0..ngone) (ascending) and the summary.
 * archived[0..narchived) (ascending): the archived messages the caller
 * erased; a message both buffered and archived is counted once. Writes 0
 * to 3 entries to ev (no values): DELETED for the fact (when cur), for the
 * messages (their count) and the summary, the last two of reason
 * FACT_ERASED; returns how many. */
size_t mp_lifecycle_erase_told(struct mp_usermem *um, const struct mp_mem_entity *cur,
                               const struct mp_op *op, const uint64_t *gone, size_t ngone,
                               const uint64_t *archived, size_t narchived,
                               struct mp_history_item *ev);

/* DELETE_MESSAGE of message seq on the head um (archived: the caller
 * erased its archived copy): drops its buffered copy, and the summary when
 * it covers seq. Writes 0 to 2 entries to ev (DELETED messages, count 1;
 * DELETED summary) and returns how many; 0: um held nothing of it and it
 * was not archived (nothing changed). */
size_t mp_lifecycle_erase_message(struct mp_usermem *um, uint64_t seq, bool archived,
                                  const struct mp_op *op, struct mp_history_item *ev);

/* Drops buffered message seq from um, the summary left alone (a message
 * of a client's: what the summary drew from it goes with the facts it
 * told, store_whose.c). Whether it was there. */
bool mp_lifecycle_drop_message(struct mp_usermem *um, uint64_t seq);

/* Whether text[0..n), of language lang (enum mp_lang), holds
 * value[0..len) as whole words, as a message holds a fact's value
 * (mp_lifecycle_holds_fact; core/recall/wordhold.h: "Go" is not in
 * "going"). The one test of the buffer, the archive and the index. */
bool mp_lifecycle_text_holds(const char *text, size_t n, int lang, const char *value, size_t len);

/* A history entry of event about count messages, by actor. */
void mp_lifecycle_messages_entry(const struct mp_op *op, enum mp_history_event event,
                                 enum mp_actor actor, uint32_t count, struct mp_history_item *ev);

/* The history entry of a fact's DELETED or EXPIRED (actor: op's, or
 * retention), without its value. */
void mp_lifecycle_fact_event(const struct mp_op *op, enum mp_history_event event,
                             const struct mp_mem_entity *e, struct mp_history_item *ev);

/* The EXPIRED entry of count messages purged by retention. */
void mp_lifecycle_messages_event(const struct mp_op *op, uint32_t count,
                                 struct mp_history_item *ev);

/* Whether an item of time t (and pii flag) is past retention at
 * op->now_ms (op: SWEEP_USER). */
bool mp_lifecycle_expired(const struct mp_op *op, int64_t t, bool pii);

/* The age limit of an item with the limits r: the pii limit applies to
 * pii items when it is set and shorter; 0: no limit. */
int64_t mp_lifecycle_limit(const struct mp_retention *r, bool pii);

/* The same judged with the limits r at now_ms: an import asks it of its
 * lines before storing them. */
bool mp_lifecycle_past(const struct mp_retention *r, int64_t now_ms, int64_t t, bool pii);

/* The time an item's age counts from: its own time (a message's at, a
 * fact's observed_at) or, when later, when memproxy recorded it, so that
 * old history imported today is kept a retention period from today (an
 * import may record it at its own time instead: docs/admin-api.md). */
int64_t mp_lifecycle_age_from(int64_t own_ms, int64_t recorded_ms);

/* History kept per subject (a fact's key, or the summary): at most cap
 * entries ([governance] history_per_fact). With added the entry just
 * appended to items[0..n) (oldest first, added included), writes to out
 * (room for max) the seqs of the oldest entries of added's subject beyond
 * cap, oldest first, and returns how many. cap 0: no cap (returns 0).
 * Entries about messages are never counted (they are erasure records). */
size_t mp_lifecycle_hist_over_cap(const struct mp_history_item *items, size_t n,
                                  const struct mp_history_item *added, uint32_t cap, uint64_t *out,
                                  size_t max);

/* True when the history entry h is past retention at op->now_ms
 * (op: a SWEEP_USER op). */
bool mp_lifecycle_hist_expired(const struct mp_history_item *h, const struct mp_op *op);

/* The time before which a history entry may be past retention at
 * op->now_ms (op: SWEEP_USER): now minus the shortest limit set;
 * INT64_MIN when no limit is set (nothing expires). */
int64_t mp_lifecycle_hist_horizon(const struct mp_op *op);

/* SWEEP_USER on the head um: removes the expired buffered messages and
 * summary, adding to counts. ev must have room for 2 entries; returns how
 * many were written. Facts and the archive are the caller's. */
size_t mp_lifecycle_expire(struct mp_usermem *um, const struct mp_op *op,
                           struct mp_history_item *ev, struct mp_sweep_counts *counts);

/* True when the head um holds no summary and no buffered message. */
bool mp_lifecycle_um_empty(const struct mp_usermem *um);

/* RECORD_TURN's messages appended with seqs from um->next_seq (a fresh um
 * must have next_seq 1), each with its language (mp_lifecycle_identify):
 * MP_OK or MP_ENOMEM. */
/* Gives each of m[0..n) without a language (lang 0, or not an enum
 * mp_lang) the language of its text (core/recall/lang.h), once, when it is
 * first written: the stored value is what its terms are made by ever
 * after. A message after the first is read with the one before it as the
 * prior of Latin text ("Viel Erfolg!" after a German question is German);
 * the first with prior (MP_LANG_NONE: none, English by default). A message
 * that has its language keeps it (an import's "lang", a copy). */
void mp_lifecycle_identify(struct mp_mem_message *m, size_t n, int prior);

int mp_lifecycle_append(struct mp_usermem *um, const struct mp_op *op, uint64_t *first_seq,
                        uint64_t *last_seq);

/* SET_SUMMARY or TRIM_MESSAGES, dropping buffered messages with seq <=
 * drop_through (at most the op's through_seq: what no pending extraction
 * still needs): MP_OK or MP_ENOMEM. */
int mp_lifecycle_summarize(struct mp_usermem *um, const struct mp_op *op, uint64_t drop_through);

/* UPSERT_ENTITY with the precedence of struct mp_op against cur, the
 * key's current value (NULL: none). The precedence: an admin's value is
 * replaced only by a newer or as new admin value and replaces every
 * other; what only the assistant said (inferred) replaces only an
 * inferred value not newer, and every other class replaces it; between
 * agent, stated and corrected values the newer wins (observed times),
 * the higher class at the same time, except that a user's correction
 * always replaces an agent's or a stated value (it is their word of
 * now). So a user's statement in a turn after a correction supersedes
 * it, and an extraction of a turn older than a correction does not. next_hist: the seq the user's
 * next history entry gets; a new value's revision is the seq of the entry that logs it (next_hist,
 * or next_hist + 1 after the SUPERSEDED entry of a replacement), so revisions of a key only grow,
 * even across a delete. MP_OK with *fresh, the new current value (its value borrowed from op, or
 * from cur when *refreshed: the same value seen again, only metadata
 * changes, no history entry); MP_NOTFOUND: outranked; MP_ECONFLICT:
 * if_match failed. */
int mp_lifecycle_upsert(const struct mp_mem_entity *cur, const struct mp_op *op, uint64_t next_hist,
                        struct mp_mem_entity *fresh, bool *refreshed);

#endif
