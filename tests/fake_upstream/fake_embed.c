/* The fake embeddings server (see fake_embed.h). A text's vector is the sum
 * of its words' vectors, normalized: a word is a run of ASCII letters and
 * digits and bytes >= 0x80 (so a UTF-8 word stays whole), lower-cased in
 * ASCII. A word's vector is sparse and fixed: WORD_NONZERO coordinates of
 * +-1/2, chosen from the FNV-1a hash of the word, so two different words
 * rarely share one and unrelated texts have a cosine near 0. A word of the
 * synonym table adds its group's vector at weight CONCEPT_WEIGHT besides its
 * own, so "pets" finds "beagle" without a shared word. */
#include "fake_embed.h"

#include "fake_chat.h"
#include "fake_llm.h"
#include "fnv1a.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_NONZERO   4
#define CONCEPT_WEIGHT 2.0
#define WORD_MAX       64 /* bytes of a word looked up in the synonym table */

struct fake_embed {
    enum fake_embed_mode mode;
    uint64_t requests;
    uint64_t inputs;
    json_t *log; /* array of the last FAKE_EMBED_LOG_MAX requests */
};

static const char *const mode_names[FAKE_EMBED_MODE_COUNT] = {
    "ok",   "wrong_dims", "nan",           "fewer",           "huge", "status429", "status500",
    "hang", "slow",       "model_changed", "vectors_changed",
};

/* The synonym table: each group's words share the group's concept vector
 * (docs/fake-upstream-wires.md lists it). The first word names the group. */
static const char *const groups[][12] = {
    {"pets", "pet", "dog", "dogs", "puppy", "cat", "cats", "kitten", "beagle", "poodle", "hamster"},
    {"car", "cars", "vehicle", "automobile", "sedan", "truck", "drive", "driving"},
    {"job", "jobs", "work", "career", "employer", "office", "occupation", "profession"},
    {"food", "meal", "dinner", "lunch", "breakfast", "cooking", "eat", "eating"},
    {"travel", "trip", "vacation", "holiday", "journey", "flight", "visit"},
};

