/* The providers' tool-loop refusals (see fake_validate.h). Each API's rule
 * walks the conversation once, in order, and stops at the first breach,
 * whose message is the provider's own wording (OpenAI's "preceeding"
 * included). Call ids are matched by scanning the few messages around the
 * call instead of through a set: a conversation holds a handful of calls
 * per turn, and nothing is allocated but the error text.
 *
 * What each provider does with a breach it finds elsewhere (a tool_result
 * in an assistant message, a duplicate answer, a missing id member) is
 * not played: those pass. */
#include "fake_validate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NONE SIZE_MAX

/* The refusal being written: its message as raw text (empty: none yet)
 * and OpenAI's "param" (NULL: null). */
struct verdict {
    struct fake_buf msg;
    char param[48];
};

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* An id in a message: NULL (no such member) shows as the empty string. */
static void put_id(struct verdict *v, const char *id)
{
    fake_buf_puts(&v->msg, id != NULL ? id : "");
}

bool fake_validate_wanted(const char *body, size_t len)
{
    static const char *const needles[] = {"tool", "function_call", "cache_control"};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        if (memmem(body, len, needles[i], strlen(needles[i])) != NULL) {
            return true;
        }
    }
    return false;
}

/* ---- chat completions: tool messages right after the assistant's calls ---- */

/* Among the elements of array a whose member key is id. */
static bool has_member(const json_t *a, size_t from, size_t to, const char *key, const char *id)
{
    for (size_t j = from; j < to; j++) {
        if (str_eq(str(json_array_get(a, j), key), id)) {
            return true;
        }
    }
    return false;
}

static void chat_param(struct verdict *v, size_t i)
{
    snprintf(v->param, sizeof(v->param), "messages.[%zu].role", i);
}

/* The calls of the assistant message at a that no tool message in
 * msgs[a+1..end) answers: true (and the refusal) when there are any. */
static bool chat_unanswered(const json_t *msgs, size_t a, size_t end, struct verdict *v)
{
    static const char head[] = "An assistant message with 'tool_calls' must be followed by tool "
                               "messages responding to each 'tool_call_id'. The following "
                               "tool_call_ids did not have response messages: ";
    const json_t *calls = json_object_get(json_array_get(msgs, a), "tool_calls");
    size_t missing = 0;
    size_t i;
    const json_t *call;
    fake_buf_puts(&v->msg, head);
    json_array_foreach(calls, i, call)
    {
        const char *id = str(call, "id");
        if (!has_member(msgs, a + 1, end, "tool_call_id", id)) {
            fake_buf_puts(&v->msg, missing++ > 0 ? ", " : "");
            put_id(v, id);
        }
    }
    if (missing == 0) {
        v->msg.len = 0;
        return false;
    }
    chat_param(v, a);
    return true;
}

static void check_chat(const json_t *req, struct verdict *v)
{
    const json_t *msgs = json_object_get(req, "messages");
    size_t run = NONE; /* the assistant message the tool messages since answer */
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *role = str(m, "role");
        if (str_eq(role, "tool")) {
            const json_t *calls =
                run != NONE ? json_object_get(json_array_get(msgs, run), "tool_calls") : NULL;
            if (!has_member(calls, 0, json_array_size(calls), "id", str(m, "tool_call_id"))) {
                fake_buf_puts(&v->msg, "Invalid parameter: messages with role 'tool' must be a "
                                       "response to a preceeding message with 'tool_calls'.");
                chat_param(v, i);
                return;
            }
            continue;
        }
        if (run != NONE && chat_unanswered(msgs, run, i, v)) {
            return;
        }
        bool calls = str_eq(role, "assistant") && json_array_size(json_object_get(m, "tool_calls"));
        run = calls ? i : NONE;
    }
    if (run != NONE) {
        chat_unanswered(msgs, run, json_array_size(msgs), v);
    }
}

/* ---- Messages: tool_result blocks first in the next message ---- */

/* Among the blocks content[0..to) one of this type whose member key is id. */
static bool has_block(const json_t *content, size_t to, const char *type, const char *key,
                      const char *id)
{
    for (size_t k = 0; k < to; k++) {
        const json_t *b = json_array_get(content, k);
        if (str_eq(str(b, "type"), type) && str_eq(str(b, key), id)) {
            return true;
        }
    }
    return false;
}

static size_t count_type(const json_t *content, const char *type)
{
    size_t n = 0;
    size_t k;
    const json_t *b;
    json_array_foreach(content, k, b)
    {
        n += str_eq(str(b, "type"), type);
    }
    return n;
}

