/* Language identification as it was before its ASCII words took a
 * 16-byte load (core/recall/lang.c at 3506869), kept for test_terms's
 * differential test: the same text, the same prior, the same language.
 * Not built into memproxy. */
#include "lang_ref.h"

#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include "fnv1a.h"
#include "recall/lang_stop.h"
#include "recall/terms.h"
#include "json/utf8.h"

/* mp_lang_stop_langs of a word whose FNV-1a hash is h (made as it was
 * read). */
static uint32_t stop_langs_hashed(uint32_t h, const char *word, size_t len)
{
    long i = mp_terms_find_hash(mp_lang_stops, sizeof(mp_lang_stops[0]), mp_lang_stop_slots,
                                MP_LANG_STOP_SLOTS, h, word, len);
    return i >= 0 ? mp_lang_stops[i].langs : 0;
}

/* ---- identification ---- */

#define DETECT_BYTES 4096
#define DETECT_WORDS 32 /* Latin words read: a chat message tells its language early */
/* A stop word counts UNIT for each language that lists it, one that only
 * one language lists half as much again ("la" is French, Spanish and
 * Italian; "una" is only Spanish); a letter only some languages write
 * 2 * UNIT. */
#define UNIT 12

/* The letter counts of a text by script, and the stop-word hits of its
 * Latin words by language. */
struct tally {
    unsigned latin, han, kana, hangul, cyrillic, arabic, devanagari, greek, thai, hebrew, other;
    unsigned ascii; /* ASCII letters, of latin */
    unsigned words;
    bool english;                    /* plainly English so far: reading on would not change it */
    unsigned accented;               /* Latin letters outside ASCII */
    unsigned hits[MP_LANG_COUNT];    /* in twelfths of a stop word (UNIT) */
    unsigned hits1[MP_LANG_COUNT];   /* of words of one letter ("a", "o", "y") */
    unsigned letters[MP_LANG_COUNT]; /* letters of the hints each language writes */
    char word[MP_TERMS_MAX];
    size_t wlen;
    uint32_t h; /* FNV-1a of word[0..wlen), made as it grows: its stop list lookup */
};

/* The word gathered so far is dropped (it has been counted, or is none). */
static void word_clear(struct tally *t)
{
    t->wlen = 0;
    t->h = MP_FNV1A32_BASIS;
}

static void count_script(struct tally *t, UChar32 cp)
{
    UErrorCode err = U_ZERO_ERROR;
    switch (uscript_getScript(cp, &err)) {
    case USCRIPT_LATIN:
        t->latin++;
        break;
    case USCRIPT_HAN:
        t->han++;
        break;
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
        t->kana++;
        break;
    case USCRIPT_HANGUL:
        t->hangul++;
        break;
    case USCRIPT_CYRILLIC:
        t->cyrillic++;
        break;
    case USCRIPT_ARABIC:
        t->arabic++;
        break;
    case USCRIPT_DEVANAGARI:
        t->devanagari++;
        break;
    case USCRIPT_GREEK:
        t->greek++;
        break;
    case USCRIPT_THAI:
        t->thai++;
        break;
    case USCRIPT_HEBREW:
        t->hebrew++;
        break;
    default:
        t->other++;
        break;
    }
}

