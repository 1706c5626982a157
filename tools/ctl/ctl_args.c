/* Argument parsing; see ctl_args.h. */
#include "ctl/ctl_args.h"

#include <string.h>

#include "errtext.h"

/* The option arg names (up to '=' when it has one), or NULL. */
static struct mp_ctl_opt *find(struct mp_ctl_opt *opts, size_t nopts, const char *arg, size_t len)
{
    for (size_t i = 0; i < nopts; i++) {
        const char *names[2] = {opts[i].name, opts[i].alias};
        for (size_t k = 0; k < 2; k++) {
            if (names[k] != NULL && strlen(names[k]) == len && strncmp(names[k], arg, len) == 0)
                return &opts[i];
        }
    }
    return NULL;
}

static int take(const char **pos, size_t maxpos, size_t *npos, const char *arg, char *err,
                size_t errcap)
{
    if (*npos >= maxpos) {
        mp_errtext_format(err, errcap, "unexpected argument '%.80s'", arg);
        return -1;
    }
    pos[(*npos)++] = arg;
    return 0;
}

int mp_ctl_args_parse(int argc, const char *const *argv, struct mp_ctl_opt *opts, size_t nopts,
                      bool keep_unknown, const char **pos, size_t maxpos, size_t *npos, char *err,
                      size_t errcap)
{
    bool rest = false;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (rest || a[0] != '-' || a[1] == '\0') {
            if (take(pos, maxpos, npos, a, err, errcap) != 0)
                return -1;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            rest = true;
            if (keep_unknown && take(pos, maxpos, npos, a, err, errcap) != 0)
                return -1;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        struct mp_ctl_opt *o = find(opts, nopts, a, len);
        if (o == NULL && keep_unknown) {
            if (take(pos, maxpos, npos, a, err, errcap) != 0)
                return -1;
            continue;
        }
        if (o == NULL) {
            mp_errtext_format(err, errcap, "unknown option '%.*s'", (int)(len > 80 ? 80 : len), a);
            return -1;
        }
        if (o->seen) {
            mp_errtext_format(err, errcap, "%s given twice", o->name);
            return -1;
        }
        if (!o->takes_value && eq != NULL) {
            mp_errtext_format(err, errcap, "%s takes no value", o->name);
            return -1;
        }
        if (o->takes_value && eq == NULL && i + 1 >= argc) {
            mp_errtext_format(err, errcap, "%s needs a value", o->name);
            return -1;
        }
        o->seen = true;
        if (o->takes_value)
            o->value = eq != NULL ? eq + 1 : argv[++i];
    }
    return 0;
}

int mp_ctl_args_number(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    size_t n = strlen(text);
    if (n == 0 || n > 19 || (n > 1 && text[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
