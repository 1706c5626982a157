/* Whom a text addresses (see address.h). Two passes over a bounded window:
 * the first finds where a quoted transcript starts (the instructions end
 * there: a person's words quoted in a client's task are not its
 * instructions), the second reads the instructions line by line. English
 * words only: clients write their prompts in English; a person's words in
 * another language never open with an English role, so they never pass. */
#include "wire/address.h"

#include <stdint.h>
#include <string.h>

#include "findbytes.h"
#include "wire/clienttask.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

/* Letters, digits and bytes >= 0x80 (of a UTF-8 letter): 1. A table: the
 * readings ask it of most bytes they read. */
#define ROW(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char
    alnum_byte[256] =
        {
            ROW(0), ROW(0), ROW(0), 1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      0,      0,      0,      0,      0,      0, /* '0'..'9' */
            0,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      1,      1,      1, /* 'A'..'O' */
            1,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      0,      0,      0,      0,      0, /* 'P'..'Z' */
            0,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      1,      1,      1, /* 'a'..'o' */
            1,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      0,      0,      0,      0,      0, /* 'p'..'z' */
            ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1),
};
#undef ROW

static bool is_alnum(char c)
{
    return alnum_byte[(unsigned char)c] != 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether w (lower case) is at t[i..n), case-insensitively, starting a
 * word; whole: ending one too. Most calls end at w's first or second
 * byte. */
static bool word_at(const char *t, size_t n, size_t i, const char *w, bool whole)
{
    size_t k = 0;
    while (w[k] != '\0' && i + k < n && lower(t[i + k]) == w[k])
        k++;
    if (w[k] != '\0' || (i > 0 && is_alnum(t[i - 1])))
        return false;
    return !whole || i + k == n || !is_alnum(t[i + k]);
}

/* Whether any of words is at t[i..n). */
static bool any_at(const char *t, size_t n, size_t i, const char *const *words, size_t nw,
                   bool whole)
{
    char c[3] = {0}; /* the text's first three bytes there, folded ('\0' past its end) */
    for (size_t k = 0; k < 3 && i + k < n; k++)
        c[k] = lower(t[i + k]);
    for (size_t k = 0; k < nw; k++) { /* every word has two bytes or more */
        const char *w = words[k];
        if (w[0] == c[0] && w[1] == c[1] && (w[2] == '\0' || w[2] == c[2]) &&
            word_at(t, n, i, w, whole))
            return true;
    }
    return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const user_labels[] = {"user:", "human:", "||>user:", "user said:"};
static const char *const assistant_labels[] = {
    "assistant:", "ai:", "bot:", "model:", "response:", "||>response:", "||>assistant:"};
static const char *const chat_tags[] = {"<chat_history>", "<conversation>", "<transcript>",
                                        "<messages>", "<history>"};
static const char *const roles[] = {"you are ", "you're ",   "you will ", "your task",
                                    "your job", "your role", "your goal", "act as "};
static const char *const conversations[] = {"conversation", "chat history", "chat log",
                                            "transcript",   "dialogue",     "this chat",
                                            "chat_history"};
/* A rule's words: a modal or a bound laid on the reader. */
static const char *const rule_words[] = {"must", "never", "do not", "don't", "always", "only"};
/* The reader's own apparatus, named as theirs: a client speaking of its
 * agent's memory, instructions or tools ("your system prompt"). */
static const char *const yours[] = {"your memory",        "your memories",     "your persistent",
                                    "your system prompt", "your instructions", "your context",
                                    "your tools",         "your notes",        "your turn budget"};
static const char *const work_words[] = {"file", "files", "folder",    "folders",
                                         "tool", "tools", "directory", "directories"};

/* The first byte of line content at or after i, past blanks. */
static size_t line_body(const char *t, size_t n, size_t i)
{
    while (i < n && is_blank(t[i]))
        i++;
    return i;
}

static size_t line_end(const char *t, size_t n, size_t i)
{
    const char *nl = memchr(t + i, '\n', n - i);
    return nl != NULL ? (size_t)(nl - t) : n;
}

/* Whether the line t[b..e) opens with a role given to its reader, past a
 * heading's or emphasis' marks. */
static bool role_at(const char *t, size_t e, size_t b)
{
    while (b < e && (t[b] == '#' || t[b] == '*' || t[b] == '>' || t[b] == '_' || is_blank(t[b])))
        b++;
    return any_at(t, e, b, roles, COUNT(roles), false);
}

/* The first chat tag in t[from..to) (of a text of n bytes), or SIZE_MAX:
 * memchr runs to each '<'. */
static size_t tag_in(const char *t, size_t n, size_t from, size_t to)
{
    const char *lt = from < to ? memchr(t + from, '<', to - from) : NULL;
    for (; lt != NULL; lt = memchr(lt + 1, '<', (size_t)(t + to - lt - 1)))
        if (any_at(t, n, (size_t)(lt - t), chat_tags, COUNT(chat_tags), false))
            return (size_t)(lt - t);
    return SIZE_MAX;
}

/* Pass one: where the transcript starts (its first user line or chat
 * tag), and whether there is one. Line by line: a label opens a line (a
 * tag at the line's first byte comes before it), a tag is anywhere. */
static size_t find_transcript(const char *t, size_t n, bool *found)
{
    size_t first_user = n, e;
    *found = false;
    for (size_t i = 0; i < n; i = e + 1) {
        size_t tag = tag_in(t, n, i, i + 1);
        e = line_end(t, n, i);
        if (tag == SIZE_MAX) {
            size_t b = line_body(t, n, i);
            if (first_user == n && any_at(t, n, b, user_labels, COUNT(user_labels), false))
                first_user = i;
            else if (first_user < n &&
                     any_at(t, n, b, assistant_labels, COUNT(assistant_labels), false)) {
                *found = true;
                return first_user;
            }
            tag = tag_in(t, n, i + 1, e);
        }
        if (tag != SIZE_MAX) {
            *found = true;
            return first_user < tag ? first_user : tag;
        }
    }
    return n;
}

static bool list_item(const char *t, size_t n, size_t b)
{
    if (b + 1 < n && (t[b] == '-' || t[b] == '*') && t[b + 1] == ' ')
        return true;
    if (b + 2 < n && (unsigned char)t[b] == 0xe2 && (unsigned char)t[b + 1] == 0x80 &&
        (unsigned char)t[b + 2] == 0xa2) /* a bullet */
        return true;
    size_t d = b;
    while (d < n && d - b < 3 && t[d] >= '0' && t[d] <= '9')
        d++;
    return d > b && d + 1 < n && (t[d] == '.' || t[d] == ')') && t[d + 1] == ' ';
}

/* Whether a path t[s..e) goes into a dot-directory: a segment that
 * starts with '.' and a letter and ends with '/'. */
static bool dot_dir(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i + 2 < e; i++) {
        if (t[i] != '.' || (i > s && t[i - 1] != '/') || lower(t[i + 1]) < 'a' ||
            lower(t[i + 1]) > 'z')
            continue;
        size_t j = i + 1;
        while (j < e && t[j] != '/')
            j++;
        if (j < e)
            return true;
    }
    return false;
}

/* What the word at t[s..e) (no blanks in it) names: 0 nothing, 1 a path
 * or a file, 2 a path into a dot-directory. */
static int path_word(const char *t, size_t s, size_t e)
{
    while (e > s && strchr(".,:;)`\"'", t[e - 1]) != NULL)
        e--;
    while (s < e && strchr("`\"('", t[s]) != NULL)
        s++;
    if (e - s >= 2 && (t[s] == '~' || t[s] == '.') && t[s + 1] == '/')
        return dot_dir(t, s, e) ? 2 : 1;
    for (size_t i = s + 1; i + 1 < e; i++)
        if (t[i] == '/' && is_alnum(t[i - 1]) && (is_alnum(t[i + 1]) || t[i + 1] == '.'))
            return dot_dir(t, s, e) ? 2 : 1;
    if (e - s >= 3 && t[s] == '.' && dot_dir(t, s, e))
        return 2;
    const char *dot = NULL;
    for (size_t i = s; i < e; i++)
        dot = t[i] == '.' ? t + i : dot;
    if (dot == NULL || dot == t + s)
        return 0;
    size_t ext = (size_t)(t + e - dot - 1);
    char c = lower(dot[1]);
    return ext >= 2 && ext <= 5 && c >= 'a' && c <= 'z' && is_alnum(dot[-1]);
}

/* The words of address.h naming a task, each starting a word. */
static const struct {
    const char *word;
    bool whole;
    int kind;
} kind_words[] = {
    {"title", false, MP_TASK_TITLE},
    {"follow-up", false, MP_TASK_FOLLOW_UPS},
    {"follow up", false, MP_TASK_FOLLOW_UPS},
    {"tags", true, MP_TASK_TAGS},
    {"tag", true, MP_TASK_TAGS},
    {"search quer", false, MP_TASK_SEARCH_QUERIES},
    {"summar", false, MP_TASK_COMPACTION},
    {"compact", false, MP_TASK_COMPACTION},
    {"classif", false, MP_TASK_CLASSIFIER},
    {"memor", false, MP_TASK_MEMORY_REVIEW},
};

/* The task named at t[i..n), or -1. */
static int kind_at(const char *t, size_t n, size_t i)
{
    if (i > 0 && is_alnum(t[i - 1]))
        return -1;
    for (size_t k = 0; k < COUNT(kind_words); k++)
        if (word_at(t, n, i, kind_words[k].word, kind_words[k].whole))
            return kind_words[k].kind;
    return -1;
}

int mp_address_kind(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = kind_at(s, n, i);
        if (k >= 0)
            return k;
    }
    return -1;
}

