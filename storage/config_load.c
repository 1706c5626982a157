/* Reading the configuration file and the environment. */
#include "config_load.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/ini.h"
#include "wire/clienttask.h"
#include "wire/inserted.h"
#include "format/seal.h"
#include "status.h"
#include "recall/xlate.h"

static void add_error(struct mp_config_errors *errs, const char *source, const char *msg)
{
    if (errs->count >= MP_CONFIG_ERRORS_MAX) {
        errs->dropped++;
        return;
    }
    struct mp_config_error *e = &errs->items[errs->count++];
    snprintf(e->source, sizeof(e->source), "%s", source);
    e->line = 0;
    snprintf(e->message, sizeof(e->message), "%s", msg);
}

/* Reads the whole file into a malloc'd buffer. */
static int read_file(const char *path, char **text, size_t *len, struct mp_config_errors *errs)
{
    char msg[256];
    int status = MP_EINVAL;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
        add_error(errs, path, msg);
        return MP_EINVAL;
    }
    buf = malloc(MP_CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        add_error(errs, path, "out of memory");
        goto out;
    }
    size_t n = fread(buf, 1, MP_CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
        add_error(errs, path, msg);
        goto out;
    }
    if (n > MP_CONFIG_FILE_MAX) {
        add_error(errs, path, "file larger than 1 MiB");
        goto out;
    }
    *text = buf;
    *len = n;
    buf = NULL;
    status = MP_OK;
out:
    free(buf);
    fclose(f);
    return status;
}

/* A pattern file's parser (mp_clienttask_parse, mp_inserted_parse). */
typedef int (*parse_fn)(const char *text, size_t len, void *out, unsigned *line, const char **why);

static int parse_task(const char *text, size_t len, void *out, unsigned *line, const char **why)
{
    return mp_clienttask_parse(text, len, out, line, why);
}

static int parse_inserted(const char *text, size_t len, void *out, unsigned *line, const char **why)
{
    return mp_inserted_parse(text, len, out, line, why);
}

/* [memory] task_patterns and inserted_context_patterns (key): the file's
 * patterns replace the built-in ones; a bad line is an error of that file,
 * with its number. */
static int load_patterns(const char *path, const char *key, parse_fn parse, void *out,
                         struct mp_config_errors *errs)
{
    char *text = NULL;
    size_t len = 0;
    unsigned line = 0;
    const char *why = NULL;
    size_t first = errs->count;
    if (read_file(path, &text, &len, errs) != MP_OK) {
        /* an error of the key that names the file (placed at its line) */
        for (size_t i = first; i < errs->count; i++) {
            struct mp_config_error *e = &errs->items[i];
            char msg[sizeof(e->message) + 256];
            snprintf(msg, sizeof(msg), "[memory] %s: %.*s: %s", key, 160, path, e->message);
            size_t keep = strnlen(msg, sizeof(e->message) - 1);
            memcpy(e->message, msg, keep);
            e->message[keep] = '\0';
            e->source[0] = '\0';
        }
        return MP_EINVAL;
    }
    int rc = parse(text, len, out, &line, &why);
    free(text);
    if (rc != MP_OK) {
        char msg[sizeof(errs->items[0].message)];
        snprintf(msg, sizeof(msg), "[memory] %s: %s", key, why);
        size_t before = errs->count;
        add_error(errs, path, msg);
        if (errs->count > before)
            errs->items[before].line = line;
    }
    return rc;
}

/* The first line of the secret file path (what names the key in err),
 * its line end stripped, into line (MP_CONFIG_TOKEN_MAX bytes): 1 byte or
 * more of printable ASCII (no space when !spaces). MP_OK, or MP_EINVAL
 * with a reason that never quotes the file. line is wiped on failure. */
static int first_line(const char *path, const char *what, bool spaces, char *line, char *err,
                      size_t errcap)
{
    char buf[MP_CONFIG_TOKEN_MAX + 2];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "%s cannot be read: %s", what, strerror(errno));
        return MP_EINVAL;
    }
    bool got = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    size_t n = got ? strcspn(buf, "\r\n") : 0;
    bool ok = n > 0 && n < MP_CONFIG_TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = buf[i] >= (spaces ? 0x20 : 0x21) && buf[i] < 0x7f;
    if (ok) {
        memcpy(line, buf, n);
        line[n] = '\0';
    }
    memset(buf, 0, sizeof(buf));
    if (!ok) {
        memset(line, 0, MP_CONFIG_TOKEN_MAX);
        snprintf(err, errcap,
                 "%s must hold %s of printable ASCII on its first line (content not shown)", what,
                 spaces ? "a connection string" : "a token without spaces");
        return MP_EINVAL;
    }
    return MP_OK;
}

