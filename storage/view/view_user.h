/* A user record as a store view reads it (store_view.c): decoded once from
 * its stored bytes, which it keeps, and shared by reference, so that a
 * later view of the user whose stored bytes are the same borrows it
 * instead of decoding them again (view_cache.h keeps them per thread).
 * Read-only once made: a view hands out its head and meta as const, and no
 * reader writes through them. It does not read the store itself. */
#ifndef MP_STORAGE_VIEW_USER_H
#define MP_STORAGE_VIEW_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "memory/usermem.h"

struct mp_view_user;

/* Decodes the user record plain[0..pn) (borrowed: the stored value opened,
 * a sealed one decrypted) of the user prefix[0..plen), whose stored value
 * is stored[0..n) (borrowed, copied: what mp_view_user_same compares; it
 * may be plain itself), into a new record of reference 1
 * (mp_view_user_release). MP_OK with *out; MP_EIO for a malformed record
 * or one of version 2 (mp_codec_get_user_packed); MP_EINVAL when plen is
 * over MP_STORE_USER_PREFIX_MAX; MP_ENOMEM. */
int mp_view_user_decode(const unsigned char *prefix, size_t plen, const unsigned char *stored,
                        size_t n, const unsigned char *plain, size_t pn, struct mp_view_user **out);

/* u's user prefix (*plen bytes, u's). */
const unsigned char *mp_view_user_prefix(const struct mp_view_user *u, size_t *plen);

/* Whether u was decoded from the stored value stored[0..n). */
bool mp_view_user_same(const struct mp_view_user *u, const unsigned char *stored, size_t n);

/* The bytes u holds: its copy of the stored value, its texts, its
 * messages and itself. */
size_t mp_view_user_bytes(const struct mp_view_user *u);

/* The decoded record: its counters (codec.h) and its head (summary,
 * buffered messages), valid while a reference is held. */
const struct mp_codec_user *mp_view_user_meta(const struct mp_view_user *u);
const struct mp_usermem *mp_view_user_head(const struct mp_view_user *u);

/* The language the record's tally counts most (mp_codec_user_lang), and
 * into *langs the languages it holds (core/recall/userlang.h:
 * mp_userlang_held_counts): worked out once, as it is decoded. */
int mp_view_user_lang(const struct mp_view_user *u, uint64_t *langs);

/* Another reference to u (returned). */
struct mp_view_user *mp_view_user_ref(struct mp_view_user *u);

/* Drops a reference; the last frees u. NULL: nothing. */
void mp_view_user_release(struct mp_view_user *u);

#endif
