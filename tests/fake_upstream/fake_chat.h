/* The chat completions wire of the fake upstream (POST /v1/chat/completions
 * and every /v1 path no other wire claims): a chat.completion, its chunk
 * stream, OpenAI's error JSON. Bytes only; fake_behavior.c frames them. */
#ifndef MP_TESTS_FAKE_CHAT_H
#define MP_TESTS_FAKE_CHAT_H

#include "fake_behavior.h"
#include "fake_http.h"

extern const struct fake_wire fake_wire_chat;

/* OpenAI's error body for an HTTP status, shared by the Responses wire:
 * {"error":{"message":"fake error N","type":"fake_error","param":null,
 * "code":"fake_N"}}. */
void fake_chat_put_error(struct fake_buf *o, long status);

#endif
