/* Translation of a question's words through the enabled tables (see
 * xlate.h). Only English pairs are built: Debian's FreeDict has them for
 * every language it covers, and a pair of two others goes through English
 * (a pivot), which costs a second lookup and halves no recall the dev sets
 * show. */
#include "recall/xlate.h"

#include <stdbool.h>
#include <string.h>

#include "errtext.h"
#include "status.h"

/* The languages built from FreeDict (core/recall/xlate/meson.build names
 * the same): a pair with English both ways, or one way read backwards. */
static const int dict_langs[] = {
    MP_LANG_DE, MP_LANG_FR, MP_LANG_ES, MP_LANG_IT, MP_LANG_PT, MP_LANG_TR, MP_LANG_RU,
    MP_LANG_AR, MP_LANG_HI, MP_LANG_JA, MP_LANG_NL, MP_LANG_SV, MP_LANG_DA, MP_LANG_FI,
    MP_LANG_HU, MP_LANG_NO, MP_LANG_EL, MP_LANG_GA, MP_LANG_ID, MP_LANG_LT, MP_LANG_SR,
};

uint64_t mp_xlate_dict_langs(void)
{
    uint64_t m = MP_XLATE_BIT(MP_LANG_EN);
    for (size_t i = 0; i < sizeof(dict_langs) / sizeof(dict_langs[0]); i++)
        m |= MP_XLATE_BIT(dict_langs[i]);
    return m;
}

int mp_xlate_table_name(int src, int dst, char *out, size_t cap)
{
    const char *a = mp_lang_code(src), *b = mp_lang_code(dst);
    if (a[0] == '\0' || b[0] == '\0' || cap < sizeof("xlate-xx-yy.tab"))
        return MP_EINVAL;
    mp_errtext_format(out, cap, "xlate-%s-%s.tab", a, b);
    return MP_OK;
}

/* One item of the list, s[0..n): a code with a dictionary. */
static int parse_code(const char *s, size_t n, uint64_t *m, char *why, size_t cap)
{
    int lang = mp_lang_from_code(s, n);
    if (n == 0) {
        mp_errtext_format(why, cap, "empty language in the list");
        return MP_EINVAL;
    }
    if (lang == MP_LANG_NONE) {
        mp_errtext_format(why, cap, "unknown language \"%.*s\" (ISO 639-1 codes: de,fr,...)",
                          (int)(n > 8 ? 8 : n), s);
        return MP_EINVAL;
    }
    if ((mp_xlate_dict_langs() & MP_XLATE_BIT(lang)) == 0) {
        mp_errtext_format(why, cap,
                          "no dictionary for \"%s\" (docs/memory-languages.md, Across languages)",
                          mp_lang_code(lang));
        return MP_EINVAL;
    }
    *m |= MP_XLATE_BIT(lang);
    return MP_OK;
}

int mp_xlate_parse_langs(const char *s, uint64_t *out, char *why, size_t cap)
{
    uint64_t m = 0;
    if (strcmp(s, "all") == 0) {
        *out = mp_xlate_dict_langs();
        return MP_OK;
    }
    if (strcmp(s, "none") == 0) {
        *out = 0;
        return MP_OK;
    }
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (parse_code(p, n, &m, why, cap) != MP_OK)
            return MP_EINVAL;
        if (e == NULL)
            break;
        p = e + 1;
    }
    *out = m | MP_XLATE_BIT(MP_LANG_EN);
    return MP_OK;
}

void mp_xlate_init(struct mp_xlate *x)
{
    memset(x, 0, sizeof(*x));
}

int mp_xlate_add(struct mp_xlate *x, const void *bytes, size_t len)
{
    if (bytes == NULL || len < MP_XLATETAB_HEADER)
        return MP_EINVAL;
    return mp_xlate_add_head(x, bytes, bytes, len);
}

int mp_xlate_add_head(struct mp_xlate *x, const void *head, const void *bytes, size_t len)
{
    struct mp_xlatetab t;
    if (mp_xlatetab_open_head(&t, head, bytes, len) != MP_OK)
        return MP_EINVAL;
    bool known = t.src > MP_LANG_NONE && t.src < MP_LANG_COUNT && t.dst > MP_LANG_NONE &&
                 t.dst < MP_LANG_COUNT && t.src != t.dst;
    if (!known || (t.src != MP_LANG_EN && t.dst != MP_LANG_EN))
        return MP_EINVAL;
    if (t.dst == MP_LANG_EN) {
        x->to_en[t.src] = t;
        x->to |= MP_XLATE_BIT(t.src);
    } else {
        x->from_en[t.dst] = t;
        x->from |= MP_XLATE_BIT(t.dst);
    }
    return MP_OK;
}

