/*
 * ring_reader.c: a reader of a ring (see ring.h, docs/ring.md).
 *
 * Writes its slot's position (ring_reader_commit, ring_reader_rejoin), its bit of waiting_mask
 * (set to ask for a wake-up, cleared when it stops waiting) and, through ring_wake_writer,
 * writer_waiting (to 0) and space_seq. Its cursor is process-local: only commit makes progress
 * visible, so a reader that dies re-reads from its last commit (at least once).
 *
 * A mandatory reader trusts what it reads: the writer never overwrites bytes beyond its slot's
 * position. An optional reader checks after using the bytes that the writer's intent has not
 * passed the entry's position + capacity (Aeron's broadcast receiver does the same with its
 * tail-intent counter): bytes seen before that check are discarded when it fails.
 */
#include "ring/ring.h"

#include <string.h>

#include "base/assert.h"
#include "ring/ring_internal.h"

strom_err ring_reader_open(struct ring_reader *r, void *mem, size_t mem_bytes, struct io *io,
                           uint32_t slot) {
    strom_assert(r != NULL);
    struct ring ring;
    strom_err err = ring_attach(&ring, mem, mem_bytes, io);
    if (err != STROM_OK) {
        return err;
    }
    if (slot >= RING_READERS_MAX) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    const struct ring_slot *s = &ring.slots[slot];
    if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != RING_SLOT_ACTIVE) {
        return STROM_ERR_NOT_FOUND;
    }
    uint64_t position = __atomic_load_n(&s->position, __ATOMIC_ACQUIRE);
    *r = (struct ring_reader){
        .ring = ring,
        .slot = slot,
        .kind = s->kind,
        .claims = __atomic_load_n(&s->claims, __ATOMIC_ACQUIRE),
        .spin_max = RING_SPIN_DEFAULT,
        .cursor = position,
        .committed = position,
    };
    strom_assert(r->kind == RING_READER_MANDATORY || r->kind == RING_READER_OPTIONAL);
    return STROM_OK;
}