/* The Latin word gathered so far is over: its stop-word hits. */
static void end_word(struct tally *t)
{
    if (t->wlen == 0 || t->words >= DETECT_WORDS) {
        word_clear(t);
        return;
    }
    t->words++;
    /* one lookup: the table holds English's words too, with its bit */
    uint32_t bits = stop_langs_hashed(t->h, t->word, t->wlen);
    unsigned add = (bits & (bits - 1)) == 0 ? UNIT + UNIT / 2 : UNIT; /* one language: more */
    /* a word of one letter counts only in a text with accented letters:
     * x, n, k are a formula's, "a" is English too */
    unsigned *hits = t->wlen == 1 ? t->hits1 : t->hits;
    for (uint32_t b = bits; b != 0; b &= b - 1) /* each language that lists it */
        hits[__builtin_ctz(b)] += add;
    word_clear(t);
    /* the bulk of what memproxy reads: after 8 words of ASCII letters alone
     * with 3 English stop words and no other language near, it stays
     * English */
    if (t->words >= 8 && t->latin == t->ascii && t->hits[MP_LANG_EN] >= 3 * UNIT &&
        t->han + t->kana + t->hangul + t->cyrillic + t->arabic + t->devanagari + t->greek +
                t->thai + t->hebrew + t->other ==
            0) {
        unsigned other = 0;
        for (int l = MP_LANG_DA; l <= MP_LANG_TR; l++)
            other = t->hits[l] + 2 * UNIT * t->letters[l] > other
                        ? t->hits[l] + 2 * UNIT * t->letters[l]
                        : other;
        t->english = 2 * other < t->hits[MP_LANG_EN];
    }
}

/* Letters that only some Latin languages write: a vote for each of them
 * (weighed as two stop words), since a short question may hold no stop
 * word ("Yeni toptancının adı neydi?"). */
static const struct {
    uint32_t cp;
    uint8_t langs[3];
} hints[] = {
    {0xDF, {MP_LANG_DE}},                         /* ß */
    {0xF1, {MP_LANG_ES}},                         /* ñ */
    {0xBF, {MP_LANG_ES}},                         /* ¿ */
    {0xA1, {MP_LANG_ES}},                         /* ¡ */
    {0xE3, {MP_LANG_PT}},                         /* ã */
    {0xF5, {MP_LANG_PT}},                         /* õ */
    {0xE7, {MP_LANG_FR, MP_LANG_PT, MP_LANG_TR}}, /* ç */
    {0x153, {MP_LANG_FR}},                        /* œ */
    {0xEA, {MP_LANG_FR, MP_LANG_PT}},             /* ê */
    {0xE8, {MP_LANG_FR, MP_LANG_IT}},             /* è */
    {0xF2, {MP_LANG_IT}},                         /* ò */
    {0xF9, {MP_LANG_IT, MP_LANG_FR}},             /* ù */
    {0xE6, {MP_LANG_DA, MP_LANG_NO}},             /* æ */
    {0xF8, {MP_LANG_DA, MP_LANG_NO}},             /* ø */
    {0xE5, {MP_LANG_SV, MP_LANG_DA, MP_LANG_NO}}, /* å */
    {0xE4, {MP_LANG_DE, MP_LANG_SV, MP_LANG_FI}}, /* ä */
    {0xFC, {MP_LANG_DE, MP_LANG_TR, MP_LANG_HU}}, /* ü */
    {0xF6, {MP_LANG_DE, MP_LANG_TR, MP_LANG_SV}}, /* ö */
    {0x131, {MP_LANG_TR}},                        /* ı */
    {0x130, {MP_LANG_TR}},                        /* İ */
    {0x11F, {MP_LANG_TR}},                        /* ğ */
    {0x15F, {MP_LANG_TR}},                        /* ş */
    {0xED, {MP_LANG_ES, MP_LANG_PT, MP_LANG_HU}}, /* í */
    {0xE1, {MP_LANG_ES, MP_LANG_PT, MP_LANG_HU}}, /* á */
    {0xF3, {MP_LANG_ES, MP_LANG_PT, MP_LANG_HU}}, /* ó */
    {0xFA, {MP_LANG_ES, MP_LANG_PT, MP_LANG_HU}}, /* ú */
    {0xE0, {MP_LANG_FR, MP_LANG_PT, MP_LANG_IT}}, /* à */
    {0xE2, {MP_LANG_FR, MP_LANG_PT}},             /* â */
    {0xF4, {MP_LANG_FR, MP_LANG_PT}},             /* ô */
    {0xEC, {MP_LANG_IT}},                         /* ì */
    {0x151, {MP_LANG_HU}},                        /* ő */
    {0x171, {MP_LANG_HU}},                        /* ű */
};

