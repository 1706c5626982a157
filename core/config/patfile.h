/* The lines of a pattern file the operator may extend
 * (conf/task-patterns.conf, conf/inserted-context.conf): which lines count,
 * their words and their escaped literals. What a line means is its
 * reader's (core/wire/clienttask.c, core/wire/inserted.c). Pure. */
#ifndef MP_CORE_CONFIG_PATFILE_H
#define MP_CORE_CONFIG_PATFILE_H

#include <stddef.h>

/* A reader of one line (borrowed for the call; trailing spaces, tabs and
 * a CR dropped): NULL when it took it, else why it is not a pattern (a
 * static message). */
typedef const char *(*mp_patfile_line_fn)(void *ctx, const char *line, size_t len);

/* Calls fn on each line of text[0..len) (borrowed) that is neither blank
 * (spaces, tabs, a CR) nor a comment (its first other byte '#'), in order.
 * MP_OK; MP_EINVAL with *line (1-based) and *why from fn at the first line
 * fn refuses. */
int mp_patfile_each(const char *text, size_t len, mp_patfile_line_fn fn, void *ctx, unsigned *line,
                    const char **why);

/* The next word (bytes other than space and tab) of line[*pos..len) to
 * *word; its length (0 at the end), *pos past it. */
size_t mp_patfile_word(const char *line, size_t len, size_t *pos, const char **word);

/* Unescapes the literal s[0..n) (\n, \t and \\, no other escape; no
 * control byte) into out[0..cap). NULL with *olen, or why not: a control
 * byte, an unknown escape, or "too long" (more than cap bytes). */
const char *mp_patfile_unescape(const char *s, size_t n, char *out, size_t cap, size_t *olen);

#endif
