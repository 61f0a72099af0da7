/*
 * ring_writer.c: the one writer of a ring (see ring.h, docs/ring.md).
 *
 * Writes the shared fields tail, intent, last_position, writer_opens and data_seq, the data area,
 * and writer_waiting (to 1). Everything else it only reads.
 *
 * An entry goes in four steps: (1) check that its bytes plus the next header word lie below the
 * limit (the slowest active mandatory reader's position + capacity), recomputing the limit from
 * the slots only when the cached one is too low; (2) publish the intent (the end of those bytes)
 * before touching them, for optional readers to detect a lap; (3) write the body and zero the next
 * header word; (4) store the entry's header word with release order, then the tail, then look
 * whether readers asked to be woken.
 */
#include "ring/ring.h"

#include <string.h>

#include "base/assert.h"
#include "ring/ring_internal.h"

/* Where an entry of a given body size goes from the current tail. */
struct writer_plan {
    uint64_t pad_bytes;   /* padding to the end of the data area first, or 0 */
    uint64_t entry_bytes; /* aligned header + body */
    uint64_t end;         /* end of the bytes touched, the next header word included */
};

static struct writer_plan writer_plan(const struct ring_writer *w, uint32_t body_bytes) {
    const struct ring *ring = &w->ring;
    uint64_t entry_bytes = ring_aligned((uint64_t)RING_ENTRY_HEADER_BYTES + body_bytes);
    uint64_t room = ring->capacity_bytes - (w->tail & ring->mask);
    uint64_t pad_bytes = room < entry_bytes ? room : 0;
    strom_assert(entry_bytes <= ring->capacity_bytes / 4);
    return (struct writer_plan){
        .pad_bytes = pad_bytes,
        .entry_bytes = entry_bytes,
        .end = w->tail + pad_bytes + entry_bytes + RING_ENTRY_HEADER_BYTES,
    };
}

/* The slowest active mandatory reader's position (or the tail) + capacity. */
static uint64_t writer_limit(const struct ring_writer *w) {
    const struct ring *ring = &w->ring;
    /* Orders the tail stored by the last publish before the loads of the mask and positions: the
     * writer's half of the handshakes with ring_slot_claim and ring_reader_commit. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t mask = __atomic_load_n(&ring->header->mandatory_mask, __ATOMIC_SEQ_CST);
    uint64_t lowest = w->tail;
    while (mask != 0) {
        uint32_t slot = (uint32_t)__builtin_ctzll(mask);
        mask &= mask - 1;
        /* Acquire: the reader's reads of the bytes happen before we overwrite them. */
        uint64_t position = __atomic_load_n(&ring->slots[slot].position, __ATOMIC_ACQUIRE);
        lowest = position < lowest ? position : lowest;
    }
    return lowest + ring->capacity_bytes;
}

static bool writer_fits(struct ring_writer *w, uint64_t end) {
    if (end > w->limit) {
        w->limit = writer_limit(w);
    }
    return end <= w->limit;
}

/* Announces that bytes up to end may change, before any of them does. */
static void writer_intend(struct ring_writer *w, uint64_t end) {
    struct ring_header *h = w->ring.header;
    if (end > __atomic_load_n(&h->intent, __ATOMIC_RELAXED)) {
        __atomic_store_n(&h->intent, end, __ATOMIC_RELAXED);
        /* Pairs with the acquire fence of a reader's lap check: a reader that sees any byte
         * written after this point also sees the new intent. */
        __atomic_thread_fence(__ATOMIC_RELEASE);
    }
}

static void writer_wake_readers(struct ring_writer *w) {
    struct ring *ring = &w->ring;
    struct ring_header *h = ring->header;
    uint64_t bits = __atomic_exchange_n(&h->waiting_mask, 0, __ATOMIC_SEQ_CST);
    if (bits != 0) {
        __atomic_fetch_add(&h->data_seq, 1, __ATOMIC_SEQ_CST);
        /* Events first, from the highest slot down (ring_writer_set_wake_fd): the node log's
         * gateways (slots 16+), whose latency counts, before its commits; then the futex, only
         * when a reader sleeps on it. A reader sets its futex bit after its waiting bit and
         * before it looks at the tail, so a bit this load misses belongs to a reader that will
         * see our tail and not sleep. */
        uint64_t events = bits & w->wake_fd_mask;
        while (events != 0) {
            uint32_t slot = 63u - (uint32_t)__builtin_clzll(events);
            events &= ~((uint64_t)1 << slot);
            (void)io_event_signal(ring->io, w->wake_fds[slot]);
        }
        if ((__atomic_load_n(&h->futex_mask, __ATOMIC_SEQ_CST) & bits) != 0) {
            (void)io_futex_wake(ring->io, &h->data_seq, INT32_MAX);
            w->futex_wake_count++;
        }
        w->wake_count++;
    }
}

