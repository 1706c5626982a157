/* The assistant's reply in an OpenAI chat completion response: the words of
 * choice 0, read from a whole JSON body or gathered from the SSE events of a
 * stream: its content's text, its refusal, its audio's transcript. Tool
 * calls and other choices are not words. No I/O; the proxy feeds the bytes
 * it relayed. */
#ifndef MP_CORE_COMPLETION_H
#define MP_CORE_COMPLETION_H

#include <stdbool.h>
#include <stddef.h>

/* Which choice is "choice 0", in bodies and stream chunks alike: the element
 * of "choices" whose "index" member is the number 0; an element without an
 * "index" member counts as choice 0 only when it is the first element. */

/* Opaque accumulator for one stream. Other chat APIs' replies (core/wire/)
 * use it with their own reader of an event's data. */
struct mp_completion;

/* Reads one event's data[0..len), a JSON object, into c (with
 * mp_completion_append, mp_completion_append_text, mp_completion_mark).
 * Returns MP_OK or the MP_ETOOBIG / MP_ENOMEM of an append. */
typedef int (*mp_completion_reader)(struct mp_completion *c, const char *data, size_t len);

/* A new, empty accumulator that keeps at most cap bytes of text. Returns NULL
 * when out of memory. Caller frees with mp_completion_free(). */
struct mp_completion *mp_completion_new(size_t cap);

/* The chat completions reader (mp_completion_new's): see
 * mp_completion_feed_event. */
int mp_completion_read_chat(struct mp_completion *c, const char *data, size_t len);

/* An accumulator whose events are read by read (for another API's stream;
 * "data: [DONE]" still marks it done). NULL when out of memory. */
struct mp_completion *mp_completion_new_reader(size_t cap, mp_completion_reader read);
/* As mp_completion_new_reader, but text past cap is cut, not an overflow:
 * the first append that does not fit and every later one add nothing and
 * return MP_OK, mp_completion_cut() says so, the stream is read on (its
 * end marks it complete) and mp_completion_overflowed() stays false. For
 * recording, which keeps far less than cap anyway. */
struct mp_completion *mp_completion_new_cutting(size_t cap, mp_completion_reader read);
/* Whether a cutting accumulator's text was cut at cap. */
bool mp_completion_cut(const struct mp_completion *c);

/* For readers: appends the text of the content value buf[s..e) (a string,
 * or an array of {"type":"text"} parts; null or another type adds
 * nothing) decoded; appends text[0..len) as is; marks the stream finished
 * (complete unless failed) and/or failed (never complete). The appends
 * return MP_OK, or MP_ETOOBIG past cap / MP_ENOMEM (accumulation then
 * stops for good, as for mp_completion_feed_event). */
int mp_completion_append(struct mp_completion *c, const char *buf, size_t s, size_t e);
int mp_completion_append_text(struct mp_completion *c, const char *text, size_t len);
void mp_completion_mark(struct mp_completion *c, bool finished, bool failed);

/* For readers: the reply calls a tool the client runs (a tool loop's
 * round, docs/memory-recording.md "Agent loops"); mp_completion_calls_tool() then
 * says so, whatever text the reply also has. */
void mp_completion_mark_tool_call(struct mp_completion *c);
bool mp_completion_calls_tool(const struct mp_completion *c);

/* A kind of content part that holds the reply's words: its "type", the
 * JSON literal with its quotes (e.g. "\"output_text\""), and the member
 * whose string the words are ("text"; a refusal's "refusal", an audio
 * part's "transcript"). */
struct mp_completion_part {
    const char *type;
    const char *member;
};

/* Appends the words of the parts of the array buf[s..e) whose "type" is
 * one of kinds[0..nkinds) (borrowed) to out at *n, joined by '\n',
 * decoded, within cap; a part whose member is not a string adds nothing.
 * MP_OK; MP_ETOOBIG; MP_EINVAL for a value that is not an array. */
int mp_completion_parts_text(const char *buf, size_t s, size_t e,
                             const struct mp_completion_part *kinds, size_t nkinds, char *out,
                             size_t cap, size_t *n);

/* Frees c and its text. mp_completion_free(NULL) does nothing. */
void mp_completion_free(struct mp_completion *c);

