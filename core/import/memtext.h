/* The reader of an "import memory" text: what another assistant lists
 * about the user when asked (ChatGPT's "what do you remember about me",
 * Claude's or Gemini's memory export), one item a line. Each line becomes
 * a fact of the trust class imported (core/memory/usermem.h: another
 * assistant's word about the user, below what the user said). It stores
 * nothing.
 *
 * A line is read so: a UTF-8 byte order mark at the start of the file,
 * a trailing CR and blanks at both ends go; a list marker goes ("-", "*",
 * "+", "•", "·", "–", "—", "1.", "1)", "(1)", "a.", "a)" followed by a
 * blank; a task box "[ ]" or "[x]" after it too); backticks are dropped,
 * what they quote kept as written; Markdown emphasis is dropped: every
 * "**", and a "__" pair around text with a blank in it (a code word's
 * underscores stay: "__init__", "my__var"); tabs become spaces. Then:
 *   - nothing left: skipped, uncounted (a blank line);
 *   - a Markdown heading ("# ..."), a rule ("---", "***"), a code fence
 *     ("```"), a line ending in ':' (an introduction such as "Here is
 *     what I remember about you:" or a group's name), or a line without a
 *     list marker that is bold or underlined whole ("**Work context**",
 *     Claude's groups): skipped, counted (heading);
 *   - the assistant speaking to the user, not about them: a line that
 *     ends in '?' or starts with a greeting, an introduction or an offer
 *     ("Sure!", "Here's what I remember", "Let me know if you'd like me
 *     to update or forget any of this!", "Hope this helps", ...; the list
 *     is memtext.c's): skipped, counted (assistant_words);
 *   - anything else is a fact: its value the line (cut marked at
 *     MP_ENTITY_VALUE_MAX bytes), confidence 1, observed at the import's
 *     time, trust imported.
 * A line that is not UTF-8, or holds a NUL or another control character
 * (tabs aside), refuses the file: why "not UTF-8 text", its line.
 *
 * The key of a fact is derived from its line, so that the same line
 * always gives the same key and two lines two keys:
 *   "mem_" + up to the first 5 words of the value, ASCII letters and
 *   digits only, lower-cased, joined by '_' (at most 40 bytes, cut at a
 *   word) + "_" + 8 hex digits of the FNV-1a 64 hash (low 32 bits) of the
 *   value lower-cased (ASCII) with its runs of blanks as one space.
 * "Lives in Graz, Austria." gives "mem_lives_in_graz_austria_" and 8 hex
 * digits; a line with no ASCII word gives "mem_" and 16 hex digits (the
 * whole hash). Its id is "memory-text:" and the key: importing the same
 * text again imports nothing new. */
#ifndef MP_CORE_IMPORT_MEMTEXT_H
#define MP_CORE_IMPORT_MEMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"

/* Reads buf[0..len) (borrowed) at the import's time now_ms into out
 * (appended; free with mp_importitem_free(), also on failure). MP_OK;
 * MP_EINVAL with *err; MP_ETOOBIG past out's max_facts (importitem.h);
 * MP_ENOMEM. */
int mp_memtext_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err);

/* The key of a fact whose value is v[0..n) (as above) into key (at most
 * MP_ENTITY_KEY_MAX bytes + NUL). */
void mp_memtext_key(const char *v, size_t n, char key[MP_ENTITY_KEY_MAX + 1]);

#endif
