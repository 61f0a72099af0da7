/*
 * test_ring.c: the ring in one process over plain memory: framing, wrap-around and padding,
 * backpressure from mandatory readers, lap detection for optional readers, slots, restart of
 * writer and reader, refused headers, waits and event wake-ups. Concurrent processes are in
 * test_ring_proc.c.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/io.h"
#include "ring/ring.h"

enum { CAP_SMALL = 4096 };

struct fixture {
    struct io io;
    void *mem;
    size_t bytes;
};

static void fixture_init(struct fixture *f, uint64_t capacity) {
    io_linux_init(&f->io);
    f->bytes = ring_region_bytes(capacity);
    f->mem = aligned_alloc(4096, f->bytes);
    cr_assert_not_null(f->mem);
    memset(f->mem, 0xA5, f->bytes); /* format must not rely on zeroed memory */
    cr_assert_eq(ring_format(f->mem, f->bytes, capacity), STROM_OK);
    /* ... and zeroes only the first header word of the data area (not every page of a big ring):
     * every test here then runs over a data area of stale bytes. */
    const uint8_t *data = (const uint8_t *)f->mem + RING_DATA_OFFSET;
    uint64_t first;
    memcpy(&first, data, sizeof first);
    cr_assert_eq(first, 0);
    cr_assert_eq(data[RING_ENTRY_HEADER_BYTES], 0xA5);
    cr_assert_eq(data[capacity - 1], 0xA5);
}

static void fixture_fini(struct fixture *f) {
    free(f->mem);
}

/* Body of entry seq: 8 bytes of seq, then bytes drawn from an rng seeded with seq. */
static uint32_t body_bytes_of(uint64_t seq, uint32_t max) {
    struct rng rng;
    rng_init(&rng, seq * 7919u + 1);
    return 8 + (uint32_t)rng_below(&rng, max - 8 + 1);
}

static void body_fill(uint8_t *body, uint32_t bytes, uint64_t seq) {
    memcpy(body, &seq, 8);
    struct rng rng;
    rng_init(&rng, seq);
    rng_fill(&rng, body + 8, bytes - 8);
}

static bool body_ok(const uint8_t *body, uint32_t bytes, uint64_t seq) {
    uint8_t expect[4096];
    if (bytes < 8 || bytes > sizeof(expect)) {
        return false;
    }
    body_fill(expect, bytes, seq);
    return memcmp(expect, body, bytes) == 0;
}

static void write_seq(struct ring_writer *w, uint64_t seq, uint32_t max) {
    uint8_t body[4096];
    uint32_t bytes = body_bytes_of(seq, max);
    body_fill(body, bytes, seq);
    cr_assert_eq(ring_write(w, 1, body, bytes, NULL), STROM_OK, "seq %lu", (unsigned long)seq);
}

Test(ring, format_and_attach) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring.capacity_bytes, CAP_SMALL);
    cr_assert_eq(ring_body_bytes_max(&ring), CAP_SMALL / 4 - 8);
    cr_assert_eq(ring_tail(&ring), 0);
    cr_assert_eq(f.bytes, RING_DATA_OFFSET + CAP_SMALL);
    struct ring_slot_info info;
    ring_slot_get(&ring, 5, &info);
    cr_assert_eq(info.state, RING_SLOT_FREE);
    fixture_fini(&f);
}

Test(ring, bad_header_refused) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    struct ring_header *h = f.mem;
    cr_assert_eq(ring_format(f.mem, f.bytes, 5000), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_format(f.mem, f.bytes, 2048), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_format(f.mem, f.bytes - 1, CAP_SMALL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_format((uint8_t *)f.mem + 8, f.bytes - 8, CAP_SMALL),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_attach(&ring, (uint8_t *)f.mem + 8, f.bytes - 8, &f.io),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes - 1, &f.io), STROM_ERR_CORRUPT);
    h->magic ^= 1;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_ERR_CORRUPT);
    struct ring_writer w;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_ERR_CORRUPT);
    h->magic ^= 1;
    h->version = 2;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_ERR_UNSUPPORTED_VERSION);
    h->version = RING_VERSION;
    h->capacity_bytes = CAP_SMALL + 8;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_ERR_CORRUPT);
    h->capacity_bytes = CAP_SMALL;
    h->entry_align = 16;
    struct ring_reader r;
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_ERR_CORRUPT);
    h->entry_align = RING_ALIGN;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    fixture_fini(&f);
}

