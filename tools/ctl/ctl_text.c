/* Text helpers of the ops command line; see ctl_text.h. */
#include "ctl/ctl_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json/utf8.h"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

size_t mp_ctl_text_pct(const char *in, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    bool dots = len > 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        dots = dots && in[i] == '.';
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool plain = unreserved(c) && !(dots && c == '.');
        if (n + (plain ? 1 : 3) >= cap) {
            out[0] = '\0';
            return 0;
        }
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

const char *mp_ctl_text_bytes(uint64_t n, char *out, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    if (n < 1024) {
        snprintf(out, cap, "%llu B", (unsigned long long)n);
        return out;
    }
    while (u + 1 < sizeof(units) / sizeof(units[0]) && n >> (10 * (u + 2)) > 0)
        u++;
    snprintf(out, cap, "%.1f %s", (double)n / (double)(1ULL << (10 * (u + 1))), units[u]);
    return out;
}

const char *mp_ctl_text_duration(uint64_t s, char *out, size_t cap)
{
    unsigned long long v = s;
    if (v < 60)
        snprintf(out, cap, "%llus", v);
    else if (v < 3600)
        snprintf(out, cap, "%llum %02llus", v / 60, v % 60);
    else if (v < 86400)
        snprintf(out, cap, "%lluh %02llum", v / 3600, v % 3600 / 60);
    else
        snprintf(out, cap, "%llud %02lluh", v / 86400, v % 86400 / 3600);
    return out;
}

const char *mp_ctl_text_time(const char *iso, char *out, size_t cap)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    bool ok = iso != NULL && strlen(iso) >= sizeof(shape) - 1;
    for (size_t i = 0; ok && i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd')
            ok = iso[i] >= '0' && iso[i] <= '9';
        else
            ok = iso[i] == shape[i];
    }
    if (!ok) {
        snprintf(out, cap, "-");
        return out;
    }
    snprintf(out, cap, "%.10s %.8s", iso, iso + 11);
    return out;
}

static bool blank_or_control(uint32_t cp)
{
    return cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

size_t mp_ctl_text_line(const char *in, size_t len, size_t max, char *out, size_t cap)
{
    static const char ellipsis[] = "\xE2\x80\xA6";
    const unsigned char *s = (const unsigned char *)in;
    size_t limit, n = 0, fit = 0, i = 0;
    bool space = false;
    if (cap == 0)
        return 0;
    limit = max < cap ? max : cap - 1;
    while (i < len) {
        unsigned char piece[5];
        size_t plen = 0;
        uint32_t cp = 0xFFFD;
        size_t k = mp_utf8_decode(s + i, len - i, &cp);
        if (k == 0)
            k = mp_utf8_ill_formed_len(s + i, len - i);
        i += k;
        if (blank_or_control(cp)) {
            space = n > 0;
            continue;
        }
        if (space)
            piece[plen++] = ' ';
        space = false;
        plen += mp_utf8_encode(cp, piece + plen);
        if (n + plen > limit) {
            n = fit;
            if (fit + 3 <= limit) {
                memcpy(out + n, ellipsis, 3);
                n += 3;
            }
            break;
        }
        memcpy(out + n, piece, plen);
        n += plen;
        if (n + 3 <= limit)
            fit = n;
    }
    out[n] = '\0';
    return n;
}

size_t mp_ctl_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), cols = 0;
    for (size_t i = 0; i < len; cols++) {
        size_t k = mp_utf8_decode(p + i, len - i, NULL);
        i += k > 0 ? k : 1;
    }
    return cols;
}
