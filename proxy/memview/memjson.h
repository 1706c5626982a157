/* The JSON of stored memory, shared by the user's memory API (proxy/plane/memapi.c)
 * and the admin API (proxy/admin/adminapi.c), built with jansson: facts, buffered
 * messages, the summary, change-history entries and user listings, in two
 * levels of detail, plus the check of a PUT body's {"value": ...}. It reads
 * no store and sends nothing. */
#ifndef MP_PROXY_MEMJSON_H
#define MP_PROXY_MEMJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"
#include "memory/usermem.h"
#include "memview/mempage.h"

/* How much provenance an item shows.
 * - USER, GET /v1/memory (docs/http-api.md): entity {key, value, confidence,
 *   observed_at, source, pii, trust, revision}; message {role, content, at};
 *   summary {text, updated_at}.
 * - ADMIN, the admin API: every field of the item. Entity adds recorded_at,
 *   source_role, model and request_id; message adds recorded_at,
 *   request_id, model, pii, conversation (its conv as 16 hex digits:
 *   core/memory/usermem.h) and conversation_rule ("client", "chain",
 *   "leading", "session": plane/convlook.h), both null when not known;
 *   summary adds observed_at, request_id, model and pii. An empty
 *   request_id or model shows as null. */
enum mp_memjson_detail { MP_MEMJSON_USER, MP_MEMJSON_ADMIN };

/* Every builder returns a new reference (the caller owns it, json_decref()),
 * or NULL when out of memory. Stored text that is not valid UTF-8 (never
 * written by memproxy) shows with U+FFFD in place of each bad sequence.
 * Arguments are borrowed. */

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC); null for ms <= 0
 * (not set). A message's "at" and a fact's "observed_at", the item's own
 * time, show the epoch itself too (an import may give it). */
json_t *mp_memjson_time(int64_t ms);

/* "inferred", "stated", "corrected", "admin"; "unknown" outside the enum. */
const char *mp_memjson_trust_name(enum mp_trust t);

json_t *mp_memjson_entity(const struct mp_mem_entity *e, enum mp_memjson_detail d);
json_t *mp_memjson_message(const struct mp_mem_message *m, enum mp_memjson_detail d);
/* s may be NULL (no memory at all); text null when there is no summary,
 * and then every other field is null too (pii false). */
json_t *mp_memjson_summary(const struct mp_mem_summary *s, enum mp_memjson_detail d);

/* The memory of the user with store key key[0..key_len)
 * (core/memory/userkey.h): {"user": the user id (never the tenant prefix),
 * "summary", "buffer": [messages, oldest first] (um's: its summary and
 * buffer; its entities are not read), "entities": the page facts
 * (mempage.h), "entities_next_cursor": its next, or null}; ADMIN also has
 * "tenant" (32 hex digits, or null). um may be NULL (nothing stored): an
 * empty buffer and an empty summary. */
json_t *mp_memjson_memory(const char *key, size_t key_len, const struct mp_usermem *um,
                          const struct mp_factpage *facts, enum mp_memjson_detail d);

/* The user's own memory setting: {"user", "mode": "auto"|"read"|"off",
 * "updated_at": RFC 3339, or null when never set (auto)}; ADMIN also has
 * "tenant". NULL when out of memory. */
json_t *mp_memjson_settings(const char *key, size_t key_len, enum mp_user_mode mode,
                            int64_t set_at_ms, enum mp_memjson_detail d);

/* Reads a settings PUT body {"mode": "auto"|"read"|"off"} (other members
 * ignored) into *mode: MP_OK, or MP_EINVAL (not a JSON object, no such
 * member, or another value). */
int mp_memjson_parse_mode(const char *body, size_t len, enum mp_user_mode *mode);

/* Adds "archive": page (stolen) and "archive_next_cursor": next ("":
 * null) to doc (a memory object; stolen and returned, NULL on failure). */
json_t *mp_memjson_add_archive(json_t *doc, json_t *page, const char *next);

/* The user of key[0..key_len) as the "user" and "tenant" members of obj
 * (ADMIN shape). Returns 0, or -1 when out of memory. */
int mp_memjson_set_user(json_t *obj, const char *key, size_t key_len);

/* One change-history entry: {seq, event, actor, item, at}, then for a fact
 * key, revision, trust, request_id, model, pii and value (only when the
 * entry kept one: superseded values until the fact is erased); for a summary
 * request_id and model; for messages count. event: added, superseded,
 * corrected, deleted, expired, summarized. actor: extractor, summarizer,
 * user, admin, retention. item: fact, summary, messages. */
json_t *mp_memjson_history_item(const struct mp_history_item *h);

/* What an erasure removed (store.h: struct mp_erased), as the memory page
 * shows it: {"removed": {"facts", "messages", "summaries"}}. */
json_t *mp_memjson_removed(const struct mp_erased *e);

/* One user of a listing: {user, tenant (hex or null), facts, messages,
 * archived, summary (bool), updated_at}. */
json_t *mp_memjson_user_info(const struct mp_user_info *u);

/* Reads a PUT body {"value": "..."} (body[0..len) borrowed; other members
 * ignored). The value must pass mp_usermem_clean_value() (the rule an
 * import's fact and the extractor's share): trimmed of ASCII whitespace
 * (space, \t, \n, \v, \f, \r) at both ends, 1 to MP_ENTITY_VALUE_MAX
 * bytes of valid UTF-8 without control characters (C0, DEL, C1). Returns MP_OK with the trimmed
 * value and a NUL in out (MP_ENTITY_VALUE_MAX + 1 bytes) and *out_len;
 * MP_EINVAL for anything else (a body that is not a JSON object, duplicate
 * members, a missing or non-string value), out untouched. */
int mp_memjson_parse_value(const char *body, size_t len, char *out, size_t *out_len);

#endif