/* Walks from the published tail over entries published after it; stops at the zero word that
 * always follows the last published entry. */
static strom_err writer_recover(const struct ring *ring, uint64_t *tail, uint64_t *last) {
    uint64_t position = *tail;
    uint64_t found_last = *last;
    for (uint64_t walked = 0; walked < ring->capacity_bytes;) {
        uint64_t word = __atomic_load_n(ring_word_at(ring, position), __ATOMIC_ACQUIRE);
        if (word == 0) {
            *tail = position;
            *last = found_last;
            return STROM_OK;
        }
        uint64_t bytes = ring_word_check(ring, position, word);
        if (bytes == 0) {
            return STROM_ERR_CORRUPT;
        }
        if (ring_word_type(word) != RING_TYPE_PADDING) {
            found_last = position;
        }
        position += bytes;
        walked += bytes;
    }
    return STROM_ERR_CORRUPT;
}

strom_err ring_writer_open(struct ring_writer *w, void *mem, size_t mem_bytes, struct io *io) {
    strom_assert(w != NULL);
    struct ring ring;
    strom_err err = ring_attach(&ring, mem, mem_bytes, io);
    if (err != STROM_OK) {
        return err;
    }
    struct ring_header *h = ring.header;
    uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
    uint64_t last = __atomic_load_n(&h->last_position, __ATOMIC_ACQUIRE);
    err = writer_recover(&ring, &tail, &last);
    if (err != STROM_OK) {
        return err;
    }
    *w = (struct ring_writer){.ring = ring,
                              .tail = tail,
                              .claim_position = RING_POSITION_NONE,
                              .spin_max = RING_SPIN_DEFAULT};
    for (uint32_t i = 0; i < RING_READERS_MAX; i++) {
        w->wake_fds[i] = -1;
    }
    __atomic_store_n(&h->last_position, last, __ATOMIC_RELAXED);
    __atomic_store_n(&h->tail, tail, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&h->writer_opens, 1, __ATOMIC_RELAXED);
    w->limit = writer_limit(w);
    /* Readers may have gone to sleep on entries the dead writer published but never announced. */
    __atomic_fetch_add(&h->data_seq, 1, __ATOMIC_SEQ_CST);
    (void)io_futex_wake(io, &h->data_seq, INT32_MAX);
    strom_assert(w->tail >= __atomic_load_n(&h->tail, __ATOMIC_RELAXED));
    return STROM_OK;
}

void ring_writer_set_wake_fd(struct ring_writer *w, uint32_t slot, int fd) {
    strom_assert(slot < RING_READERS_MAX && fd >= -1);
    uint64_t bit = (uint64_t)1 << slot;
    w->wake_fds[slot] = fd;
    w->wake_fd_mask = fd >= 0 ? (w->wake_fd_mask | bit) : (w->wake_fd_mask & ~bit);
}

/* Fills the rest of the data area with a padding entry; the next entry starts at offset 0. */
static void writer_pad(struct ring_writer *w, uint64_t pad_bytes) {
    struct ring *ring = &w->ring;
    uint64_t position = w->tail;
    __atomic_store_n(ring_word_at(ring, position + pad_bytes), 0, __ATOMIC_RELAXED);
    uint64_t word =
        ring_word_make((uint32_t)pad_bytes, RING_TYPE_PADDING, ring_lap(ring, position));
    __atomic_store_n(ring_word_at(ring, position), word, __ATOMIC_RELEASE);
    w->tail = position + pad_bytes;
    strom_assert((w->tail & ring->mask) == 0);
}

strom_err ring_claim(struct ring_writer *w, uint32_t body_bytes, void **body_out) {
    strom_assert(w->ring.header != NULL && body_out != NULL);
    /* Whatever happens below, an earlier unpublished claim is void: publishing after a failed
     * claim is a programmer error that ring_publish catches. */
    w->claim_position = RING_POSITION_NONE;
    if (body_bytes > ring_body_bytes_max(&w->ring)) {
        return STROM_ERR_TOO_LARGE;
    }
    struct writer_plan plan = writer_plan(w, body_bytes);
    if (!writer_fits(w, plan.end)) {
        w->full_count++;
        return STROM_ERR_AGAIN;
    }
    writer_intend(w, plan.end);
    if (plan.pad_bytes > 0) {
        writer_pad(w, plan.pad_bytes);
    }
    w->claim_position = w->tail;
    w->claim_bytes = body_bytes;
    *body_out = w->ring.data + (w->tail & w->ring.mask) + RING_ENTRY_HEADER_BYTES;
    strom_assert(w->tail + plan.entry_bytes + RING_ENTRY_HEADER_BYTES <= w->limit);
    return STROM_OK;
}

