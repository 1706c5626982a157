/* Parked turns: queued turns that a draining memproxy could not commit by
 * its drain deadline, written to a file beside the store so that the next
 * start records them. Nothing here decides when to park; the memory worker
 * does.
 *
 * A park file is "<storage path>/parked-<ms>-<pid>.turns": the turns
 * serialized (never their Authorization, which stays in process memory
 * only) and sealed with AES-256-GCM under a key derived from the store's
 * secret, so that a store encrypted at rest leaks no text through it and a
 * file from another store fails to open. It is written to a temporary name,
 * fsync'd and renamed, so a crash leaves either the whole file or none. */
#ifndef MP_PROXY_PARK_H
#define MP_PROXY_PARK_H

#include <stddef.h>

#include "format/seal.h"
#include "memory/turn.h"

#define MP_PARK_MAX_BYTES (1u << 30) /* a park file larger than this is refused */

/* Writes turns[0..n) (borrowed) to a new park file in dir, sealed under a
 * key derived from secret. Returns MP_OK; MP_EIO (the reason in err, at
 * most errcap bytes, no user data); MP_ENOMEM. */
int mp_park_write(const char *dir, const unsigned char secret[MP_SEAL_KEY_LEN],
                  struct mp_turn *const *turns, size_t n, char *err, size_t errcap);

/* Called for each parked turn (ownership passes to the callee). */
typedef void (*mp_park_turn_fn)(struct mp_turn *turn, void *arg);

/* Reads every park file in dir, oldest first, handing each turn to fn.
 * After fn has seen a file's turns, done(arg) is asked whether they are
 * safely recorded (MP_OK: the file is removed; anything else: it is kept
 * for the next start). Counts the turns handed over in *nturns. Returns
 * MP_OK (also when there is none); MP_EIO when a file cannot be read or
 * opened (the reason in err; the file is kept and the others are still
 * read). */
int mp_park_load(const char *dir, const unsigned char secret[MP_SEAL_KEY_LEN], mp_park_turn_fn fn,
                 int (*done)(void *arg), void *arg, size_t *nturns, char *err, size_t errcap);

#endif