/* How many tool_result blocks content starts with (a string: none). */
static size_t leading_results(const json_t *content)
{
    size_t k = 0;
    while (str_eq(str(json_array_get(content, k), "type"), "tool_result")) {
        k++;
    }
    return k;
}

/* The tool_use blocks of message a answered at the start of message a+1. */
static bool messages_unanswered(const json_t *msgs, size_t a, struct verdict *v)
{
    const json_t *uses = json_object_get(json_array_get(msgs, a), "content");
    size_t n = count_type(uses, "tool_use");
    if (n == 0) {
        return false;
    }
    const json_t *next = json_array_get(msgs, a + 1); /* NULL: a is the last message */
    const json_t *results = json_object_get(next, "content");
    size_t lead = leading_results(results);
    if (next != NULL && lead == 0) {
        fake_buf_puts(&v->msg, "messages.");
        fake_buf_put_u64(&v->msg, a + 1);
        fake_buf_puts(&v->msg, ": Did not find ");
        fake_buf_put_u64(&v->msg, n);
        fake_buf_puts(&v->msg, " `tool_result` block(s) at the beginning of this message. "
                               "Messages following `tool_use` blocks must begin with a matching "
                               "number of `tool_result` blocks.");
        return true;
    }
    fake_buf_puts(&v->msg, "messages.");
    fake_buf_put_u64(&v->msg, a);
    fake_buf_puts(&v->msg, ": `tool_use` ids were found without `tool_result` blocks "
                           "immediately after: ");
    size_t missing = 0;
    size_t k;
    const json_t *b;
    json_array_foreach(uses, k, b)
    {
        const char *id = str(b, "id");
        if (str_eq(str(b, "type"), "tool_use") &&
            !has_block(results, lead, "tool_result", "tool_use_id", id)) {
            fake_buf_puts(&v->msg, missing++ > 0 ? ", " : "");
            put_id(v, id);
        }
    }
    if (missing == 0) {
        v->msg.len = 0;
        return false;
    }
    fake_buf_puts(&v->msg, ". Each `tool_use` block must have a corresponding `tool_result` "
                           "block in the next message.");
    return true;
}

/* Every tool_result of message i answers a tool_use of message i-1. */
static bool messages_orphans(const json_t *msgs, size_t i, struct verdict *v)
{
    const json_t *prev = i > 0 ? json_object_get(json_array_get(msgs, i - 1), "content") : NULL;
    const json_t *content = json_object_get(json_array_get(msgs, i), "content");
    size_t k;
    const json_t *b;
    json_array_foreach(content, k, b)
    {
        const char *id = str(b, "tool_use_id");
        if (!str_eq(str(b, "type"), "tool_result") ||
            has_block(prev, json_array_size(prev), "tool_use", "id", id)) {
            continue;
        }
        fake_buf_puts(&v->msg, "messages.");
        fake_buf_put_u64(&v->msg, i);
        fake_buf_puts(&v->msg, ".content.");
        fake_buf_put_u64(&v->msg, k);
        fake_buf_puts(&v->msg, ": unexpected `tool_use_id` found in `tool_result` blocks: ");
        put_id(v, id);
        fake_buf_puts(&v->msg, ". Each `tool_result` block must have a corresponding `tool_use` "
                               "block in the previous message.");
        return true;
    }
    return false;
}

/* The blocks of an array (tools, system, a message's content) that carry a
 * cache_control, as fake_cache.c counts breakpoints. */
static size_t cache_controls(const json_t *blocks)
{
    size_t n = 0;
    size_t k;
    const json_t *b;
    json_array_foreach(blocks, k, b)
    {
        const json_t *cc = json_object_get(b, "cache_control");
        n += cc != NULL && !json_is_null(cc);
    }
    return n;
}

static void check_messages(const json_t *req, struct verdict *v)
{
    const json_t *msgs = json_object_get(req, "messages");
    size_t n = cache_controls(json_object_get(req, "tools")) +
               cache_controls(json_object_get(req, "system"));
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m)
    {
        n += cache_controls(json_object_get(m, "content"));
    }
    if (n > FAKE_CACHE_BREAKPOINTS) {
        fake_buf_puts(&v->msg, "A maximum of 4 blocks with cache_control may be provided. Found ");
        fake_buf_put_u64(&v->msg, n);
        fake_buf_puts(&v->msg, ".");
        return;
    }
    json_array_foreach(msgs, i, m)
    {
        if ((i > 0 && messages_unanswered(msgs, i - 1, v)) || messages_orphans(msgs, i, v)) {
            return;
        }
    }
    if (json_array_size(msgs) > 0) {
        messages_unanswered(msgs, json_array_size(msgs) - 1, v);
    }
}

