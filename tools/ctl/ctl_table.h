/* Aligned columns for people: rows of cells collected first, then printed
 * with every column as wide as its widest cell. Every cell is made one safe
 * line (ctl_text.h, mp_ctl_text_line) when it is added, so no server text
 * reaches a terminal raw. It knows nothing of what the cells mean. */
#ifndef MP_TOOLS_CTL_TABLE_H
#define MP_TOOLS_CTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct mp_ctl_table;

/* A table of ncols (1..16) columns whose cells are cut to cell_max bytes
 * (>= 4). NULL when out of memory or ncols is out of range. Free with
 * mp_ctl_table_free(). */
struct mp_ctl_table *mp_ctl_table_new(size_t ncols, size_t cell_max);
void mp_ctl_table_free(struct mp_ctl_table *t);

/* Appends a row: cells[0..ncols) (borrowed, copied; a NULL cell is "-").
 * MP_OK or MP_ENOMEM (the table is unchanged). */
int mp_ctl_table_add(struct mp_ctl_table *t, const char *const *cells);

/* The rows added so far. */
size_t mp_ctl_table_rows(const struct mp_ctl_table *t);

/* Prints every row: indent (borrowed, may be NULL), the cells padded to
 * their column's width (mp_ctl_text_width) and separated by two spaces;
 * the last cell is not padded and no line ends in a blank. */
void mp_ctl_table_print(const struct mp_ctl_table *t, const char *indent, FILE *f);

#endif
