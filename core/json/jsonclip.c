/* Clipping long JSON strings in a stream (see jsonclip.h). One pass, one
 * byte at a time: the state carries across pieces, so a literal split
 * between two reads is clipped as if it came whole. */
#include "json/jsonclip.h"

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : 0;
}

/* A byte inside an escape; returns whether it is kept. */
static bool escape_byte(struct mp_jsonclip *c, unsigned char ch)
{
    if (c->esc == 5) { /* the byte after the backslash */
        c->esc = ch == 'u' ? 4 : 0;
        c->hex = 0;
    } else {
        c->hex = (uint16_t)(c->hex << 4 | hexval(ch));
        c->esc--;
    }
    if (c->esc == 0)
        c->high = c->hex >= 0xD800 && c->hex <= 0xDBFF;
    return !c->skipping;
}

/* Whether a string's byte ch starts a character or an escape where the
 * literal may be cut: past the cap, not a UTF-8 continuation byte, not the
 * low half of a surrogate pair. */
static bool cut_here(const struct mp_jsonclip *c, unsigned char ch)
{
    return c->run >= MP_JSONCLIP_STRING_MAX && (ch & 0xC0) != 0x80 && !(ch == '\\' && c->high);
}

size_t mp_jsonclip_feed(struct mp_jsonclip *c, const char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        bool keep = true, inside = false; /* inside: a byte between the quotes */
        if (!c->in_string) {
            c->in_string = ch == '"';
            c->run = 0;
            c->skipping = c->high = false;
        } else if (c->esc > 0) {
            keep = escape_byte(c, ch);
            inside = true;
        } else if (ch == '"') {
            c->in_string = false;
        } else {
            c->skipping = c->skipping || cut_here(c, ch);
            c->high = c->high && ch == '\\';
            c->esc = ch == '\\' ? 5 : 0;
            keep = !c->skipping;
            inside = true;
        }
        if (!keep) {
            c->clipped++;
            continue;
        }
        c->run += inside && c->run < UINT32_MAX;
        out[n++] = (char)ch;
    }
    return n;
}