/* Writes entries of every size through many laps with a mandatory reader keeping up; checks
 * each entry's body, type, positions (contiguous, or a jump over padding to a lap boundary). */
Test(ring, write_read_many_sizes_across_laps) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring_writer w;
    struct ring_reader r;
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 3, RING_READER_MANDATORY, 42), STROM_OK);
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 3), STROM_OK);
    uint32_t max = ring_body_bytes_max(&w.ring);
    uint64_t next_expected = 0;
    uint64_t paddings = 0;
    uint8_t buf[4096];
    for (uint32_t i = 0; i < 5000; i++) {
        uint32_t bytes = i % (max + 1);
        memset(buf, (int)(i & 0xff), bytes);
        uint64_t position;
        cr_assert_eq(ring_write(&w, (uint16_t)(1 + i % 65535), buf, bytes, &position), STROM_OK);
        struct ring_entry e;
        strom_err err = (i % 2) ? ring_read(&r, &e) : ring_read_copy(&r, buf, sizeof(buf), &e);
        cr_assert_eq(err, STROM_OK, "entry %u: %s", i, strom_errname(err));
        cr_assert_eq(e.position, position);
        cr_assert_eq(e.body_bytes, bytes);
        cr_assert_eq(e.type, 1 + i % 65535);
        for (uint32_t k = 0; k < bytes; k++) {
            cr_assert_eq(e.body[k], (uint8_t)(i & 0xff));
        }
        if (e.position != next_expected) {
            cr_assert_eq(e.position % CAP_SMALL, 0, "a jump only over padding to a lap start");
            cr_assert_gt(e.position, next_expected);
            paddings++;
        }
        cr_assert_eq(e.next_position, e.position + ((8 + bytes + 7) & ~7u));
        next_expected = e.next_position;
        cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
        cr_assert_eq(ring_reader_commit(&r), STROM_OK);
    }
    cr_assert_gt(paddings, 10);
    cr_assert_gt(ring_tail(&ring), 100 * CAP_SMALL);
    cr_assert_eq(w.full_count, 0);
    fixture_fini(&f);
}

/* A mandatory reader that reads nothing: the writer fills the ring and gets AGAIN, and every
 * entry is still intact afterwards; committing frees space. */
Test(ring, full_ring_again_and_mandatory_never_overrun) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    uint64_t written = 0;
    for (int round = 0; round < 20; round++) {
        uint64_t first = written;
        uint8_t body[1024];
        strom_err err = STROM_OK;
        while (err == STROM_OK) {
            uint32_t bytes = body_bytes_of(written, 300);
            body_fill(body, bytes, written);
            err = ring_write(&w, 7, body, bytes, NULL);
            written += err == STROM_OK;
            cr_assert_lt(written - first, CAP_SMALL / 8, "bounded: the ring must fill");
        }
        cr_assert_eq(err, STROM_ERR_AGAIN);
        cr_assert_gt(written - first, 3);
        cr_assert_leq(ring_tail(&ring) - r.committed, CAP_SMALL);
        cr_assert_eq(ring_writer_wait(&w, 300, 0), STROM_ERR_TIMEOUT);
        for (uint64_t seq = first; seq < written; seq++) {
            struct ring_entry e;
            cr_assert_eq(ring_read(&r, &e), STROM_OK);
            cr_assert(body_ok(e.body, e.body_bytes, seq), "seq %lu intact", (unsigned long)seq);
        }
        struct ring_entry e;
        cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
        cr_assert_eq(ring_reader_commit(&r), STROM_OK);
        cr_assert_eq(ring_writer_wait(&w, 300, 0), STROM_OK);
    }
    cr_assert_geq(w.full_count, 20);
    fixture_fini(&f);
}

