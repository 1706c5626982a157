/* The memory-model tokens each user's imports planned today (UTC days),
 * for [memory] max_model_tokens_per_user_day (docs/admin-import-export.md "Bounds
 * of an import"). Kept in this process's memory only: a restart forgets
 * the day's spend. Used by the memory worker's thread only (imports are
 * checked and applied there, one at a time), so it takes no lock. It does
 * not count chat turns' extraction or summaries: the queue bounds those. */
#ifndef MP_PROXY_ADMIN_IMPORTQUOTA_H
#define MP_PROXY_ADMIN_IMPORTQUOTA_H

#include <stddef.h>
#include <stdint.h>

/* The tokens the user key user[0..len) (borrowed) spent on the UTC day
 * of now_ms (0 for a user not seen that day). */
uint64_t mp_importquota_spent(const char *user, size_t len, int64_t now_ms);

/* Adds tokens to the user's spend of the UTC day of now_ms (a new day
 * forgets the last one's): MP_OK or MP_ENOMEM (not counted). */
int mp_importquota_add(const char *user, size_t len, int64_t now_ms, uint64_t tokens);

/* Seconds from now_ms to the next UTC midnight, when the spend restarts
 * (at least 1). */
unsigned mp_importquota_seconds_left(int64_t now_ms);

#endif
