/*
 * ring.c: a ring region's header and reader slots (see ring.h, docs/ring.md).
 *
 * Holds formatting, validation on attach, and the slot life cycle (claim, release). The slot
 * fields state, kind, owner and claims are written only here; position is written by the slot's
 * reader (ring_reader.c) and, at claim, here.
 *
 * Joining a mandatory reader while the writer runs is a Dekker-style handshake: the claim stores
 * the slot's position and sets the bit in mandatory_mask (sequentially consistent), then loads the
 * tail again and starts there; the writer stores its tail, then loads mandatory_mask (also
 * sequentially consistent). Either the writer sees the new slot, or the claim sees the writer's
 * latest tail, and every limit the writer computed without the slot stays within one capacity of
 * that tail. docs/ring.md gives the argument in full.
 */
#include "ring/ring.h"

#include <string.h>

#include "base/assert.h"
#include "ring/ring_internal.h"

size_t ring_region_bytes(uint64_t capacity_bytes) {
    return (size_t)(RING_DATA_OFFSET + capacity_bytes);
}

uint32_t ring_body_bytes_max(const struct ring *ring) {
    strom_assert(ring->capacity_bytes >= RING_CAPACITY_MIN);
    return (uint32_t)(ring->capacity_bytes / 4 - RING_ENTRY_HEADER_BYTES);
}

static bool capacity_valid(uint64_t capacity_bytes) {
    return capacity_bytes >= RING_CAPACITY_MIN && capacity_bytes <= RING_CAPACITY_MAX &&
           (capacity_bytes & (capacity_bytes - 1)) == 0;
}

strom_err ring_format(void *mem, size_t mem_bytes, uint64_t capacity_bytes) {
    if (mem == NULL || (uintptr_t)mem % RING_SLOT_BYTES != 0 || !capacity_valid(capacity_bytes) ||
        mem_bytes < ring_region_bytes(capacity_bytes)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    /* The header page, the slots and the first header word of the data area: all a reader or a
     * recovering writer looks at before the writer's own stores (every publish zeroes the word
     * after its entry first; docs/ring.md, "The next word is zero or a later entry"). Not the
     * whole data area: that touched every page of a fresh region (a fresh memfd is zero anyway),
     * 10-30 ms per ring, and on a mapping without MAP_POPULATE faulted all of it in at start. */
    memset(mem, 0, RING_DATA_OFFSET + RING_ENTRY_HEADER_BYTES);
    struct ring_header *h = mem;
    h->version = RING_VERSION;
    h->entry_align = RING_ALIGN;
    h->capacity_bytes = capacity_bytes;
    h->readers_max = RING_READERS_MAX;
    h->slot_bytes = RING_SLOT_BYTES;
    h->slots_offset = RING_SLOTS_OFFSET;
    h->data_offset = RING_DATA_OFFSET;
    h->last_position = RING_POSITION_NONE;
    /* Magic last, with release: whoever sees it sees a complete header. */
    __atomic_store_n(&h->magic, RING_MAGIC, __ATOMIC_RELEASE);
    strom_assert(h->tail == 0 && h->intent == 0);
    return STROM_OK;
}

static strom_err header_check(const struct ring_header *h, size_t mem_bytes) {
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != RING_MAGIC) {
        return STROM_ERR_CORRUPT;
    }
    if (h->version != RING_VERSION) {
        return STROM_ERR_UNSUPPORTED_VERSION;
    }
    bool ok = h->entry_align == RING_ALIGN && h->readers_max == RING_READERS_MAX &&
              h->slot_bytes == RING_SLOT_BYTES && h->slots_offset == RING_SLOTS_OFFSET &&
              h->data_offset == RING_DATA_OFFSET && capacity_valid(h->capacity_bytes) &&
              mem_bytes >= ring_region_bytes(h->capacity_bytes);
    return ok ? STROM_OK : STROM_ERR_CORRUPT;
}

strom_err ring_attach(struct ring *ring, void *mem, size_t mem_bytes, struct io *io) {
    strom_assert(ring != NULL && io != NULL);
    if (mem == NULL || (uintptr_t)mem % RING_SLOT_BYTES != 0 || mem_bytes < RING_DATA_OFFSET) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct ring_header *h = mem;
    strom_err err = header_check(h, mem_bytes);
    if (err != STROM_OK) {
        return err;
    }
    uint32_t log2 = (uint32_t)__builtin_ctzll(h->capacity_bytes);
    *ring = (struct ring){
        .header = h,
        .slots = (struct ring_slot *)(void *)((uint8_t *)mem + RING_SLOTS_OFFSET),
        .data = (uint8_t *)mem + RING_DATA_OFFSET,
        .capacity_bytes = h->capacity_bytes,
        .mask = h->capacity_bytes - 1,
        .capacity_log2 = log2,
        .writer_wake_fd = -1,
        .io = io,
    };
    strom_assert(((uint64_t)1 << log2) == ring->capacity_bytes);
    return STROM_OK;
}

