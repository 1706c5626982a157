/* Whether a chat request is a client's background task (a title, tags,
 * follow-ups, search queries, autocomplete, a compaction, a review) rather
 * than the user's own turn, and which kind; and the removal of a memory
 * block a client put in the user's words. Pure: no I/O, no logging (a hint
 * header's value is the client's and never leaves this module). The rules
 * are docs/memory-whose-words.md's "Client tasks" section, in its order:
 *
 *   1. hint headers, first match wins: x-claude-code-request-class other
 *      than main, subagent, workflow (Claude Code); x-openai-subagent
 *      present (Codex); the configured [memory] task_header non-empty
 *      (e.g. Open WebUI's X-OpenWebUI-Task: {{TASK}}); X-Memory-Task
 *      non-empty (memproxy's own);
 *   2. prompt patterns (a file the operator may extend or empty): literal
 *      fragments, case-sensitive, each looked for in the first
 *      MP_CLIENTTASK_WINDOW bytes of a message's decoded text. A "prompt"
 *      pattern applies only to a request without tools whose messages are
 *      one user message, optionally after one system (or developer)
 *      message, and is looked for in both; a "system" pattern is a client's
 *      fixed system prompt (a compaction's, a reviewer's) and matches on
 *      the system prompt whatever follows it;
 *   3. shape (core/wire/address.h), for clients no pattern names: a task
 *      about a conversation (a lone request, its answer's form fixed or
 *      a transcript quoted, its instructions naming a title, tags, a
 *      summary ... of a conversation), or a client addressing its own
 *      agent (the turn's new user text: rules about the client's files,
 *      directories or tools under a role in the second person, and no
 *      words of a person).
 *
 * The kind is one of a fixed set (a metric label): a name outside it is
 * MP_TASK_OTHER. */
#ifndef MP_CORE_CLIENTTASK_H
#define MP_CORE_CLIENTTASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/chatreq.h"

struct mp_wire;

#define MP_CLIENTTASK_PATTERNS_MAX 64   /* patterns in one file */
#define MP_CLIENTTASK_FRAGMENT_MIN 8    /* bytes of a fragment, after its escapes */
#define MP_CLIENTTASK_FRAGMENT_MAX 240  /* the same, at most */
#define MP_CLIENTTASK_WINDOW       4096 /* a fragment must start within this many bytes */
#define MP_CLIENTTASK_SYSTEM_TEXTS 8    /* Anthropic "system" blocks looked in */

enum mp_clienttask_kind {
    MP_TASK_TITLE,
    MP_TASK_TAGS,
    MP_TASK_FOLLOW_UPS,
    MP_TASK_SEARCH_QUERIES,
    MP_TASK_AUTOCOMPLETE,
    MP_TASK_MEMORY_REVIEW,
    MP_TASK_COMPACTION,
    MP_TASK_REVIEW,
    MP_TASK_CLASSIFIER,
    MP_TASK_AUXILIARY,
    MP_TASK_OTHER,
    MP_TASK_KINDS /* the count */
};

enum mp_clienttask_scope {
    MP_TASK_SCOPE_PROMPT, /* the lone turn's user or system message */
    MP_TASK_SCOPE_SYSTEM  /* the system prompt, whatever follows */
};

struct mp_clienttask_pattern {
    uint8_t kind;   /* enum mp_clienttask_kind */
    uint8_t scope;  /* enum mp_clienttask_scope */
    uint8_t anchor; /* the byte of text memchr runs to (mp_find_bytes_anchor) */
    uint16_t len;
    char text[MP_CLIENTTASK_FRAGMENT_MAX];
};

struct mp_clienttask_patterns {
    uint32_t n;
    struct mp_clienttask_pattern items[MP_CLIENTTASK_PATTERNS_MAX];
};

/* The hint headers' values as the client sent them (borrowed; NULL when
 * the header is absent). */
struct mp_clienttask_hints {
    const char *request_class; /* x-claude-code-request-class */
    size_t request_class_len;
    const char *subagent; /* x-openai-subagent */
    size_t subagent_len;
    const char *custom; /* [memory] task_header */
    size_t custom_len;
    const char *own; /* X-Memory-Task */
    size_t own_len;
};

/* The kind's name: "title", "tags", "follow_ups", "search_queries",
 * "autocomplete", "memory_review", "compaction", "review", "classifier",
 * "auxiliary", "other" ("other" for a value outside the enum too). */
const char *mp_clienttask_kind_name(int kind);

/* The kind a client names (a hint header's value, a pattern's first word):
 * a kind's name or a client's own word for it (Open WebUI's
 * "title_generation", Codex's "compact", ...), ASCII case-insensitive,
 * spaces around ignored; MP_TASK_OTHER for anything else. */
enum mp_clienttask_kind mp_clienttask_kind_of(const char *name, size_t len);

/* Rule 1: true with *kind when a hint header says the request is a task. */
bool mp_clienttask_from_hints(const struct mp_clienttask_hints *h, enum mp_clienttask_kind *kind);

