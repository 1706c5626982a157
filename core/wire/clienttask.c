/* Client tasks: hint headers, prompt patterns, and Open WebUI's memory
 * block (see clienttask.h). Patterns are literal fragments, not regular
 * expressions: a request costs one decode of the few texts looked in and
 * one mp_find_bytes pass per pattern over a bounded window of each. */
#include "wire/clienttask.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "findbytes.h"
#include "wire/address.h"
#include "json/json_scan.h"
#include "config/patfile.h"
#include "status.h"
#include "wire/wire.h"

static const char *const kind_names[MP_TASK_KINDS] = {
    "title",      "tags",   "follow_ups", "search_queries", "autocomplete", "memory_review",
    "compaction", "review", "classifier", "auxiliary",      "other"};

/* Clients' own words for a kind (Open WebUI's {{TASK}} values, Codex's
 * subagent names). */
static const struct {
    const char *name;
    enum mp_clienttask_kind kind;
} aliases[] = {
    {"title_generation", MP_TASK_TITLE},
    {"tags_generation", MP_TASK_TAGS},
    {"follow_up_generation", MP_TASK_FOLLOW_UPS},
    {"query_generation", MP_TASK_SEARCH_QUERIES},
    {"autocomplete_generation", MP_TASK_AUTOCOMPLETE},
    {"compact", MP_TASK_COMPACTION},
};

const char mp_clienttask_default_patterns[] =
    "title prompt ### Task:\\nGenerate a concise, 3-5 word title\n"
    "tags prompt ### Task:\\nGenerate 1-3 broad tags categorizing the main themes of the chat "
    "history\n"
    "follow_ups prompt ### Task:\\nSuggest 3-5 relevant follow-up questions or prompts\n"
    "search_queries prompt ### Task:\\nAnalyze the chat history to determine the necessity of "
    "generating search queries\n"
    "autocomplete prompt ### Task:\\nYou are an autocompletion system.\n"
    "memory_review system You are Open WebUI's private memory reviewer.\n"
    "title prompt 5-word-or-less title for the conversation\n"
    "title prompt \xe4\xbd\xa0\xe9\x9c\x80\xe8\xa6\x81\xe5\xb0\x86\xe7\x94\xa8\xe6\x88\xb7\xe7\x9a"
    "\x84\xe4\xbc\x9a\xe8\xaf\x9d\xe6\x80\xbb\xe7\xbb\x93\xe4\xb8\xba 10 "
    "\xe4\xb8\xaa\xe5\xad\x97\xe4\xbb\xa5\xe5\x86\x85\xe7\x9a\x84\xe6\xa0\x87\xe9\xa2\x98\n"
    "title prompt please reply with a title for the chat that is 3-4 words in length\n"
    "compaction system You are a helpful AI assistant tasked with summarizing conversations.\n"
    "compaction system You are performing a CONTEXT CHECKPOINT COMPACTION.\n";

const char *mp_clienttask_kind_name(int kind)
{
    return kind >= 0 && kind < MP_TASK_KINDS ? kind_names[kind] : kind_names[MP_TASK_OTHER];
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

enum mp_clienttask_kind mp_clienttask_kind_of(const char *name, size_t len)
{
    while (len > 0 && is_space(*name)) {
        name++;
        len--;
    }
    while (len > 0 && is_space(name[len - 1]))
        len--;
    for (int k = 0; k < MP_TASK_KINDS; k++)
        if (strlen(kind_names[k]) == len && strncasecmp(kind_names[k], name, len) == 0)
            return (enum mp_clienttask_kind)k;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strlen(aliases[i].name) == len && strncasecmp(aliases[i].name, name, len) == 0)
            return aliases[i].kind;
    return MP_TASK_OTHER;
}

/* Whether a header value has anything but spaces. */
static bool non_empty(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(v[i]))
            return true;
    return false;
}

