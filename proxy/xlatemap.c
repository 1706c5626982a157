/* The process's translation tables (see xlatemap.h). The one global of the
 * proxy that no request changes: set before the threads start, read by
 * them, cleared after they stop. */
#include "xlatemap.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "log.h"
#include "status.h"
#include "recall/xlate.h"
#include "recall/xlatetab.h"

#ifndef MP_XLATE_DIR
#define MP_XLATE_DIR "/usr/local/share/memproxy/xlate"
#endif
#ifndef MP_XLATE_BUILD_DIR
#define MP_XLATE_BUILD_DIR ""
#endif

struct map {
    void *p;
    size_t len;
};

static struct mp_xlate xlate;
static struct map maps[2 * MP_LANG_COUNT];
static size_t nmaps;
static bool loaded;

static void warn(const char *msg, const char *name)
{
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_WARN, msg);
    mp_logline_str(&l, "table", name);
    mp_logline_end(&l);
}

/* Maps dir/name and adds it to the set; false when it cannot. */
static bool map_one(const char *dir, const char *name)
{
    char path[MP_CONFIG_PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unsigned char head[MP_XLATETAB_HEADER];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    /* the header by pread, not through the mapping: see
       mp_xlatetab_open_head */
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(head) ||
        pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
        if (fd >= 0)
            close(fd);
        warn("translation table missing: that direction is off", name);
        return false;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        warn("translation table not mapped: that direction is off", name);
        return false;
    }
    /* a lookup reads a slot and an entry: no read-ahead, so only those
     * pages come in */
    (void)madvise(p, (size_t)st.st_size, MADV_RANDOM);
    if (mp_xlate_add_head(&xlate, head, p, (size_t)st.st_size) != MP_OK) {
        munmap(p, (size_t)st.st_size);
        warn("translation table not valid: that direction is off", name);
        return false;
    }
    maps[nmaps].p = p;
    maps[nmaps++].len = (size_t)st.st_size;
    return true;
}

/* translate_dir; empty: the installed tables, or, when none are installed
 * (a binary run from its build directory: scripts/run.sh, the benches),
 * the tables built beside it. */
static const char *default_dir(const struct mp_config *cfg)
{
    struct stat st;
    if (cfg->memory.translate_dir[0] != '\0')
        return cfg->memory.translate_dir;
    if (stat(MP_XLATE_DIR, &st) != 0 && MP_XLATE_BUILD_DIR[0] != '\0' &&
        stat(MP_XLATE_BUILD_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        return MP_XLATE_BUILD_DIR;
    return MP_XLATE_DIR;
}

int mp_xlatemap_load(const struct mp_config *cfg)
{
    uint64_t langs = 0;
    char why[128], name[32];
    const char *dir = default_dir(cfg);
    mp_xlate_init(&xlate);
    if (mp_xlate_parse_langs(cfg->memory.translate_languages, &langs, why, sizeof(why)) != MP_OK)
        langs = 0; /* validated at load: not reached */
    unsigned n = 0;
    for (int l = 1; l < MP_LANG_COUNT; l++) {
        if (l == MP_LANG_EN || (langs & MP_XLATE_BIT(l)) == 0)
            continue;
        if (mp_xlate_table_name(l, MP_LANG_EN, name, sizeof(name)) == MP_OK)
            n += map_one(dir, name);
        if (mp_xlate_table_name(MP_LANG_EN, l, name, sizeof(name)) == MP_OK)
            n += map_one(dir, name);
    }
    loaded = n > 0;
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO, "translation tables");
    mp_logline_int(&l, "tables", n);
    mp_logline_end(&l);
    return MP_OK;
}

const struct mp_xlate *mp_xlatemap_get(void)
{
    return loaded ? &xlate : NULL;
}

void mp_xlatemap_unload(void)
{
    loaded = false;
    while (nmaps > 0) {
        nmaps--;
        munmap(maps[nmaps].p, maps[nmaps].len);
    }
    mp_xlate_init(&xlate);
}