bool mp_address_is_agent(const struct mp_address *a, size_t len)
{
    return a->role && a->rules >= MP_ADDRESS_RULES_MIN && a->work >= MP_ADDRESS_WORK_MIN &&
           a->own > 0 && a->person == 0 && len >= MP_ADDRESS_AGENT_MIN;
}

static const char *const mine[] = {"me", "my", "mine", "myself"};

/* A first-person singular word of a writer at t[i..n). */
static bool person_at(const char *t, size_t n, size_t i)
{
    if (t[i] == 'I' && (i == 0 || !is_alnum(t[i - 1]))) {
        if (i + 1 == n || (!is_alnum(t[i + 1]) && t[i + 1] != '\'' && t[i + 1] != '.'))
            return true; /* "I", not "I.e." */
        return t[i + 1] == '\'' && i + 2 < n && strchr("mvdl", lower(t[i + 2])) != NULL;
    }
    return any_at(t, n, i, mine, COUNT(mine), true);
}

/* Which first two bytes each list's words start with (pair_of: lower
 * case, 5 bits each, one bit of 1,024; a superset), so that a word is
 * compared only with the lists it could be in, and most words (any: in
 * none) with none: made from the lists on each read (a few hundred
 * instructions), never kept. */
struct pairs {
    uint64_t bits[16];
};

