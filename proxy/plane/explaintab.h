/* The explanations of data-plane requests that asked for theirs
 * (X-Memory-Explain: 1 with [admin] explain_requests = true), or that a
 * user's memory page shows ([page] explain_last = true), kept for the
 * admin API (GET /admin/explain/{id}; the user's newest: GET
 * /admin/users/{id}/explain, docs/admin-api.md) for a bounded time in a
 * bounded table shared by every thread. It holds their JSON text and a
 * keyed hash of their user; it writes nothing to a log or to disk. */
#ifndef MP_PROXY_EXPLAINTAB_H
#define MP_PROXY_EXPLAINTAB_H

#include <stddef.h>
#include <stdint.h>

#define MP_EXPLAINTAB_ID_LEN    32                 /* lowercase hex digits of an id */
#define MP_EXPLAINTAB_TTL_MS    (10 * 60 * 1000)   /* how long one is kept */
#define MP_EXPLAINTAB_MAX       256                /* kept at once; the oldest goes first */
#define MP_EXPLAINTAB_BYTES_MAX (16 * 1024 * 1024) /* their bytes at once, likewise */

/* Keeps a copy of text[0..len) at now_ms under a new random id, written
 * to id (MP_EXPLAINTAB_ID_LEN + 1 bytes, NUL-terminated), as an
 * explanation of the user with store key user[0..user_len) (borrowed;
 * kept as a keyed hash): MP_OK; MP_ETOOBIG (len over
 * MP_EXPLAINTAB_BYTES_MAX); MP_ENOMEM. Expired ones and, past a bound, the
 * oldest are dropped. */
int mp_explaintab_put(const char *text, size_t len, const char *user, size_t user_len,
                      int64_t now_ms, char *id);

/* A copy of the newest explanation kept for the user with store key
 * user[0..user_len) (NUL-terminated; caller frees) at now_ms: MP_OK with
 * *text and *len; MP_NOTFOUND (none kept, or all dropped or expired);
 * MP_ENOMEM. */
int mp_explaintab_last(const char *user, size_t user_len, int64_t now_ms, char **text, size_t *len);

/* A copy of the text kept under id (NUL-terminated; caller frees) at
 * now_ms: MP_OK with *text and *len; MP_NOTFOUND (never kept, or dropped
 * or expired); MP_ENOMEM. */
int mp_explaintab_get(const char *id, int64_t now_ms, char **text, size_t *len);

/* Drops every explanation kept for the user with store key
 * user[0..user_len): an erasure of theirs leaves no explanation that
 * quotes what it erased. */
void mp_explaintab_forget(const char *user, size_t user_len);

/* Drops everything (for the end of the process). */
void mp_explaintab_clear(void);

#endif