/* An optional reader holding a view while the writer laps it is told so, by check, read and
 * read_copy; it rejoins at the tail and reads new entries correctly. */
Test(ring, optional_reader_lapped_is_told) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 9, RING_READER_OPTIONAL, 1), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 9), STROM_OK);
    uint64_t seq = 0;
    write_seq(&w, seq++, 200);
    write_seq(&w, seq++, 200);
    struct ring_entry held;
    cr_assert_eq(ring_read(&r, &held), STROM_OK);
    cr_assert_eq(ring_reader_check(&r, &held), STROM_OK);
    /* Less than a lap: still valid. */
    while (ring_tail(&ring) + 300 < held.position + CAP_SMALL) {
        write_seq(&w, seq++, 200);
    }
    cr_assert_eq(ring_reader_check(&r, &held), STROM_OK);
    cr_assert(body_ok(held.body, held.body_bytes, 0));
    /* Optional readers never hold the writer back. */
    while (ring_tail(&ring) < held.position + 3 * CAP_SMALL) {
        write_seq(&w, seq++, 200);
    }
    cr_assert_eq(w.full_count, 0);
    cr_assert_eq(ring_reader_check(&r, &held), STROM_ERR_OUT_OF_RANGE);
    struct ring_entry e;
    uint8_t buf[1024];
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_OUT_OF_RANGE);
    cr_assert_eq(ring_read_copy(&r, buf, sizeof(buf), &e), STROM_ERR_OUT_OF_RANGE);
    ring_reader_rejoin(&r);
    cr_assert_eq(r.lap_count, 1);
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
    write_seq(&w, seq, 200);
    cr_assert_eq(ring_read_copy(&r, buf, sizeof(buf), &e), STROM_OK);
    cr_assert(body_ok(e.body, e.body_bytes, seq));
    cr_assert_eq(ring_reader_commit(&r), STROM_OK);
    fixture_fini(&f);
}

Test(ring, copy_overflow_keeps_the_cursor) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    write_seq(&w, 11, 500);
    uint8_t small[8];
    uint8_t big[1024];
    struct ring_entry e;
    uint32_t bytes = body_bytes_of(11, 500);
    cr_assert_eq(ring_read_copy(&r, small, sizeof(small), &e),
                 bytes > 8 ? STROM_ERR_OVERFLOW : STROM_OK);
    cr_assert_eq(e.body_bytes, bytes);
    cr_assert_eq(ring_read_copy(&r, big, sizeof(big), &e), STROM_OK);
    cr_assert(body_ok(e.body, e.body_bytes, 11));
    cr_assert_eq((const void *)e.body, (const void *)big);
    fixture_fini(&f);
}

Test(ring, too_large_and_claim_publish) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    uint32_t max = ring_body_bytes_max(&ring);
    void *body;
    cr_assert_eq(ring_claim(&w, max + 1, &body), STROM_ERR_TOO_LARGE);
    cr_assert_eq(ring_writer_wait(&w, max + 1, 0), STROM_ERR_TOO_LARGE);
    /* A claim that is replaced by another is never seen. */
    cr_assert_eq(ring_claim(&w, 100, &body), STROM_OK);
    memset(body, 0xEE, 100);
    cr_assert_eq(ring_claim(&w, max, &body), STROM_OK);
    cr_assert_eq((uintptr_t)body % 8, 0);
    memset(body, 0x5A, max);
    uint64_t position;
    ring_publish(&w, 65535, &position);
    cr_assert_eq(position, 0);
    struct ring_entry e;
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert_eq(e.type, 65535);
    cr_assert_eq(e.body_bytes, max);
    cr_assert_eq(e.body[0], 0x5A);
    cr_assert_eq(e.body[max - 1], 0x5A);
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
    cr_assert_eq(ring_write(&w, 2, NULL, 0, &position), STROM_OK);
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert_eq(e.body_bytes, 0);
    cr_assert_eq(e.position, position);
    cr_assert_eq(e.next_position, position + 8);
    fixture_fini(&f);
}

