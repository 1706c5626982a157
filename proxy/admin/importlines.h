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

#include "usermem.h"
#include "usermode.h"

#define MP_IMPORT_ID_MAX 256

enum mp_import_type { MP_IMPORT_MESSAGE, MP_IMPORT_FACT, MP_IMPORT_SETTINGS, MP_IMPORT_SKIPPED };

struct mp_import_item {
    enum mp_import_type type;
    size_t line; /* 1-based */
    enum mp_role role;
    char *text; /* message content or fact value, NUL-terminated, owned */
    size_t text_len;
    char key[MP_ENTITY_KEY_MAX + 1]; /* facts: normalized */
    double confidence;
    enum mp_user_mode mode; /* settings: the user's own setting */
    int64_t at_ms;
    uint64_t conv;      /* messages: the conversation's digest (0: none given) */
    uint8_t conv_kind;  /* ... and its rule (enum mp_convid_kind; 0: none given) */
    uint64_t reply_ref; /* messages: its reply's reference (usermem.h; 0: none given) */
    uint8_t lang;       /* messages: its language (enum mp_lang; 0: none given, identified) */
    bool has_id;
    char id[MP_IMPORT_ID_MAX + 1];
};

struct mp_import_batch {
    struct mp_import_item *items;
    size_t n, nmessages, nfacts, nsettings, nskipped;
};

/* Parses body[0..len) received at now_ms. MP_OK with *out (free with
 * mp_import_batch_free()); MP_EINVAL with *bad_line (1-based) and why (a
 * static reason naming the field: "not a JSON object", "type", "role",
 * "content", "key", "value", "at", "confidence", "id", "mode",
 * "conversation", "conversation_rule"); MP_ENOMEM.
 * Strings are compared whole: "user\u0000x" is no role. Message content
 * (any characters, NUL included, as a recorded turn's) longer than
 * MP_MESSAGE_CONTENT_MAX bytes is cut at a UTF-8 boundary like a recorded
 * turn's; a fact value passes mp_usermem_clean_value() (the user API's
 * rule: trimmed, 1..MP_ENTITY_VALUE_MAX bytes, no control characters) and
 * is kept trimmed; every time passes mp_usermem_time_ok() (not past now
 * plus a day). */
int mp_import_parse(const char *body, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    size_t *bad_line, const char **why);

void mp_import_batch_free(struct mp_import_batch *b);

#endif