void ring_set_writer_wake_fd(struct ring *ring, int fd) {
    strom_assert(fd >= -1);
    ring->writer_wake_fd = fd;
}

uint64_t ring_tail(const struct ring *ring) {
    return __atomic_load_n(&ring->header->tail, __ATOMIC_ACQUIRE);
}

strom_err ring_slot_claim(struct ring *ring, uint32_t slot, enum ring_reader_kind kind,
                          uint64_t owner) {
    strom_assert(ring->header != NULL);
    if (slot >= RING_READERS_MAX ||
        (kind != RING_READER_MANDATORY && kind != RING_READER_OPTIONAL)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct ring_slot *s = &ring->slots[slot];
    uint32_t expected = RING_SLOT_FREE;
    if (!__atomic_compare_exchange_n(&s->state, &expected, RING_SLOT_CLAIMING, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return STROM_ERR_EXISTS;
    }
    s->kind = (uint32_t)kind;
    s->owner = owner;
    __atomic_fetch_add(&s->claims, 1, __ATOMIC_SEQ_CST);
    uint64_t bit = (uint64_t)1 << slot;
    uint64_t position = __atomic_load_n(&ring->header->tail, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->position, position, __ATOMIC_SEQ_CST);
    if (kind == RING_READER_MANDATORY) {
        __atomic_fetch_or(&ring->header->mandatory_mask, bit, __ATOMIC_SEQ_CST);
        /* The handshake: a writer that did not see the bit computed its limit from a tail no
         * later than this one, so everything from here on is safe to read. */
        uint64_t again = __atomic_load_n(&ring->header->tail, __ATOMIC_SEQ_CST);
        strom_assert(again >= position);
        __atomic_store_n(&s->position, again, __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&s->state, RING_SLOT_ACTIVE, __ATOMIC_RELEASE);
    return STROM_OK;
}

strom_err ring_slot_claim_any(struct ring *ring, enum ring_reader_kind kind, uint64_t owner,
                              uint32_t *slot_out) {
    strom_assert(slot_out != NULL);
    for (uint32_t i = 0; i < RING_READERS_MAX; i++) {
        strom_err err = ring_slot_claim(ring, i, kind, owner);
        if (err == STROM_OK) {
            *slot_out = i;
            return STROM_OK;
        }
        if (err != STROM_ERR_EXISTS) {
            return err;
        }
    }
    return STROM_ERR_LIMIT;
}

strom_err ring_slot_release(struct ring *ring, uint32_t slot) {
    strom_assert(ring->header != NULL);
    if (slot >= RING_READERS_MAX) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct ring_slot *s = &ring->slots[slot];
    if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == RING_SLOT_FREE) {
        return STROM_ERR_NOT_FOUND;
    }
    uint64_t bit = (uint64_t)1 << slot;
    __atomic_fetch_and(&ring->header->mandatory_mask, ~bit, __ATOMIC_SEQ_CST);
    __atomic_fetch_and(&ring->header->waiting_mask, ~bit, __ATOMIC_SEQ_CST);
    /* claims moves on, so that a reader still holding the slot has its commits refused. */
    __atomic_fetch_add(&s->claims, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->state, RING_SLOT_FREE, __ATOMIC_SEQ_CST);
    ring_wake_writer(ring);
    return STROM_OK;
}

void ring_slot_get(const struct ring *ring, uint32_t slot, struct ring_slot_info *info) {
    strom_assert(slot < RING_READERS_MAX && info != NULL);
    const struct ring_slot *s = &ring->slots[slot];
    info->state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    info->kind = s->kind;
    info->claims = __atomic_load_n(&s->claims, __ATOMIC_ACQUIRE);
    info->position = __atomic_load_n(&s->position, __ATOMIC_ACQUIRE);
    info->owner = s->owner;
}

void ring_wake_writer(struct ring *ring) {
    struct ring_header *h = ring->header;
    /* Only the reader that takes the flag wakes: one futex call per writer sleep, not one per
     * commit. */
    if (__atomic_exchange_n(&h->writer_waiting, 0, __ATOMIC_SEQ_CST) != 0) {
        __atomic_fetch_add(&h->space_seq, 1, __ATOMIC_SEQ_CST);
        (void)io_futex_wake(ring->io, &h->space_seq, INT32_MAX);
        if (ring->writer_wake_fd >= 0) {
            (void)io_event_signal(ring->io, ring->writer_wake_fd);
        }
    }
}