/* Feeds one SSE event ev[0..len) (borrowed; the bytes as relayed, including
 * the blank line that ends the event; LF, CRLF or CR line ends).
 * - An event without a data field (a comment, a keep-alive) is ignored.
 * - "data: [DONE]" marks the stream done.
 * - Otherwise the data (data lines joined by '\n') must be one JSON object.
 *   For choice 0 the string choices[0].delta.content is appended, decoded
 *   (a content array contributes its "text" parts joined by '\n'), then
 *   the strings delta.refusal and delta.audio.transcript (a voice reply's
 *   words: its content is null); a
 *   non-null choices[0].finish_reason marks the stream finished. A
 *   "tool_calls" (or legacy "function_call") delta of choice 0, or its
 *   finish_reason "tool_calls" (or "function_call"), marks a tool call
 *   (mp_completion_calls_tool). Other choices, role-only deltas and chunks
 *   without choices (usage, prompt filter results) add nothing.
 * - A chunk with a top-level "error" member marks the stream failed.
 * Returns MP_OK; MP_EINVAL for an event whose data is not a JSON object (the
 * event is otherwise ignored); MP_ETOOBIG when the text would exceed cap:
 * the delta that did not fit is dropped, accumulation stops for good and
 * every later call returns MP_ETOOBIG too (the turn must not be recorded);
 * MP_ENOMEM when growing the buffer failed (the text is then incomplete and
 * later calls return MP_ENOMEM). */
int mp_completion_feed_event(struct mp_completion *c, const char *ev, size_t len);

/* True when the stream completed: "data: [DONE]" was seen or choice 0 got a
 * finish_reason, and no chunk carried an "error" member. Says nothing about
 * the cap: check mp_completion_overflowed() too before recording. */
bool mp_completion_complete(const struct mp_completion *c);

/* True once the text exceeded cap or an allocation failed, i.e. once
 * mp_completion_feed_event() returned MP_ETOOBIG or MP_ENOMEM: the text is
 * incomplete and the turn must not be recorded. */
bool mp_completion_overflowed(const struct mp_completion *c);

/* The text gathered so far, NUL-terminated, with its length in *len (len may
 * be NULL); "" before any content. Borrowed: valid until the next
 * mp_completion_feed_event() or mp_completion_free(). */
const char *mp_completion_text(const struct mp_completion *c, size_t *len);

/* Non-stream: the text of choices[0].message.content in the response body
 * body[0..len) (borrowed): a string, or the "text" members of the array's
 * parts whose "type" is "text", joined by '\n'; decoded from JSON. Content
 * only: a refusal is no text (a memory model's answer is read with it).
 * Returns MP_OK with *out a malloc'd, NUL-terminated copy (caller frees
 * with free()) and *out_len its length; MP_NOTFOUND when choice 0 has no
 * text (content null, absent, "" or an array without text parts, e.g. only
 * tool calls; no choice 0 at all, e.g. "choices":[]); MP_EINVAL when body
 * is not a JSON object with a "choices" array whose choice 0 is an object
 * holding a "message" object, or content is of another type; MP_ENOMEM.
 * Outputs are untouched unless MP_OK. */
int mp_completion_reply_text(const char *body, size_t len, char **out, size_t *out_len);

/* Non-stream: the words of choice 0's message, what the assistant said (the
 * chat wire's reply_body_text, for recording): its content's text as
 * mp_completion_reply_text reads it, then its "refusal" string, then its
 * "audio" object's "transcript" string (a voice reply, content null),
 * each decoded and appended as a stream's deltas are. Returns as
 * mp_completion_reply_text, MP_NOTFOUND when the message has none of
 * them. */
int mp_completion_reply_words(const char *body, size_t len, char **out, size_t *out_len);

/* Non-stream: whether choice 0 of the response body body[0..len)
 * (borrowed) calls a tool: its message has a non-empty "tool_calls" array
 * or a "function_call" object, or its finish_reason is "tool_calls" or
 * "function_call". false for anything else, a body that is not a chat
 * completion included. */
bool mp_completion_reply_calls_tool(const char *body, size_t len);

#endif
