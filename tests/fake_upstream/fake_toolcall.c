/* The named tool call (see fake_toolcall.h). A real agent sends the header
 * on every request of a session, title and summary side requests
 * included; the call goes only where the tool is on offer and the model's
 * turn is not already answering a tool result, so one header plays one
 * round of a loop: the call, then the text that ends it. */
#include "fake_toolcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* Where to cut the arguments in two: the middle, moved back off UTF-8
 * continuation bytes so that each piece is text of its own. */
static size_t split_of(const char *args, size_t len)
{
    size_t k = len / 2;
    while (k > 0 && ((unsigned char)args[k] & 0xC0) == 0x80) {
        k--;
    }
    return k;
}

int fake_toolcall_parse(const char *v, size_t n, struct fake_call *call, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n && name_char(v[i])) {
        i++;
    }
    if (i == 0 || i > FAKE_CALL_MAX_NAME || (i < n && v[i] != ' ' && v[i] != '\t')) {
        snprintf(err, errlen,
                 "X-Fake-Tool-Call: a tool name (A-Z a-z 0-9 _ - ., at most %d) "
                 "then its JSON arguments",
                 FAKE_CALL_MAX_NAME);
        return -1;
    }
    memcpy(call->name, v, i);
    call->name[i] = '\0';
    json_t *args = json_loadb(v + i, n - i, 0, NULL);
    char *text = json_is_object(args) ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    size_t len = text != NULL ? strlen(text) : 0;
    if (text == NULL || len > FAKE_CALL_MAX_ARGS) {
        snprintf(err, errlen,
                 "X-Fake-Tool-Call: the arguments of %s are not a JSON object "
                 "of at most %d bytes",
                 call->name, FAKE_CALL_MAX_ARGS);
        free(text);
        return -1;
    }
    memcpy(call->args, text, len + 1);
    call->args_len = len;
    call->split = split_of(text, len);
    free(text);
    return 0;
}

static bool declares(const json_t *tools, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n == NULL) {
            n = json_string_value(json_object_get(json_object_get(t, "function"), "name"));
        }
        if (n != NULL && strcmp(n, name) == 0) {
            return true;
        }
    }
    return false;
}

static const json_t *last_of(const json_t *req, const char *key)
{
    const json_t *a = json_object_get(req, key);
    size_t n = json_array_size(a);
    return n > 0 ? json_array_get(a, n - 1) : NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = s != NULL ? strlen(s) : 0;
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool ends_with_result(enum fake_cache_api api, const json_t *req)
{
    if (api == FAKE_CACHE_RESPONSES) {
        return has_suffix(json_string_value(json_object_get(last_of(req, "input"), "type")),
                          "_call_output");
    }
    const json_t *last = last_of(req, "messages");
    if (api == FAKE_CACHE_CHAT) {
        const char *role = json_string_value(json_object_get(last, "role"));
        return role != NULL && (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0);
    }
    size_t i;
    const json_t *block;
    json_array_foreach(json_object_get(last, "content"), i, block)
    {
        const char *type = json_string_value(json_object_get(block, "type"));
        if (type != NULL && strcmp(type, "tool_result") == 0) {
            return true;
        }
    }
    return false;
}

bool fake_toolcall_applies(enum fake_cache_api api, const json_t *req, const char *name)
{
    return json_is_object(req) && declares(json_object_get(req, "tools"), name) &&
           !ends_with_result(api, req);
}