/* Claude Code's main conversation and its agents are the user's turns. */
static bool claude_code_user_class(const char *v, size_t len)
{
    static const char *const user_classes[] = {"main", "subagent", "workflow"};
    for (size_t i = 0; i < 3; i++)
        if (strlen(user_classes[i]) == len && strncasecmp(user_classes[i], v, len) == 0)
            return true;
    return false;
}

bool mp_clienttask_from_hints(const struct mp_clienttask_hints *h, enum mp_clienttask_kind *kind)
{
    if (h->request_class != NULL && non_empty(h->request_class, h->request_class_len) &&
        !claude_code_user_class(h->request_class, h->request_class_len)) {
        *kind = mp_clienttask_kind_of(h->request_class, h->request_class_len);
        return true;
    }
    if (h->subagent != NULL) {
        *kind = mp_clienttask_kind_of(h->subagent, h->subagent_len);
        return true;
    }
    if (h->custom != NULL && non_empty(h->custom, h->custom_len)) {
        *kind = mp_clienttask_kind_of(h->custom, h->custom_len);
        return true;
    }
    if (h->own != NULL && non_empty(h->own, h->own_len)) {
        *kind = mp_clienttask_kind_of(h->own, h->own_len);
        return true;
    }
    return false;
}

/* ---- the pattern file ---- */

/* Unescapes a fragment into p. NULL, or why it is not one. */
static const char *take_fragment(const char *s, size_t n, struct mp_clienttask_pattern *p)
{
    size_t out = 0;
    const char *why = mp_patfile_unescape(s, n, p->text, MP_CLIENTTASK_FRAGMENT_MAX, &out);
    if (why != NULL)
        return strcmp(why, "too long") == 0 ? "fragment longer than 240 bytes" : why;
    if (out < MP_CLIENTTASK_FRAGMENT_MIN)
        return "fragment shorter than 8 bytes (it would match ordinary requests)";
    p->len = (uint16_t)out;
    p->anchor = (uint8_t)mp_find_bytes_anchor(p->text, out);
    return NULL;
}

/* One pattern line (patfile.h) into the next of ctx's patterns. */
static const char *parse_line(void *ctx, const char *line, size_t len)
{
    struct mp_clienttask_patterns *out = ctx;
    struct mp_clienttask_pattern *p = &out->items[out->n];
    const char *kind, *scope;
    size_t pos = 0;
    if (out->n == MP_CLIENTTASK_PATTERNS_MAX)
        return "more than 64 patterns";
    size_t klen = mp_patfile_word(line, len, &pos, &kind);
    size_t slen = mp_patfile_word(line, len, &pos, &scope);
    while (pos < len && is_space(line[pos]))
        pos++;
    if (slen == 0 || pos == len)
        return "expected <kind> <scope> <fragment>";
    if (slen == 6 && memcmp(scope, "prompt", 6) == 0)
        p->scope = MP_TASK_SCOPE_PROMPT;
    else if (slen == 6 && memcmp(scope, "system", 6) == 0)
        p->scope = MP_TASK_SCOPE_SYSTEM;
    else
        return "scope must be prompt or system";
    p->kind = (uint8_t)mp_clienttask_kind_of(kind, klen);
    const char *why = take_fragment(line + pos, len - pos, p);
    if (why == NULL)
        out->n++;
    return why;
}

int mp_clienttask_parse(const char *text, size_t len, struct mp_clienttask_patterns *out,
                        unsigned *line, const char **why)
{
    memset(out, 0, sizeof(*out));
    return mp_patfile_each(text, len, parse_line, out, line, why);
}

/* ---- matching a request ---- */

void mp_clienttask_texts_cleanup(struct mp_clienttask_texts *t)
{
    free(t->user_buf);
    for (size_t i = 0; i < t->nsys; i++)
        free(t->sys_buf[i]);
    memset(t, 0, sizeof(*t));
}

/* A JSON string literal body[s..e) decoded: in place when it holds no
 * escape (*out borrowed from body, *buf NULL), else into a malloc'd copy
 * (*buf, which *out is). MP_OK, MP_EINVAL (not a string), MP_ENOMEM. */
