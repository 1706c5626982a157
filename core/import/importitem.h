/* The import format's items (docs/admin-import-export.md "Import"): what every
 * reader of an export turns its file into, one item per message, fact or
 * setting, before the proxy's import path stores them. A batch owns its
 * items, the export ids of its conversations and the counts of what the
 * readers left out and why. Pure: no file, no clock, no store; the
 * digest of a conversation and the ids derived for items without one are
 * the proxy's (they are keyed with the user). */
#ifndef MP_CORE_IMPORT_IMPORTITEM_H
#define MP_CORE_IMPORT_IMPORTITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/usermem.h"
#include "memory/usermode.h"

#define MP_IMPORT_ID_MAX       256 /* an item's id, bytes */
#define MP_IMPORT_SETTINGS_MAX 16  /* settings lines one bounded batch holds (the last counts) */

enum mp_import_type { MP_IMPORT_MESSAGE, MP_IMPORT_FACT, MP_IMPORT_SETTINGS, MP_IMPORT_SKIPPED };

/* What an import's file is (docs/admin-import-export.md "Import"): memproxy's JSON
 * Lines, a ChatGPT or a Claude data export, another assistant's memory
 * as text. */
enum mp_import_format {
    MP_IMPORT_FORMAT_JSONL,
    MP_IMPORT_FORMAT_CHATGPT,
    MP_IMPORT_FORMAT_CLAUDE,
    MP_IMPORT_FORMAT_MEMORY_TEXT,
    MP_IMPORT_FORMAT_COUNT
};

/* The format's name: "jsonl", "chatgpt", "claude", "memory-text". */
const char *mp_importitem_format_name(enum mp_import_format f);

/* Why a reader left something of the file out. A whole message counts
 * once, under the first reason that applies; IMAGE, AUDIO and FILE count
 * each part or attachment of a message (whose text parts are kept). */
enum mp_import_skip {
    MP_IMPORT_SKIP_EXPORT_LINE,  /* a memproxy export's summary or history line */
    MP_IMPORT_SKIP_HIDDEN,       /* a message its app hides from the conversation */
    MP_IMPORT_SKIP_SYSTEM,       /* the system's or the developer's words */
    MP_IMPORT_SKIP_TOOL,         /* a tool's call, output or result */
    MP_IMPORT_SKIP_REASONING,    /* the model's thinking */
    MP_IMPORT_SKIP_CODE,         /* code the model ran (its text is the tool's input) */
    MP_IMPORT_SKIP_IMAGE,        /* an image part */
    MP_IMPORT_SKIP_AUDIO,        /* an audio or video part */
    MP_IMPORT_SKIP_FILE,         /* an attached file */
    MP_IMPORT_SKIP_UNSUPPORTED,  /* content of a kind no reader knows */
    MP_IMPORT_SKIP_EMPTY,        /* no text at all */
    MP_IMPORT_SKIP_OTHER_BRANCH, /* on a branch the user did not keep (an edit, a regeneration) */
    MP_IMPORT_SKIP_HEADING,      /* a memory text's heading or introduction */
    MP_IMPORT_SKIP_ASSISTANT,    /* a memory text's words to the user: a greeting, an offer */
    MP_IMPORT_SKIP_COUNT
};

/* The reason's name in answers ("hidden", "other_branch", ...). */
const char *mp_importitem_skip_name(enum mp_import_skip why);

struct mp_import_item {
    enum mp_import_type type;
    size_t line; /* 1-based line of the file it starts on */
    enum mp_role role;
    char *text; /* message content or fact value, NUL-terminated, owned */
    size_t text_len;
    char key[MP_ENTITY_KEY_MAX + 1]; /* facts: normalized */
    double confidence;
    enum mp_trust trust;    /* facts: MP_TRUST_STATED, or MP_TRUST_IMPORTED (another
                               assistant's memory) */
    enum mp_user_mode mode; /* settings: the user's own setting */
    int64_t at_ms;
    uint64_t conv;      /* messages: the conversation's digest (0: none given) */
    uint8_t conv_kind;  /* ... and its rule (enum mp_convid_kind; 0: none given) */
    size_t conv_ref;    /* messages of a reader: 1 + its conversation's index in the
                           batch's convs (the proxy digests it); 0: none */
    uint64_t reply_ref; /* messages: its reply's reference (usermem.h; 0: none given) */
    uint8_t lang;       /* messages: its language (enum mp_lang; 0: none given, identified) */
    const char *source; /* facts: a source of their own, static ("custom_instructions": the
                           person's own words to their app); NULL: the import request's id */
    bool has_id;
    char id[MP_IMPORT_ID_MAX + 1];
};

