/* The body of POST /admin/users/{user}/import (docs/admin-api.md): JSON
 * Lines, one item per line, parsed and checked whole before anything is
 * stored, so that a bad line refuses the import with its number.
 *
 *   {"type":"message","role":"user"|"assistant","content":"...","at":"<RFC 3339>"}
 *   {"type":"fact","key":"...","value":"...","at":"<RFC 3339>","confidence":0.9}
 *
 * Both take an optional "id" (a string of 1..256 bytes) that makes a
 * second import of the line a no-op. A message takes an optional
 * "conversation" (16 hex digits: core/memory/usermem.h's conv; null: none)
 * and, with it, "conversation_rule" ("client", "chain", "leading" or
 * "session"; null: not known), as the admin export writes them. A fact's time may be given as
 * "observed_at" instead of "at", and its confidence is optional (1 when
 * absent), so the admin export's fact lines import as they are. Lines of
 * A settings line, {"type":"settings","mode":"auto"|"read"|"off"}, sets the
 * user's own memory setting (the export writes one when it is not auto).
 * The export's other types ("summary", "history") are accepted and
 * skipped. Other members are ignored. Blank lines (only spaces, tabs or
 * CR) are skipped; a line is at most the whole body. */
#ifndef MP_PROXY_IMPORTLINES_H
#define MP_PROXY_IMPORTLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"

/* Parses body[0..len) received at now_ms into out (appended; free with
 * mp_importitem_free(), also on failure). MP_OK; MP_EINVAL with *err: its
 * line (1-based) and why (a static reason naming the field: "not a JSON
 * object", "type", "role", "content", "key", "value", "at",
 * "confidence", "id", "mode", "conversation", "conversation_rule",
 * "reply_ref", "lang"; future set for a time too far ahead); MP_ETOOBIG
 * past out's max_messages or max_facts (importitem.h); MP_ENOMEM.
 * Facts take the trust class stated; summary and history lines are
 * counted (nskipped, and skipped[] as export_line), not held as items.
 * Strings are compared whole: "user\u0000x" is no role. Message content
 * (any characters, NUL included, as a recorded turn's) longer than
 * MP_MESSAGE_CONTENT_MAX bytes is cut at a UTF-8 boundary like a recorded
 * turn's; a fact value passes mp_usermem_clean_value() (the user API's
 * rule: trimmed, 1..MP_ENTITY_VALUE_MAX bytes, no control characters) and
 * is kept trimmed; every time passes mp_usermem_time_ok() (not past now
 * plus a day). */
int mp_import_parse(const char *body, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err);

#endif