/* true when the writer may have overwritten bytes at position or after it (a lap). */
static bool reader_lapped(const struct ring_reader *r, uint64_t position) {
    /* Pairs with the writer's release fence after it raised the intent: if anything this reader
     * loaded before came from a write past that fence, the intent loaded here covers it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t intent = __atomic_load_n(&r->ring.header->intent, __ATOMIC_RELAXED);
    return intent > position + r->ring.capacity_bytes;
}

/* Finds the entry at the cursor, moving the cursor over padding but not over the entry. */
static strom_err reader_peek(struct ring_reader *r, struct ring_entry *entry) {
    const struct ring *ring = &r->ring;
    bool optional = r->kind == RING_READER_OPTIONAL;
    for (int pass = 0; pass < 2; pass++) { /* at most one padding, then an entry */
        uint64_t position = r->cursor;
        uint64_t word = __atomic_load_n(ring_word_at(ring, position), __ATOMIC_ACQUIRE);
        if (word == 0) {
            return optional && reader_lapped(r, position) ? STROM_ERR_OUT_OF_RANGE
                                                          : STROM_ERR_AGAIN;
        }
        uint64_t bytes = ring_word_check(ring, position, word);
        if (bytes == 0) {
            return reader_lapped(r, position) ? STROM_ERR_OUT_OF_RANGE : STROM_ERR_CORRUPT;
        }
        if (ring_word_type(word) == RING_TYPE_PADDING) {
            if (optional && reader_lapped(r, position)) {
                return STROM_ERR_OUT_OF_RANGE;
            }
            r->cursor = position + bytes;
            continue;
        }
        *entry = (struct ring_entry){
            .body = ring->data + (position & ring->mask) + RING_ENTRY_HEADER_BYTES,
            .position = position,
            .next_position = position + bytes,
            .body_bytes = ring_word_length(word) - RING_ENTRY_HEADER_BYTES,
            .type = ring_word_type(word),
        };
        return STROM_OK;
    }
    return reader_lapped(r, r->cursor) ? STROM_ERR_OUT_OF_RANGE : STROM_ERR_CORRUPT;
}

strom_err ring_read(struct ring_reader *r, struct ring_entry *entry) {
    strom_assert(r->ring.header != NULL && entry != NULL);
    strom_err err = reader_peek(r, entry);
    if (err == STROM_OK) {
        r->cursor = entry->next_position;
    }
    return err;
}

strom_err ring_read_copy(struct ring_reader *r, void *buf, size_t buf_bytes,
                         struct ring_entry *entry) {
    strom_assert(entry != NULL && (buf != NULL || buf_bytes == 0));
    bool optional = r->kind == RING_READER_OPTIONAL;
    struct ring_entry found;
    strom_err err = reader_peek(r, &found);
    if (err != STROM_OK) {
        return err;
    }
    if (found.body_bytes > buf_bytes) {
        /* The length itself may be a lapped one: report the lap rather than a wrong size. */
        if (optional && reader_lapped(r, found.position)) {
            return STROM_ERR_OUT_OF_RANGE;
        }
        *entry = found;
        entry->body = NULL;
        return STROM_ERR_OVERFLOW;
    }
    memcpy(buf, found.body, found.body_bytes);
    if (optional && reader_lapped(r, found.position)) {
        return STROM_ERR_OUT_OF_RANGE;
    }
    found.body = buf;
    *entry = found;
    r->cursor = found.next_position;
    return STROM_OK;
}

strom_err ring_reader_check(struct ring_reader *r, const struct ring_entry *entry) {
    strom_assert(entry != NULL && entry->next_position > entry->position);
    return reader_lapped(r, entry->position) ? STROM_ERR_OUT_OF_RANGE : STROM_OK;
}

strom_err ring_reader_commit(struct ring_reader *r) {
    return ring_reader_commit_at(r, r->cursor);
}

strom_err ring_reader_commit_at(struct ring_reader *r, uint64_t position) {
    struct ring_slot *s = &r->ring.slots[r->slot];
    strom_assert(position >= r->committed && position <= r->cursor);
    if (__atomic_load_n(&s->claims, __ATOMIC_ACQUIRE) != r->claims ||
        __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != RING_SLOT_ACTIVE) {
        return STROM_ERR_NOT_FOUND;
    }
    if (position != r->committed) {
        /* Sequentially consistent, then writer_waiting: the reader's half of the handshake that
         * wakes a writer waiting for space (see writer_limit). */
        __atomic_store_n(&s->position, position, __ATOMIC_SEQ_CST);
        r->committed = position;
        if (__atomic_load_n(&r->ring.header->writer_waiting, __ATOMIC_SEQ_CST) != 0) {
            ring_wake_writer(&r->ring);
        }
    }
    return STROM_OK;
}

void ring_reader_rejoin(struct ring_reader *r) {
    strom_assert(r->kind == RING_READER_OPTIONAL);
    uint64_t tail = ring_tail(&r->ring);
    r->cursor = tail;
    r->committed = tail;
    r->lap_count++;
    __atomic_store_n(&r->ring.slots[r->slot].position, tail, __ATOMIC_SEQ_CST);
}

/* true when ring_read would not return AGAIN. */
static bool reader_available(const struct ring_reader *r) {
    /* The tail, sequentially consistent: the reader's half of the wake-up handshake with
     * ring_publish. The word covers entries a crashed writer published without the tail. */
    if (__atomic_load_n(&r->ring.header->tail, __ATOMIC_SEQ_CST) > r->cursor) {
        return true;
    }
    return __atomic_load_n(ring_word_at(&r->ring, r->cursor), __ATOMIC_ACQUIRE) != 0;
}

bool ring_reader_arm(struct ring_reader *r) {
    uint64_t bit = (uint64_t)1 << r->slot;
    __atomic_fetch_or(&r->ring.header->waiting_mask, bit, __ATOMIC_SEQ_CST);
    return reader_available(r);
}

strom_err ring_reader_wait(struct ring_reader *r, uint64_t timeout_ns) {
    struct ring *ring = &r->ring;
    struct ring_header *h = ring->header;
    for (uint32_t i = 0; timeout_ns > 0 && i < r->spin_max; i++) {
        if (reader_available(r)) {
            return STROM_OK;
        }
        ring_cpu_relax();
    }
    uint64_t now = io_clock_monotonic_ns(ring->io);
    uint64_t deadline = timeout_ns >= UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    uint64_t bit = (uint64_t)1 << r->slot;
    strom_err err = STROM_ERR_TIMEOUT;
    for (;;) {
        /* The sequence before the request, as in ring_writer_wait. */
        uint32_t seq = __atomic_load_n(&h->data_seq, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(&h->waiting_mask, bit, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(&h->futex_mask, bit, __ATOMIC_SEQ_CST); /* after the waiting bit */
        if (reader_available(r)) {
            err = STROM_OK;
            break;
        }
        now = io_clock_monotonic_ns(ring->io);
        if (now >= deadline) {
            break;
        }
        uint64_t sleep_ns = deadline == UINT64_MAX ? 0 : deadline - now; /* 0: no timeout */
        (void)io_futex_wait(ring->io, &h->data_seq, seq, sleep_ns);
    }
    /* Withdraw a request the writer did not take, so that it does not wake us for nothing. */
    if ((__atomic_load_n(&h->waiting_mask, __ATOMIC_RELAXED) & bit) != 0) {
        __atomic_fetch_and(&h->waiting_mask, ~bit, __ATOMIC_SEQ_CST);
    }
    __atomic_fetch_and(&h->futex_mask, ~bit, __ATOMIC_SEQ_CST);
    return err;
}
