/* The user's own words of a chat request's user messages: what memory
 * records of them, and what it compares with what it recorded (docs/
 * memory-whose-words.md "Whose words"). Clients write into the user's turn (an
 * instruction file, an environment block, a reminder, an attached file);
 * those go upstream as sent but are not the person's words. A message's
 * own words are its text without, in this order:
 *
 *   1. Open WebUI's <memory_context> block (clienttask.h);
 *   2. the blocks of the pattern file (inserted.h): the fast path, for
 *      the templates someone has read in a client's source;
 *   3. the blocks that are a client's by their structure (blocks.h),
 *      whatever they say: a file (a heading naming a file then its
 *      contents, or a fence labelled with a file's path), an environment
 *      (a tagged block of key/value lines) or any tagged block, when it is
 *      a whole unit a client assembled (a text part of a message of
 *      several parts, or the whole of one of several messages: a person
 *      types into one box) and the person's words are elsewhere in the
 *      turn (the run of consecutive user messages the message is in).
 *      Inside a person's own text such a block is what they pasted (a
 *      config file, code under "Here is my server:"): kept. A turn with no
 *      words outside such blocks keeps them (Cline wraps the user's words
 *      in <task>; a person may paste only XML).
 *
 * What structure cannot tell at first sight, repetition tells at the
 * second: the store keeps the prints of a message's other blocks
 * (blocks.h) and leaves out a block the user's other conversations held
 * (storage/ops/store_whose.c). Pure: no I/O, no logging. */
#ifndef MP_CORE_WIRE_OWNWORDS_H
#define MP_CORE_WIRE_OWNWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/blocks.h"
#include "wire/inserted.h"

struct mp_chatreq;
struct mp_chatreq_msg;
struct mp_wire;

#define MP_OWNWORDS_PARTS_MAX  16 /* text parts of a message looked at one by one */
#define MP_OWNWORDS_PRINTS_MAX 8  /* printed blocks of one message's own words */

/* Why structure left a block out (a metric label each). */
enum mp_ownwords_how {
    MP_OWN_FILE,        /* an instruction file, an attached file */
    MP_OWN_ENVIRONMENT, /* an environment's key/value block */
    MP_OWN_TAGGED,      /* a tagged part or message among the person's words */
    MP_OWN_HOWS         /* the count */
};

/* The name of a how: "file", "environment", "tagged". */
const char *mp_ownwords_how_name(int how);

/* What the stages left out of a turn's messages: the pattern file's
 * blocks by client (and the messages of nothing else: only), structure's
 * by how. */
struct mp_ownwords_count {
    struct mp_inserted_count patterns;
    uint32_t structure[MP_OWN_HOWS];
};

/* The run of consecutive user messages a message is in, as far as it
 * matters to structure (mp_ownwords_run_of). */
struct mp_ownwords_run {
    bool words;   /* a words block in some message of the run, after the patterns */
    size_t nmsgs; /* user messages with text in the run */
};

/* A printed part of a message's own words: [start, start + len) in them,
 * print mp_blocks_print of those bytes. */
struct mp_ownwords_print {
    uint32_t start, len;
    uint64_t print;
};

/* One message's own words (mp_ownwords_message). */
struct mp_ownwords_text {
    size_t len;   /* in the caller's buffer */
    bool changed; /* something was left out: the text differs from the message's */
    uint32_t structure[MP_OWN_HOWS]; /* blocks structure left out, by how */
    /* the parts kept (each a unit a client may have assembled; inside one,
       everything is the person's or nothing is), and the printed ones among
       them: those of MP_BLOCK_PRINT_MIN bytes or more, at most
       MP_OWNWORDS_PRINTS_MAX */
    uint32_t nkept;
    uint32_t nprints;
    struct mp_ownwords_print prints[MP_OWNWORDS_PRINTS_MAX];
    bool unprinted; /* a kept block has no print (too short, or past the cap) */
};

/* The run of req's user messages [from, to) (req, body and w borrowed;
 * p the pattern file, NULL: none) into *out. A message that
 * mp_ownwords_may_differ says nothing of is not decoded: it has words
 * when its text is not empty. MP_OK or MP_ENOMEM. */
