/* The ops command line's argument parsing: long options with or without a
 * value ("--tenant T", "--tenant=T", "--json"), positionals, "--" ending the
 * options, and strict numbers. Pure: messages go to a caller's buffer. */
#ifndef MP_TOOLS_CTL_ARGS_H
#define MP_TOOLS_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct mp_ctl_opt {
    const char *name;  /* "--tenant" (or a short alias in alias, e.g. "-c") */
    const char *alias; /* NULL or another spelling */
    bool takes_value;
    /* out: */
    bool seen;
    const char *value; /* borrowed from argv; NULL for a flag */
};

/* Parses argv[0..argc) (borrowed) against opts[0..nopts). An option is
 * "NAME VALUE" or "NAME=VALUE" when it takes a value, "NAME" alone when it
 * does not; "--" makes every later argument a positional. Positionals go to
 * pos[0..maxpos) in order, *npos of them.
 * keep_unknown: an argument starting with '-' that names no option is kept
 * as a positional (so a first pass can take the global options out and
 * leave the command's), and "--" is kept along with what follows it.
 * Returns 0, or -1 with a one-line reason in err (errcap bytes): an unknown
 * option (unless keep_unknown), a missing value, a value given to a flag,
 * an option given twice, or more than maxpos positionals. */
int mp_ctl_args_parse(int argc, const char *const *argv, struct mp_ctl_opt *opts, size_t nopts,
                      bool keep_unknown, const char **pos, size_t maxpos, size_t *npos, char *err,
                      size_t errcap);

/* text as a decimal number in [min, max]: digits only, no sign, blank or
 * leading zero (but "0" itself). 0 with *out, or -1. */
int mp_ctl_args_number(const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
