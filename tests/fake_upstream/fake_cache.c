/* The fake's prompt caching (see fake_cache.h). The prompt is serialized in
 * a canonical order (the order the provider reads it: tools, then system or
 * instructions, then the conversation), one compact JSON element a line,
 * cache_control left out; tokens are its bytes / 4. A prefix is compared as
 * bytes, so a change early in the prompt breaks the cache for all after it,
 * as it does at the providers. OpenAI keeps whole earlier prompts and
 * serves the longest common prefix; Anthropic keeps hashes of the prefixes
 * written at breakpoints and reads the longest one found at a block
 * boundary no further than FAKE_CACHE_LOOKBACK before a breakpoint. */
#include "fake_cache.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"

#define MAX_BOUNDS 8192 /* block boundaries tracked; later ones are no breakpoints */

struct prompt {
    char *model;
    char *bytes;
    size_t len;
    uint64_t used; /* 0: free */
    uint64_t at;   /* routing: the virtual time it was last written or read */
};

/* A route seen in the last window: its home machine, the times of its
 * last requests served there (a ring of rate), its overflows. */
struct route {
    uint64_t hash;
    unsigned home;
    uint64_t last;      /* the time of its last request */
    uint64_t overflows; /* requests sent to another machine */
    uint64_t *times;    /* rate entries; the oldest at head once full */
    unsigned n, head;
};

struct prefix {
    uint64_t hash;
    uint64_t used; /* 0: free */
};

struct fake_cache {
    struct prompt *prompts; /* FAKE_CACHE_PROMPTS per machine (one when routing is off) */
    struct prefix prefixes[FAKE_CACHE_PREFIXES];
    uint64_t clock;
    uint64_t requests, input, cached, read, creation;
    /* routing (off: set.machines 0) */
    struct fake_routing set;
    uint64_t now; /* the virtual clock, ms */
    struct route *routes;
    size_t nroutes, cap;
    uint64_t home, overflow, dropped;
    uint64_t served[FAKE_MACHINES_MAX];
};

static unsigned machines_of(const struct fake_cache *c)
{
    return c->set.machines > 0 ? c->set.machines : 1;
}

/* The canonical prompt being built: its bytes, the end of each element,
 * which of them carry a breakpoint. ends and hashes grow with the prompt
 * (a body of a few KB costs no large zeroed allocation). */
struct canon {
    struct fake_buf b;
    size_t *ends;
    size_t nends, cap;
    uint64_t *hashes;                   /* Anthropic: of the prefix up to each end */
    size_t bps[FAKE_CACHE_BREAKPOINTS]; /* indexes into ends */
    size_t nbps;
    bool too_many;
};

/* Room for one more end (and its hash); false when out of memory (oom set). */
static bool room_for_end(struct canon *k)
{
    if (k->nends < k->cap) {
        return true;
    }
    size_t cap = k->cap > 0 ? 2 * k->cap : 64;
    size_t *ends = realloc(k->ends, cap * sizeof(*ends));
    if (ends != NULL) {
        k->ends = ends;
    }
    uint64_t *hashes = ends != NULL ? realloc(k->hashes, cap * sizeof(*hashes)) : NULL;
    if (hashes == NULL) {
        k->b.oom = true;
        return false;
    }
    k->hashes = hashes;
    k->cap = cap;
    return true;
}

static void canon_free(struct canon *k)
{
    fake_buf_free(&k->b);
    free(k->ends);
    free(k->hashes);
}

struct fake_cache *fake_cache_new(void)
{
    struct fake_cache *c = calloc(1, sizeof(struct fake_cache));
    if (c != NULL) {
        c->prompts = calloc(FAKE_CACHE_PROMPTS, sizeof(*c->prompts));
        if (c->prompts == NULL) {
            free(c);
            return NULL;
        }
    }
    return c;
}

static void free_prompt(struct prompt *p)
{
    free(p->model);
    free(p->bytes);
    *p = (struct prompt){0};
}

static void drop_routes(struct fake_cache *c)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].times);
    }
    free(c->routes);
    c->routes = NULL;
    c->nroutes = c->cap = 0;
}

void fake_cache_reset(struct fake_cache *c)
{
    size_t n = (size_t)machines_of(c) * FAKE_CACHE_PROMPTS;
    for (size_t i = 0; i < n; i++) {
        free_prompt(&c->prompts[i]);
    }
    drop_routes(c);
    struct prompt *prompts = c->prompts;
    struct fake_routing set = c->set;
    memset(c, 0, sizeof(*c));
    c->prompts = prompts;
    c->set = set;
}

