/* The fake upstream's stored responses (fake_stored.h): a ring of the last
 * FAKE_STORED_MAX, each with every item of its chain (a copy: a chain is a
 * few turns in a test), found by a linear walk. */
#include "fake_stored.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char id[32]; /* "resp_<n>"; "" when the slot is free */
    json_t *items;
};

struct fake_stored {
    struct entry e[FAKE_STORED_MAX];
    size_t next;
};

struct fake_stored *fake_stored_new(void)
{
    return calloc(1, sizeof(struct fake_stored));
}

void fake_stored_reset(struct fake_stored *s)
{
    for (size_t i = 0; i < FAKE_STORED_MAX; i++) {
        json_decref(s->e[i].items);
        s->e[i] = (struct entry){.id = "", .items = NULL};
    }
    s->next = 0;
}

void fake_stored_free(struct fake_stored *s)
{
    if (s == NULL) {
        return;
    }
    fake_stored_reset(s);
    free(s);
}

static const struct entry *find(const struct fake_stored *s, const char *id, size_t len)
{
    for (size_t i = 0; i < FAKE_STORED_MAX; i++) {
        const struct entry *e = &s->e[i];
        if (e->items != NULL && strlen(e->id) == len && memcmp(e->id, id, len) == 0) {
            return e;
        }
    }
    return NULL;
}

json_t *fake_stored_chain(const struct fake_stored *s, json_t *req)
{
    json_t *prev = json_object_get(req, "previous_response_id");
    if (!json_is_string(prev)) {
        return NULL;
    }
    const struct entry *e = find(s, json_string_value(prev), json_string_length(prev));
    return e != NULL ? e->items : NULL;
}

json_t *fake_stored_items(json_t *req, json_t *chain)
{
    json_t *input = json_object_get(req, "input");
    json_t *items = chain != NULL ? json_deep_copy(chain) : json_array();
    int rc = items != NULL ? 0 : -1;
    if (rc == 0 && json_is_string(input)) {
        rc = json_array_append_new(items, json_pack("{s:s,s:O}", "role", "user", "content", input));
    } else if (rc == 0 && json_is_array(input)) {
        rc = json_array_extend(items, input);
    }
    if (rc != 0) {
        json_decref(items);
        return NULL;
    }
    return items;
}

void fake_stored_keep(struct fake_stored *s, uint64_t n, json_t *req, json_t *chain,
                      const char *text, size_t len)
{
    json_t *store = json_object_get(req, "store");
    if (json_is_false(store)) {
        return;
    }
    json_t *items = fake_stored_items(req, chain);
    json_t *reply = json_pack("{s:s,s:s,s:[{s:s,s:s#}]}", "type", "message", "role", "assistant",
                              "content", "type", "output_text", "text", text, (int)len);
    if (items == NULL || reply == NULL || json_array_append(items, reply) != 0) {
        json_decref(items);
        json_decref(reply);
        return;
    }
    json_decref(reply);
    struct entry *e = &s->e[s->next];
    s->next = (s->next + 1) % FAKE_STORED_MAX;
    json_decref(e->items);
    snprintf(e->id, sizeof(e->id), "resp_%llu", (unsigned long long)n);
    e->items = items;
}

int fake_stored_json(const struct fake_stored *s, const char *id, size_t id_len, struct fake_buf *o)
{
    const struct entry *e = find(s, id, id_len);
    if (e == NULL) {
        fake_buf_puts(o, "{\"error\":\"no stored response by that id\"}");
        return 404;
    }
    char *items = json_dumps(e->items, JSON_COMPACT);
    if (items == NULL) {
        o->oom = true;
        return 200;
    }
    fake_buf_puts(o, "{\"id\":\"");
    fake_buf_puts(o, e->id);
    fake_buf_puts(o, "\",\"items\":");
    fake_buf_puts(o, items);
    fake_buf_puts(o, "}");
    free(items);
    return 200;
}
