/* producers.c: idempotence windows in shared memory with sampled eviction (see producers.h). */
#include "node/producers.h"

#include <string.h>

#include "base/assert.h"

static uint32_t producers_slots_for(uint32_t capacity) {
    uint32_t slots = 2;
    while (slots < 2ull * capacity) {
        slots *= 2;
    }
    return slots;
}

size_t producers_region_bytes(uint32_t capacity) {
    strom_assert(capacity >= 1 && capacity <= PRODUCER_CAPACITY_MAX);
    return sizeof(struct producers_header) + (size_t)capacity * sizeof(struct producer) +
           (size_t)producers_slots_for(capacity) * sizeof(uint32_t);
}

void producers_format(void *region, uint32_t capacity, uint32_t window) {
    strom_assert(window >= 1 && window <= PRODUCER_WINDOW_MAX);
    strom_assert(((uintptr_t)region & 7u) == 0);
    struct producers_header *h = region;
    strom_assert(h->magic == 0 && h->count == 0);
    h->capacity = capacity;
    h->window = window;
    h->index_slots = producers_slots_for(capacity);
    h->magic = PRODUCERS_MAGIC;
}

/* A 64-bit mix (the splitmix64 finalizer) of the pair, for the index. */
static uint64_t producers_hash(uint64_t stream_id, uint64_t producer_id) {
    uint64_t z = stream_id * 0x9e3779b97f4a7c15u ^ producer_id;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The index slot holding the pair, or the empty slot where it would go. */
static uint32_t producers_probe(const struct producers *p, uint64_t stream_id, uint64_t producer_id,
                                bool *found) {
    uint32_t mask = p->header->index_slots - 1;
    uint32_t i = (uint32_t)producers_hash(stream_id, producer_id) & mask;
    for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        uint32_t v = p->index[i];
        if (v == 0) {
            *found = false;
            return i;
        }
        const struct producer *st = &p->states[v - 1];
        if (st->stream_id == stream_id && st->producer_id == producer_id) {
            *found = true;
            return i;
        }
    }
    strom_unreachable(); /* at most half the slots are used */
}

strom_err producers_attach(struct producers *p, void *region, size_t region_bytes) {
    struct producers_header *h = region;
    if (region_bytes < sizeof *h || h->magic != PRODUCERS_MAGIC || h->capacity == 0 ||
        h->capacity > PRODUCER_CAPACITY_MAX || h->window == 0 || h->window > PRODUCER_WINDOW_MAX ||
        h->count > h->capacity || h->index_slots != producers_slots_for(h->capacity) ||
        producers_region_bytes(h->capacity) != region_bytes) {
        return STROM_ERR_CORRUPT;
    }
    p->header = h;
    p->states = (struct producer *)(h + 1);
    p->index = (uint32_t *)(p->states + h->capacity);
    p->sample_state = 0x853c49e6748fea9bu ^ h->clock;
    /* Rebuild the index: a sequencer may have died in the middle of changing it. Of two states
     * with one key (a half-made state), the more recently used one is indexed. */
    memset(p->index, 0, (size_t)h->index_slots * sizeof(uint32_t));
    for (uint32_t s = 0; s < h->count; s++) {
        struct producer *st = &p->states[s];
        st->batch_count = st->batch_count > h->window ? h->window : st->batch_count;
        st->newest = st->newest % h->window;
        bool found = false;
        uint32_t slot = producers_probe(p, st->stream_id, st->producer_id, &found);
        if (!found || p->states[p->index[slot] - 1].last_used < st->last_used) {
            p->index[slot] = s + 1;
        }
    }
    return STROM_OK;
}

/* Removes index slot i by backward-shift deletion (linear probing keeps no tombstones). */
static void producers_index_delete(struct producers *p, uint32_t i) {
    uint32_t mask = p->header->index_slots - 1;
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; p->index[j] != 0; j = (j + 1) & mask) {
        const struct producer *st = &p->states[p->index[j] - 1];
        uint32_t home = (uint32_t)producers_hash(st->stream_id, st->producer_id) & mask;
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            p->index[hole] = p->index[j];
            hole = j;
        }
    }
    p->index[hole] = 0;
}

