/* What the wire suites (tests/core/wire/test_wire_*.c) share: one wire's
 * request read, spliced with a block and picks, a message's text, a reply
 * body's text, and a stream fed through the wire's reader. A suite names
 * its wire once (wf_use); the helpers assert what must hold whatever the
 * test (splice succeeds and reports its length, ...). */
#ifndef MP_TESTS_WIRE_FIXTURE_H
#define MP_TESTS_WIRE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "wire/completion.h"
#include "wire/splice.h"
#include "wire/wire.h"

#define WF_MSGS 64

extern struct mp_chatreq_msg wf_msgs[WF_MSGS]; /* the scratch wf_scan reads into */

/* The wire the helpers use and the block text wf_spliced splices. */
void wf_use(const struct mp_wire *w, const char *block);

/* The tail wf_spliced splices from now on ("" by wf_use: none). */
void wf_use_tail(const char *tail);

/* Whether wf_spliced puts the replay with the tail (wire.h:
 * replay_with_tail; false by wf_use). */
void wf_use_replay_with_tail(bool with);

/* The wire's scan of body into *req (over wf_msgs). */
int wf_scan(const char *body, struct mp_chatreq *req);

/* The wire's splice of the block and picks[0..npicks) into body, as
 * pieces (the scan and the splice must succeed; mp_splice_cleanup()). */
void wf_splice(const char *body, const struct mp_wire_pick *picks, size_t npicks,
               struct mp_splice *out);

/* The bytes its iovecs point to, one after the other (malloc'd,
 * NUL-terminated). */
char *wf_joined(const struct mp_splice *s, const char *body);

/* body with the block and picks[0..npicks) spliced in, flattened
 * (malloc'd; it must equal wf_joined). */
char *wf_spliced(const char *body, const struct mp_wire_pick *picks, size_t npicks);

/* The text of message m (a static buffer), NULL when it has none. */
const char *wf_text_of(const char *body, const struct mp_chatreq_msg *m);

/* The wire's reply_body_text of body (on MP_OK, *out's length is checked). */
int wf_body_text(const char *body, char **out);

/* A new accumulator with the wire's reader, fed ev[0..n). */
struct mp_completion *wf_stream(const char *const *ev, size_t n, size_t cap);

#endif