static int decode_string(const char *body, size_t s, size_t e, const char **out, size_t *n,
                         char **buf_out)
{
    if (body[s] != '"')
        return MP_EINVAL;
    *buf_out = NULL;
    if (memchr(body + s + 1, '\\', e - s - 2) == NULL) {
        *out = body + s + 1;
        *n = e - s - 2;
        return MP_OK;
    }
    char *buf = malloc(e - s);
    if (buf == NULL)
        return MP_ENOMEM;
    int rc = mp_json_string_decode(body, s, e, buf, e - s, n);
    if (rc != MP_OK) {
        free(buf);
        return rc;
    }
    *out = *buf_out = buf;
    return MP_OK;
}

static int add_sys_string(struct mp_clienttask_texts *t, const char *body, size_t s, size_t e)
{
    if (t->nsys == MP_CLIENTTASK_SYSTEM_TEXTS)
        return MP_OK;
    int rc =
        decode_string(body, s, e, &t->sys[t->nsys], &t->sys_len[t->nsys], &t->sys_buf[t->nsys]);
    if (rc == MP_OK)
        t->nsys++;
    return rc == MP_EINVAL ? MP_OK : rc; /* not a string: nothing to look in */
}

/* A message's text (*out NULL: it has none): in place when the body
 * holds it as is (mp_chatreq_text_in_place: *out borrowed, *buf_out
 * NULL), else decoded with its wire into a malloc'd copy (*buf_out,
 * which *out is). MP_OK or MP_ENOMEM. */
static int message_text(const struct mp_wire *w, const char *body, const struct mp_chatreq_msg *m,
                        const char **out, size_t *n, char **buf_out)
{
    *out = NULL;
    *buf_out = NULL;
    if (mp_chatreq_text_in_place(body, m, out, n))
        return MP_OK;
    size_t cap = m->text_len + 1; /* the text parts only: its images are never copied */
    char *buf = malloc(cap);
    if (buf == NULL)
        return MP_ENOMEM;
    int rc = w->message_text(body, m, buf, cap, n);
    if (rc != MP_OK) {
        free(buf);
        return rc == MP_NOTFOUND ? MP_OK : rc;
    }
    *out = *buf_out = buf;
    return MP_OK;
}

static bool is_system_role(int role)
{
    return role == MP_CR_SYSTEM || role == MP_CR_DEVELOPER;
}

/* Anthropic's "system": a string, or blocks whose "text" strings count. */
static int anthropic_system(struct mp_clienttask_texts *t, const char *body,
                            const struct mp_chatreq *req)
{
    size_t cursor = 0, es, ee, vs, ve;
    int rc = MP_OK;
    if (req->system_end == 0)
        return MP_OK;
    if (body[req->system_start] == '"')
        return add_sys_string(t, body, req->system_start, req->system_end);
    while (rc == MP_OK && t->nsys < MP_CLIENTTASK_SYSTEM_TEXTS &&
           mp_json_next(body, req->system_start, req->system_end, &cursor, NULL, NULL, &es, &ee) ==
               MP_OK)
        if (body[es] == '{' && mp_json_member_in(body, es, ee, "text", &vs, &ve) == MP_OK)
            rc = add_sys_string(t, body, vs, ve);
    return rc;
}

/* The system prompt's texts: Anthropic's "system", the Responses API's
 * "instructions", a first system or developer message. */
static int read_system(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                       const struct mp_chatreq *req)
{
    int rc = MP_OK;
    if (w == &mp_wire_messages)
        return anthropic_system(t, body, req);
    if (req->instructions_end > 0) /* the Responses API's, as its scan found it */
        rc = add_sys_string(t, body, req->instructions_start, req->instructions_end);
    if (rc == MP_OK && req->nmsgs > 0 && is_system_role(req->msgs[0].role) &&
        t->nsys < MP_CLIENTTASK_SYSTEM_TEXTS) {
        rc = message_text(w, body, &req->msgs[0], &t->sys[t->nsys], &t->sys_len[t->nsys],
                          &t->sys_buf[t->nsys]);
        t->nsys += rc == MP_OK && t->sys[t->nsys] != NULL;
    }
    return rc;
}