void fake_cache_free(struct fake_cache *c)
{
    if (c == NULL) {
        return;
    }
    fake_cache_reset(c);
    free(c->prompts);
    free(c);
}

int fake_cache_set_routing(struct fake_cache *c, const struct fake_routing *r)
{
    if (r->machines > FAKE_MACHINES_MAX || r->rate > FAKE_ROUTE_RATE_MAX) {
        return -1;
    }
    struct prompt *p =
        calloc((size_t)(r->machines > 0 ? r->machines : 1) * FAKE_CACHE_PROMPTS, sizeof(*p));
    if (p == NULL) {
        return -1;
    }
    fake_cache_reset(c); /* every machine's prompts freed */
    free(c->prompts);
    c->prompts = p;
    c->set = *r;
    return 0;
}

void fake_cache_get_routing(const struct fake_cache *c, struct fake_routing *r)
{
    *r = c->set;
}

void fake_cache_set_now(struct fake_cache *c, uint64_t now_ms)
{
    if (now_ms > c->now) {
        c->now = now_ms;
    }
}

static void add_text(struct canon *k, const char *s)
{
    fake_buf_puts(&k->b, s);
    fake_buf_puts(&k->b, "\n");
}

/* One element of the prompt: v as compact JSON (keys sorted) without its
 * cache_control, which marks a breakpoint after it. */
static void add_elem(struct canon *k, json_t *v)
{
    json_t *cc = json_is_object(v) ? json_object_get(v, "cache_control") : NULL;
    json_t *bare = NULL;
    if (cc != NULL) {
        bare = json_copy(v);
        if (bare == NULL) {
            k->b.oom = true;
            return;
        }
        json_object_del(bare, "cache_control");
        v = bare;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(bare);
    if (s == NULL) {
        k->b.oom = true;
        return;
    }
    add_text(k, s);
    free(s);
    if (k->nends == MAX_BOUNDS || !room_for_end(k)) {
        return;
    }
    if (cc != NULL && !json_is_null(cc)) {
        if (k->nbps == FAKE_CACHE_BREAKPOINTS) {
            k->too_many = true;
        } else {
            k->bps[k->nbps++] = k->nends;
        }
    }
    k->ends[k->nends++] = k->b.len;
}

/* A member that is an array: each element; anything else: one element. */
static void add_each(struct canon *k, json_t *v)
{
    size_t i;
    json_t *el;
    if (v == NULL) {
        return;
    }
    if (!json_is_array(v)) {
        add_elem(k, v);
        return;
    }
    json_array_foreach(v, i, el)
    {
        add_elem(k, el);
    }
}

/* Messages: each message's role, then its content string or each block. */
static void add_messages(struct canon *k, json_t *msgs)
{
    size_t i;
    json_t *m;
    if (!json_is_array(msgs)) {
        return;
    }
    json_array_foreach(msgs, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        add_text(k, role != NULL ? role : "?");
        add_each(k, json_object_get(m, "content"));
    }
}

static void canonical(struct canon *k, enum fake_cache_api api, json_t *req)
{
    switch (api) {
    case FAKE_CACHE_CHAT:
        add_each(k, json_object_get(req, "tools"));
        add_each(k, json_object_get(req, "messages"));
        break;
    case FAKE_CACHE_RESPONSES:
        add_each(k, json_object_get(req, "instructions"));
        add_each(k, json_object_get(req, "tools"));
        add_each(k, json_object_get(req, "input"));
        break;
    default:
        add_each(k, json_object_get(req, "tools"));
        add_each(k, json_object_get(req, "system"));
        add_messages(k, json_object_get(req, "messages"));
        break;
    }
}

static uint64_t tokens_of(size_t bytes)
{
    return (uint64_t)bytes / FAKE_CACHE_TOKEN_BYTES;
}

static size_t common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    size_t i = 0;
    while (i + 64 <= n && memcmp(a + i, b + i, 64) == 0) {
        i += 64; /* whole cache lines at memcmp's speed, then byte by byte */
    }
    while (i < n && a[i] == b[i]) {
        i++;
    }
    return i;
}

/* Keeps the prompt in the machine's cache ps: in place of an earlier one
 * it extends, else in a free or the least recently used slot. */
