/* registry.c: the shared stream registry (see registry.h). */
#include "node/registry.h"

#include <string.h>

#include "base/assert.h"
#include "node/path.h"

static uint32_t registry_slots_for(uint32_t streams_max) {
    uint32_t slots = 2;
    while (slots < 2ull * streams_max) {
        slots *= 2;
    }
    return slots;
}

size_t registry_region_bytes(uint32_t streams_max, uint64_t arena_bytes) {
    strom_assert(streams_max >= 1 && streams_max <= REGISTRY_STREAMS_MAX);
    return sizeof(struct registry_header) + (size_t)registry_slots_for(streams_max) * 8u +
           (size_t)streams_max * sizeof(struct node_stream) + (size_t)arena_bytes;
}

static void registry_view(struct registry *r, void *region) {
    struct registry_header *h = region;
    char *base = region;
    r->header = h;
    r->slots = (uint64_t *)(base + sizeof *h);
    r->streams = (struct node_stream *)(base + sizeof *h + (size_t)h->index_slots * 8u);
    r->arena = (char *)(r->streams + h->streams_max);
}

strom_err registry_attach(struct registry *r, void *region, size_t region_bytes) {
    const struct registry_header *h = region;
    if (region_bytes < sizeof *h || h->magic != REGISTRY_MAGIC || h->streams_max == 0 ||
        h->streams_max > REGISTRY_STREAMS_MAX ||
        h->index_slots != registry_slots_for(h->streams_max) || h->arena_bytes > UINT32_MAX ||
        registry_region_bytes(h->streams_max, h->arena_bytes) != region_bytes) {
        return STROM_ERR_CORRUPT;
    }
    registry_view(r, region);
    return STROM_OK;
}

uint64_t registry_count(const struct registry *r) {
    return __atomic_load_n(&r->header->stream_count, __ATOMIC_ACQUIRE);
}

struct node_stream *registry_stream(const struct registry *r, uint64_t id) {
    strom_assert(id < r->header->streams_max);
    return &r->streams[id];
}

const char *registry_path(const struct registry *r, uint64_t id, size_t *len_out) {
    strom_assert(id < registry_count(r));
    const struct node_stream *s = &r->streams[id];
    strom_assert((uint64_t)s->path_offset + s->path_len <= r->header->arena_bytes);
    *len_out = s->path_len;
    return r->arena + s->path_offset;
}

/* The slot where path (hash h) is, or the empty slot where it would go; *found says which. */
static uint32_t registry_probe(const struct registry *r, const char *path, size_t len, uint64_t h,
                               bool *found) {
    uint32_t mask = r->header->index_slots - 1;
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t i = (uint32_t)h & mask;
    /* At most half the slots are used, so an empty slot ends every probe. */
    for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        uint64_t slot = __atomic_load_n(&r->slots[i], __ATOMIC_ACQUIRE);
        if (slot == 0) {
            *found = false;
            return i;
        }
        uint64_t id = (slot & 0xffffffffu) - 1;
        const struct node_stream *s = &r->streams[id];
        if ((uint32_t)(slot >> 32) == tag && s->path_len == len &&
            memcmp(r->arena + s->path_offset, path, len) == 0) {
            *found = true;
            return i;
        }
    }
    strom_unreachable();
}

bool registry_find(const struct registry *r, const char *path, size_t len, uint64_t *id_out) {
    bool found = false;
    uint32_t i = registry_probe(r, path, len, path_hash(path, len), &found);
    if (found) {
        *id_out = (__atomic_load_n(&r->slots[i], __ATOMIC_ACQUIRE) & 0xffffffffu) - 1;
    }
    return found;
}

/* Writes the record and the arena bytes of id, then publishes it: count, then the index slot. */
static void registry_publish(struct registry *r, uint64_t id, const char *path, size_t len,
                             uint32_t slot) {
    struct registry_header *h = r->header;
    uint64_t at = h->arena_used;
    memcpy(r->arena + at, path, len);
    struct node_stream *s = &r->streams[id];
    __atomic_store_n(&s->next_offset, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->last_timestamp_ns, 0, __ATOMIC_RELAXED);
    s->path_offset = (uint32_t)at;
    s->path_len = (uint16_t)len;
    s->epoch = 0;
    __atomic_store_n(&h->arena_used, at + len, __ATOMIC_RELEASE);
    __atomic_store_n(&h->stream_count, id + 1, __ATOMIC_RELEASE);
    uint64_t tag = path_hash(path, len) >> 32;
    __atomic_store_n(&r->slots[slot], (tag << 32) | (id + 1), __ATOMIC_RELEASE);
}

/* true when the last counted stream has this path (then it is not indexed, or it would have been
 * found). */
static bool registry_last_unindexed(const struct registry *r, const char *path, size_t len) {
    uint64_t count = r->header->stream_count;
    if (count == 0) {
        return false;
    }
    const struct node_stream *s = &r->streams[count - 1];
    return s->path_len == len && memcmp(r->arena + s->path_offset, path, len) == 0;
}

strom_err registry_insert(struct registry *r, const char *path, size_t len, uint64_t expect_id,
                          uint64_t *id_out) {
    strom_assert(path_check(path, len) == STROM_OK);
    struct registry_header *h = r->header;
    bool found = false;
    uint32_t slot = registry_probe(r, path, len, path_hash(path, len), &found);
    uint64_t id = h->stream_count;
    strom_err err = STROM_OK;
    if (!found && registry_last_unindexed(r, path, len)) {
        /* A sequencer died between counting the last stream and indexing it: finish that. */
        id -= 1;
        uint64_t tag = path_hash(path, len) >> 32;
        __atomic_store_n(&r->slots[slot], (tag << 32) | (id + 1), __ATOMIC_RELEASE);
        err = expect_id == UINT64_MAX || expect_id == id ? STROM_ERR_EXISTS : STROM_ERR_CORRUPT;
    } else if (found) {
        id = (r->slots[slot] & 0xffffffffu) - 1;
        err = expect_id == UINT64_MAX || expect_id == id ? STROM_ERR_EXISTS : STROM_ERR_CORRUPT;
    } else if (expect_id != UINT64_MAX && expect_id != id) {
        err = STROM_ERR_CORRUPT;
    } else if (id >= h->streams_max || h->arena_used + len > h->arena_bytes) {
        err = STROM_ERR_LIMIT;
    } else {
        registry_publish(r, id, path, len, slot);
    }
    *id_out = id;
    strom_assert(err != STROM_OK || registry_count(r) == id + 1);
    return err;
}

void registry_format(void *region, uint32_t streams_max, uint64_t arena_bytes) {
    strom_assert(arena_bytes <= UINT32_MAX && arena_bytes >= sizeof PATH_SYS_CMD);
    struct registry_header *h = region;
    strom_assert(h->magic == 0 && h->stream_count == 0);
    h->streams_max = streams_max;
    h->index_slots = registry_slots_for(streams_max);
    h->arena_bytes = arena_bytes;
    struct registry r;
    registry_view(&r, region);
    uint64_t id = UINT64_MAX;
    strom_err err = registry_insert(&r, PATH_SYS_CMD, sizeof PATH_SYS_CMD - 1, 0, &id);
    strom_assert(err == STROM_OK && id == 0);
    __atomic_store_n(&h->magic, REGISTRY_MAGIC, __ATOMIC_RELEASE);
}