Test(ring, slots_claim_release) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    struct ring_reader r;
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 4), STROM_ERR_NOT_FOUND);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, RING_READERS_MAX),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_slot_claim(&ring, RING_READERS_MAX, RING_READER_OPTIONAL, 1),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_slot_claim(&ring, 0, 7, 1), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 100), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_OPTIONAL, 101), STROM_ERR_EXISTS);
    uint32_t slot;
    for (uint32_t i = 1; i < RING_READERS_MAX; i++) {
        cr_assert_eq(ring_slot_claim_any(&ring, RING_READER_OPTIONAL, i, &slot), STROM_OK);
        cr_assert_eq(slot, i);
    }
    cr_assert_eq(ring_slot_claim_any(&ring, RING_READER_OPTIONAL, 1, &slot), STROM_ERR_LIMIT);
    struct ring_slot_info info;
    ring_slot_get(&ring, 0, &info);
    cr_assert_eq(info.state, RING_SLOT_ACTIVE);
    cr_assert_eq(info.kind, RING_READER_MANDATORY);
    cr_assert_eq(info.owner, 100);
    cr_assert_eq(info.claims, 1);

    /* The mandatory reader of slot 0 holds the writer back until it is released. */
    struct ring_writer w;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    uint8_t body[512] = {0};
    while (ring_write(&w, 1, body, sizeof(body), NULL) == STROM_OK) {
        cr_assert_lt(ring_tail(&ring), 2 * CAP_SMALL);
    }
    cr_assert_eq(ring_slot_release(&ring, 0), STROM_OK);
    cr_assert_eq(ring_slot_release(&ring, 0), STROM_ERR_NOT_FOUND);
    cr_assert_eq(ring_write(&w, 1, body, sizeof(body), NULL), STROM_OK);
    /* A reader whose slot was released is no longer protected (the writer overwrote its first
     * entry: it is told so) and has its commits refused. */
    struct ring_entry e;
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_OUT_OF_RANGE);
    cr_assert_eq(ring_reader_commit(&r), STROM_ERR_NOT_FOUND);
    ring_slot_get(&ring, 0, &info);
    cr_assert_eq(info.state, RING_SLOT_FREE);
    cr_assert_eq(info.position, 0);
    /* Claimed again, the slot starts at the tail. */
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 102), STROM_OK);
    ring_slot_get(&ring, 0, &info);
    cr_assert_eq(info.position, ring_tail(&ring));
    cr_assert_eq(info.claims, 3);
    cr_assert_eq(ring_reader_commit(&r), STROM_ERR_NOT_FOUND);
    fixture_fini(&f);
}

/* A reader that joins later starts at the tail and sees only what follows. */
Test(ring, join_starts_at_tail) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    struct ring_writer w;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    for (uint64_t seq = 0; seq < 100; seq++) {
        write_seq(&w, seq, 100);
    }
    cr_assert_eq(ring_slot_claim(&ring, 2, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_reader r;
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 2), STROM_OK);
    cr_assert_eq(r.cursor, ring_tail(&ring));
    struct ring_entry e;
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
    write_seq(&w, 100, 100);
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert(body_ok(e.body, e.body_bytes, 100));
    fixture_fini(&f);
}

/* A reader restarted on its slot resumes at its last commit: entries read but not committed
 * come again. */