static void keep_prompt(struct fake_cache *c, struct prompt *ps, const char *model,
                        const struct fake_buf *b)
{
    struct prompt *slot = &ps[0];
    for (size_t i = 0; i < FAKE_CACHE_PROMPTS; i++) {
        struct prompt *p = &ps[i];
        if (p->used != 0 && strcmp(p->model, model) == 0 && p->len <= b->len &&
            memcmp(p->bytes, b->p, p->len) == 0) {
            slot = p;
            break;
        }
        if (p->used < slot->used) {
            slot = p;
        }
    }
    char *m = strdup(model);
    char *bytes = malloc(b->len + 1);
    if (m == NULL || bytes == NULL) {
        free(m);
        free(bytes);
        return;
    }
    memcpy(bytes, b->p, b->len);
    free(slot->model);
    free(slot->bytes);
    *slot = (struct prompt){
        .model = m, .bytes = bytes, .len = b->len, .used = ++c->clock, .at = c->now};
}

/* splitmix64's finalizer: every bit of h in the low ones a modulo reads */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* The route of a request: model, NUL, the prompt's first
 * FAKE_ROUTE_PREFIX_BYTES, NUL, prompt_cache_key (absent: empty). */
static uint64_t route_hash(const char *model, const struct canon *k, const char *key)
{
    size_t n = k->b.len < FAKE_ROUTE_PREFIX_BYTES ? k->b.len : FAKE_ROUTE_PREFIX_BYTES;
    uint64_t h = mp_fnv1a64(MP_FNV1A64_BASIS, model, strlen(model) + 1);
    h = mp_fnv1a64(h, k->b.p, n);
    h = mp_fnv1a64(h, "", 1);
    return mix(mp_fnv1a64(h, key, strlen(key)));
}

/* The route of hash h, made when none was seen in the last window (NULL
 * when out of memory); routes idle a whole window are forgotten on the way
 * (a fresh one behaves as they would). */
static struct route *find_route(struct fake_cache *c, uint64_t h)
{
    struct route *found = NULL;
    for (size_t i = 0; i < c->nroutes;) {
        struct route *r = &c->routes[i];
        if (r->hash == h) {
            found = r;
        } else if (r->last + FAKE_ROUTE_WINDOW_MS <= c->now) {
            free(r->times);
            *r = c->routes[--c->nroutes]; /* the last one, not looked at yet, comes here */
            continue;
        }
        i++;
    }
    if (found != NULL) {
        return found;
    }
    if (c->nroutes == c->cap) {
        size_t cap = c->cap > 0 ? 2 * c->cap : 64;
        struct route *rs = realloc(c->routes, cap * sizeof(*rs));
        if (rs == NULL) {
            return NULL;
        }
        c->routes = rs;
        c->cap = cap;
    }
    uint64_t *times = calloc(c->set.rate > 0 ? c->set.rate : 1, sizeof(*times));
    if (times == NULL) {
        return NULL;
    }
    struct route *r = &c->routes[c->nroutes++];
    *r = (struct route){.hash = h, .home = (unsigned)(h % c->set.machines), .times = times};
    return r;
}

/* The machine a request of route h goes to: its home while the route had
 * fewer than rate requests there in the last window, else the next other
 * machine by its count of overflows. */
static unsigned route(struct fake_cache *c, uint64_t h)
{
    struct route *r = find_route(c, h);
    if (r == NULL) {
        return (unsigned)(h % c->set.machines); /* out of memory: home, uncounted */
    }
    r->last = c->now;
    unsigned rate = c->set.rate;
    bool over = rate > 0 && r->n == rate && r->times[r->head] + FAKE_ROUTE_WINDOW_MS > c->now;
    if (!over || c->set.machines == 1) {
        if (rate > 0) {
            r->times[r->head] = c->now; /* the oldest goes */
            r->head = (r->head + 1) % rate;
            r->n += r->n < rate;
        }
        c->home++;
        return r->home;
    }
    c->overflow++;
    unsigned others = c->set.machines - 1;
    return (r->home + 1 + (unsigned)(r->overflows++ % others)) % c->set.machines;
}

/* Drops every machine's prompts unused for idle_ms of the clock. */
static void drop_idle(struct fake_cache *c)
{
    struct prompt *ps = c->prompts;
    if (c->set.idle_ms == 0) {
        return;
    }
    for (size_t i = 0; i < (size_t)c->set.machines * FAKE_CACHE_PROMPTS; i++) {
        if (ps[i].used != 0 && ps[i].at + c->set.idle_ms <= c->now) {
            free_prompt(&ps[i]);
            c->dropped++;
        }
    }
}

