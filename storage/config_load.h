/* Loads the configuration the way docs/cli.md says: built-in defaults, then
 * the INI file (if any), then MEMPROXY_<SECTION>_<KEY> variables, then the
 * cross-field checks. The parsing itself is core/config/config.c. It lives beside
 * storage because it reads files (the INI file, the encryption key file) and
 * both the proxy and the offline tools need it. */
#ifndef MP_STORAGE_CONFIG_LOAD_H
#define MP_STORAGE_CONFIG_LOAD_H

#include <stdio.h>

#include "config/config.h"

#define MP_CONFIG_FILE_MAX (1024 * 1024)

/* path (borrowed) may be NULL for defaults + environment; envp is a
 * NULL-terminated array like environ (borrowed). Returns MP_OK with *out
 * filled, or MP_EINVAL with errs filled (*out undefined). A file that cannot
 * be read, or is larger than MP_CONFIG_FILE_MAX, is an error of its own.
 * Every error names its source (path, "environment", or a file the
 * configuration names) and, where it has one, its line: as
 * mp_config_locate_errors() places them. */
int mp_config_load(const char *path, const char *const *envp, struct mp_config *out,
                   struct mp_config_errors *errs);

/* Gives the errors of errs from index from on that have no line, and no
 * source but path (or none), the place they belong, as docs/cli.md says:
 * one whose message starts with "[section] key" is the environment's when
 * envp sets MEMPROXY_<SECTION>_<KEY>, else at the line of path that sets
 * the key; any other (a rule between keys, a key left at its default) is
 * path's without a line, or the environment's when path is NULL. path's
 * text is read again here. */
void mp_config_locate_errors(struct mp_config_errors *errs, size_t from, const char *path,
                             const char *const *envp);

/* The PostgreSQL connection string of cfg: [storage] postgres_url, or the
 * first line of postgres_url_file (its line end stripped; at most
 * MP_CONFIG_TOKEN_MAX - 1 bytes of printable ASCII). MP_OK with *out (free
 * it with free() after wiping it); MP_EINVAL with a reason in err that
 * never quotes the file's content. */
int mp_config_postgres_url(const struct mp_config *cfg, char **out, char *err, size_t errcap);

/* Wipes and frees a string of mp_config_postgres_url(); NULL does nothing. */
void mp_config_postgres_url_free(char *url);

/* Prints each error as "source:line: message" (or "source: message" when it
 * has no line) to f. */
void mp_config_print_errors(const struct mp_config_errors *errs, FILE *f);

#endif