int mp_ownwords_run(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                    size_t from, size_t to, const struct mp_inserted_patterns *p,
                    struct mp_ownwords_run *out);

/* The bounds [*from, *to) of the run of consecutive user messages that
 * holds message i of req. */
void mp_ownwords_run_bounds(const struct mp_chatreq *req, size_t i, size_t *from, size_t *to);

/* Message m's own words (m a user message of body, read with w; all
 * borrowed; run: its run's, NULL: words are nowhere else) into out[0..cap)
 * (cap at least m->text_len + 1) and *res. When structure left nothing
 * out, the text is what stages 1 and 2 leave of the whole text (its
 * leading and trailing whitespace dropped only when a pattern removed a
 * block, so a message where nothing went is byte for byte its text);
 * else its parts' remainders without the blocks structure left out,
 * each trimmed, the non-empty ones joined by "\n". stripped (may be NULL)
 * gets the pattern blocks removed added. MP_OK; MP_NOTFOUND when the
 * message has no text; MP_ETOOBIG when cap is too small; MP_ENOMEM. */
int mp_ownwords_message(const struct mp_wire *w, const char *body, const struct mp_chatreq_msg *m,
                        const struct mp_inserted_patterns *p, const struct mp_ownwords_run *run,
                        char *out, size_t cap, struct mp_ownwords_text *res,
                        struct mp_inserted_count *stripped);

/* Whether m's raw JSON body[m->start..m->end) may hold anything the
 * stages leave out, or parts to look at one by one: a key of p (struct
 * mp_inserted_key) as written or with its first byte escaped \u00XX in
 * either case, a '<' (as written or escaped), a fence, or "}," (an
 * element of a content array followed by another); p with patterns but
 * no keys: true.
 * false: its own words are its text, one block. Cost: one memchr pass
 * per byte looked for (every escape in one), no decoding. */
bool mp_ownwords_may_differ(const struct mp_inserted_patterns *p, const char *body,
                            const struct mp_chatreq_msg *m);

/* ---- a request's own words, for "already there" (core/wire/there.h) ---- */

#define MP_OWNWORDS_MAX   64           /* request messages whose own words are kept */
#define MP_OWNWORDS_BYTES (256 * 1024) /* their text looked at, past the newest */

/* A user message whose own words differ from its text: by length and
 * hash (mp_chatreq_hash_text with MP_CR_USER), no copy kept. */
struct mp_ownwords_item {
    size_t msg; /* index in the request's messages */
    size_t len;
    uint64_t hash;
};

struct mp_ownwords {
    size_t n;
    /* the user messages looked at: lead (the first one) and every one from
       index from on; a message looked at and not in items is its own words
       (mp_ownwords_clean). Both SIZE_MAX: none. */
    size_t lead, from;
    struct mp_ownwords_item items[MP_OWNWORDS_MAX];
};

/* Fills *out for the request body (borrowed; req its scan by w): the user
 * messages whose own words differ from their text, at most
 * MP_OWNWORDS_MAX of them: the first user message (the conversation's
 * lead, core/wire/convid.h) and the newest are always looked at, the
 * others newest first while their texts come to MP_OWNWORDS_BYTES at most
 * (a longer conversation's older messages are compared as sent). MP_OK
 * (out->n 0 with nothing to leave out) or MP_ENOMEM (*out empty, none
 * looked at). Cost: per message looked at, mp_ownwords_may_differ over
 * its raw JSON, and only when that is true, its run and its decode:
 * bounded whatever the body's size, and no decoding when nothing was
 * inserted. */
int mp_ownwords_request(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                        const struct mp_inserted_patterns *p, struct mp_ownwords *out);

/* The entry of message msg in owns, or NULL (owns may be NULL). */
const struct mp_ownwords_item *mp_ownwords_of(const struct mp_ownwords *owns, size_t msg);

/* True when owns (may be NULL: false) looked at message msg and found its
 * own words to be its text. */
bool mp_ownwords_clean(const struct mp_ownwords *owns, size_t msg);

#endif