struct fake_embed *fake_embed_new(void)
{
    struct fake_embed *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->log = json_array();
    if (e->log == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

void fake_embed_free(struct fake_embed *e)
{
    if (e == NULL) {
        return;
    }
    json_decref(e->log);
    free(e);
}

void fake_embed_reset(struct fake_embed *e)
{
    e->mode = FAKE_EMBED_OK;
    e->requests = 0;
    e->inputs = 0;
    json_array_clear(e->log);
}

const char *fake_embed_mode_name(const struct fake_embed *e)
{
    return mode_names[e->mode];
}

int fake_embed_set_mode(struct fake_embed *e, const char *s, size_t n)
{
    for (int m = 0; m < FAKE_EMBED_MODE_COUNT; m++) {
        if (strlen(mode_names[m]) == n && memcmp(mode_names[m], s, n) == 0) {
            e->mode = (enum fake_embed_mode)m;
            return 0;
        }
    }
    return -1;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Adds weight times the fixed vector of w[0..n) (seeded by seed) to v. */
static void add_word(double *v, unsigned dims, uint64_t seed, const char *w, size_t n,
                     double weight)
{
    uint64_t s = mp_fnv1a64(seed, w, n);
    unsigned k = dims < WORD_NONZERO ? dims : WORD_NONZERO;
    unsigned used[WORD_NONZERO];
    double x = weight / sqrt((double)k);
    for (unsigned i = 0; i < k; i++) {
        unsigned pos;
        bool again;
        do { /* k distinct coordinates: dims >= k, so it ends */
            pos = (unsigned)(splitmix(&s) % dims);
            again = false;
            for (unsigned j = 0; j < i; j++) {
                again = again || used[j] == pos;
            }
        } while (again);
        used[i] = pos;
        v[pos] += (splitmix(&s) & 1) ? x : -x;
    }
}

/* The group of the lower-cased word w[0..n), or NULL. */
static const char *group_of(const char *w, size_t n)
{
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        for (size_t i = 0; i < 12 && groups[g][i] != NULL; i++) {
            if (strlen(groups[g][i]) == n && memcmp(groups[g][i], w, n) == 0) {
                return groups[g][0];
            }
        }
    }
    return NULL;
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The unit vector of text[0..len) into v[0..dims); returns its words. A
 * text without a word gets the vector of the empty word. */
static unsigned embed_text(const char *text, size_t len, unsigned dims, uint64_t seed, double *v)
{
    unsigned words = 0;
    char low[WORD_MAX];
    memset(v, 0, dims * sizeof(*v));
    size_t i = 0;
    while (i < len) {
        if (!word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && word_byte((unsigned char)text[i])) {
            i++;
        }
        size_t n = i - start;
        uint64_t s = seed;
        for (size_t j = 0; j < n; j++) { /* hashes the lower-cased word */
            unsigned char c = (unsigned char)text[start + j];
            c = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
            s = mp_fnv1a64(s, &c, 1);
            if (j < WORD_MAX) {
                low[j] = (char)c;
            }
        }
        add_word(v, dims, s, "", 0, 1.0);
        /* the concept's seed hashes "#" first: no word has a '#' */
        const char *g = n <= WORD_MAX ? group_of(low, n) : NULL;
        if (g != NULL) {
            add_word(v, dims, mp_fnv1a64(seed, "#", 1), g, strlen(g), CONCEPT_WEIGHT);
        }
        words++;
    }
    if (words == 0) {
        add_word(v, dims, seed, "", 0, 1.0);
    }
    double norm = 0;
    for (unsigned d = 0; d < dims; d++) {
        norm += v[d] * v[d];
    }
    norm = sqrt(norm);
    for (unsigned d = 0; d < dims && norm > 0; d++) {
        v[d] /= norm;
    }
    return words;
}

static void put_error(struct fake_buf *out, const char *msg, const char *type, const char *param)
{
    fake_buf_puts(out, "{\"error\":{\"message\":\"fake: ");
    fake_buf_puts(out, msg);
    fake_buf_puts(out, "\",\"type\":\"");
    fake_buf_puts(out, type);
    fake_buf_puts(out, "\",\"param\":");
    if (param != NULL) {
        fake_buf_puts(out, "\"");
        fake_buf_puts(out, param);
        fake_buf_puts(out, "\"");
    } else {
        fake_buf_puts(out, "null");
    }
    fake_buf_puts(out, ",\"code\":null}}");
}

/* Checks the request; NULL when good, else the message (and *param). */
static const char *check(json_t *req, json_t **input, unsigned *dims, const char **param)
{
    if (!json_is_object(req)) {
        *param = NULL;
        return "the body must be a JSON object";
    }
    json_t *in = json_object_get(req, "input");
    json_t *d = json_object_get(req, "dimensions");
    json_t *f = json_object_get(req, "encoding_format");
    json_t *model = json_object_get(req, "model");
    json_t *type = json_object_get(req, "input_type");
    *param = "input";
    if (json_is_string(in)) {
        in = json_pack("[O]", in);
    } else if (json_is_array(in) && json_array_size(in) >= 1 &&
               json_array_size(in) <= FAKE_EMBED_INPUTS_MAX) {
        json_incref(in);
    } else {
        in = NULL;
    }
    if (in == NULL) {
        return "input must be a string or an array of 1 to 2048 strings";
    }
    *input = in;
    size_t i;
    json_t *s;
    json_array_foreach(in, i, s)
    {
        if (!json_is_string(s) || json_string_length(s) > FAKE_EMBED_INPUT_MAX) {
            return "each input must be a string of at most 65536 bytes";
        }
    }
    *param = "model";
    if (model != NULL && !json_is_string(model)) {
        return "model must be a string";
    }
    *param = "input_type";
    if (type != NULL && !json_is_null(type) && !json_is_string(type)) {
        return "input_type must be a string";
    }
    *param = "dimensions";
    *dims = FAKE_EMBED_DIMS;
    if (d != NULL && !json_is_null(d)) {
        if (!json_is_integer(d) || json_integer_value(d) < 1 ||
            json_integer_value(d) > FAKE_EMBED_DIMS_MAX) {
            return "dimensions must be an integer from 1 to 4096";
        }
        *dims = (unsigned)json_integer_value(d);
    }
    *param = "encoding_format";
    if (f != NULL && !json_is_null(f) &&
        !(json_is_string(f) && strcmp(json_string_value(f), "float") == 0)) {
        return "encoding_format: this fake answers float only";
    }
    return NULL;
}

static void log_request(struct fake_embed *e, uint64_t n, json_t *req, json_t *input, unsigned dims)
{
    json_t *type = json_object_get(req, "input_type");
    json_t *model = json_object_get(req, "model");
    json_t *d = json_object_get(req, "dimensions");
    json_t *rec =
        json_pack("{s:I,s:O?,s:O?,s:O?,s:O,s:I}", "n", (json_int_t)n, "model", model, "input_type",
                  type, "dimensions", d, "inputs", input, "answered_dims", (json_int_t)dims);
    e->requests++;
    e->inputs += json_array_size(input);
    if (rec == NULL) {
        return;
    }
    if (json_array_size(e->log) >= FAKE_EMBED_LOG_MAX) {
        json_array_remove(e->log, 0);
    }
    json_array_append_new(e->log, rec);
}

static void put_value(struct fake_buf *out, double x)
{
    char num[32];
    int k = snprintf(num, sizeof(num), "%.8g", x);
    fake_buf_put(out, num, (size_t)k);
}

/* The 200 body: the vectors as the mode wants them. */
static void put_vectors(const struct fake_embed *e, json_t *req, json_t *input, unsigned dims,
                        struct fake_buf *out)
{
    enum fake_embed_mode m = e->mode;
    bool other = m == FAKE_EMBED_MODEL_CHANGED || m == FAKE_EMBED_VECTORS_CHANGED;
    uint64_t seed = other ? mp_fnv1a64(MP_FNV1A64_BASIS, "v2", 2) : MP_FNV1A64_BASIS;
    size_t count = json_array_size(input);
    size_t sent = m == FAKE_EMBED_FEWER ? count - 1 : count;
    unsigned out_dims = m == FAKE_EMBED_WRONG_DIMS ? dims / 2 : dims;
    uint64_t tokens = 0;
    double *v = malloc(dims * sizeof(*v));
    if (v == NULL) {
        out->oom = true;
        return;
    }
    fake_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < count; i++) {
        json_t *s = json_array_get(input, i);
        unsigned words = embed_text(json_string_value(s), json_string_length(s), dims, seed, v);
        tokens += words > 0 ? words : 1;
        if (i >= sent) {
            continue;
        }
        fake_buf_puts(out, i > 0 ? ",{\"object\":\"embedding\",\"index\":"
                                 : "{\"object\":\"embedding\",\"index\":");
        fake_buf_put_u64(out, i);
        fake_buf_puts(out, ",\"embedding\":[");
        for (unsigned d = 0; d < out_dims; d++) {
            if (d > 0) {
                fake_buf_puts(out, ",");
            }
            if (m == FAKE_EMBED_NAN && i == 0 && d == 0) {
                fake_buf_puts(out, "NaN");
            } else if (m == FAKE_EMBED_NAN && i == count - 1 && d == out_dims - 1) {
                fake_buf_puts(out, "1e999");
            } else {
                put_value(out, v[d]);
            }
        }
        fake_buf_puts(out, "]}");
    }
    free(v);
    json_t *model = json_object_get(req, "model");
    fake_buf_puts(out, "],\"model\":");
    const char *name = json_is_string(model) ? json_string_value(model) : FAKE_EMBED_MODEL;
    if (m == FAKE_EMBED_MODEL_CHANGED) {
        char changed[256];
        int k = snprintf(changed, sizeof(changed), "%.200s-v2", name);
        fake_buf_put_json_string(out, changed, (size_t)k);
    } else {
        fake_buf_put_json_string(out, name, strlen(name));
    }
    fake_buf_puts(out, ",\"usage\":{\"prompt_tokens\":");
    fake_buf_put_u64(out, tokens);
    fake_buf_puts(out, ",\"total_tokens\":");
    fake_buf_put_u64(out, tokens);
    fake_buf_puts(out, "}");
    if (m == FAKE_EMBED_HUGE && fake_buf_reserve(out, FAKE_EMBED_HUGE_PAD + 32) == 0) {
        fake_buf_puts(out, ",\"x_fake_padding\":\"");
        memset(out->p + out->len, 'x', FAKE_EMBED_HUGE_PAD);
        out->len += FAKE_EMBED_HUGE_PAD;
        fake_buf_puts(out, "\"");
    }
    fake_buf_puts(out, "}");
}

void fake_embed_answer(struct fake_embed *e, uint64_t n, const char *body, size_t len,
                       struct fake_buf *out, struct fake_embed_answer *a)
{
    a->status = 200;
    a->stall = false;
    a->delay_ms = 0;
    json_t *req = json_loadb(body, len, 0, NULL);
    json_t *input = NULL;
    unsigned dims = FAKE_EMBED_DIMS;
    const char *param = NULL;
    const char *bad = check(req, &input, &dims, &param);
    if (bad != NULL) {
        a->status = 400;
        put_error(out, bad, "invalid_request_error", param);
        goto out;
    }
    log_request(e, n, req, input, dims);
    switch (e->mode) {
    case FAKE_EMBED_STATUS429:
        a->status = 429;
        put_error(out, "rate limit reached, retry after 1 s", "rate_limit_exceeded", NULL);
        goto out;
    case FAKE_EMBED_STATUS500:
        a->status = 500;
        put_error(out, "the server had an error", "server_error", NULL);
        goto out;
    case FAKE_EMBED_HANG:
        a->stall = true;
        goto out;
    case FAKE_EMBED_SLOW:
        a->delay_ms = FAKE_SLOW_MS;
        break;
    default:
        break;
    }
    put_vectors(e, req, input, dims, out);
out:
    json_decref(input);
    json_decref(req);
}

void fake_embed_log_json(const struct fake_embed *e, struct fake_buf *out)
{
    fake_buf_puts(out, "{\"mode\":\"");
    fake_buf_puts(out, mode_names[e->mode]);
    fake_buf_puts(out, "\",\"requests\":");
    fake_buf_put_u64(out, e->requests);
    fake_buf_puts(out, ",\"inputs\":");
    fake_buf_put_u64(out, e->inputs);
    fake_buf_puts(out, ",\"recent\":");
    char *s = json_dumps(e->log, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s == NULL) {
        out->oom = true;
        return;
    }
    fake_buf_puts(out, s);
    free(s);
    fake_buf_puts(out, "}");
}

static void put_embed_reply(struct fake_buf *o, const struct fake_v1_req *r,
                            const struct fake_behavior *b)
{
    if (r->content != NULL) {
        fake_buf_put(o, r->content, r->content_len);
    } else {
        fake_chat_put_error(o, 500);
    }
}

const struct fake_wire fake_wire_embed = {
    .put_reply = put_embed_reply,
    .put_error = fake_chat_put_error,
    .put_stream = NULL,
};