/* ---- Responses: every function_call_output answers an earlier call ---- */

/* A message item of role user, system or developer: a new turn, which
 * every call before it must have its output ahead of. */
static bool is_turn(const json_t *item)
{
    const char *type = str(item, "type");
    const char *role = str(item, "role");
    return (type == NULL || strcmp(type, "message") == 0) &&
           (str_eq(role, "user") || str_eq(role, "system") || str_eq(role, "developer"));
}

static bool has_item(const json_t *input, size_t from, size_t to, const char *type,
                     const char *call_id)
{
    for (size_t j = from; j < to; j++) {
        const json_t *it = json_array_get(input, j);
        if (str_eq(str(it, "type"), type) && str_eq(str(it, "call_id"), call_id)) {
            return true;
        }
    }
    return false;
}

/* Each function_call of input[from..to) has its output before to. */
static bool outputs_missing(const json_t *input, size_t from, size_t to, struct verdict *v)
{
    for (size_t j = from; j < to; j++) {
        const json_t *it = json_array_get(input, j);
        const char *id = str(it, "call_id");
        if (str_eq(str(it, "type"), "function_call") &&
            !has_item(input, j + 1, to, "function_call_output", id)) {
            fake_buf_puts(&v->msg, "No tool output found for function call ");
            put_id(v, id);
            fake_buf_puts(&v->msg, ".");
            return true;
        }
    }
    return false;
}

static void check_responses(const json_t *req, struct verdict *v)
{
    const json_t *input = json_object_get(req, "input");
    const json_t *prev = json_object_get(req, "previous_response_id");
    const json_t *conv = json_object_get(req, "conversation");
    if (!json_is_array(input) || (prev != NULL && !json_is_null(prev)) ||
        (conv != NULL && !json_is_null(conv))) {
        return; /* the calls may be in a stored response: nothing to compare with */
    }
    snprintf(v->param, sizeof(v->param), "input");
    size_t turn = 0; /* the first item after the last user, system or developer message */
    size_t k;
    const json_t *it;
    json_array_foreach(input, k, it)
    {
        const char *id = str(it, "call_id");
        if (str_eq(str(it, "type"), "function_call_output") &&
            !has_item(input, 0, k, "function_call", id)) {
            fake_buf_puts(&v->msg, "No tool call found for function call output with call_id ");
            put_id(v, id);
            fake_buf_puts(&v->msg, ".");
            return;
        }
        if (is_turn(it)) {
            if (outputs_missing(input, turn, k, v)) {
                return;
            }
            turn = k + 1;
        }
    }
    outputs_missing(input, turn, json_array_size(input), v);
}

/* {"error":{"message":…,"type":"invalid_request_error","param":…,"code":null}} */
static void put_openai(struct fake_buf *o, const struct verdict *v)
{
    fake_buf_puts(o, "{\"error\":{\"message\":");
    fake_buf_put_json_string(o, v->msg.p, v->msg.len);
    fake_buf_puts(o, ",\"type\":\"invalid_request_error\",\"param\":");
    if (v->param[0] != '\0') {
        fake_buf_put_json_string(o, v->param, strlen(v->param));
    } else {
        fake_buf_puts(o, "null");
    }
    fake_buf_puts(o, ",\"code\":null}}");
}

/* {"type":"error","error":{"type":"invalid_request_error","message":…}} */
static void put_anthropic(struct fake_buf *o, const struct verdict *v)
{
    fake_buf_puts(o, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                     "\"message\":");
    fake_buf_put_json_string(o, v->msg.p, v->msg.len);
    fake_buf_puts(o, "}}");
}

bool fake_validate(enum fake_cache_api api, const json_t *req, struct fake_buf *o)
{
    struct verdict v;
    memset(&v, 0, sizeof(v));
    if (!json_is_object(req)) {
        return true;
    }
    switch (api) {
    case FAKE_CACHE_CHAT:
        check_chat(req, &v);
        break;
    case FAKE_CACHE_RESPONSES:
        check_responses(req, &v);
        break;
    default:
        check_messages(req, &v);
        break;
    }
    bool ok = v.msg.len == 0 || v.msg.oom; /* out of memory: let it pass */
    if (!ok && api == FAKE_CACHE_MESSAGES) {
        put_anthropic(o, &v);
    } else if (!ok) {
        put_openai(o, &v);
    }
    fake_buf_free(&v.msg);
    return ok;
}