static void openai(struct fake_cache *c, const char *model, const struct canon *k, const char *key,
                   struct fake_usage *u)
{
    struct prompt *ps = c->prompts;
    if (c->set.machines > 0) {
        u->machine = (int)route(c, route_hash(model, k, key));
        c->served[u->machine]++;
        ps += (size_t)u->machine * FAKE_CACHE_PROMPTS;
        drop_idle(c);
    }
    size_t best = 0;
    struct prompt *from = NULL;
    for (size_t i = 0; i < FAKE_CACHE_PROMPTS; i++) {
        struct prompt *p = &ps[i];
        if (p->used != 0 && strcmp(p->model, model) == 0) {
            size_t n = common_prefix(p->bytes, p->len, k->b.p, k->b.len);
            if (n > best) {
                best = n;
                from = p;
            }
        }
    }
    uint64_t shared = tokens_of(best);
    if (u->input > 0 && shared >= u->input) {
        shared = u->input - 1; /* the last token is always computed */
    }
    u->cached = shared < FAKE_CACHE_MIN_TOKENS ? 0 : shared / FAKE_CACHE_STEP * FAKE_CACHE_STEP;
    if (u->cached > 0) {
        from->at = c->now; /* read: it stays warm */
    }
    if (u->input >= FAKE_CACHE_MIN_TOKENS) {
        keep_prompt(c, ps, model, &k->b);
    }
}

static struct prefix *find_prefix(struct fake_cache *c, uint64_t h)
{
    for (size_t i = 0; i < FAKE_CACHE_PREFIXES; i++) {
        if (c->prefixes[i].used != 0 && c->prefixes[i].hash == h) {
            return &c->prefixes[i];
        }
    }
    return NULL;
}

static void keep_prefix(struct fake_cache *c, uint64_t h)
{
    struct prefix *p = find_prefix(c, h);
    if (p == NULL) {
        p = &c->prefixes[0];
        for (size_t i = 1; i < FAKE_CACHE_PREFIXES; i++) {
            if (c->prefixes[i].used < p->used) {
                p = &c->prefixes[i];
            }
        }
    }
    p->hash = h;
    p->used = ++c->clock;
}

/* FNV-1a over the model, a NUL, then the prompt: the hash of each prefix
 * that ends at a block boundary, in k->hashes. */
static void hash_bounds(const char *model, struct canon *k)
{
    uint64_t h = mp_fnv1a64(MP_FNV1A64_BASIS, model, strlen(model) + 1);
    size_t j = 0;
    for (size_t i = 0; i < k->b.len && j < k->nends; i++) {
        h = mp_fnv1a64(h, &k->b.p[i], 1);
        while (j < k->nends && k->ends[j] == i + 1) {
            k->hashes[j++] = h;
        }
    }
}

/* The longest prefix written before that ends at a boundary at most
 * FAKE_CACHE_LOOKBACK before breakpoint bp: its length in bytes, or 0. */
static size_t read_at(struct fake_cache *c, const struct canon *k, size_t bp)
{
    size_t low = bp > FAKE_CACHE_LOOKBACK ? bp - FAKE_CACHE_LOOKBACK : 0;
    for (size_t i = bp + 1; i-- > low;) {
        struct prefix *p = find_prefix(c, k->hashes[i]);
        if (p != NULL) {
            p->used = ++c->clock;
            return k->ends[i];
        }
    }
    return 0;
}

static void anthropic(struct fake_cache *c, const char *model, struct canon *k,
                      struct fake_usage *u)
{
    uint64_t total = u->input;
    size_t read = 0, last = 0;
    hash_bounds(model, k);
    for (size_t j = 0; j < k->nbps; j++) {
        size_t off = k->ends[k->bps[j]];
        if (tokens_of(off) < FAKE_CACHE_MIN_TOKENS) {
            continue; /* too short to cache: as if unmarked */
        }
        size_t r = read_at(c, k, k->bps[j]);
        read = r > read ? r : read;
        last = off;
    }
    for (size_t j = 0; j < k->nbps; j++) {
        if (tokens_of(k->ends[k->bps[j]]) >= FAKE_CACHE_MIN_TOKENS) {
            keep_prefix(c, k->hashes[k->bps[j]]);
        }
    }
    u->cache_read = tokens_of(read);
    u->cache_creation = tokens_of(last) - u->cache_read;
    u->input = total - tokens_of(last);
}