struct firsts {
    struct pairs mine, rules, yours, work, conversations, kinds, any;
};

static unsigned pair_of(char c0, char c1)
{
    return ((unsigned)((unsigned char)c0 & 31) << 5) | ((unsigned char)c1 & 31); /* & 31 folds */
}

static void pair_add(struct pairs *s, struct pairs *any, const char *w)
{
    unsigned p = pair_of(w[0], w[1]);
    s->bits[p >> 6] |= (uint64_t)1 << (p & 63);
    any->bits[p >> 6] |= (uint64_t)1 << (p & 63);
}

static bool pair_in(const struct pairs *s, unsigned p)
{
    return (s->bits[p >> 6] >> (p & 63)) & 1;
}

static void pairs_of(struct pairs *s, struct pairs *any, const char *const *words, size_t n)
{
    for (size_t k = 0; k < n; k++)
        pair_add(s, any, words[k]);
}

static void firsts_init(struct firsts *f)
{
    memset(f, 0, sizeof(*f));
    pairs_of(&f->mine, &f->any, mine, COUNT(mine));
    pairs_of(&f->rules, &f->any, rule_words, COUNT(rule_words));
    pairs_of(&f->yours, &f->any, yours, COUNT(yours));
    pairs_of(&f->work, &f->any, work_words, COUNT(work_words));
    pairs_of(&f->conversations, &f->any, conversations, COUNT(conversations));
    for (size_t k = 0; k < COUNT(kind_words); k++)
        pair_add(&f->kinds, &f->any, kind_words[k].word);
}

