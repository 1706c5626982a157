/* [governance] pii_mode applied to one item before it is stored: a
 * buffered message, an extracted fact or a summary.
 *   store:  kept as is, flagged pii when core/pii.c finds personal data (or
 *           the extractor says so);
 *   redact: each span core/pii.c finds is replaced by "[redacted]" and the
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

#include "config.h"

enum mp_pii_item { MP_PII_ITEM_MESSAGE, MP_PII_ITEM_FACT, MP_PII_ITEM_SUMMARY };

/* Applies mode to text[0..len) (borrowed); flagged: the extractor called
 * it personal data. Returns MP_OK with *out (malloc'd, NUL-terminated,
 * caller frees), *out_len and *pii; MP_NOTFOUND when the item must not be
 * stored; MP_ENOMEM. */
int mp_piipolicy_apply(enum mp_pii_mode mode, enum mp_pii_item item, const char *text, size_t len,
                       bool flagged, char **out, size_t *out_len, bool *pii);

#endif
