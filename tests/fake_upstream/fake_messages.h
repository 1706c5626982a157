/* The Anthropic Messages wire of the fake upstream (POST /v1/messages and
 * POST /v1/messages/count_tokens): a message with content blocks (text,
 * and on demand thinking and tool_use), its event stream, Anthropic's error
 * JSON. Bytes only; fake_behavior.c frames them. */
#ifndef MP_TESTS_FAKE_MESSAGES_H
#define MP_TESTS_FAKE_MESSAGES_H

#include "fake_behavior.h"

extern const struct fake_wire fake_wire_messages;

/* count_tokens: {"input_tokens":N}, never a stream. */
extern const struct fake_wire fake_wire_count_tokens;

#endif