static void count(struct fake_cache *c, const struct fake_usage *u)
{
    c->requests++;
    c->input += u->input;
    c->cached += u->cached;
    c->read += u->cache_read;
    c->creation += u->cache_creation;
}

void fake_cache_use(struct fake_cache *c, enum fake_cache_api api, json_t *req, size_t len,
                    struct fake_usage *u)
{
    memset(u, 0, sizeof(*u));
    u->machine = -1;
    u->input = ((uint64_t)len + FAKE_CACHE_TOKEN_BYTES - 1) / FAKE_CACHE_TOKEN_BYTES;
    struct canon canon = {0}, *k = &canon;
    if (!json_is_object(req)) {
        goto out;
    }
    json_t *so = json_object_get(req, "stream_options");
    u->include_usage = json_is_true(json_object_get(so, "include_usage"));
    const char *model = json_string_value(json_object_get(req, "model"));
    model = model != NULL ? model : "";
    canonical(k, api, req);
    if (k->b.oom) {
        goto out;
    }
    u->input = (k->b.len + FAKE_CACHE_TOKEN_BYTES - 1) / FAKE_CACHE_TOKEN_BYTES;
    if (c == NULL) {
        goto out; /* counting only */
    }
    if (api != FAKE_CACHE_MESSAGES) {
        const char *key = json_string_value(json_object_get(req, "prompt_cache_key"));
        openai(c, model, k, key != NULL ? key : "", u);
    } else if (k->too_many) {
        goto out; /* refused before it reaches a cache */
    } else {
        anthropic(c, model, k, u);
    }
    count(c, u);
out:
    canon_free(k);
}

static size_t prompts_of(const struct prompt *ps)
{
    size_t n = 0;
    for (size_t i = 0; i < FAKE_CACHE_PROMPTS; i++) {
        n += ps[i].used != 0;
    }
    return n;
}

void fake_cache_stats(const struct fake_cache *c, struct fake_buf *o)
{
    size_t prompts = 0, prefixes = 0;
    for (unsigned m = 0; m < machines_of(c); m++) {
        prompts += prompts_of(c->prompts + (size_t)m * FAKE_CACHE_PROMPTS);
    }
    for (size_t i = 0; i < FAKE_CACHE_PREFIXES; i++) {
        prefixes += c->prefixes[i].used != 0;
    }
    const uint64_t v[] = {prompts,   prefixes, c->requests, c->input,
                          c->cached, c->read,  c->creation};
    static const char *const names[] = {"prompts",
                                        "prefixes",
                                        "requests",
                                        "input_tokens",
                                        "cached_tokens",
                                        "cache_read_input_tokens",
                                        "cache_creation_input_tokens"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        fake_buf_puts(o, i == 0 ? "{\"" : ",\"");
        fake_buf_puts(o, names[i]);
        fake_buf_puts(o, "\":");
        fake_buf_put_u64(o, v[i]);
    }
    fake_buf_puts(o, "}");
}

static void put_member(struct fake_buf *o, const char *name, uint64_t v)
{
    fake_buf_puts(o, o->len > 0 && o->p[o->len - 1] != '{' ? ",\"" : "\"");
    fake_buf_puts(o, name);
    fake_buf_puts(o, "\":");
    fake_buf_put_u64(o, v);
}

void fake_cache_routing_stats(const struct fake_cache *c, struct fake_buf *o)
{
    size_t live = 0;
    for (size_t i = 0; i < c->nroutes; i++) {
        live += c->routes[i].last + FAKE_ROUTE_WINDOW_MS > c->now;
    }
    fake_buf_puts(o, "{");
    put_member(o, "machines", c->set.machines);
    put_member(o, "rate", c->set.rate);
    put_member(o, "idle_ms", c->set.idle_ms);
    put_member(o, "now_ms", c->now);
    put_member(o, "routes", live);
    put_member(o, "home", c->home);
    put_member(o, "overflow", c->overflow);
    put_member(o, "dropped", c->dropped);
    for (int list = 0; list < 2; list++) {
        fake_buf_puts(o, list == 0 ? ",\"requests\":[" : "],\"prompts\":[");
        for (unsigned m = 0; m < c->set.machines; m++) {
            fake_buf_puts(o, m > 0 ? "," : "");
            fake_buf_put_u64(o, list == 0
                                    ? c->served[m]
                                    : prompts_of(c->prompts + (size_t)m * FAKE_CACHE_PROMPTS));
        }
    }
    fake_buf_puts(o, "]}");
}