/* [memory] translate_languages names languages this build has
 * dictionaries for (core/recall/xlate.h); checked here, above core/config,
 * which knows no languages. */
static int check_translate_languages(const struct mp_config *cfg, const char *path,
                                     struct mp_config_errors *errs)
{
    uint64_t langs;
    char why[128] = "too long", msg[sizeof(errs->items[0].message)];
    const char *s = cfg->memory.translate_languages;
    if (memchr(s, '\0', sizeof(cfg->memory.translate_languages)) != NULL &&
        mp_xlate_parse_langs(s, &langs, why, sizeof(why)) == MP_OK)
        return MP_OK;
    snprintf(msg, sizeof(msg), "[memory] translate_languages: %s", why);
    add_error(errs, path != NULL ? path : "environment", msg);
    return MP_EINVAL;
}

/* Whether envp sets [section] key (MEMPROXY_<SECTION>_<KEY>, any case). */
static bool env_sets(const char *const *envp, const char *section, const char *key)
{
    char name[160];
    int n = snprintf(name, sizeof(name), "MEMPROXY_%s_%s=", section, key);
    for (size_t i = 0; n > 0 && (size_t)n < sizeof(name) && envp != NULL && envp[i] != NULL; i++)
        if (strncasecmp(envp[i], name, (size_t)n) == 0)
            return true;
    return false;
}

/* The "[section] key" a message starts with, into section and key (each
 * MP_INI_NAME_MAX bytes): false when it starts otherwise. */
static bool message_key(const char *m, char *section, char *key)
{
    size_t s = 0, k = 0;
    if (*m++ != '[')
        return false;
    while (*m != ']' && *m != '\0' && s + 1 < MP_INI_NAME_MAX)
        section[s++] = *m++;
    if (*m++ != ']' || *m++ != ' ' || s == 0)
        return false;
    while ((isalnum((unsigned char)*m) || *m == '_') && k + 1 < MP_INI_NAME_MAX)
        key[k++] = *m++;
    section[s] = '\0';
    key[k] = '\0';
    return k > 0;
}

/* Gives the errors from index from on that have no line the place they
 * belong (mp_config_locate_errors()); text[0..len) is path's. */
static void locate(struct mp_config_errors *errs, size_t from, const char *path, const char *text,
                   size_t len, const char *const *envp)
{
    char section[MP_INI_NAME_MAX], key[MP_INI_NAME_MAX];
    for (size_t i = from; i < errs->count; i++) {
        struct mp_config_error *e = &errs->items[i];
        bool ours = e->source[0] == '\0' || (path != NULL && strcmp(e->source, path) == 0);
        if (e->line > 0 || !ours)
            continue; /* placed already, or another file's (a pattern file) */
        bool named = message_key(e->message, section, key);
        const char *where = path != NULL ? path : "environment";
        if (named && env_sets(envp, section, key))
            where = "environment";
        else if (named && text != NULL)
            e->line = mp_config_key_line(text, len, section, key);
        snprintf(e->source, sizeof(e->source), "%s", where);
    }
}

void mp_config_locate_errors(struct mp_config_errors *errs, size_t from, const char *path,
                             const char *const *envp)
{
    char *text = NULL;
    size_t len = 0;
    struct mp_config_errors ignored;
    memset(&ignored, 0, sizeof(ignored));
    if (path != NULL && read_file(path, &text, &len, &ignored) != MP_OK)
        text = NULL; /* gone since: the file's name, without a line */
    locate(errs, from, path, text, len, envp);
    free(text);
}

/* What mp_config_load() does after the file: the environment, the rules,
 * and the files the configuration names. */
