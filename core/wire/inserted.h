/* Text a client inserts into a user message (an attached file's or a web
 * search's context, an IDE's notices, an agent's environment details):
 * forwarded as sent, but not the user's words, so neither archived nor
 * extracted. This module finds it by the patterns of a file the operator
 * may extend ([memory] inserted_context_patterns, conf/inserted-context.conf,
 * docs/memory-whose-words.md "Inserted context") and gives the user's own remainder.
 * Pure: no I/O, no logging, nothing kept past a call.
 *
 * A pattern is a block: an opening marker, then the first closing marker
 * after it; the block and the whitespace that follows it go. Patterns are
 * literal bytes, case-sensitive, not regular expressions; they apply in
 * file order, each over the whole text left by those before it. An
 * opening marker without its close after it removes nothing (a truncated
 * or quoted marker is the user's text). "lead" patterns remove only blocks
 * at the start of the text (after whitespace), one after another; the
 * others ("anywhere") every block. When anything went, the remainder's
 * leading and trailing whitespace goes too; a text where nothing matched
 * is left byte for byte. */
#ifndef MP_CORE_WIRE_INSERTED_H
#define MP_CORE_WIRE_INSERTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_INSERTED_PATTERNS_MAX 64  /* patterns in one file */
#define MP_INSERTED_MARKER_MIN   3   /* bytes of a marker, after its escapes */
#define MP_INSERTED_MARKER_MAX   120 /* the same, at most */
#define MP_INSERTED_KEY_MAX      3   /* bytes of a prefilter key (struct mp_inserted_key) */

/* The clients a pattern names: a fixed set (a metric label); a name
 * outside it is MP_INSERTED_OTHER. */
enum mp_inserted_client {
    MP_INSERTED_OPEN_WEBUI,
    MP_INSERTED_CLAUDE_CODE,
    MP_INSERTED_CLINE,
    MP_INSERTED_ROO_CODE,
    MP_INSERTED_LOBECHAT,
    MP_INSERTED_CONTINUE,
    MP_INSERTED_LIBRECHAT,
    MP_INSERTED_CURSOR,
    MP_INSERTED_OTHER,
    MP_INSERTED_CLIENTS /* the count */
};

enum mp_inserted_place {
    MP_INSERTED_ANYWHERE, /* every block in the text */
    MP_INSERTED_LEAD      /* only blocks at its start, one after another */
};

struct mp_inserted_pattern {
    uint8_t client; /* enum mp_inserted_client */
    uint8_t place;  /* enum mp_inserted_place */
    uint8_t open_len, close_len;
    char open[MP_INSERTED_MARKER_MAX];
    char close[MP_INSERTED_MARKER_MAX];
};

/* What every opening marker starts with, for looking at a message's raw
 * JSON before decoding it (mp_ownwords_may_differ): one key per first byte,
 * the longest prefix the markers with that byte share, up to
 * MP_INSERTED_KEY_MAX bytes, its bytes past the first ones no JSON
 * encoder escapes (letters, digits, '#', ...). The defaults' keys are "<"
 * and "###". */
struct mp_inserted_key {
    uint8_t len;
    char b[MP_INSERTED_KEY_MAX];
};

struct mp_inserted_patterns {
    uint32_t n;
    /* the keys (mp_inserted_parse derives them); nkeys 0 with n > 0: no
       prefilter, every message is decoded (a marker opening with a byte
       that JSON may write otherwise than as itself or as \u00XX: '"',
       '\\', '/', a control or a non-ASCII byte) */
    uint32_t nkeys;
    struct mp_inserted_key keys[MP_INSERTED_PATTERNS_MAX];
    struct mp_inserted_pattern items[MP_INSERTED_PATTERNS_MAX];
};

/* What one strip removed: blocks by client. only is the caller's: the
 * messages that were nothing but inserted context (proxy/memory/turn.c
 * counts those of a turn that had nothing else, no tool result either). */
struct mp_inserted_count {
    uint32_t blocks[MP_INSERTED_CLIENTS];
    uint32_t total;
    uint32_t only;
};

/* The client's name: "open_webui", "claude_code", "cline", "roo_code",
 * "lobechat", "continue", "librechat", "cursor", "other" ("other" for a
 * value outside the enum too). */
const char *mp_inserted_client_name(int client);

/* The client a pattern names (ASCII case-insensitive; '-' and '_' alike);
 * MP_INSERTED_OTHER for any other name. */
enum mp_inserted_client mp_inserted_client_of(const char *name, size_t len);

/* Reads a pattern file's text[0..len) (borrowed) into *out. One pattern a
 * line: "<client> <place> <open> ... <close>": client a word, place
 * "anywhere" or "lead", then the opening marker, the separator " ... "
 * (its first occurrence) and the closing marker, trailing spaces and a CR
 * dropped, with the escapes \n, \t and \\ (no other). Empty lines and
 * lines starting with '#' are skipped. Returns MP_OK; MP_EINVAL with *line
 * (1-based) and *why (a static message) for a line that is not a pattern,
 * a marker shorter than MP_INSERTED_MARKER_MIN or longer than
 * MP_INSERTED_MARKER_MAX bytes or holding a control byte other than its
 * escapes, or more than MP_INSERTED_PATTERNS_MAX patterns. An empty text
 * is no pattern (nothing is ever removed). *out is filled either way. */
int mp_inserted_parse(const char *text, size_t len, struct mp_inserted_patterns *out,
                      unsigned *line, const char **why);

/* The default patterns (conf/inserted-context.conf's active lines, the
 * same text), in the syntax mp_inserted_parse reads. */
extern const char mp_inserted_default_patterns[];

/* Removes p's blocks from text[0..len) in place (see above) and returns
 * the remainder's length; count (may be NULL) gets what went added to it.
 * p NULL or empty: len, nothing touched. Cost: per pattern one mp_find_bytes pass
 * over the text for its opening markers and one for their closes, so
 * O(patterns x len); no allocation. */
size_t mp_inserted_strip(const struct mp_inserted_patterns *p, char *text, size_t len,
                         struct mp_inserted_count *count);

#endif
