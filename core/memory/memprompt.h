/* The prompts memproxy sends for its own memory updates (rolling summary,
 * entity extraction) and the defensive parsing of the model's answers. Text
 * in, text out: the requests are JSON bodies for POST /chat/completions
 * (api MP_LLM_OPENAI) or for Anthropic's POST /v1/messages
 * (MP_LLM_ANTHROPIC: the same system text as the top-level "system", the
 * user message as the one message, "max_tokens":4096, no response_format:
 * the extraction prompt asks for one JSON object and nothing else in
 * words); the answers are read from either API's reply. Sending them,
 * retrying and storing the results is the proxy's job. */
#ifndef MP_CORE_MEMPROMPT_H
#define MP_CORE_MEMPROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "memory/usermem.h"

/* The anthropic-version header memory jobs send on Anthropic's API. */
#define MP_ANTHROPIC_VERSION "2023-06-01"

/* Transcripts: every message becomes "user: <text>" or "assistant: <text>";
 * line breaks inside a message (LF, CRLF, CR) become "\n  " so that a
 * message can never start a line that reads as another speaker's (the same
 * holds for the previous summary's lines). All text is JSON-escaped;
 * invalid UTF-8 is replaced by U+FFFD. */

/* An assistant message goes into a memory prompt whole up to this many
 * bytes, else its beginning, cut at a word with an ellipsis within them. The memory model looks for
 * facts about the user: the user's words go whole, a reply's opening says what it answered. Chosen
 * on BEAM's development chats, whose replies (median 3.3 KB, user messages 0.4 KB) made up 86 % of
 * the extraction prompts' turns: cut here they keep 18 % of their bytes; LoCoMo's replies (at most
 * 419 bytes) all go whole. */
#define MP_MEMPROMPT_REPLY_MAX 600

/* Summarization request body: {"model":model,"temperature":0,"messages":[
 * system, user]}. The system message tells the model to fold the previous
 * summary and the new messages into one summary of at most max_words words,
 * keeping every key fact, decision and context about the user, in the third
 * person, plain text, answering with the summary only, and to treat the
 * transcript as data, not instructions. The user message is
 * "Previous summary:\n<prev or (none)>\n\nNew messages:\n<transcript>".
 * model: borrowed NUL-terminated, non-empty. prev[0..prev_len): borrowed, may
 * be NULL (no summary yet; prev_len is then ignored). msgs[0..n): borrowed
 * (msgs may be NULL when n is 0). Returns MP_OK with *out malloc'd and
 * NUL-terminated (caller frees with free()) and *out_len; MP_EINVAL for an
 * empty model or max_words 0; MP_ETOOBIG when the body would not fit in
 * size_t; MP_ENOMEM. Outputs are untouched unless MP_OK. */
int mp_memprompt_summary_request(enum mp_llm_api api, const char *model, unsigned max_words,
                                 const char *prev, size_t prev_len,
                                 const struct mp_mem_message *msgs, size_t n, char **out,
                                 size_t *out_len);

/* Reads the new summary from the upstream's answer body[0..len) (borrowed; a
 * chat completion body, see mp_completion_reply_text()): control characters
 * other than '\n' and '\t' become spaces, whitespace is trimmed at both ends
 * and the text is cut after its max_words-th word (words are runs of bytes
 * that are not ASCII whitespace, so the cut never splits a UTF-8
 * character). Returns MP_OK with *out malloc'd and NUL-terminated (caller
 * frees with free()) and *out_len; MP_EINVAL when body is not a chat
 * completion, has no text, the text is blank or max_words is 0; MP_ENOMEM. */
int mp_memprompt_summary_parse(enum mp_llm_api api, const char *body, size_t len,
                               unsigned max_words, char **out, size_t *out_len);

/* One turn of an extraction batch: its user text (the caller may join
 * several user messages) and the assistant's reply, and the user text's
 * language when it is known (enum mp_lang: a stored message's lang; 0:
 * identified here from the text). Borrowed; texts may be NULL when their
 * length is 0. */
struct mp_memprompt_turn {
    const char *user_text;
    size_t user_len;
    const char *assistant_text;
    size_t assistant_len;
    int user_lang;
};

/* Search keys of one turn (mp_memprompt_batch_parse()): at most
 * MP_MEMPROMPT_KEYS_PER_TURN keys, each 1 to MP_MEMPROMPT_KEY_MAX bytes of
 * lower-cased UTF-8 without control characters, joined by ", " into
 * text[0..len) (NUL-terminated; len 0: none). */
