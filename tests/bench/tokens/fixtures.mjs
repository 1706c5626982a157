// Prints tests/core/recall/token_fixtures.h: per ml-dev language, its first ten messages joined
// as a block's past line joins them, with the o200k_base token count measured here.
// Usage (from the repository root): node tests/bench/tokens/fixtures.mjs > tests/core/recall/token_fixtures.h
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200k from "js-tiktoken/ranks/o200k_base";

const enc = new Tiktoken(o200k);
const d = JSON.parse(readFileSync("data/ml-dev/needles-dev.json", "utf8"));
const lit = (s) => JSON.stringify(s).replace(/\?\?/g, "?\\?");
console.log(`/* Real sentences per script: each ml-dev language's first ten messages
 * (data/ml-dev/needles-dev.json, CC0) joined by " | ", with their o200k_base
 * token count. Written by tests/bench/tokens/fixtures.mjs (js-tiktoken, the
 * version tests/bench/tokens/package-lock.json pins), then clang-format; do not edit. */
#ifndef MP_TESTS_TOKEN_FIXTURES_H
#define MP_TESTS_TOKEN_FIXTURES_H

#include <stdint.h>

struct token_fixture {
    const char *lang, *text;
    uint32_t o200k; /* tokens of text */
};

static const struct token_fixture token_fixtures[] = {`);
for (const c of d.conversations) {
  const text = c.turns.slice(0, 10).map((t) => t.content).join(" | ");
  console.log(`    {"${c.lang}", ${lit(text)}, ${enc.encode(text).length}},`);
}
console.log(`};

#endif`);
