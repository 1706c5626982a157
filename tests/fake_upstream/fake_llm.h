/* The fake upstream playing a (very small) LLM for memproxy's memory jobs
 * (docs/fake-upstream-memory.md, "Playing the LLM"): recognizing an extraction or
 * a summarization request, and writing the answer's content by pattern
 * matching. Pure text work, no I/O; the server decides when and how. */
#ifndef MP_TESTS_FAKE_LLM_H
#define MP_TESTS_FAKE_LLM_H

#include "fake_http.h"

#include <stdbool.h>
#include <stddef.h>

enum fake_job { FAKE_JOB_NONE = -1, FAKE_JOB_EXTRACT = 0, FAKE_JOB_SUMMARIZE = 1 };

#define FAKE_JOB_COUNT 2

/* How the next job of a kind answers (POST /_fake/jobmode). */
enum fake_mode {
    FAKE_MODE_OK,
    FAKE_MODE_STATUS500,
    FAKE_MODE_INVALID,
    FAKE_MODE_FENCED,
    FAKE_MODE_WRONGTYPES,
    FAKE_MODE_SLOW,
    FAKE_MODE_STALL,
    FAKE_MODE_STATUS429
};

#define FAKE_SLOW_MS          2000
#define FAKE_SUMMARY_WORDS    150                /* word limit when the request states none */
#define FAKE_SUMMARY_ITEM_MAX 60                 /* characters kept of one sentence */
#define FAKE_LLM_MAX_BODY_LEN (16 * 1024 * 1024) /* bigger bodies are never jobs */

/* "ok", "status500", ...: the name of m. */
const char *fake_llm_mode_name(enum fake_mode m);

/* Parses a mode name (exact, case-insensitive). Returns 0, or -1. */
int fake_llm_mode_parse(const char *s, size_t n, enum fake_mode *out);

/* Where a job's prompt is: chat completions (a system message, and
 * response_format for extraction) or Anthropic Messages (the top-level
 * "system"; extraction is the prompt that asks for "entities"). */
enum fake_llm_api { FAKE_LLM_CHAT, FAKE_LLM_MESSAGES };

/* Recognizes a memory job in the body of a non-stream POST to
 * /v1/chat/completions or /v1/messages (the caller checks method, path and
 * stream, and says which API); info is fake_http_scan_body's view of it,
 * which decides cheaply whether the body needs a JSON parse at all.
 * Returns FAKE_JOB_NONE for anything else (not JSON, other shapes). When
 * it is a job, appends to content the JSON value (quotes included) of the
 * answer's text, choices[0].message.content or content[0].text, as
 * modes[kind] wants it (the modes that change only status or timing get
 * the ok content). */
enum fake_job fake_llm_reply(enum fake_llm_api api, const char *body, size_t len,
                             const struct fake_body_info *info, const enum fake_mode *modes,
                             struct fake_buf *content);

/* The extraction answer's JSON text for transcript[0..len) (the last user
 * message of the request): the entities found in its user lines. With
 * wrongtypes, every value is the number 42 and every confidence a string. */
void fake_llm_extract(const char *transcript, size_t len, bool wrongtypes, struct fake_buf *out);

/* The summary text for the last user message user[0..len) (previous
 * summary + transcript), cut to max_words words. */
void fake_llm_summarize(const char *user, size_t len, unsigned max_words, struct fake_buf *out);

#endif