/* A conversation of an export: its reader's name for the app (a static
 * string, "chatgpt"), and its id in the export (owned, NUL-terminated). */
struct mp_import_conv {
    const char *source;
    char *id;
    size_t id_len;
};

struct mp_import_batch {
    struct mp_import_item *items;
    size_t n, cap;
    size_t nmessages, nfacts, nsettings, nskipped; /* nskipped: MP_IMPORT_SKIPPED lines */
    size_t skipped[MP_IMPORT_SKIP_COUNT];
    struct mp_import_conv *convs;
    size_t nconvs, convcap;
    /* set before reading: the most messages and facts it may hold, and
       the most entries a reader holds of one conversation's tree (a
       ChatGPT mapping's nodes, Claude's chat_messages) (0: no bound), so
       that a file past them is refused before it is all held */
    size_t max_messages, max_facts, max_nodes;
};

/* Where a file is not what its reader takes: the 1-based line of the
 * file, a static reason naming the field or the problem ("at",
 * "current_node", "not JSON", ...), and for the readers of conversations
 * the 1-based places of the conversation and message (0: none). future:
 * the item is dated more than MP_USERMEM_FUTURE_SKEW_MS past the
 * import's time. */
#define MP_IMPORT_TITLE_MAX 60 /* bytes of a conversation's title an error quotes */

struct mp_import_error {
    size_t line;
    const char *why;
    size_t conversation, message;
    char title[MP_IMPORT_TITLE_MAX + 4]; /* the conversation's title, cut ("..."); "": none */
    bool future;
};

/* Whether a reader holding n entries of one conversation's tree may take
 * one more (the batch's max_nodes): past it the reader returns
 * MP_ETOOBIG. */
bool mp_importitem_node_fits(const struct mp_import_batch *b, size_t n);

/* Appends *it (its text taken: the batch frees it, also on failure) and
 * counts it by type. MP_OK; MP_ETOOBIG when it is a message or a fact
 * past the batch's max_messages or max_facts, or a settings line past
 * MP_IMPORT_SETTINGS_MAX in a batch with max_facts (the readers pass it
 * on: the file is refused); MP_ENOMEM. */
int mp_importitem_push(struct mp_import_batch *b, struct mp_import_item *it);

/* Adds a conversation of source (static) with the id id[0..len) (copied):
 * MP_OK with *ref (the items' conv_ref), or MP_ENOMEM. */
int mp_importitem_conv(struct mp_import_batch *b, const char *source, const char *id, size_t len,
                       size_t *ref);

/* Sets it's id to prefix, the conversation's id, '/' and the message's
 * id mid[0..mlen), when that fits MP_IMPORT_ID_MAX; else leaves it
 * without one (the proxy derives one). */
void mp_importitem_set_id(struct mp_import_item *it, const char *prefix,
                          const struct mp_import_conv *c, const char *mid, size_t mlen);

/* The 1-based line of buf[off] (counts the '\n' before it). */
size_t mp_importitem_line_at(const char *buf, size_t off);

/* Checks an item's own time at_ms against the import's time now_ms
 * (mp_usermem_time_ok): MP_OK, or MP_EINVAL with err's why "at" and
 * future set when it is too far ahead. */
int mp_importitem_time(int64_t at_ms, int64_t now_ms, struct mp_import_error *err);

/* Frees what b owns and empties it. */
void mp_importitem_free(struct mp_import_batch *b);

#endif
