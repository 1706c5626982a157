/* Pages of a user's facts and change history, for the memory, history and
 * export answers (docs/admin-api.md, "Pages"): where a page starts and ends
 * in the list the store gave, and the opaque cursors that name the next
 * one. It builds no JSON; the cursor is checked here,
 * so a cursor this code did not write is refused the same way everywhere. */
#ifndef MP_PROXY_MEMPAGE_H
#define MP_PROXY_MEMPAGE_H

#include <stddef.h>
#include <stdint.h>

#include "memory/usermem.h"
#include "ops/store.h"

/* Bytes of a cursor with its NUL: base64url of the longest fact key. */
#define MP_MEMPAGE_CURSOR_MAX    ((MP_ENTITY_KEY_MAX + 2) / 3 * 4 + 2)
#define MP_MEMPAGE_FACTS_DEFAULT 1000 /* facts per page without a limit */

/* A page of facts, in key order (the caller's: mp_mempage_facts_cleanup()). */
struct mp_factpage {
    struct mp_mem_entity *facts;
    size_t n;
    char next[MP_MEMPAGE_CURSOR_MAX]; /* the next page's cursor; "" when none follows */
};

/* A page of history entries, oldest first (mp_mempage_history_cleanup()). */
struct mp_histpage {
    struct mp_history *h; /* never NULL after MP_OK */
    char next[MP_MEMPAGE_CURSOR_MAX];
};

/* base64url without padding of in[0..len) into out, which holds
 * 4 * ceil(len / 3) + 1 bytes (NUL-terminated). */
void mp_mempage_encode(const unsigned char *in, size_t len, char *out);

/* The inverse of in[0..len) ([A-Za-z0-9_-] only: any other byte is
 * refused): MP_OK with out[0..*out_len); MP_EINVAL for a byte outside the
 * alphabet, a length no encoder writes, non-zero spare bits, or more than
 * cap bytes. */
int mp_mempage_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len);

/* The page of the facts of user[0..user_len) (a store user key) after the
 * key cursor[0..cursor_len) names ("": from the first), at most limit (0:
 * MP_MEMPAGE_FACTS_DEFAULT), read with mp_store_facts_page(): MP_OK with
 * *out; MP_NOTFOUND when nothing is stored (*out an empty page); MP_EINVAL
 * for a cursor that names no key (nothing read); MP_EIO; MP_ENOMEM.
 * Following the cursors visits every fact present throughout exactly
 * once, whatever changes meanwhile. */
int mp_mempage_facts(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                     size_t cursor_len, unsigned limit, struct mp_factpage *out);
void mp_mempage_facts_cleanup(struct mp_factpage *p);

/* The page of the user's history after the decimal seq cursor[0..
 * cursor_len) ("": from the oldest), at most limit (>= 1), read with
 * mp_store_history_page(): MP_OK with *out; MP_NOTFOUND; MP_EINVAL for a
 * cursor that is not a decimal 1..2^64-2 without a leading zero; MP_EIO;
 * MP_ENOMEM. */
int mp_mempage_history(struct mp_store *store, const char *user, size_t user_len,
                       const char *cursor, size_t cursor_len, unsigned limit,
                       struct mp_histpage *out);
void mp_mempage_history_cleanup(struct mp_histpage *p);

/* A decimal seq cursor ("" is 0): MP_OK with *after, or MP_EINVAL. */
int mp_mempage_seq(const char *cursor, size_t cursor_len, uint64_t *after);

#endif
