/* The fake upstream's stored responses (docs/fake-upstream-wires.md,
 * "Stored responses"): what OpenAI keeps of a Responses request it stores
 * ("store" absent or true) and carries into the turns that continue it
 * (previous_response_id): the items of its chain, its input items and
 * its output. "instructions" is not kept, as the API does not carry it
 * over. Pure bookkeeping over the parsed request; no I/O. */
#ifndef MP_TESTS_FAKE_STORED_H
#define MP_TESTS_FAKE_STORED_H

#include "fake_http.h"

#include <jansson.h>
#include <stdint.h>

#define FAKE_STORED_MAX 256 /* responses kept; the oldest goes first */

struct fake_stored;

/* Caller frees with fake_stored_free(); NULL when out of memory. */
struct fake_stored *fake_stored_new(void);
void fake_stored_free(struct fake_stored *s);

/* Forgets every stored response. */
void fake_stored_reset(struct fake_stored *s);

/* The items the request req (parsed, borrowed) continues: those of the
 * response its "previous_response_id" names (borrowed, valid until the
 * next keep or reset); NULL when it names none the fake keeps (an unknown
 * id carries nothing: the fake does not refuse it). */
json_t *fake_stored_chain(const struct fake_stored *s, json_t *req);

/* A new array: the items of chain (NULL: none), then req's input items
 * (a string input as a user message), as the provider's prompt has them
 * after "instructions" and "tools". NULL: out of memory. */
json_t *fake_stored_items(json_t *req, json_t *chain);

/* Keeps response "resp_<n>" of req (borrowed) unless its "store" is
 * false: chain's items (from fake_stored_chain; NULL: none), then its
 * input items (a string input as a user message), then an assistant
 * message whose output_text is text[0..len). Out of memory: not kept. */
void fake_stored_keep(struct fake_stored *s, uint64_t n, json_t *req, json_t *chain,
                      const char *text, size_t len);

/* {"id":"resp_<n>","items":[...]} of the stored response id[0..id_len)
 * into o; 404 when the fake keeps none by that id, else 200. */
int fake_stored_json(const struct fake_stored *s, const char *id, size_t id_len,
                     struct fake_buf *o);

#endif
