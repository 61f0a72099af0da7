/*
 * table.c: the stream table and the spines (see internal.h).
 *
 * The table is open addressing with linear probing over 48-byte entries keyed by
 * store_trie_key(stream_id) (a bijection, so ids in any pattern spread evenly). It doubles when
 * three quarters are used; entries never leave. The dirty list holds each DIRTY stream's id once,
 * so a checkpoint visits only what changed.
 *
 * A spine is a slab block of struct store_entry, highest level first and offsets rising. It grows
 * by moving to the next slab class.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "store/internal.h"

enum { TABLE_CAP_MIN = 1024 };

strom_err table_init(struct store_table *t, uint64_t count_max) {
    memset(t, 0, sizeof *t);
    t->count_max = count_max;
    t->slots = calloc(TABLE_CAP_MIN, sizeof *t->slots);
    if (t->slots == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    t->cap = TABLE_CAP_MIN;
    return STROM_OK;
}

void table_free(struct store_table *t) {
    free(t->slots);
    free(t->dirty);
    memset(t, 0, sizeof *t);
}

static uint64_t slot_of(const struct store_table *t, uint64_t stream_id) {
    return store_trie_key(stream_id) & (t->cap - 1);
}

struct store_stream *table_find(const struct store_table *t, uint64_t stream_id) {
    for (uint64_t i = slot_of(t, stream_id);; i = (i + 1) & (t->cap - 1)) {
        struct store_stream *st = &t->slots[i];
        if (!(st->flags & STREAM_USED)) {
            return NULL;
        }
        if (st->stream_id == stream_id) {
            return st;
        }
    }
}

/* The free slot where stream_id goes; it must not be in the table (checked on the way). */
static struct store_stream *slot_free_for(const struct store_table *t, uint64_t stream_id) {
    uint64_t i = slot_of(t, stream_id);
    while (t->slots[i].flags & STREAM_USED) {
        strom_assert(t->slots[i].stream_id != stream_id);
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slots[i];
}

static strom_err table_grow(struct store_table *t) {
    struct store_table grown = *t;
    grown.cap = t->cap * 2;
    grown.slots = calloc(grown.cap, sizeof *grown.slots);
    if (grown.slots == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    for (uint64_t i = 0; i < t->cap; i++) {
        if (t->slots[i].flags & STREAM_USED) {
            *slot_free_for(&grown, t->slots[i].stream_id) = t->slots[i];
        }
    }
    free(t->slots);
    t->slots = grown.slots;
    t->cap = grown.cap;
    return STROM_OK;
}

strom_err table_insert(struct store_table *t, uint64_t stream_id, struct store_stream **out) {
    if (t->count >= t->count_max) {
        return STROM_ERR_LIMIT;
    }
    if ((t->count + 1) * 4 > t->cap * 3) {
        strom_err err = table_grow(t);
        if (err) {
            return err;
        }
    }
    struct store_stream *st = slot_free_for(t, stream_id);
    memset(st, 0, sizeof *st);
    st->stream_id = stream_id;
    st->flags = STREAM_USED;
    t->count++;
    *out = st;
    return STROM_OK;
}

strom_err table_mark_dirty(struct store_table *t, struct store_stream *st) {
    if (st->flags & STREAM_DIRTY) {
        return STROM_OK;
    }
    if (t->dirty_count == t->dirty_cap) {
        uint64_t cap = t->dirty_cap ? t->dirty_cap * 2 : 1024;
        uint64_t *grown = realloc(t->dirty, cap * sizeof *grown);
        if (grown == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        t->dirty = grown;
        t->dirty_cap = cap;
    }
    t->dirty[t->dirty_count++] = st->stream_id;
    st->flags |= STREAM_DIRTY;
    return STROM_OK;
}

void table_pop_dirty(struct store_table *t, struct store_stream *st) {
    strom_assert(t->dirty_count > 0 && t->dirty[t->dirty_count - 1] == st->stream_id);
    strom_assert(st->flags & STREAM_DIRTY);
    st->flags &= (uint8_t)~STREAM_DIRTY;
    t->dirty_count--;
}

uint64_t table_bytes(const struct store_table *t) {
    return t->cap * sizeof *t->slots + t->dirty_cap * sizeof *t->dirty;
}

/* --- spines --------------------------------------------------------------------------------- */

static uint32_t spine_cap(const struct store_stream *st) {
    if (st->spine_ref == 0) {
        return 0;
    }
    return slab_class_units(st->spine_class) * SLAB_UNIT_BYTES / STORE_ENTRY_BYTES;
}

struct store_entry *spine_entries(const struct store_slab *slab, const struct store_stream *st) {
    return st->spine_ref ? slab_ptr(slab, st->spine_ref) : NULL;
}

strom_err spine_reserve(struct store_slab *slab, struct store_stream *st, uint32_t count) {
    if (count <= spine_cap(st)) {
        return STROM_OK;
    }
    if (count > STORE_SPINE_MAX) {
        return STROM_ERR_LIMIT;
    }
    uint32_t want = count + count / 2 + 1;
    want = want > STORE_SPINE_MAX ? STORE_SPINE_MAX : want;
    uint32_t units = (want * STORE_ENTRY_BYTES + SLAB_UNIT_BYTES - 1) / SLAB_UNIT_BYTES;
    uint8_t cls = slab_class_of(units);
    uint32_t ref = 0;
    strom_err err = slab_alloc(slab, cls, &ref);
    if (err) {
        return err;
    }
    if (st->spine_ref) {
        memcpy(slab_ptr(slab, ref), slab_ptr(slab, st->spine_ref),
               (size_t)st->spine_count * STORE_ENTRY_BYTES);
        slab_free(slab, st->spine_ref, st->spine_class);
    }
    st->spine_ref = ref;
    st->spine_class = cls;
    return STROM_OK;
}

void spine_push(struct store_slab *slab, struct store_stream *st, const struct store_entry *e) {
    strom_assert(st->spine_count < spine_cap(st));
    struct store_entry *entries = spine_entries(slab, st);
    strom_assert(st->spine_count == 0 || entries[st->spine_count - 1].level >= e->level);
    entries[st->spine_count++] = *e;
}

void spine_collapse(struct store_slab *slab, struct store_stream *st, uint32_t at, uint32_t n,
                    const struct store_entry *e) {
    strom_assert(n >= 1 && at + n <= st->spine_count);
    struct store_entry *entries = spine_entries(slab, st);
    entries[at] = *e;
    memmove(&entries[at + 1], &entries[at + n],
            (size_t)(st->spine_count - at - n) * STORE_ENTRY_BYTES);
    st->spine_count = (uint16_t)(st->spine_count - (n - 1));
}

void spine_release(struct store_slab *slab, struct store_stream *st) {
    if (st->spine_ref) {
        slab_free(slab, st->spine_ref, st->spine_class);
    }
    st->spine_ref = 0;
    st->spine_count = 0;
    st->spine_class = 0;
}
