/* The structure of a user message's text part: where a client's text
 * stands out by its shape, whatever it says (docs/memory-whose-words.md "Whose
 * words"). A person types sentences; a client assembles blocks: a tagged
 * block from a line's start to a line's end (<environment_context> ...
 * </environment_context>), a heading that names a file followed by the
 * file (# AGENTS.md instructions for /repo, then <INSTRUCTIONS> ... or a
 * fenced block), key/value lines of an environment. This module only
 * splits and names the blocks; core/wire/ownwords.h decides which of them
 * are the client's. Pure: no I/O, no allocation, nothing kept.
 *
 * Also the print of a block: a 64-bit hash of its text with every run of
 * whitespace taken as one space and every run of digits as one '0', so
 * that a template seen again with another date, time or line count has
 * the same print. Prints are what the store keeps of a block (never its
 * text) to find a template by repetition (storage/ops/store_whose.c). */
#ifndef MP_CORE_WIRE_BLOCKS_H
#define MP_CORE_WIRE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define MP_BLOCKS_MAX      16 /* blocks of one text part, at most (the rest is one last block) */
#define MP_BLOCK_NAME_MAX  64 /* bytes of a tag's name */
#define MP_BLOCK_PRINT_MIN 48 /* bytes: a shorter block is never printed ("yes", "continue") */

enum mp_block_kind {
    MP_BLOCK_WORDS,       /* plain text: a person's, as far as its shape tells */
    MP_BLOCK_TAGGED,      /* <name ...> from a line's start to </name> at a line's end */
    MP_BLOCK_ENVIRONMENT, /* a tagged block of two or more lines, two thirds of them key/value */
    MP_BLOCK_FILE,        /* a heading naming a file, then a tagged or fenced block */
};

struct mp_block {
    uint32_t start, len; /* in the text split; WORDS trimmed of whitespace at both ends */
    uint8_t kind;        /* enum mp_block_kind */
};

/* Splits text[0..len) (borrowed) into blocks, in text order, into
 * out[0..cap) (cap >= 1), and returns how many:
 *   - a tagged block: an opening tag <name> or <name attributes...> that
 *     starts a line (after spaces or tabs), name a letter then letters,
 *     digits, '_', '-', '.' or ':' (at most MP_BLOCK_NAME_MAX bytes), up
 *     to the first closing tag </name> after it that ends a line (spaces
 *     or tabs, then a newline or the text's end); an opening tag without
 *     such a close is words;
 *   - a file: a line that is a heading (it starts with '#' or ends with
 *     ':') and names a file (a word with a '/' between two characters, or
 *     a name, a '.' and an extension of 1 to 5 letters or digits) right
 *     before a tagged block or a fenced block (a line starting with ```
 *     through the next such line), blank lines between: the heading and
 *     that block are one FILE block;
 *   - a file too: a fenced block whose info string (after the opening
 *     ```) names a file, as an IDE attaches one (```src/main.py); a fence
 *     labelled otherwise (```python) or not at all is words, as a person
 *     pastes code;
 *   - words: what lies between, trimmed; an empty stretch is no block.
 * A tagged block is ENVIRONMENT when the lines inside it (between its
 * tags, trimmed, empty ones not counted) are two or more and at least two
 * thirds of them are key/value: markup alone (<cwd>/repo</cwd>, a line
 * that starts with '<' and ends with '>'), or "key: value" / "key=value"
 * with a key of 1 to 32 letters, digits, '_', '-', '.' or spaces (at most
 * two) and a value. When the text holds more than cap blocks, the last
 * one is WORDS from where the cap was met to the end (trimmed). Cost:
 * linear in len for the lines, plus one search for each opening tag's
 * close. */
size_t mp_blocks_split(const char *text, size_t len, struct mp_block *out, size_t cap);

/* The print of text[0..len): FNV-1a over its bytes with whitespace runs
 * fed as one ' ', digit runs as one '0', leading and trailing whitespace
 * skipped; never 0 (0 becomes 1: 0 means "no print" to callers). */
uint64_t mp_blocks_print(const char *text, size_t len);

#endif