/* What the readings that start at the word t[i..e) add to out (i starts
 * one: t[i] is a letter, a digit or a byte >= 0x80, and t[i - 1] none);
 * plain: outside "quotes" and `code`. */
static void read_word(const char *t, size_t i, size_t e, const struct firsts *f, bool plain,
                      struct mp_address *out)
{
    char c = t[i];
    unsigned p = pair_of(c, i + 1 < e ? t[i + 1] : '\0');
    if (c != 'I' && !pair_in(&f->any, p))
        return; /* most words: no list has a word that starts as they do */
    if (plain && (c == 'I' || pair_in(&f->mine, p)) && person_at(t, e, i))
        out->person++;
    if (plain && pair_in(&f->rules, p) && any_at(t, e, i, rule_words, COUNT(rule_words), true))
        out->rules++;
    if (pair_in(&f->yours, p) && any_at(t, e, i, yours, COUNT(yours), false))
        out->own++;
    if (pair_in(&f->work, p) && any_at(t, e, i, work_words, COUNT(work_words), true))
        out->work++;
    if (!out->conversation && pair_in(&f->conversations, p) &&
        any_at(t, e, i, conversations, COUNT(conversations), false))
        out->conversation = true;
    if (out->kind < 0 && pair_in(&f->kinds, p))
        out->kind = kind_at(t, e, i);
}

/* What the blank-delimited word that opens at t[i] (not a blank) names:
 * a path or a file name holds a '/' or a '.', looked for from t[from]
 * (the bytes before it are letters or digits) to the next blank. */
static void read_path(const char *t, size_t i, size_t from, size_t e, struct mp_address *out)
{
    size_t w = from;
    bool marks = false;
    while (w < e && t[w] != ' ' && t[w] != '\t') {
        marks = marks || t[w] == '/' || t[w] == '.';
        w++;
    }
    int named = marks ? path_word(t, i, w) : 0;
    out->work += named > 0;
    out->own += named == 2;
}

/* What one line of the instructions, t[b..e), adds to out: a word at a
 * time (every reading starts one), a byte at a time between words. */
static void read_line(const char *t, size_t b, size_t e, const struct firsts *f,
                      struct mp_address *out)
{
    bool quoted = false, code = false;
    if (list_item(t, e, b))
        out->rules++;
    for (size_t i = b, j; i < e; i = j) {
        char c = t[i];
        bool word = is_alnum(c);
        j = i + 1;
        if (word) {
            while (j < e && is_alnum(t[j]))
                j++;
            read_word(t, i, e, f, !quoted && !code, out);
        } else if (c == ' ') {
            continue; /* the bulk of what is between words */
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == '`') {
            code = !code;
        }
        /* a blank-delimited word opens here, and is not of letters alone */
        if ((!word || (j < e && t[j] != ' ' && t[j] != '\t')) && (i == b || t[i - 1] == ' '))
            read_path(t, i, word ? j : i, e, out);
    }
}

void mp_address_read(const char *text, size_t len, struct mp_address *out)
{
    size_t n = len < MP_ADDRESS_WINDOW ? len : MP_ADDRESS_WINDOW;
    bool fence = false;
    int depth = 0;
    struct firsts f;
    firsts_init(&f);
    memset(out, 0, sizeof(*out));
    out->kind = -1;
    out->instructions = find_transcript(text, n, &out->transcript);
    for (size_t i = 0; i < out->instructions;) {
        size_t b = line_body(text, out->instructions, i);
        size_t e = line_end(text, out->instructions, i);
        if (b < MP_ADDRESS_ROLE_SPAN && !out->role)
            out->role = role_at(text, e, b);
        if (e - b >= 3 && memcmp(text + b, "```", 3) == 0)
            fence = !fence;
        else if (b + 1 < e && text[b] == '<' && text[b + 1] == '/')
            depth -= depth > 0;
        else if (b + 1 < e && text[b] == '<' && is_alnum(text[b + 1]) &&
                 mp_find_bytes(text + b, e - b, "</", 2) == NULL)
            depth++; /* a tagged block opens: what it holds is quoted */
        else if (!fence && depth == 0)
            read_line(text, b, e, &f, out);
        i = e + 1;
    }
}