Test(ring, restart_reader_resumes_from_commit) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 1, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_writer w;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    for (uint64_t seq = 0; seq < 10; seq++) {
        write_seq(&w, seq, 100);
    }
    struct ring_reader r;
    struct ring_entry e;
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 1), STROM_OK);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ring_read(&r, &e), STROM_OK);
    }
    cr_assert_eq(ring_reader_commit(&r), STROM_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ring_read(&r, &e), STROM_OK);
    }
    /* "Crash": the process-local reader is gone; a new one opens the slot. */
    struct ring_reader again;
    cr_assert_eq(ring_reader_open(&again, f.mem, f.bytes, &f.io, 1), STROM_OK);
    for (uint64_t seq = 5; seq < 10; seq++) {
        cr_assert_eq(ring_read(&again, &e), STROM_OK);
        cr_assert(body_ok(e.body, e.body_bytes, seq), "seq %lu", (unsigned long)seq);
    }
    cr_assert_eq(ring_read(&again, &e), STROM_ERR_AGAIN);
    fixture_fini(&f);
}

/* A writer restarted after dying at any point of an append continues after the last published
 * entry; an entry it had claimed but not published is not seen; the last entry is found. */
Test(ring, restart_writer_recovers_tail) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_reader r;
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    struct ring_writer w;
    struct ring_entry e;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_writer_last(&w, &e), STROM_ERR_NOT_FOUND);
    uint64_t seq = 0;
    for (int round = 0; round < 60; round++) {
        write_seq(&w, seq++, 400);
        /* Death after the claim (and half a body), before the publish. */
        void *body;
        cr_assert_eq(ring_claim(&w, 300, &body), STROM_OK);
        memset(body, 0xCC, 150);
        if (round % 3 == 1) {
            /* Death after the publish, before the tail was stored: roll the tail back. */
            uint64_t tail_before = w.ring.header->tail;
            uint64_t last_before = w.ring.header->last_position;
            write_seq(&w, seq++, 400);
            w.ring.header->tail = tail_before;
            w.ring.header->last_position = last_before;
        }
        cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
        cr_assert_eq(ring_writer_last(&w, &e), STROM_OK);
        cr_assert(body_ok(e.body, e.body_bytes, seq - 1));
        cr_assert_eq(w.tail, ring_tail(&ring));
        cr_assert_eq(e.next_position, w.tail);
        for (uint64_t want = seq - 1 - (round % 3 == 1); want < seq; want++) {
            cr_assert_eq(ring_read(&r, &e), STROM_OK);
            cr_assert(body_ok(e.body, e.body_bytes, want), "seq %lu", (unsigned long)want);
        }
        cr_assert_eq(ring_read(&r, &e), STROM_ERR_AGAIN);
        cr_assert_eq(ring_reader_commit(&r), STROM_OK);
    }
    cr_assert_eq(w.ring.header->writer_opens, 61);
    cr_assert_gt(ring_tail(&ring), 3 * CAP_SMALL);
    /* Garbage after the tail (not a zero word, not an entry) is refused. */
    uint64_t *word = (uint64_t *)(void *)(w.ring.data + (w.tail & w.ring.mask));
    *word = 0x1234;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_ERR_CORRUPT);
    cr_assert_eq(ring_read(&r, &e), STROM_ERR_CORRUPT);
    fixture_fini(&f);
}

Test(ring, waits_time_out) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 0), STROM_OK);
    uint64_t start = io_clock_monotonic_ns(&f.io);
    cr_assert_eq(ring_reader_wait(&r, 0), STROM_ERR_TIMEOUT);
    cr_assert_eq(ring_reader_wait(&r, 2000000), STROM_ERR_TIMEOUT);
    cr_assert_geq(io_clock_monotonic_ns(&f.io) - start, 2000000);
    cr_assert_eq(ring.header->waiting_mask, 0, "a wait that ends withdraws its request");
    write_seq(&w, 0, 100);
    cr_assert_eq(ring_reader_wait(&r, 2000000), STROM_OK);
    cr_assert_eq(ring_reader_wait(&r, 0), STROM_OK);
    uint8_t body[800] = {0};
    while (ring_write(&w, 1, body, sizeof(body), NULL) == STROM_OK) {
    }
    start = io_clock_monotonic_ns(&f.io);
    cr_assert_eq(ring_writer_wait(&w, sizeof(body), 2000000), STROM_ERR_TIMEOUT);
    cr_assert_geq(io_clock_monotonic_ns(&f.io) - start, 2000000);
    cr_assert_eq(ring.header->writer_waiting, 0);
    fixture_fini(&f);
}