void ring_publish(struct ring_writer *w, uint16_t type, uint64_t *position_out) {
    struct ring *ring = &w->ring;
    struct ring_header *h = ring->header;
    strom_assert(w->claim_position == w->tail && type != RING_TYPE_PADDING);
    uint64_t position = w->tail;
    uint32_t length = RING_ENTRY_HEADER_BYTES + w->claim_bytes;
    uint64_t next = position + ring_aligned(length);
    /* Zero the next header word first, so that a reader that reaches it finds 0 there until that
     * entry is published, never a word of an older lap. The release store below orders it. */
    __atomic_store_n(ring_word_at(ring, next), 0, __ATOMIC_RELAXED);
    uint64_t word = ring_word_make(length, type, ring_lap(ring, position));
    __atomic_store_n(ring_word_at(ring, position), word, __ATOMIC_RELEASE);
    w->tail = next;
    w->claim_position = RING_POSITION_NONE;
    __atomic_store_n(&h->last_position, position, __ATOMIC_RELAXED);
    /* Sequentially consistent, then the mask: the writer's half of the wake-up handshake. */
    __atomic_store_n(&h->tail, next, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->waiting_mask, __ATOMIC_SEQ_CST) != 0) {
        writer_wake_readers(w);
    }
    if (position_out != NULL) {
        *position_out = position;
    }
}

strom_err ring_write(struct ring_writer *w, uint16_t type, const void *body, uint32_t body_bytes,
                     uint64_t *position_out) {
    strom_assert(body != NULL || body_bytes == 0);
    void *dst;
    strom_err err = ring_claim(w, body_bytes, &dst);
    if (err == STROM_OK) {
        if (body_bytes > 0) {
            memcpy(dst, body, body_bytes);
        }
        ring_publish(w, type, position_out);
    }
    return err;
}

bool ring_writer_arm(struct ring_writer *w, uint32_t body_bytes) {
    strom_assert(body_bytes <= ring_body_bytes_max(&w->ring));
    __atomic_store_n(&w->ring.header->writer_waiting, 1, __ATOMIC_SEQ_CST);
    return writer_fits(w, writer_plan(w, body_bytes).end);
}

static uint64_t deadline_after(struct io *io, uint64_t timeout_ns) {
    uint64_t now = io_clock_monotonic_ns(io);
    return timeout_ns >= UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

strom_err ring_writer_wait(struct ring_writer *w, uint32_t body_bytes, uint64_t timeout_ns) {
    struct ring *ring = &w->ring;
    struct ring_header *h = ring->header;
    if (body_bytes > ring_body_bytes_max(ring)) {
        return STROM_ERR_TOO_LARGE;
    }
    uint64_t end = writer_plan(w, body_bytes).end;
    for (uint32_t i = 0; timeout_ns > 0 && i < w->spin_max; i++) {
        if (writer_fits(w, end)) {
            return STROM_OK;
        }
        ring_cpu_relax();
    }
    uint64_t deadline = deadline_after(ring->io, timeout_ns);
    strom_err err = STROM_ERR_TIMEOUT;
    for (;;) {
        /* The sequence before the request: a reader that takes the request (and adds 1) after
         * this load makes the futex wait return at once. In the other order, a reader could
         * take the request and add 1 before the load, and a second reader, finding no request,
         * would not wake us. */
        uint32_t seq = __atomic_load_n(&h->space_seq, __ATOMIC_SEQ_CST);
        __atomic_store_n(&h->writer_waiting, 1, __ATOMIC_SEQ_CST);
        if (writer_fits(w, end)) {
            err = STROM_OK;
            break;
        }
        uint64_t now = io_clock_monotonic_ns(ring->io);
        if (now >= deadline) {
            break;
        }
        uint64_t sleep_ns = deadline == UINT64_MAX ? 0 : deadline - now; /* 0: no timeout */
        (void)io_futex_wait(ring->io, &h->space_seq, seq, sleep_ns);
    }
    __atomic_store_n(&h->writer_waiting, 0, __ATOMIC_RELAXED);
    return err;
}

strom_err ring_writer_last(const struct ring_writer *w, struct ring_entry *entry) {
    const struct ring *ring = &w->ring;
    uint64_t position = __atomic_load_n(&ring->header->last_position, __ATOMIC_ACQUIRE);
    if (position == RING_POSITION_NONE) {
        return STROM_ERR_NOT_FOUND;
    }
    uint64_t word = __atomic_load_n(ring_word_at(ring, position), __ATOMIC_ACQUIRE);
    uint64_t bytes = ring_word_check(ring, position, word);
    strom_assert(bytes != 0 && ring_word_type(word) != RING_TYPE_PADDING);
    *entry = (struct ring_entry){
        .body = ring->data + (position & ring->mask) + RING_ENTRY_HEADER_BYTES,
        .position = position,
        .next_position = position + bytes,
        .body_bytes = ring_word_length(word) - RING_ENTRY_HEADER_BYTES,
        .type = ring_word_type(word),
    };
    return STROM_OK;
}
