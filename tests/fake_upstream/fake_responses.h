/* The OpenAI Responses wire of the fake upstream (POST /v1/responses): a
 * response object, its typed event stream, OpenAI's error JSON. Bytes only;
 * fake_behavior.c frames them. */
#ifndef MP_TESTS_FAKE_RESPONSES_H
#define MP_TESTS_FAKE_RESPONSES_H

#include "fake_behavior.h"

extern const struct fake_wire fake_wire_responses;

#endif