/* Waiting in a poller: armed readers get their event signalled by the writer's publish, and an
 * armed writer gets its event signalled by a reader's commit. */
Test(ring, event_wakeups) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 6, RING_READER_MANDATORY, 1), STROM_OK);
    int reader_event, writer_event;
    cr_assert_eq(io_event_create(&f.io, &reader_event), STROM_OK);
    cr_assert_eq(io_event_create(&f.io, &writer_event), STROM_OK);
    struct ring_writer w;
    struct ring_reader r;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    ring_writer_set_wake_fd(&w, 6, reader_event);
    cr_assert_eq(ring_reader_open(&r, f.mem, f.bytes, &f.io, 6), STROM_OK);
    ring_set_writer_wake_fd(&r.ring, writer_event);
    uint32_t ready = 0;
    cr_assert_eq(ring_reader_arm(&r), false);
    cr_assert_eq(io_fd_wait(&f.io, reader_event, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready, 0);
    write_seq(&w, 0, 100);
    cr_assert_eq(io_fd_wait(&f.io, reader_event, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready & IO_POLL_IN, IO_POLL_IN);
    cr_assert_eq(ring.header->waiting_mask, 0, "the writer takes the request it serves");
    cr_assert_eq(io_event_drain(&f.io, reader_event), STROM_OK);
    /* Not armed: no signal. */
    write_seq(&w, 1, 100);
    cr_assert_eq(io_fd_wait(&f.io, reader_event, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready, 0);
    cr_assert_eq(ring_reader_arm(&r), true, "entries are there already");
    uint8_t body[700] = {0};
    while (ring_write(&w, 1, body, sizeof(body), NULL) == STROM_OK) {
    }
    cr_assert_eq(ring_writer_arm(&w, sizeof(body)), false);
    cr_assert_eq(io_fd_wait(&f.io, writer_event, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready, 0);
    struct ring_entry e;
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert_eq(ring_read(&r, &e), STROM_OK);
    cr_assert_eq(ring_reader_commit(&r), STROM_OK);
    cr_assert_eq(io_fd_wait(&f.io, writer_event, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready & IO_POLL_IN, IO_POLL_IN);
    cr_assert_eq(ring.header->writer_waiting, 0);
    cr_assert_eq(ring_writer_arm(&w, sizeof(body)), true);
    io_event_close(&f.io, reader_event);
    io_event_close(&f.io, writer_event);
    fixture_fini(&f);
}

/* Random sizes, random interleaving of writes, reads, commits, with a mandatory and an optional
 * reader, checked against the sequence written. */
Test(ring, random_interleaving) {
    struct fixture f;
    fixture_init(&f, 8192);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 1), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 1, RING_READER_OPTIONAL, 2), STROM_OK);
    struct ring_writer w;
    struct ring_reader m, o;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    cr_assert_eq(ring_reader_open(&m, f.mem, f.bytes, &f.io, 0), STROM_OK);
    cr_assert_eq(ring_reader_open(&o, f.mem, f.bytes, &f.io, 1), STROM_OK);
    struct rng rng;
    rng_init(&rng, 20260101);
    uint64_t written = 0, m_next = 0, o_last = 0, o_count = 0;
    uint8_t buf[4096];
    for (int step = 0; step < 200000; step++) {
        uint64_t dice = rng_below(&rng, 10);
        struct ring_entry e;
        if (dice < 4) {
            uint32_t bytes = body_bytes_of(written, 2000);
            body_fill(buf, bytes, written);
            strom_err err = ring_write(&w, 1, buf, bytes, NULL);
            cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN);
            written += err == STROM_OK;
        } else if (dice < 7) {
            strom_err err = ring_read(&m, &e);
            cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN);
            if (err == STROM_OK) {
                cr_assert(body_ok(e.body, e.body_bytes, m_next));
                m_next++;
            }
            if (dice == 6) {
                cr_assert_eq(ring_reader_commit(&m), STROM_OK);
            }
        } else {
            strom_err err = ring_read_copy(&o, buf, sizeof(buf), &e);
            if (err == STROM_ERR_OUT_OF_RANGE) {
                ring_reader_rejoin(&o);
            } else if (err == STROM_OK) {
                uint64_t seq;
                memcpy(&seq, e.body, 8);
                cr_assert(body_ok(e.body, e.body_bytes, seq));
                cr_assert(o_count == 0 || seq > o_last);
                o_last = seq;
                o_count++;
            } else {
                cr_assert_eq(err, STROM_ERR_AGAIN);
            }
        }
    }
    cr_assert_gt(written, 10000);
    cr_assert_gt(m_next, 10000);
    cr_assert_gt(o_count, 1000);
    cr_assert_gt(w.full_count, 0);
    fixture_fini(&f);
}

