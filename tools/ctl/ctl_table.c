/* Aligned columns; see ctl_table.h. */
#include "ctl/ctl_table.h"

#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_text.h"
#include "status.h"

#define COLS_MAX 16

struct mp_ctl_table {
    size_t ncols, cell_max;
    char **cells; /* rows * ncols, row-major, owned */
    size_t rows, cap;
    size_t width[COLS_MAX];
};

struct mp_ctl_table *mp_ctl_table_new(size_t ncols, size_t cell_max)
{
    if (ncols == 0 || ncols > COLS_MAX || cell_max < 4)
        return NULL;
    struct mp_ctl_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    t->cell_max = cell_max;
    return t;
}

void mp_ctl_table_free(struct mp_ctl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

static int grow(struct mp_ctl_table *t)
{
    size_t cap = t->cap > 0 ? t->cap * 2 : 16;
    char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
    if (cells == NULL)
        return MP_ENOMEM;
    t->cells = cells;
    t->cap = cap;
    return MP_OK;
}

int mp_ctl_table_add(struct mp_ctl_table *t, const char *const *cells)
{
    char *row[COLS_MAX] = {0};
    if (t->rows == t->cap && grow(t) != MP_OK)
        return MP_ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *in = cells[c] != NULL ? cells[c] : "-";
        row[c] = malloc(t->cell_max + 1);
        if (row[c] == NULL) {
            for (size_t k = 0; k < c; k++)
                free(row[k]);
            return MP_ENOMEM;
        }
        mp_ctl_text_line(in, strlen(in), t->cell_max, row[c], t->cell_max + 1);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        size_t w = mp_ctl_text_width(row[c]);
        if (w > t->width[c])
            t->width[c] = w;
        t->cells[t->rows * t->ncols + c] = row[c];
    }
    t->rows++;
    return MP_OK;
}

size_t mp_ctl_table_rows(const struct mp_ctl_table *t)
{
    return t->rows;
}

void mp_ctl_table_print(const struct mp_ctl_table *t, const char *indent, FILE *f)
{
    for (size_t r = 0; r < t->rows; r++) {
        char *const *row = t->cells + r * t->ncols;
        size_t last = t->ncols;
        while (last > 1 && row[last - 1][0] == '\0')
            last--;
        fputs(indent != NULL ? indent : "", f);
        for (size_t c = 0; c < last; c++) {
            fputs(row[c], f);
            if (c + 1 == last)
                break;
            for (size_t pad = mp_ctl_text_width(row[c]); pad < t->width[c] + 2; pad++)
                fputc(' ', f);
        }
        fputc('\n', f);
    }
}