/* The system prompt's texts into t, decoded on the first call only. */
static int system_texts(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                        const struct mp_chatreq *req)
{
    if (!t->sys_read) {
        t->sys_rc = read_system(t, w, body, req);
        t->sys_read = true;
    }
    return t->sys_rc;
}

/* The text of user message at into t (t->user NULL: it has none),
 * decoded unless t holds it already. */
static int user_text(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                     const struct mp_chatreq *req, size_t at)
{
    if (t->user_read && t->user_at == at)
        return MP_OK;
    free(t->user_buf);
    t->user_buf = NULL;
    t->user_read = false;
    int rc = message_text(w, body, &req->msgs[at], &t->user, &t->user_len, &t->user_buf);
    if (rc == MP_OK) {
        t->user_read = true;
        t->user_at = at;
    }
    return rc;
}

/* Whether the request has tools: a "tools" member (its scan's span) that
 * is not null and not an empty array. */
static bool has_tools(const char *body, const struct mp_chatreq *req)
{
    size_t vs = req->tools_start, ve = req->tools_end;
    if (ve == 0 || body[vs] == 'n')
        return false;
    return !(body[vs] == '[' && body[mp_json_skip_ws(body, ve, vs + 1)] == ']');
}

/* The lone turn: [system?, user] (Anthropic: [user], its system apart),
 * without tools. *user is the user message's index. */
static bool lone_turn(const char *body, const struct mp_chatreq *req, size_t *user)
{
    size_t first = req->nmsgs == 2 && is_system_role(req->msgs[0].role) ? 1 : 0;
    if (req->nmsgs != first + 1 || req->msgs[first].role != MP_CR_USER)
        return false;
    *user = first;
    return !has_tools(body, req);
}

/* The anchor bytes (mp_find_bytes_anchor) one text was looked in for,
 * and those it does not hold within the widest window: patterns share
 * anchors ("### Task:" opens five of the defaults'), and a text that
 * lacks one is looked in once for them all. */
struct anchors {
    uint64_t looked[4], absent[4];
};

static bool found_in(const char *text, size_t len, const struct mp_clienttask_pattern *p,
                     struct anchors *an)
{
    size_t reach = MP_CLIENTTASK_WINDOW + p->len,
           widest = MP_CLIENTTASK_WINDOW + MP_CLIENTTASK_FRAGMENT_MAX;
    unsigned char a = (unsigned char)p->text[p->anchor];
    uint64_t bit = (uint64_t)1 << (a % 64);
    if (text == NULL || len < p->len)
        return false; /* too short to hold it: no memchr */
    if ((an->looked[a / 64] & bit) == 0) {
        an->looked[a / 64] |= bit;
        if (memchr(text, a, len < widest ? len : widest) == NULL)
            an->absent[a / 64] |= bit;
    }
    return (an->absent[a / 64] & bit) == 0 &&
           mp_find_bytes_at(text, len < reach ? len : reach, p->text, p->len, p->anchor) != NULL;
}

/* an[0] the user text's anchors, an[1 + i] sys[i]'s. */
static bool pattern_matches(const struct mp_clienttask_texts *t, bool lone,
                            const struct mp_clienttask_pattern *p, struct anchors *an)
{
    if (p->scope == MP_TASK_SCOPE_PROMPT && !lone)
        return false;
    if (p->scope == MP_TASK_SCOPE_PROMPT && found_in(t->user, t->user_len, p, &an[0]))
        return true;
    for (size_t i = 0; i < t->nsys; i++)
        if (found_in(t->sys[i], t->sys_len[i], p, &an[1 + i]))
            return true;
    return false;
}

static bool any_system_pattern(const struct mp_clienttask_patterns *p)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->items[i].scope == MP_TASK_SCOPE_SYSTEM)
            return true;
    return false;
}

