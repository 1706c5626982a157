/* [governance] pii_mode applied to one item before it is stored: a
 * buffered message, an extracted fact or a summary.
 *   store:  kept as is, flagged pii when core/memory/pii.c finds personal data (or
 *           the extractor says so);
 *   redact: each span core/memory/pii.c finds is replaced by "[redacted]" and the
 *           item is stored unflagged; an item the extractor calls pii with
 *           no span to mask is dropped (it cannot be masked);
 *   drop:   an item holding personal data is not stored at all. A summary
 *           is redacted instead (it folds many turns; dropping it would
 *           drop them all), and in drop mode the messages it folds held no
 *           personal data in the first place. */
#ifndef MP_CORE_PIIPOLICY_H
#define MP_CORE_PIIPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "memory/usermem.h"

enum mp_pii_item { MP_PII_ITEM_MESSAGE, MP_PII_ITEM_FACT, MP_PII_ITEM_SUMMARY };

/* Applies mode to text[0..len) (borrowed); flagged: the extractor called
 * it personal data. Returns MP_OK with *out (malloc'd, NUL-terminated,
 * caller frees), *out_len and *pii; MP_NOTFOUND when the item must not be
 * stored; MP_ENOMEM. */
int mp_piipolicy_apply(enum mp_pii_mode mode, enum mp_pii_item item, const char *text, size_t len,
                       bool flagged, char **out, size_t *out_len, bool *pii);

/* mode applied in place to a value a person sets themselves (a user's
 * correction, an admin's value): value[0..*len) in a buffer of cap bytes
 * (borrowed). The rules of a fact without an extractor's flag: store keeps
 * it and sets *pii when it holds personal data; redact masks each span
 * (then *pii is false); drop refuses it. Returns MP_OK with value (NUL-
 * terminated), *len and *pii updated; MP_NOTFOUND when drop refuses it;
 * MP_ETOOBIG when the masked value and its NUL no longer fit cap;
 * MP_ENOMEM. On failure value, *len and *pii are untouched. */
int mp_piipolicy_apply_in_place(enum mp_pii_mode mode, char *value, size_t *len, size_t cap,
                                bool *pii);

/* A person's value for e: mp_piipolicy_apply_in_place() on value[0..len)
 * (cap bytes, borrowed: e points at it afterwards), then
 * mp_usermem_set_correction() with trust, request_id and now_ms. Returns
 * what mp_piipolicy_apply_in_place() returns; e is untouched on failure. */
int mp_piipolicy_correction(enum mp_pii_mode mode, struct mp_mem_entity *e, char *value, size_t len,
                            size_t cap, enum mp_trust trust, const char *request_id,
                            int64_t now_ms);

#endif