static int load_rest(const char *path, const char *const *envp, struct mp_config *out,
                     struct mp_config_errors *errs, int status)
{
    if (mp_config_apply_env(out, envp, errs) != MP_OK)
        status = MP_EINVAL;
    if (status == MP_OK && mp_config_validate(out, errs) != MP_OK)
        status = MP_EINVAL;
    if (status == MP_OK && check_translate_languages(out, path, errs) != MP_OK)
        status = MP_EINVAL;
    if (status == MP_OK && out->upstream.ca_file[0] != '\0' &&
        access(out->upstream.ca_file, R_OK) != 0) {
        char msg[sizeof(errs->items[0].message)];
        snprintf(msg, sizeof(msg), "[upstream] ca_file cannot be read: %s", strerror(errno));
        add_error(errs, path != NULL ? path : "environment", msg);
        status = MP_EINVAL;
    }
    if (status == MP_OK && out->storage.postgres_url_file[0] != '\0' &&
        access(out->storage.postgres_url_file, R_OK) != 0) {
        char msg[sizeof(errs->items[0].message)];
        snprintf(msg, sizeof(msg), "[storage] postgres_url_file cannot be read: %s",
                 strerror(errno));
        add_error(errs, path != NULL ? path : "environment", msg);
        status = MP_EINVAL;
    }
    if (status == MP_OK && out->mcp.token_file[0] != '\0') {
        char msg[sizeof(errs->items[0].message)];
        if (first_line(out->mcp.token_file, "[mcp] token_file", false, out->mcp.token, msg,
                       sizeof(msg)) != MP_OK) {
            add_error(errs, path != NULL ? path : "environment", msg);
            status = MP_EINVAL;
        }
    }
    if (status == MP_OK && out->memory.task_patterns[0] != '\0' &&
        load_patterns(out->memory.task_patterns, "task_patterns", parse_task,
                      &out->memory.task_pattern_set, errs) != MP_OK)
        status = MP_EINVAL;
    if (status == MP_OK && out->memory.inserted_context_patterns[0] != '\0' &&
        load_patterns(out->memory.inserted_context_patterns, "inserted_context_patterns",
                      parse_inserted, &out->memory.inserted_pattern_set, errs) != MP_OK)
        status = MP_EINVAL;
    if (status == MP_OK && out->storage.encryption_key_file[0] != '\0') {
        struct mp_seal_key key;
        char why[sizeof(errs->items[0].message) - 40];
        if (mp_seal_key_load(out->storage.encryption_key_file, &key, why, sizeof(why)) != MP_OK) {
            char msg[sizeof(errs->items[0].message)];
            snprintf(msg, sizeof(msg), "[storage] encryption_key_file: %s", why);
            add_error(errs, path != NULL ? path : "environment", msg);
            status = MP_EINVAL;
        }
        mp_seal_key_wipe(&key);
    }
    return status;
}

int mp_config_load(const char *path, const char *const *envp, struct mp_config *out,
                   struct mp_config_errors *errs)
{
    int status = MP_OK;
    char *text = NULL;
    size_t len = 0;
    memset(errs, 0, sizeof(*errs));
    mp_config_defaults(out);
    if (path != NULL) {
        if (read_file(path, &text, &len, errs) != MP_OK)
            return MP_EINVAL;
        if (mp_config_parse_ini(out, text, len, path, errs) != MP_OK)
            status = MP_EINVAL;
    }
    status = load_rest(path, envp, out, errs, status);
    locate(errs, 0, path, text, len, envp);
    free(text);
    return status;
}

int mp_config_postgres_url(const struct mp_config *cfg, char **out, char *err, size_t errcap)
{
    char line[MP_CONFIG_TOKEN_MAX];
    const char *src = cfg->storage.postgres_url;
    if (cfg->storage.postgres_url_file[0] != '\0') {
        if (first_line(cfg->storage.postgres_url_file, "[storage] postgres_url_file", true, line,
                       err, errcap) != MP_OK)
            return MP_EINVAL;
        src = line;
    }
    *out = strdup(src);
    memset(line, 0, sizeof(line));
    if (*out == NULL) {
        snprintf(err, errcap, "out of memory");
        return MP_EINVAL;
    }
    return MP_OK;
}

void mp_config_postgres_url_free(char *url)
{
    if (url != NULL)
        memset(url, 0, strlen(url));
    free(url);
}

void mp_config_print_errors(const struct mp_config_errors *errs, FILE *f)
{
    for (size_t i = 0; i < errs->count; i++) {
        const struct mp_config_error *e = &errs->items[i];
        if (e->line > 0)
            fprintf(f, "%s:%u: %s\n", e->source, e->line, e->message);
        else if (e->source[0] != '\0')
            fprintf(f, "%s: %s\n", e->source, e->message);
        else /* a rule between keys (mp_config_validate) names no source */
            fprintf(f, "%s\n", e->message);
    }
    if (errs->dropped > 0)
        fprintf(f, "(%zu more errors not shown)\n", errs->dropped);
}