int mp_clienttask_from_prompt(const struct mp_wire *w, const char *body, size_t len,
                              const struct mp_chatreq *req, const struct mp_clienttask_patterns *p,
                              struct mp_clienttask_texts *texts, enum mp_clienttask_kind *kind)
{
    struct mp_clienttask_texts own = {0}, *t = texts != NULL ? texts : &own;
    struct anchors an[1 + MP_CLIENTTASK_SYSTEM_TEXTS] = {0};
    size_t user = 0;
    int rc = MP_NOTFOUND;
    bool lone = p->n > 0 && lone_turn(body, req, &user);
    if (!lone && !any_system_pattern(p))
        return MP_NOTFOUND; /* nothing to decode */
    int drc = system_texts(t, w, body, req);
    if (drc == MP_OK && lone)
        drc = user_text(t, w, body, req, user);
    if (drc != MP_OK) {
        rc = drc == MP_ENOMEM ? MP_ENOMEM : MP_NOTFOUND;
        goto out;
    }
    for (uint32_t i = 0; i < p->n && rc == MP_NOTFOUND; i++)
        if (pattern_matches(t, lone, &p->items[i], an)) {
            *kind = (enum mp_clienttask_kind)p->items[i].kind;
            rc = MP_OK;
        }
out:
    mp_clienttask_texts_cleanup(&own);
    return rc;
}

/* ---- Open WebUI's memory block ---- */

size_t mp_clienttask_strip_memory_context(char *text, size_t len)
{
    static const char open[] = "<memory_context>", close[] = "</memory_context>";
    size_t pos = 0;
    for (;;) {
        const char *o =
            pos < len ? mp_find_bytes(text + pos, len - pos, open, sizeof(open) - 1) : NULL;
        if (o == NULL)
            return len;
        size_t start = (size_t)(o - text);
        const char *c = mp_find_bytes(o, len - start, close, sizeof(close) - 1);
        size_t end = c != NULL ? (size_t)(c - text) + sizeof(close) - 1 : len;
        while (end < len &&
               (text[end] == ' ' || text[end] == '\n' || text[end] == '\r' || text[end] == '\t'))
            end++;
        memmove(text + start, text + end, len - end);
        len -= end - start;
        pos = start;
    }
}

/* ---- by shape ---- */

#define FORM_READ 4096 /* raw bytes of a fixed form read for the task it names */

static bool type_is_json(const char *body, size_t s, size_t e)
{
    size_t vs, ve;
    return body[s] == '{' && mp_json_member_in(body, s, e, "type", &vs, &ve) == MP_OK &&
           (mp_json_span_is(body, vs, ve, "\"json_schema\"") ||
            mp_json_span_is(body, vs, ve, "\"json_object\""));
}

/* Whether tool_choice body[s..e) makes the model call a function: a
 * function or tool named, or one required. */
static bool forces_call(const char *body, size_t s, size_t e)
{
    size_t vs, ve;
    if (mp_json_span_is(body, s, e, "\"required\"") || mp_json_span_is(body, s, e, "\"any\""))
        return true;
    return body[s] == '{' && mp_json_member_in(body, s, e, "type", &vs, &ve) == MP_OK &&
           (mp_json_span_is(body, vs, ve, "\"function\"") ||
            mp_json_span_is(body, vs, ve, "\"tool\"") || mp_json_span_is(body, vs, ve, "\"any\""));
}

/* Whether the answer's form is fixed (see mp_clienttask_from_shape); *kind
 * the task its raw JSON names (-1 none). */
