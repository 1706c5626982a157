/* The reading of core/wire/address.c as it was byte by byte, before it
 * read word by word: test_address compares the two on random texts. Kept
 * as it was, only renamed; not built into memproxy. */
#include "address_ref.h"

#include <stdint.h>
#include <string.h>

#include "findbytes.h"
#include "wire/clienttask.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (unsigned char)c >= 0x80;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether w (lower case) is at t[i..n), case-insensitively, starting a
 * word; whole: ending one too. */
static bool word_at(const char *t, size_t n, size_t i, const char *w, bool whole)
{
    if (i >= n || lower(t[i]) != w[0] || (i + 1 < n && lower(t[i + 1]) != w[1] && w[1] != '\0'))
        return false; /* most calls end here, before strlen */
    size_t m = strlen(w);
    if (i + m > n || (i > 0 && is_alnum(t[i - 1])))
        return false;
    for (size_t k = 0; k < m; k++)
        if (lower(t[i + k]) != w[k])
            return false;
    return !whole || i + m == n || !is_alnum(t[i + m]);
}

/* Whether any of words is at t[i..n). */
static bool any_at(const char *t, size_t n, size_t i, const char *const *words, size_t nw,
                   bool whole)
{
    for (size_t k = 0; k < nw; k++)
        if (word_at(t, n, i, words[k], whole))
            return true;
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

/* Pass one: where the transcript starts (its first user line or chat
 * tag), and whether there is one. */
static size_t find_transcript(const char *t, size_t n, bool *found)
{
    size_t first_user = n;
    *found = false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '<' && any_at(t, n, i, chat_tags, COUNT(chat_tags), false)) {
            *found = true;
            return first_user < i ? first_user : i;
        }
        if (i > 0 && t[i - 1] != '\n')
            continue;
        size_t b = line_body(t, n, i);
        if (first_user == n && any_at(t, n, b, user_labels, COUNT(user_labels), false))
            first_user = i;
        else if (first_user < n &&
                 any_at(t, n, b, assistant_labels, COUNT(assistant_labels), false)) {
            *found = true;
            return first_user;
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
 * compared only with the lists it could be in: made from the lists on
 * each read (a few hundred instructions), never kept. */
struct pairs {
    uint64_t bits[16];
};

struct firsts {
    struct pairs mine, rules, yours, work, conversations, kinds;
};

static unsigned pair_of(char c0, char c1)
{
    return ((unsigned)((unsigned char)lower(c0) & 31) << 5) | ((unsigned char)lower(c1) & 31);
}

static void pair_add(struct pairs *s, const char *w)
{
    unsigned p = pair_of(w[0], w[1]);
    s->bits[p >> 6] |= (uint64_t)1 << (p & 63);
}

static bool pair_in(const struct pairs *s, unsigned p)
{
    return (s->bits[p >> 6] >> (p & 63)) & 1;
}

static void pairs_of(struct pairs *s, const char *const *words, size_t n)
{
    memset(s, 0, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        pair_add(s, words[k]);
}

static void firsts_init(struct firsts *f)
{
    pairs_of(&f->mine, mine, COUNT(mine));
    pairs_of(&f->rules, rule_words, COUNT(rule_words));
    pairs_of(&f->yours, yours, COUNT(yours));
    pairs_of(&f->work, work_words, COUNT(work_words));
    pairs_of(&f->conversations, conversations, COUNT(conversations));
    memset(&f->kinds, 0, sizeof(f->kinds));
    for (size_t k = 0; k < COUNT(kind_words); k++)
        pair_add(&f->kinds, kind_words[k].word);
}

/* What one line of the instructions, t[b..e), adds to out. */
static void read_line(const char *t, size_t b, size_t e, const struct firsts *f,
                      struct mp_address *out)
{
    bool quoted = false, code = false;
    if (list_item(t, e, b))
        out->rules++;
    for (size_t i = b; i < e; i++) {
        char c = t[i];
        if (c == '"')
            quoted = !quoted;
        else if (c == '`')
            code = !code;
        if (i > 0 && is_alnum(t[i - 1]))
            continue; /* inside a word: every reading below starts one */
        unsigned p = pair_of(c, i + 1 < e ? t[i + 1] : '\0');
        if (!quoted && !code && (c == 'I' || pair_in(&f->mine, p)) && person_at(t, e, i))
            out->person++;
        if (!quoted && !code && pair_in(&f->rules, p) &&
            any_at(t, e, i, rule_words, COUNT(rule_words), true))
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
        if ((i == b || t[i - 1] == ' ') && c != ' ') { /* a word: a path? */
            size_t w = i;
            bool marks = false; /* a path or a file name holds a '/' or a '.' */
            while (w < e && t[w] != ' ' && t[w] != '\t') {
                marks = marks || t[w] == '/' || t[w] == '.';
                w++;
            }
            int named = marks ? path_word(t, i, w) : 0;
            out->work += named > 0;
            out->own += named == 2;
        }
        while (is_alnum(c) && i + 1 < e && is_alnum(t[i + 1]))
            i++; /* the rest of the word: no reading starts inside it */
    }
}

void ref_address_read(const char *text, size_t len, struct mp_address *out)
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