static void count_hint(struct tally *t, uint32_t cp)
{
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
        if (hints[i].cp == cp) {
            unsigned k = 0;
            while (k < 3 && hints[i].langs[k] != MP_LANG_NONE)
                k++;
            for (unsigned j = 0; j < k; j++)
                t->letters[hints[i].langs[j]]++;
            return;
        }
}

static void add_letter(struct tally *t, UChar32 cp)
{
    unsigned char enc[4];
    if (cp < 0x80) {
        t->latin++;
        t->ascii++;
        cp = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    } else {
        count_script(t, cp);
        cp = (UChar32)u_foldCase(cp, U_FOLD_CASE_DEFAULT);
        if (cp < 0x250) {
            t->accented++;
            count_hint(t, (uint32_t)cp);
        }
    }
    size_t k = mp_utf8_encode((uint32_t)cp, enc);
    if (t->wlen + k <= sizeof(t->word)) {
        memcpy(t->word + t->wlen, enc, k);
        t->wlen += k;
        t->h = mp_fnv1a32(t->h, enc, k);
    }
}

/* Letters of the hints that outweigh the prior's stop words: a text with
 * fewer is the prior's language with a borrowed word or name in it. */
#define LETTERS_OVER_PRIOR 3

/* The Latin language whose stop words (and letters) the text holds most;
 * the prior (English unless told) on a tie, or when the winner scores
 * under two stop words of its own (one when the text writes a letter
 * outside ASCII): "See ya!" and "Go get 'em" are English; and when the
 * prior has stop words of two letters or more, the winner fewer stop
 * words and fewer than LETTERS_OVER_PRIOR letters of the hints: "I met
 * Müller in São Paulo" is English, "Sigarayı özlediğim tek an sabah
 * kahvesinin yanı" Turkish, and letters break a tie of stop words ("Quanto
 * tá a parcela do carro agora?" is Portuguese). */
static int latin_lang(const struct tally *t, int prior)
{
    unsigned stops[MP_LANG_COUNT], score[MP_LANG_COUNT];
    for (int l = 0; l < MP_LANG_COUNT; l++) {
        stops[l] = t->hits[l] + (t->accented > 0 ? t->hits1[l] : 0);
        score[l] = stops[l] + 2 * UNIT * t->letters[l];
    }
    int best = prior;
    for (int l = MP_LANG_EN; l <= MP_LANG_TR; l++)
        if (score[l] > score[best])
            best = l;
    if (best != prior && t->hits[prior] > 0 && stops[best] < stops[prior] &&
        t->letters[best] < LETTERS_OVER_PRIOR)
        return prior;
    unsigned need = t->accented > 0 ? UNIT : 2 * UNIT;
    return score[best] >= need ? best : prior;
}