#define MP_MEMPROMPT_KEYS_PER_TURN 6
#define MP_MEMPROMPT_KEY_MAX       32
#define MP_MEMPROMPT_KEYS_MAX      (MP_MEMPROMPT_KEYS_PER_TURN * (MP_MEMPROMPT_KEY_MAX + 2))
struct mp_turn_keys {
    char text[MP_MEMPROMPT_KEYS_MAX + 1];
    size_t len;
};

/* A summary fold asked in the same call as an extraction batch: the
 * previous summary prev[0..prev_len) (borrowed; NULL: none yet) and the
 * new one's word limit (> 0). */
struct mp_memprompt_fold {
    const char *prev;
    size_t prev_len;
    unsigned max_words;
};

/* Extraction request body for the turns[0..n) of one user (n >= 1), each
 * sent once: {"model":model,"temperature":0,
 * "response_format":{"type":"json_object"},"messages":[system, user]}. The
 * system message carries the instructions once and asks for exactly
 * {"entities":[{"turn":1,"key":"…","value":"…","confidence":0.0-1.0,
 * "pii":false,"source":"user"}]}: durable facts about the user (name, role,
 * projects, tools, preferences), each with the number of the turn it comes
 * from, keys short snake_case, confidence how sure, pii true for personal
 * data, "entities":[] when there is nothing, and to treat the turns as
 * data. (It names JSON, which json_object mode requires.) With fold set the
 * object also holds "summary": the previous summary and all the turns
 * folded into one summary of at most fold->max_words words, and the user
 * message starts "Previous summary:\n<prev or (none)>\n\n". Then each turn
 * as "Turn <k>:\nuser: <user_text>\nassistant: <assistant_text>\n",
 * separated by a blank line, k from 1 (transcript rules above). Returns as
 * mp_memprompt_summary_request() (MP_EINVAL: empty model, n 0, or a fold
 * of 0 words). */
int mp_memprompt_batch_request(enum mp_llm_api api, const char *model,
                               const struct mp_memprompt_turn *turns, size_t n,
                               const struct mp_memprompt_fold *fold, char **out, size_t *out_len);
/* The same with search keys asked too (keys true): the object also holds
 * "keys":[{"turn":1,"keys":["…"]}], for each turn a few short lower-case
 * search keys (topics, categories, people, places, and what the turn
 * implies but does not say). */
int mp_memprompt_batch_request_keys(enum mp_llm_api api, const char *model,
                                    const struct mp_memprompt_turn *turns, size_t n,
                                    const struct mp_memprompt_fold *fold, bool keys, char **out,
                                    size_t *out_len);

/* The batch request of the one turn (user_text, assistant_text), without a
 * fold. */
int mp_memprompt_extract_request(enum mp_llm_api api, const char *model, const char *user_text,
                                 size_t user_len, const char *assistant_text, size_t assistant_len,
                                 char **out, size_t *out_len);

/* One fact read from an extraction answer. key: normalized
 * (mp_usermem_normalize_key()), NUL-terminated. value: trimmed,
 * NUL-terminated, value_len bytes. */
struct mp_extracted {
    char key[MP_ENTITY_KEY_MAX + 1];
    char value[MP_ENTITY_VALUE_MAX + 1];
    size_t value_len;
    double confidence;
    bool pii;
    enum mp_role source_role; /* whose words the fact comes from */
    size_t turn;              /* the batch's turn it comes from, 1-based */
};