static bool answer_fixed(const char *body, size_t len, const struct mp_chatreq *req, int *kind)
{
    size_t s, e, fs, fe;
    bool fixed = false;
    *kind = -1;
    if (mp_json_find_member(body, len, "response_format", 15, &s, &e) == MP_OK)
        fixed = type_is_json(body, s, e);
    if (!fixed && mp_json_find_member(body, len, "output_format", 13, &s, &e) == MP_OK)
        fixed = type_is_json(body, s, e);
    if (!fixed && (mp_json_find_member(body, len, "text", 4, &fs, &fe) == MP_OK ||
                   mp_json_find_member(body, len, "output_config", 13, &fs, &fe) == MP_OK))
        fixed = body[fs] == '{' && mp_json_member_in(body, fs, fe, "format", &s, &e) == MP_OK &&
                type_is_json(body, s, e);
    if (!fixed && mp_json_find_member(body, len, "tool_choice", 11, &s, &e) == MP_OK &&
        forces_call(body, s, e)) {
        fixed = true;
        *kind = mp_address_kind(body + s, e - s); /* the function named */
        s = req->tools_start;
        e = req->tools_end;
    }
    if (!fixed && mp_json_find_member(body, len, "function_call", 13, &s, &e) == MP_OK)
        fixed = body[s] == '{';
    if (fixed && *kind < 0)
        *kind = mp_address_kind(body + s, e - s < FORM_READ ? e - s : FORM_READ);
    return fixed;
}

/* The one user message of a request of system, developer and user
 * messages only (tools aside), or SIZE_MAX. */
static size_t only_user(const struct mp_chatreq *req)
{
    size_t user = SIZE_MAX;
    for (size_t i = 0; i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role == MP_CR_USER && user == SIZE_MAX && req->msgs[i].has_text)
            user = i;
        else if (!is_system_role(role))
            return SIZE_MAX;
    }
    return user;
}

/* A user message's reading, kept from the first form for the second:
 * the same text is read once. */
struct user_read {
    size_t at; /* the message's index; SIZE_MAX: none read */
    size_t len;
    struct mp_address a;
};

/* The task the system prompt names about a conversation, or -1 (*kind);
 * MP_OK, or why its texts could not be decoded. */
static int system_task(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                       const struct mp_chatreq *req, int *kind)
{
    struct mp_address sa;
    int rc = system_texts(t, w, body, req);
    *kind = -1;
    for (size_t i = 0; rc == MP_OK && i < t->nsys && *kind < 0; i++) {
        mp_address_read(t->sys[i], t->sys_len[i], &sa);
        *kind = sa.conversation ? sa.kind : -1; /* a task about a conversation */
    }
    return rc;
}

/* A task about a conversation (the first form of mp_clienttask_from_shape);
 * the user message it read in *ur. The user text is read first: most
 * are a person's words, which name no task and quote no transcript, and
 * then neither the system prompt nor the answer's form can make one. */
static int conversation_task(struct mp_clienttask_texts *t, const struct mp_wire *w,
                             const char *body, size_t len, const struct mp_chatreq *req,
                             enum mp_clienttask_kind *kind, struct user_read *ur)
{
    size_t user = only_user(req);
    struct mp_address ua;
    int form_kind = -1, sys_kind = -1, rc;
    if (user == SIZE_MAX)
        return MP_NOTFOUND;
    rc = user_text(t, w, body, req, user);
    if (rc != MP_OK || t->user == NULL)
        return rc == MP_ENOMEM ? MP_ENOMEM : MP_NOTFOUND;
    mp_address_read(t->user, t->user_len, &ua);
    *ur = (struct user_read){.at = user, .len = t->user_len, .a = ua};
    /* who names the task: the user text's instructions, about a
       conversation they name or quote; the system prompt, over a
       transcript the user message quotes; the fixed form alone (a
       schema's field, a function's name), over a transcript too: a
       person's words under an app's prompt or schema quote none */
    bool user_task = ua.kind >= 0 && (ua.conversation || ua.transcript);
    if (ua.person > 0 || (!user_task && !ua.transcript))
        return MP_NOTFOUND; /* the instructions are a person's ("I", "my"), or name nothing */
    rc = system_task(t, w, body, req, &sys_kind);
    if (rc != MP_OK)
        return rc == MP_ENOMEM ? MP_ENOMEM : MP_NOTFOUND;
    bool sys_task = sys_kind >= 0 && ua.transcript;
    bool fixed = answer_fixed(body, len, req, &form_kind);
    if (fixed && (user_task || sys_task || (form_kind >= 0 && ua.transcript)))
        rc = MP_OK;
    else if (!has_tools(body, req) && ua.transcript && (user_task || sys_task))
        rc = MP_OK;
    else
        return MP_NOTFOUND;
    *kind = (enum mp_clienttask_kind)(user_task ? ua.kind : sys_task ? sys_kind : form_kind);
    return rc;
}

