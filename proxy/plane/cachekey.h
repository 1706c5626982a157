/* The prompt_cache_key memproxy sets per conversation ([upstream]
 * prompt_cache_key): OpenAI routes a request to a machine by a hash of
 * its prompt's beginning and this key, so that one conversation's turns
 * meet their cached prefix. It does not decide which conversation a
 * request belongs to (plane/convlook.h) nor touch a key the client sent. */
#ifndef MP_PROXY_CACHEKEY_H
#define MP_PROXY_CACHEKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct mp_splice;
struct mp_wire;

/* Hex digits of a key: OpenAI takes at most 64 characters. */
#define MP_CACHEKEY_LEN 32

/* Whether a request of wire w (borrowed) going to the provider api with
 * body[0..len) (borrowed) gets a key under cfg: an OpenAI wire (chat
 * completions, Responses; never Anthropic's Messages, which has no such
 * field) to [upstream], the setting conversation, or auto with the base
 * URL's host api.openai.com (other OpenAI-shaped upstreams may refuse a
 * field they do not know), and no top-level "prompt_cache_key" in the
 * body, whatever its value (the client's goes as sent). */
bool mp_cachekey_wanted(const struct mp_config *cfg, const struct mp_wire *w, enum mp_llm_api api,
                        const char *body, size_t len);

/* The key of conversation conv[0..conv_len) (its key into the
 * conversation tables: plane/convlook.h) of the store user key
 * user[0..ulen) (core/memory/userkey.h): the first MP_CACHEKEY_LEN lower
 * case hex digits of HMAC-SHA256(route_key, tenant NUL user id NUL conv),
 * tenant empty without one; route_key the store's
 * (mp_store_route_key: MP_SEAL_KEY_LEN bytes). Written to out with a NUL
 * (MP_CACHEKEY_LEN + 1 bytes). The same on every worker, after a restart
 * and on every proxy of one store; no user id can be read back from it. */
void mp_cachekey_make(const unsigned char *route_key, const char *user, size_t ulen,
                      const unsigned char *conv, size_t conv_len, char *out);

/* Adds "prompt_cache_key":"<key>", right after the opening '{' of the
 * request body[0..len) (borrowed), into s: its spliced pieces, or, when
 * nothing was spliced, a splice of the whole body
 * (core/wire/splice.h: mp_splice_open_member). key: MP_CACHEKEY_LEN hex
 * digits. MP_OK, MP_ENOMEM, MP_EINVAL (s untouched). */
int mp_cachekey_splice(const char *key, const char *body, size_t len, struct mp_splice *s);

#endif