/* io_shm_create refuses what it cannot make and gives zeroed, writable memory. */
Test(ring, shm_create_arguments) {
    struct io io;
    io_linux_init(&io);
    void *addr = NULL;
    cr_assert_eq(io_shm_create(&io, "x", 0, &addr), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_shm_create(&io, "x", IO_SHM_BYTES_MAX + 1, &addr), STROM_ERR_INVALID_ARGUMENT);
    char name[80];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    cr_assert_eq(io_shm_create(&io, name, 4096, &addr), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_shm_create(&io, "strom-test", 10000, &addr), STROM_OK);
    uint8_t *bytes = addr;
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(bytes[i], 0);
    }
    bytes[9999] = 7;
    cr_assert_eq(io_shm_unmap(&io, addr, 10000), STROM_OK);
}

/* io_shm_prefault makes pages present without changing a byte: what a writer put there stays,
 * the rest still reads as zero (the supervisor runs it under the rings' writers). */
Test(ring, shm_prefault_changes_no_byte) {
    struct io io;
    io_linux_init(&io);
    enum { bytes_total = 1 << 20 };
    void *addr = NULL;
    cr_assert_eq(io_shm_create(&io, "strom-test", bytes_total, &addr), STROM_OK);
    uint8_t *bytes = addr;
    bytes[5] = 0x5a;
    bytes[bytes_total / 2 + 3] = 0xa5;
    strom_err err = io_shm_prefault(&io, bytes, bytes_total / 2);
    if (err != STROM_ERR_UNSUPPORTED) { /* kernels before 5.14 */
        cr_assert_eq(err, STROM_OK);
        cr_assert_eq(io_shm_prefault(&io, bytes + bytes_total / 2, bytes_total / 2), STROM_OK);
    }
    for (size_t i = 0; i < bytes_total; i++) {
        uint8_t want = i == 5 ? 0x5a : (i == bytes_total / 2 + 3 ? 0xa5 : 0);
        cr_assert_eq(bytes[i], want, "byte %zu", i);
    }
    cr_assert_eq(io_shm_unmap(&io, addr, bytes_total), STROM_OK);
}

/* Publishing without a claim (here: after a claim that failed) is a programmer error. */
Test(ring, publish_without_claim_crashes, .signal = SIGABRT) {
    struct fixture f;
    fixture_init(&f, CAP_SMALL);
    struct ring_writer w;
    cr_assert_eq(ring_writer_open(&w, f.mem, f.bytes, &f.io), STROM_OK);
    void *body;
    cr_assert_eq(ring_claim(&w, 16, &body), STROM_OK);
    cr_assert_eq(ring_claim(&w, CAP_SMALL, &body), STROM_ERR_TOO_LARGE);
    ring_publish(&w, 1, NULL);
}