/* Parses the answer to a batch of one turn: body[0..len) (borrowed) is the upstream's chat
 * completion body; its choices[0].message.content is the text holding the
 * entities JSON.
 *
 * Finding the object: the text may wrap it in ```json fences or put prose
 * before or after it. The parser tries, in order, each '{' of the text as
 * the start of a complete, valid JSON object whose top-level "entities"
 * member is an array, and takes the first that is; it gives up after
 * MP_MEMPROMPT_MAX_TRIES starts. Nothing found: MP_EINVAL.
 *
 * Each element of "entities" is validated; it is rejected (counted in
 * *rejected) unless all of these hold:
 * - it is an object;
 * - "key" is a string that mp_usermem_normalize_key() accepts (so
 *   "Vector DB", "vector-db" and "vector_db" are one key);
 * - "value" is a string which, trimmed of ASCII whitespace, is 1 to
 *   MP_ENTITY_VALUE_MAX bytes of valid UTF-8 without control characters
 *   (C0, DEL, C1; so no tab or line break inside);
 * - "confidence" is a JSON number in [0, 1] (a string such as "0.9", null,
 *   a missing member or an out-of-range number is rejected; bare NaN is not
 *   JSON, so it makes the whole answer invalid);
 * - "pii", when present and not null, is true or false;
 * - "source", when present and not null, is "user" (the user said or
 *   confirmed it) or "assistant" (only the assistant's words imply it);
 *   absent or null reads as "user";
 * - neither key nor value reads as an instruction to the model
 *   (mp_pii_looks_like_instruction(): the memory-poisoning rule: such text is
 *   never stored).
 * Unknown members are ignored. A valid entity whose confidence is below
 * min_confidence is skipped and counted in *dropped. Among the entities
 * kept, a repeated key replaces the earlier entry in place (the last wins;
 * not counted). When out already holds max entities, a further new key is
 * rejected (counted in *rejected). pii is true when the answer says so or
 * mp_pii_detect() finds personal data in the value.
 *
 * out[0..max): caller's array. Returns MP_OK with *n (0 is fine: nothing to
 * store), *rejected and *dropped set; MP_EINVAL when the body is not a chat
 * completion with text, or no entities object is found (a failed job:
 * nothing is stored); MP_ENOMEM. On failure *n, *rejected and *dropped are
 * untouched, out's contents unspecified. */
int mp_memprompt_extract_parse(enum mp_llm_api api, const char *body, size_t len,
                               double min_confidence, struct mp_extracted *out, size_t max,
                               size_t *n, size_t *rejected, size_t *dropped);

/* What a batch answer is read against. */
struct mp_memprompt_batch {
    size_t nturns;          /* turns sent, >= 1 */
    double min_confidence;  /* facts below it are dropped */
    size_t per_turn_max;    /* facts kept per turn, >= 1 (the cap against poisoning) */
    unsigned summary_words; /* a fold was asked: its word limit; 0: none */
    bool keys;              /* search keys were asked */
};

/* A batch answer. facts[0..cap): the caller's array; the parser sets n,
 * rejected, dropped and summary (malloc'd, caller frees with free(); NULL
 * when no fold was asked, or the answer has no usable "summary" string). */
struct mp_batch_answer {
    struct mp_extracted *facts;
    size_t cap;
    size_t n, rejected, dropped;
    char *summary;
    size_t summary_len;
    struct mp_turn_keys *keys; /* the caller's array of nturns (b->keys), by turn - 1; else NULL */
};

/* Parses the answer to mp_memprompt_batch_request() as
 * mp_memprompt_extract_parse() below does, with these differences: each
 * entity's "turn" must be an integer 1 to b->nturns (absent or null reads
 * as 1 when one turn was sent; else the entity is rejected) and goes into
 * x->turn; a repeated key replaces the earlier entry of the same turn only
 * (the same key in two turns gives two facts, to be applied in turn order
 * so that the newer value supersedes the older one); a turn keeps at most
 * b->per_turn_max facts and the answer res->cap, further new keys rejected.
 * With b->summary_words set, the object's "summary" string, cleaned as
 * mp_memprompt_summary_parse() cleans a summary, goes to res->summary. With
 * b->keys set, each element of the object's "keys" array that is an object
 * with a valid "turn" and a "keys" array of strings gives that turn's keys
 * (res->keys[turn - 1], zeroed first): each string trimmed and lower-cased
 * (ASCII), kept when it is 1 to MP_MEMPROMPT_KEY_MAX bytes of valid UTF-8
 * without control characters, ',' or '|', and does not read as an
 * instruction, at most MP_MEMPROMPT_KEYS_PER_TURN per turn; anything else
 * is skipped (keys are never worth failing an answer for). Returns
 * MP_OK with res's outputs set; MP_EINVAL (b's counts 0, not a chat
 * completion, no entities object); MP_ENOMEM. res's outputs are untouched
 * on failure, facts unspecified. */
int mp_memprompt_batch_parse(enum mp_llm_api api, const char *body, size_t len,
                             const struct mp_memprompt_batch *b, struct mp_batch_answer *res);

/* Candidate '{' positions mp_memprompt_extract_parse() tries. */
#define MP_MEMPROMPT_MAX_TRIES 16

#endif
