/* Server-sent events framing: finds where each event of an upstream
 * text/event-stream ends, so the proxy relays whole events and can tell
 * "data: [DONE]" apart. Works on the bytes as they come, whatever the
 * split; line ends may be LF, CRLF or CR. It never copies or rewrites bytes
 * and knows nothing of sockets or of OpenAI's payloads. */
#ifndef MP_CORE_SSE_H
#define MP_CORE_SSE_H

#include <stdbool.h>
#include <stddef.h>

struct mp_sse {
    size_t scanned; /* private: bytes of the pending buffer already examined */
    int state;      /* private: line-end state at 'scanned' */
};

void mp_sse_init(struct mp_sse *s);

/* buf[0..len) holds the bytes received since the end of the last event
 * returned (the caller keeps them and appends new ones). Returns MP_OK with
 * *event_len = bytes of the first complete event, including the empty line
 * that ends it; the caller then drops those bytes and calls again with the
 * rest. Returns MP_AGAIN when buf holds no complete event yet; the next
 * call, with more bytes appended, resumes where this one stopped.
 * A CR at the very end of buf that ends the empty line completes the event
 * at once (a following LF then starts the next chunk as an empty line, which
 * SSE ignores), so no event waits for bytes it does not need. */
int mp_sse_next_event(struct mp_sse *s, const char *buf, size_t len, size_t *event_len);

/* True when the event ev[0..len) carries exactly one data line whose value
 * is "[DONE]" (the OpenAI end-of-stream marker); comments and other fields
 * are ignored. */
bool mp_sse_is_done(const char *ev, size_t len);

/* Concatenates the values of the event's "data" fields (joined by '\n', as
 * the SSE spec says) into out[0..cap). Returns MP_OK with *out_len set;
 * MP_NOTFOUND when the event has no data field; MP_ETOOBIG when it does
 * not fit. */
int mp_sse_event_data(const char *ev, size_t len, char *out, size_t cap, size_t *out_len);

#endif