/* Picks the least recently used of a few random states, unindexes it and returns it. */
static uint32_t producers_evict(struct producers *p) {
    struct producers_header *h = p->header;
    strom_assert(h->count == h->capacity);
    uint32_t victim = 0;
    uint64_t oldest = UINT64_MAX;
    for (int k = 0; k < PRODUCER_EVICT_SAMPLES; k++) {
        p->sample_state ^= p->sample_state << 13; /* xorshift64 (Marsaglia 2003) */
        p->sample_state ^= p->sample_state >> 7;
        p->sample_state ^= p->sample_state << 17;
        uint32_t s = (uint32_t)(p->sample_state % h->capacity);
        if (p->states[s].last_used < oldest) {
            oldest = p->states[s].last_used;
            victim = s;
        }
    }
    bool found = false;
    const struct producer *st = &p->states[victim];
    uint32_t slot = producers_probe(p, st->stream_id, st->producer_id, &found);
    if (found && p->index[slot] == victim + 1) {
        producers_index_delete(p, slot);
    }
    h->evictions++;
    return victim;
}

/* The state of the pair, or NULL; marks it used. */
static struct producer *producers_find(struct producers *p, uint64_t stream_id,
                                       uint64_t producer_id) {
    bool found = false;
    uint32_t slot = producers_probe(p, stream_id, producer_id, &found);
    if (!found) {
        return NULL;
    }
    struct producer *st = &p->states[p->index[slot] - 1];
    st->last_used = ++p->header->clock;
    return st;
}

strom_err producers_check(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                          uint64_t sequence, uint32_t span, bool retry,
                          struct producer_batch *original_out) {
    strom_assert(span >= 1);
    if (sequence > UINT64_MAX - span) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    const struct producer *st = producers_find(p, stream_id, producer_id);
    if (st == NULL && retry) {
        return STROM_ERR_SEQUENCE_TOO_OLD; /* forgotten: whether it was applied is unknown */
    }
    if (st == NULL || sequence == st->next_sequence) {
        return STROM_OK;
    }
    if (sequence > st->next_sequence) {
        return st->recovered ? STROM_OK : STROM_ERR_OUT_OF_ORDER_SEQUENCE;
    }
    uint64_t oldest = UINT64_MAX;
    for (uint32_t k = 0; k < st->batch_count; k++) {
        const struct producer_batch *b = &st->batches[k];
        oldest = b->sequence < oldest ? b->sequence : oldest;
        if (b->sequence == sequence && b->span == span) {
            *original_out = *b;
            return STROM_ERR_EXISTS;
        }
    }
    return sequence < oldest ? STROM_ERR_SEQUENCE_TOO_OLD : STROM_ERR_OUT_OF_ORDER_SEQUENCE;
}

/* A fresh state for the pair, evicting when the table is full. */
static struct producer *producers_add(struct producers *p, uint64_t stream_id,
                                      uint64_t producer_id) {
    struct producers_header *h = p->header;
    uint32_t s = h->count < h->capacity ? h->count : producers_evict(p);
    struct producer *st = &p->states[s];
    memset(st, 0, sizeof *st);
    st->stream_id = stream_id;
    st->producer_id = producer_id;
    st->last_used = ++h->clock;
    /* After a start on stored data or an eviction, it may be a pair whose window the crash (a
     * rebuild holds only a bounded tail of the stores) or the eviction lost: its acknowledged
     * ack-1 batches may be gone as for a rebuilt window, so it gets the same allowance
     * (producers.h; strom-sim seed 1989). */
    st->recovered = h->windows_lost != 0 || h->evictions > 0 ? h->window : 0;
    bool found = false;
    /* Probe after the eviction: it may have shifted slots. */
    uint32_t slot = producers_probe(p, stream_id, producer_id, &found);
    strom_assert(!found);
    p->index[slot] = s + 1;
    h->count += h->count < h->capacity ? 1 : 0;
    return st;
}

void producers_mark_recovered(struct producers *p, bool data_found) {
    p->header->windows_lost |= data_found ? 1 : 0;
    for (uint32_t i = 0; i < p->header->count; i++) {
        p->states[i].recovered = p->header->window;
    }
}

void producers_record(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                      const struct producer_batch *b) {
    strom_assert(b->span >= 1 && b->count >= 1 && b->sequence <= UINT64_MAX - b->span);
    uint32_t window = p->header->window;
    struct producer *st = producers_find(p, stream_id, producer_id);
    if (st == NULL) {
        st = producers_add(p, stream_id, producer_id);
    } else if (b->sequence < st->next_sequence) {
        return; /* already recorded, or older than what the window holds: a replay */
    }
    /* Entry first, then its bookkeeping, then next_sequence: a crash in between leaves a state
     * that recording the same batch again repairs. */
    uint32_t at = st->batch_count == 0 ? 0 : (st->newest + 1) % window;
    st->recovered -= st->recovered > 0 ? 1 : 0;
    st->batches[at] = *b;
    st->newest = at;
    st->batch_count += st->batch_count < window ? 1 : 0;
    st->next_sequence = b->sequence + b->span;
    strom_assert(st->batch_count <= window);
}
