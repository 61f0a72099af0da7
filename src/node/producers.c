/* producers.c: idempotence windows with LRU eviction (see producers.h). */
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

size_t producers_bytes(uint32_t capacity) {
    strom_assert(capacity >= 1 && capacity <= PRODUCER_CAPACITY_MAX);
    return (size_t)capacity * sizeof(struct producer) +
           (size_t)producers_slots_for(capacity) * sizeof(uint32_t);
}

void producers_init(struct producers *p, void *memory, uint32_t capacity, uint32_t window) {
    strom_assert(window >= 1 && window <= PRODUCER_WINDOW_MAX);
    strom_assert(((uintptr_t)memory & 7u) == 0);
    memset(p, 0, sizeof *p);
    p->capacity = capacity;
    p->window = window;
    p->index_slots = producers_slots_for(capacity);
    p->lru_head = PRODUCER_NONE;
    p->lru_tail = PRODUCER_NONE;
    p->states = memory;
    p->index = (uint32_t *)(p->states + capacity);
    memset(p->index, 0, (size_t)p->index_slots * sizeof(uint32_t));
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
    uint32_t mask = p->index_slots - 1;
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

static void lru_unlink(struct producers *p, uint32_t s) {
    struct producer *st = &p->states[s];
    if (st->lru_prev != PRODUCER_NONE) {
        p->states[st->lru_prev].lru_next = st->lru_next;
    } else {
        p->lru_head = st->lru_next;
    }
    if (st->lru_next != PRODUCER_NONE) {
        p->states[st->lru_next].lru_prev = st->lru_prev;
    } else {
        p->lru_tail = st->lru_prev;
    }
    st->lru_prev = PRODUCER_NONE;
    st->lru_next = PRODUCER_NONE;
}

static void lru_push_head(struct producers *p, uint32_t s) {
    struct producer *st = &p->states[s];
    st->lru_prev = PRODUCER_NONE;
    st->lru_next = p->lru_head;
    if (p->lru_head != PRODUCER_NONE) {
        p->states[p->lru_head].lru_prev = s;
    } else {
        p->lru_tail = s;
    }
    p->lru_head = s;
}

/* Removes index slot i by backward-shift deletion (linear probing keeps no tombstones). */
static void producers_index_delete(struct producers *p, uint32_t i) {
    uint32_t mask = p->index_slots - 1;
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

/* Forgets the least recently used pair and returns its state index, now free. */
static uint32_t producers_evict(struct producers *p) {
    uint32_t s = p->lru_tail;
    strom_assert(s != PRODUCER_NONE && p->count == p->capacity);
    bool found = false;
    uint32_t slot = producers_probe(p, p->states[s].stream_id, p->states[s].producer_id, &found);
    strom_assert(found);
    producers_index_delete(p, slot);
    lru_unlink(p, s);
    p->evictions++;
    return s;
}

/* The state of the pair, or NULL. Moves it to the front of the LRU list. */
static struct producer *producers_find(struct producers *p, uint64_t stream_id,
                                       uint64_t producer_id) {
    bool found = false;
    uint32_t slot = producers_probe(p, stream_id, producer_id, &found);
    if (!found) {
        return NULL;
    }
    uint32_t s = p->index[slot] - 1;
    lru_unlink(p, s);
    lru_push_head(p, s);
    return &p->states[s];
}

strom_err producers_check(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                          uint64_t sequence, uint32_t span, struct producer_batch *original_out) {
    strom_assert(span >= 1);
    if (sequence > UINT64_MAX - span) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    const struct producer *st = producers_find(p, stream_id, producer_id);
    if (st == NULL || sequence == st->next_sequence) {
        return STROM_OK;
    }
    if (sequence > st->next_sequence) {
        return STROM_ERR_OUT_OF_ORDER_SEQUENCE;
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

/* A fresh state for the pair at index slot, evicting when the table is full. */
static struct producer *producers_add(struct producers *p, uint64_t stream_id,
                                      uint64_t producer_id) {
    uint32_t s = p->count < p->capacity ? p->count++ : producers_evict(p);
    bool found = false;
    /* Probe again: an eviction may have shifted slots. */
    uint32_t slot = producers_probe(p, stream_id, producer_id, &found);
    strom_assert(!found);
    struct producer *st = &p->states[s];
    memset(st, 0, sizeof *st);
    st->stream_id = stream_id;
    st->producer_id = producer_id;
    p->index[slot] = s + 1;
    lru_push_head(p, s);
    return st;
}

void producers_record(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                      const struct producer_batch *b) {
    strom_assert(b->span >= 1 && b->count >= 1 && b->sequence <= UINT64_MAX - b->span);
    struct producer *st = producers_find(p, stream_id, producer_id);
    if (st == NULL) {
        st = producers_add(p, stream_id, producer_id);
    } else if (b->sequence < st->next_sequence) {
        return; /* already recorded, or older than what the window holds: a replay */
    }
    uint32_t at = st->batch_count == 0 ? 0 : (st->newest + 1) % p->window;
    st->batches[at] = *b;
    st->newest = at;
    st->batch_count += st->batch_count < p->window ? 1 : 0;
    st->next_sequence = b->sequence + b->span;
    strom_assert(st->batch_count <= p->window);
}
