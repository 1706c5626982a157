/* The model list of the fake upstream (/v1/models): one model, "fake", in
 * a body both OpenAI's and Anthropic's clients read as their list. Bytes
 * only; fake_behavior.c frames them. */
#ifndef MP_TESTS_FAKE_MODELS_H
#define MP_TESTS_FAKE_MODELS_H

#include "fake_behavior.h"

extern const struct fake_wire fake_wire_models;

#endif