uint64_t mp_xlate_reach(const struct mp_xlate *x, int from)
{
    if (x == NULL || from <= MP_LANG_NONE || from >= MP_LANG_COUNT)
        return 0;
    if (from == MP_LANG_EN)
        return x->from;
    if ((x->to & MP_XLATE_BIT(from)) == 0)
        return 0;
    return (x->from | MP_XLATE_BIT(MP_LANG_EN)) & ~MP_XLATE_BIT(from);
}

double mp_xlate_rank_weight(unsigned rank)
{
    /* the fifth and sixth at 0.4: 0.3 and 0.5 measure the same (xlang-dev) */
    static const double w[MP_XLATETAB_MAX_TRANS] = {1.0, 0.8, 0.65, 0.5, 0.4, 0.4};
    return rank < MP_XLATETAB_MAX_TRANS ? w[rank] : w[MP_XLATETAB_MAX_TRANS - 1];
}

#define PIVOT_SENSES 2 /* English senses a pivot goes on from, and translations of each */

/* The pivot's English senses, as they are collected. */
struct senses {
    char en[PIVOT_SENSES][MP_XLATETAB_KEY_MAX + 1];
    uint8_t enlen[PIVOT_SENSES];
    unsigned n;
};

/* One look-up's callback state: small, since a word makes one per
 * language (the senses, when a pivot collects them, are its own). */
struct step {
    mp_xlate_fn fn;
    void *arg;
    int lang;
    double w; /* of the step before (1: none) */
    unsigned keep;
    struct senses *sn; /* borrowed: where on_sense puts them */
};

static int on_trans(void *arg, const char *term, size_t len, unsigned rank)
{
    struct step *s = arg;
    if (rank >= s->keep)
        return MP_OK;
    return s->fn(s->arg, s->lang, term, len, s->w * mp_xlate_rank_weight(rank));
}

static int on_sense(void *arg, const char *term, size_t len, unsigned rank)
{
    struct senses *sn = ((struct step *)arg)->sn;
    if (sn->n < PIVOT_SENSES) {
        memcpy(sn->en[sn->n], term, len);
        sn->enlen[sn->n++] = (uint8_t)len;
    }
    (void)rank;
    return MP_OK;
}

/* from -> English -> lang: English senses first, then each one's own. */
static int pivot(const struct mp_xlate *x, int from, int lang, const char *key, size_t klen,
                 mp_xlate_fn fn, void *arg)
{
    struct senses sn;
    sn.n = 0;
    struct step s = {.fn = fn, .arg = arg, .lang = lang, .keep = PIVOT_SENSES, .sn = &sn};
    int rc = mp_xlatetab_find(&x->to_en[from], key, klen, on_sense, &s);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    for (unsigned k = 0; k < sn.n; k++) {
        s.w = mp_xlate_rank_weight(k);
        rc = mp_xlatetab_find(&x->from_en[lang], sn.en[k], sn.enlen[k], on_trans, &s);
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
    }
    return MP_OK;
}

int mp_xlate_word(const struct mp_xlate *x, int from, uint64_t to, const char *key, size_t klen,
                  mp_xlate_fn fn, void *arg)
{
    uint64_t reach = mp_xlate_reach(x, from) & to;
    for (int lang = 1; reach != 0 && lang < MP_LANG_COUNT; lang++) {
        if ((reach & MP_XLATE_BIT(lang)) == 0)
            continue;
        reach &= ~MP_XLATE_BIT(lang);
        int rc;
        if (from == MP_LANG_EN || lang == MP_LANG_EN) {
            const struct mp_xlatetab *t = from == MP_LANG_EN ? &x->from_en[lang] : &x->to_en[from];
            struct step s = {
                .fn = fn, .arg = arg, .lang = lang, .w = 1.0, .keep = MP_XLATETAB_MAX_TRANS};
            rc = mp_xlatetab_find(t, key, klen, on_trans, &s);
        } else {
            rc = pivot(x, from, lang, key, klen, fn, arg);
        }
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
    }
    return MP_OK;
}