static int decide(const struct tally *t, int prior)
{
    /* a character of Han, Kana or Hangul is about a word: weigh it as one */
    unsigned cjk = 3 * (t->han + t->kana + t->hangul);
    unsigned most = t->latin;
    int lang = t->latin > 0 ? latin_lang(t, prior) : prior;
    const struct {
        unsigned n;
        int lang;
    } others[] = {
        {t->cyrillic, MP_LANG_RU},   {t->arabic, MP_LANG_AR}, {t->devanagari, MP_LANG_HI},
        {t->greek, MP_LANG_EL},      {t->thai, MP_LANG_TH},   {t->hebrew, MP_LANG_HE},
        {3 * t->hangul, MP_LANG_KO},
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (others[i].n > most) {
            most = others[i].n;
            lang = others[i].lang;
        }
    if (cjk - 3 * t->hangul > most)
        lang = t->kana > 0 ? MP_LANG_JA : MP_LANG_ZH;
    return lang;
}

/* A prior mp_lang_detect_prior takes: a Latin language with a stop list. */
static int latin_prior(int prior)
{
    if (prior <= MP_LANG_NONE || prior > MP_LANG_TR) /* EN..TR: the Latin languages */
        return MP_LANG_EN;
    return prior;
}

/* Whether latin_lang's choice is the prior's to make: no language scores
 * enough, or two or more share the best score. */
static bool latin_open(const struct tally *t)
{
    unsigned best = 0, n = 0;
    for (int l = MP_LANG_EN; l <= MP_LANG_TR; l++) {
        unsigned sc = t->hits[l] + (t->accented > 0 ? t->hits1[l] : 0);
        n = sc > best ? 1 : sc == best ? n + 1 : n;
        best = sc > best ? sc : best;
    }
    return best < (t->accented > 0 ? UNIT : 2 * UNIT) || n > 1;
}

static void tally_text(struct tally *t, const char *text, size_t len);

int mp_lang_ref_detect_lazy(const char *text, size_t len, int (*prior)(void *arg), void *arg)
{
    struct tally t;
    tally_text(&t, text, len);
    int lang = decide(&t, MP_LANG_EN);
    bool latin = lang >= MP_LANG_EN && lang <= MP_LANG_TR; /* no other script outweighed it */
    if (latin && (t.latin == 0 || latin_open(&t)))
        lang = decide(&t, latin_prior(prior(arg)));
    return lang;
}

int mp_lang_ref_detect_prior(const char *text, size_t len, int prior)
{
    struct tally t;
    tally_text(&t, text, len);
    return decide(&t, latin_prior(prior));
}

/* The run of ASCII letters at text[i..n) added to t's word, folded: the
 * bulk of Latin text, in one tight loop (no decoding; the loop of
 * tally_text only changes its state at a word's end). Returns where the
 * run ends. */
static size_t add_ascii_letters(struct tally *t, const char *text, size_t n, size_t i)
{
    size_t start = i, wlen = t->wlen;
    uint32_t h = t->h;
    for (; i < n; i++) {
        unsigned char l = (unsigned char)text[i] | 0x20;
        if (l < 'a' || l > 'z')
            break;
        if (wlen < sizeof(t->word)) {
            t->word[wlen++] = (char)l;
            h = mp_fnv1a32(h, &l, 1);
        }
    }
    t->wlen = wlen;
    t->h = h;
    t->latin += (unsigned)(i - start);
    t->ascii += (unsigned)(i - start);
    return i;
}

static void tally_text(struct tally *t0, const char *text, size_t len)
{
    struct tally t;
    memset(&t, 0, sizeof(t));
    word_clear(&t);
    size_t n = len < DETECT_BYTES ? len : DETECT_BYTES;
    size_t i = 0;
    while (i < n && t.words < DETECT_WORDS && !t.english) {
        unsigned char b = (unsigned char)text[i];
        if (b < 0x80 && b != '\'') { /* the bulk of Latin text: no decoding */
            unsigned char l = b | 0x20;
            if (l >= 'a' && l <= 'z') {
                i = add_ascii_letters(&t, text, n, i);
            } else {
                end_word(&t);
                i++;
            }
            continue;
        }
        uint32_t cp = 0;
        size_t k = mp_utf8_decode((const unsigned char *)text + i, n - i, &cp);
        if (k == 0) {
            end_word(&t);
            i++;
            continue;
        }
        i += k;
        if (cp == '\'' || cp == 0x2019) {
            /* French and Italian elide ("j'ai", "qu'est", "l'impianto"): a
             * word of one or two letters before it is a word of its own;
             * English keeps it ("don't" is a stop word). Before a capital
             * it is a name's ("O'Brien", "D'Angelo"): no word at all */
            if (t.wlen > 2 && t.wlen < sizeof(t.word)) {
                t.word[t.wlen++] = '\'';
                t.h = mp_fnv1a32(t.h, "'", 1);
            } else if (i < n && text[i] >= 'A' && text[i] <= 'Z') {
                word_clear(&t);
            } else
                end_word(&t);
            continue;
        }
        if (cp == 0xBF || cp == 0xA1)
            count_hint(&t, cp);
        bool letter = cp < 0x80 ? (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'
                                : (U_GET_GC_MASK(cp) & (U_GC_L_MASK | U_GC_M_MASK)) != 0;
        if (letter)
            add_letter(&t, (UChar32)cp);
        else
            end_word(&t);
    }
    end_word(&t);
    *t0 = t;
}