/* Reads a pattern file's text[0..len) (borrowed) into *out. One pattern a
 * line: "<kind> <scope> <fragment>", separated by spaces; scope is "prompt"
 * or "system"; the fragment is the rest of the line, trailing spaces and a
 * CR dropped, with the escapes \n, \t and \\ (no other). Empty lines and
 * lines starting with '#' are skipped. Returns MP_OK; MP_EINVAL with *line
 * (1-based) and *why (a static message) for a line that is not a pattern,
 * a fragment shorter than MP_CLIENTTASK_FRAGMENT_MIN or longer than
 * MP_CLIENTTASK_FRAGMENT_MAX bytes or holding a control byte other than
 * its escapes, or more than MP_CLIENTTASK_PATTERNS_MAX patterns. An empty
 * text is no pattern (detection by prompt off). *out is filled either way. */
int mp_clienttask_parse(const char *text, size_t len, struct mp_clienttask_patterns *out,
                        unsigned *line, const char **why);

/* The default patterns (conf/task-patterns.conf, the same text), in the
 * syntax mp_clienttask_parse reads. */
extern const char mp_clienttask_default_patterns[];

/* The texts rules 2 and 3 decode from one request: the system prompt's
 * and one user message's, kept from one rule's call to the next on the
 * same body and scan (mp_clienttask_from_prompt, then
 * mp_clienttask_from_shape), so that each is decoded once. Zeroed ({0})
 * before the first call; mp_clienttask_texts_cleanup after the last. A
 * text the body holds as is (a string without an escape) is borrowed
 * from it: valid while the body is. */
struct mp_clienttask_texts {
    bool sys_read; /* sys[0..nsys) is the system prompt's, decoded with result sys_rc */
    int sys_rc;
    size_t nsys;
    const char *sys[MP_CLIENTTASK_SYSTEM_TEXTS]; /* in the body, or sys_buf[i] */
    size_t sys_len[MP_CLIENTTASK_SYSTEM_TEXTS];
    char *sys_buf[MP_CLIENTTASK_SYSTEM_TEXTS]; /* a decoded copy (malloc'd), or NULL */
    bool user_read;                            /* user is message user_at's text (NULL: none) */
    size_t user_at;
    const char *user; /* in the body, or user_buf */
    size_t user_len;
    char *user_buf; /* a decoded copy (malloc'd), or NULL */
};

/* Frees t's texts and zeroes it; a zeroed t is fine. */
void mp_clienttask_texts_cleanup(struct mp_clienttask_texts *t);

/* Rule 2 on a request of wire w: body[0..len) (borrowed) and req, its scan
 * by w. MP_OK with *kind when a pattern matches (the first in file order);
 * MP_NOTFOUND when none does (or p has none); MP_ENOMEM. texts (NULL:
 * the call's own) keeps what it decodes for the next rule. Cost: the texts
 * looked in are decoded once each (the lone turn's user and system
 * messages; the system prompt: a system/developer first message, the
 * Responses API's "instructions", Anthropic's "system" string or its first
 * 8 text blocks), then each pattern is one mp_find_bytes pass over at most
 * MP_CLIENTTASK_WINDOW + its length bytes of each, but for the patterns
 * whose anchor byte a text lacks: one memchr pass there for them all.
 * Linear in the body. */
int mp_clienttask_from_prompt(const struct mp_wire *w, const char *body, size_t len,
                              const struct mp_chatreq *req, const struct mp_clienttask_patterns *p,
                              struct mp_clienttask_texts *texts, enum mp_clienttask_kind *kind);

/* Rule 3 on a request of wire w: body[0..len) (borrowed) and req, its
 * scan by w. MP_OK with *kind when the request is a client task by its
 * shape:
 *
 *   - about a conversation: its messages are system or developer ones and
 *     one user message with text (tools allowed) whose instructions hold
 *     no first-person word of a writer, and a task about a conversation
 *     is named: by the user text's instructions, which name a
 *     conversation or quote a transcript; or by a system text that names
 *     a conversation, over a transcript the user message quotes; and
 *     either its answer's form is fixed (a "response_format", a Responses
 *     "text.format", an Anthropic "output_format" or "output_config.format"
 *     of JSON; a "tool_choice" naming a function or requiring one; a
 *     legacy "function_call"), or, without tools, the user message quotes
 *     a transcript. With the form fixed, a task the form alone names (a
 *     schema's field, a function's name) over a quoted transcript is one
 *     too. A person's words under an app's prompt or schema quote none;
 *   - a client's own agent: each of the turn's user messages with text
 *     (at least one: its new ones, req's first_new_user on, or in a tool
 *     loop the run of user messages that opened it; earlier turns are
 *     history the client replays) is mp_address_is_agent, the role given
 *     by it or by the system prompt; its kind the one their text names,
 *     else MP_TASK_OTHER.
 *
 * MP_NOTFOUND when neither; MP_ENOMEM. texts (NULL: the call's own)
 * holds what rule 2 decoded of the same request, which is not decoded
 * again. Cost: the one user message of a lone request decoded, and the
 * system prompt; for the agent form, the
 * turn's user messages of MP_ADDRESS_AGENT_MIN bytes or more (a shorter
 * one ends the look undecoded), and the system prompt only when they
 * hold everything but a role. */
int mp_clienttask_from_shape(const struct mp_wire *w, const char *body, size_t len,
                             const struct mp_chatreq *req, struct mp_clienttask_texts *texts,
                             enum mp_clienttask_kind *kind);

/* Removes from text[0..len) (in place) every "<memory_context>" ...
 * "</memory_context>" block (Open WebUI's memories, which it may put in
 * the user's message) and the whitespace that follows each; an opening tag
 * without its close removes the rest of the text. Returns the new length. */
size_t mp_clienttask_strip_memory_context(char *text, size_t len);

#endif
