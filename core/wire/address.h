/* Whom a text addresses, read from its shape: what a client writes to a
 * model about its own work (a role given in the second person, rules about
 * its tools, files or directories) or about a conversation it quotes (a
 * title, tags, a summary of a transcript), as against a person's words.
 * Pure: no I/O, no allocation; reads at most MP_ADDRESS_WINDOW bytes.
 * The rules that use it: core/wire/clienttask.h ("by shape") and
 * docs/memory-whose-words.md "Client tasks". It does not judge a request:
 * only one decoded text. */
#ifndef MP_CORE_WIRE_ADDRESS_H
#define MP_CORE_WIRE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_ADDRESS_WINDOW    8192 /* bytes of a text read */
#define MP_ADDRESS_ROLE_SPAN 512  /* a role instruction opens a line within this many bytes */
#define MP_ADDRESS_AGENT_MIN 400  /* bytes of a text that can be a client's own agent prompt */
#define MP_ADDRESS_RULES_MIN 2    /* its rules, at least */
#define MP_ADDRESS_WORK_MIN  2    /* its mentions of files, directories, paths or tools */

/* What a text's shape says. "Instructions" are the text before a quoted
 * transcript (all of it when there is none). Words are ASCII
 * case-insensitive and whole at their start ("tag" in "tags", not in
 * "stage"). */
struct mp_address {
    bool role;           /* a line within MP_ADDRESS_ROLE_SPAN bytes opens with a role given to the
                            reader: "You are", "You're", "You will", "Your task|job|role|goal",
                            "Act as" */
    uint32_t rules;      /* rules laid on the reader in the instructions: list-item lines ("-",
                            "*", "N.", "N)") and the words "must", "never", "do not", "don't",
                            "always", "only" outside "quotes" and `code` */
    uint32_t work;       /* mentions of the client's work in the instructions: a path (a word with
                            '/' between two others, "~/", "./"), a file name with an extension,
                            "file", "folder", "director(y|ies)", "tool" */
    uint32_t own;        /* mentions of the client's own: a path into a dot-directory ("~/.x/",
                            "/.x/", ".x/"), where a client keeps its files, or the reader's own
                            apparatus named as theirs ("your memory", "your persistent ...",
                            "your system prompt", "your instructions", "your context", "your
                            tools", "your notes", "your turn budget") */
    uint32_t person;     /* first-person singular words ("I", "I'm", "me", "my", ...) in the
                            instructions, outside "quotes", `code`, fences and tagged blocks */
    bool conversation;   /* the instructions name a conversation: "conversation", "chat history",
                            "transcript", "dialogue", "this chat", "chat log" */
    bool transcript;     /* the text quotes one: a line opening with a user's label ("User:",
                            "Human:") and a later one with an assistant's ("Assistant:", "AI:",
                            "Bot:", "Model:", "Response:"), or a <chat_history>, <conversation>,
                            <transcript> or <messages> tag */
    int kind;            /* the task the instructions name (enum mp_clienttask_kind): "title",
                            "tags", "follow-up(s)", "search quer", "summar"/"compact", "classif",
                            "memor"; -1 none */
    size_t instructions; /* their length: where the transcript starts, else the text's */
};

/* Reads text[0..len) (borrowed; its first MP_ADDRESS_WINDOW bytes) into
 * *out. Linear in what it reads. */
void mp_address_read(const char *text, size_t len, struct mp_address *out);

/* The task a text names, as mp_address_read's kind, in s[0..n) (raw JSON
 * bytes as well: a schema's or a function's name and description). */
int mp_address_kind(const char *s, size_t n);

/* Whether a (a user text of len bytes, its role its own or the system
 * prompt's) is a client addressing its own agent: a role given in the
 * second person, at least MP_ADDRESS_RULES_MIN rules and
 * MP_ADDRESS_WORK_MIN mentions of its work, one mention of its own (a
 * dot-directory, the reader's memory or instructions), no first-person
 * word of a writer, and at least MP_ADDRESS_AGENT_MIN bytes. */
bool mp_address_is_agent(const struct mp_address *a, size_t len);

#endif
