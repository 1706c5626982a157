/* An agent's tool loop as one request shows it (docs/memory-recording.md "Agent
 * loops"): whether the request answers tool calls, where the loop began
 * (the user's request), and a digest that names that beginning in every
 * round of the loop. Pure: it reads a request scanned by its wire and
 * keeps nothing; the proxy decides what to record (proxy/memory/turn.h).
 * It does not read replies: whether a reply calls a tool is the wire's
 * (wire.h: reply_body_calls_tool, and the stream accumulator's
 * mp_completion_calls_tool). */
#ifndef MP_CORE_TOOLLOOP_H
#define MP_CORE_TOOLLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/chatreq.h"

/* Whether the newest message of the request body (scanned into req, both
 * borrowed) is a tool result: chat completions' role "tool" (or the
 * legacy "function"), a Responses "function_call_output" item (or
 * another "*_call_output" item: a custom tool's, a computer call's, a
 * shell call's), a Messages user message whose content holds a
 * "tool_result" block. false for an empty request. */
bool mp_toolloop_answers_calls(const char *body, const struct mp_chatreq *req);

/* Where the loop began in body (scanned into req, both borrowed): *at
 * the newest user message with text that holds no tool results (a
 * Messages user message with tool_result blocks is the tools' words, even
 * with a text block beside them: Claude Code's reminders ride there),
 * *first the first of the user messages in a row that end with it (a
 * client may send its request as several user messages). false when the
 * request has no such message (the Responses API with
 * previous_response_id: the beginning is upstream); then both are
 * req->nmsgs. */
bool mp_toolloop_start(const char *body, const struct mp_chatreq *req, size_t *first, size_t *at);

/* The digest of the conversation through message at of req (borrowed;
 * at < req->nmsgs): the role and text hash of each user, assistant and
 * tool message in [0, at], in order. Instructions (system and developer
 * messages) and items without a role (a Responses function_call) are
 * left out, so that a client that rewrites its system prompt between two
 * rounds (a date in it) names the same beginning. Equal conversations
 * give equal digests on every platform. */
uint64_t mp_toolloop_prefix(const struct mp_chatreq *req, size_t at);

#endif