/* Whether the system prompt opens with a role given to its reader. */
static int system_role(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                       const struct mp_chatreq *req, bool *role)
{
    struct mp_address a;
    int rc = system_texts(t, w, body, req);
    *role = false;
    for (size_t i = 0; rc == MP_OK && i < t->nsys && !*role; i++) {
        mp_address_read(t->sys[i], t->sys_len[i], &a);
        *role = a.role;
    }
    return rc;
}

/* The user messages of the turn: its new ones, or in a tool loop (none
 * new) the run of user messages that opened it: [*from, *to). */
static void turn_users(const struct mp_chatreq *req, size_t *from, size_t *to)
{
    size_t i = req->nmsgs;
    *from = req->first_new_user;
    *to = req->nmsgs;
    if (*from < *to)
        return;
    while (i > 0 && !(req->msgs[i - 1].role == MP_CR_USER && req->msgs[i - 1].has_text))
        i--;
    *to = i;
    while (i > 0 && req->msgs[i - 1].role == MP_CR_USER)
        i--;
    *from = i;
}

/* A client addressing its own agent (the second form): each of the turn's
 * user texts, with the system prompt's role when its own gives none. The
 * system prompt is decoded only when a text holds everything but a
 * role. */
static int agent_task(struct mp_clienttask_texts *t, const struct mp_wire *w, const char *body,
                      const struct mp_chatreq *req, const struct user_read *ur,
                      enum mp_clienttask_kind *kind)
{
    size_t from, to, seen = 0;
    int found = -1, sys_role = -1; /* -1: not read yet */
    turn_users(req, &from, &to);
    for (size_t i = from; i < to; i++) {
        const struct mp_chatreq_msg *m = &req->msgs[i];
        const char *text = NULL;
        char *buf = NULL;
        size_t n = 0;
        struct mp_address a;
        if (m->role != MP_CR_USER || !m->has_text)
            continue;
        if (m->text_len < MP_ADDRESS_AGENT_MIN)
            return MP_NOTFOUND; /* too short to be one: not decoded */
        if (i == ur->at) {      /* read by the first form */
            a = ur->a;
            n = ur->len;
        } else {
            int rc = message_text(w, body, m, &text, &n, &buf);
            if (rc != MP_OK || text == NULL)
                return rc == MP_ENOMEM ? MP_ENOMEM : MP_NOTFOUND;
            mp_address_read(text, n, &a);
            free(buf);
        }
        if (!a.role && sys_role < 0) {
            struct mp_address given = a;
            given.role = true; /* what the system prompt must give */
            if (!mp_address_is_agent(&given, n))
                return MP_NOTFOUND;
            bool role = false;
            if (system_role(t, w, body, req, &role) == MP_ENOMEM)
                return MP_ENOMEM;
            sys_role = role;
        }
        a.role = a.role || sys_role == 1;
        if (!mp_address_is_agent(&a, n))
            return MP_NOTFOUND;
        found = found >= 0 ? found : a.kind;
        seen++;
    }
    if (seen == 0)
        return MP_NOTFOUND;
    *kind = found >= 0 ? (enum mp_clienttask_kind)found : MP_TASK_OTHER;
    return MP_OK;
}

int mp_clienttask_from_shape(const struct mp_wire *w, const char *body, size_t len,
                             const struct mp_chatreq *req, struct mp_clienttask_texts *texts,
                             enum mp_clienttask_kind *kind)
{
    struct mp_clienttask_texts own = {0}, *t = texts != NULL ? texts : &own;
    struct user_read ur = {.at = SIZE_MAX};
    int rc = conversation_task(t, w, body, len, req, kind, &ur);
    if (rc == MP_NOTFOUND)
        rc = agent_task(t, w, body, req, &ur, kind);
    mp_clienttask_texts_cleanup(&own);
    return rc;
}
