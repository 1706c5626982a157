/* The credentials memory jobs may carry (core/memory/memcred.h): the
 * configured key when set; else the credential header of the user's latest
 * turn on the memory provider's routes, held per provider in a bounded
 * in-memory cache (never on disk; AUTH_SLOTS users, the least recently
 * used evicted): a turn on the other provider's routes lends nothing. It
 * does not decide which jobs run (proxy/memory/memjob.c does). Memory
 * worker thread only. */
#ifndef MP_PROXY_JOBAUTH_H
#define MP_PROXY_JOBAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct mp_jobauth;

/* An empty cache: caller frees with mp_jobauth_free(); NULL when out of
 * memory. */
struct mp_jobauth *mp_jobauth_new(void);

/* Wipes every credential it holds and frees it; NULL does nothing. */
void mp_jobauth_free(struct mp_jobauth *a);

/* What the user's latest turn on api's routes carried: line[0..len) the
 * credential header line "Name: value" (copied), or NULL when it carried
 * none. Out of memory: the cache stays as it was. */
void mp_jobauth_remember(struct mp_jobauth *a, const char *user, size_t user_len,
                         enum mp_llm_api api, const char *line, size_t len);

/* Wipes what the user lent (the user is erased). */
void mp_jobauth_forget(struct mp_jobauth *a, const char *user, size_t user_len);

/* Whether a job of the user may carry a credential under cfg: the
 * configured key, or a turn on the memory provider's routes was seen. */
bool mp_jobauth_has(const struct mp_jobauth *a, const struct mp_config *cfg, const char *user,
                    size_t user_len);

/* The credential header line for a job of the user under cfg, malloc'd
 * (caller wipes and frees it); NULL when there is none it may carry or out
 * of memory: the configured key ([memory] api_key, else the memory
 * provider's) in that provider's form, else the header the user's latest
 * turn on that provider's routes carried. */
char *mp_jobauth_line(const struct mp_jobauth *a, const struct mp_config *cfg, const char *user,
                      size_t user_len);

/* Wipes and frees line, one mp_jobauth_line() returned; NULL does nothing. */
void mp_jobauth_line_free(char *line);

#endif
