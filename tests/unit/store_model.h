/*
 * store_model.h: an in-memory model of a store's streams for the store tests, and the checks
 * that hold a store against it. Header-only (static inline) so that each test file takes what it
 * uses. Payloads are not kept: each is generated again from (stream, batch index).
 */
#ifndef STROM_TESTS_STORE_MODEL_H
#define STROM_TESTS_STORE_MODEL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/io_memfs.h"
#include "store/store.h"

enum {
    MODEL_STREAMS_MAX = 64,
    MODEL_BATCHES_MAX = 4096,
    MODEL_PAYLOAD_MAX = 3000,
};

struct model_batch {
    uint64_t base_offset;
    uint32_t count;
    uint32_t payload_bytes;
    uint64_t pos; /* record position */
    uint64_t end; /* position after the record (the next record's position) */
};

struct model_stream {
    uint64_t id;
    uint32_t batch_count;
    uint64_t next_offset;
    struct model_batch batches[MODEL_BATCHES_MAX];
};

struct model {
    uint32_t stream_count;
    struct model_stream streams[MODEL_STREAMS_MAX];
};

static inline struct model *model_new(uint32_t stream_count, uint64_t id_salt) {
    struct model *m = calloc(1, sizeof *m);
    cr_assert(m != NULL);
    m->stream_count = stream_count;
    for (uint32_t i = 0; i < stream_count; i++) {
        /* Spread ids: small ones, large ones, and a pattern. */
        m->streams[i].id = (i % 3 == 0) ? i : (i % 3 == 1) ? (UINT64_MAX - i) : (i * id_salt);
    }
    return m;
}

/* A copy of m (the model at a moment, e.g. what a sync covered); the caller frees it. */
static inline struct model *model_copy(const struct model *m) {
    struct model *c = malloc(sizeof *c);
    cr_assert(c != NULL);
    memcpy(c, m, sizeof *m);
    return c;
}

static inline void model_payload(uint64_t stream_id, uint32_t index, uint8_t *buf, uint32_t len) {
    struct rng r;
    rng_init(&r, stream_id * 1000003u + index);
    rng_fill(&r, buf, len);
}

static inline uint64_t model_ts(uint64_t stream_id, uint32_t index) {
    return 1700000000000000000u + stream_id % 1000 + index * 1000u;
}

/* Appends the next batch of stream si and counts it in m when the store took it; returns the
 * store's error (*pos_out, may be NULL, gets the position). */
static inline strom_err model_try_append(struct model *m, struct store *s, uint32_t si,
                                         uint32_t count, uint32_t payload_bytes,
                                         uint64_t *pos_out) {
    struct model_stream *ms = &m->streams[si];
    cr_assert(ms->batch_count < MODEL_BATCHES_MAX);
    static uint8_t payload[MODEL_PAYLOAD_MAX];
    cr_assert(payload_bytes <= MODEL_PAYLOAD_MAX);
    model_payload(ms->id, ms->batch_count, payload, payload_bytes);
    struct store_append a = {.stream_id = ms->id,
                             .base_offset = ms->next_offset,
                             .message_count = count,
                             .flags = ms->batch_count ^ 0x5a,
                             .first_ts_ns = model_ts(ms->id, ms->batch_count),
                             .last_ts_ns = model_ts(ms->id, ms->batch_count) + count,
                             .payload = payload,
                             .payload_bytes = payload_bytes};
    uint64_t pos = 0;
    strom_err err = store_append(s, &a, &pos);
    if (err == STROM_OK) {
        ms->batches[ms->batch_count++] = (struct model_batch){
            ms->next_offset, count, payload_bytes, pos, pos + ((payload_bytes + 72 + 7) & ~7u)};
        ms->next_offset += count;
    }
    if (pos_out != NULL) {
        *pos_out = pos;
    }
    return err;
}

/* Appends the next batch of stream si; asserts success; returns the position. */
static inline uint64_t model_append(struct model *m, struct store *s, uint32_t si, uint32_t count,
                                    uint32_t payload_bytes) {
    uint64_t pos = 0;
    strom_err err = model_try_append(m, s, si, count, payload_bytes, &pos);
    cr_assert_eq(err, STROM_OK, "append stream %u: %s", si, strom_errname(err));
    return pos;
}

/* Appends a batch of random shape to a random stream of the first `streams`; the draws happen
 * in a fixed order (argument evaluation order is unspecified in C). */
static inline uint64_t model_append_random(struct model *m, struct store *s, struct rng *r,
                                           uint32_t streams, uint32_t count_max,
                                           uint32_t payload_max) {
    uint32_t si = (uint32_t)rng_below(r, streams);
    uint32_t count = (uint32_t)rng_range(r, 1, count_max);
    uint32_t bytes = (uint32_t)rng_below(r, payload_max);
    return model_append(m, s, si, count, bytes);
}

/* Checks one batch read back against the model's batch bi of stream ms. */
static inline void model_check_batch(const struct model_stream *ms, uint32_t bi,
                                     const struct store_batch *b, const uint8_t *payload) {
    const struct model_batch *mb = &ms->batches[bi];
    cr_assert_eq(b->stream_id, ms->id);
    cr_assert_eq(b->base_offset, mb->base_offset, "stream %llu batch %u",
                 (unsigned long long)ms->id, bi);
    cr_assert_eq(b->message_count, mb->count);
    cr_assert_eq(b->payload_bytes, mb->payload_bytes);
    cr_assert_eq(b->pos, mb->pos);
    cr_assert_eq(b->flags, bi ^ 0x5a);
    cr_assert_eq(b->first_ts_ns, model_ts(ms->id, bi));
    static uint8_t want[MODEL_PAYLOAD_MAX];
    model_payload(ms->id, bi, want, mb->payload_bytes);
    cr_assert_eq(memcmp(payload, want, mb->payload_bytes), 0, "payload of stream %llu batch %u",
                 (unsigned long long)ms->id, bi);
}

/* The index of the batch of ms holding offset. */
static inline uint32_t model_find(const struct model_stream *ms, uint64_t offset) {
    uint32_t lo = 0;
    uint32_t hi = ms->batch_count;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (ms->batches[mid].base_offset <= offset) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Reads stream ms from batch `from` to the end and checks that exactly batches [from, upto) are
 * there and match. */
static inline void model_check_stream_range(struct store *s, const struct model_stream *ms,
                                            uint32_t from, uint32_t upto) {
    static uint8_t buf[MODEL_PAYLOAD_MAX + 128];
    struct store_cursor c;
    uint64_t start = from < ms->batch_count ? ms->batches[from].base_offset : ms->next_offset;
    store_cursor_init(&c, ms->id, start);
    struct store_batch b;
    for (uint32_t bi = from; bi < upto; bi++) {
        strom_err err = store_cursor_next(s, &c, &b, buf, sizeof buf);
        cr_assert_eq(err, STROM_OK, "stream %llu batch %u of %u: %s (pos %llu)",
                     (unsigned long long)ms->id, bi, upto, strom_errname(err),
                     (unsigned long long)store_error_pos(s));
        model_check_batch(ms, bi, &b, buf);
    }
    strom_err err = store_cursor_next(s, &c, &b, buf, sizeof buf);
    cr_assert(err == STROM_ERR_END || (upto == 0 && err == STROM_ERR_NO_STREAM),
              "stream %llu after %u batches: %s", (unsigned long long)ms->id, upto,
              strom_errname(err));
}

/* Checks every stream of m against s, whole. */
static inline void model_check_all(struct model *m, struct store *s) {
    for (uint32_t i = 0; i < m->stream_count; i++) {
        struct model_stream *ms = &m->streams[i];
        struct store_stream_info info;
        strom_err err = store_stream_info(s, ms->id, &info);
        if (ms->batch_count == 0) {
            cr_assert_eq(err, STROM_ERR_NO_STREAM);
            continue;
        }
        cr_assert_eq(err, STROM_OK, "info of stream %u: %s", i, strom_errname(err));
        cr_assert_eq(info.next_offset, ms->next_offset, "stream %u: next offset %llu, want %llu", i,
                     (unsigned long long)info.next_offset, (unsigned long long)ms->next_offset);
        cr_assert_eq(info.batch_count, ms->batch_count);
        model_check_stream_range(s, ms, 0, ms->batch_count);
    }
}

/* Drops from the model the batches of every stream whose record does not end at or before
 * keep_end (what a cut at keep_end leaves). */
static inline void model_cut(struct model *m, uint64_t keep_end) {
    for (uint32_t i = 0; i < m->stream_count; i++) {
        struct model_stream *ms = &m->streams[i];
        while (ms->batch_count > 0 && ms->batches[ms->batch_count - 1].end > keep_end) {
            ms->batch_count--;
            ms->next_offset = ms->batches[ms->batch_count].base_offset;
        }
    }
}

/* Options for tests: small everything, so that every mechanism runs often. */
static inline void model_options(struct store_options *o) {
    store_options_default(o);
    o->index_fanout = 4;
    o->checkpoint_bytes = 16 << 10;
    o->write_buffer_bytes = 8 << 10;
    o->reserve_bytes = 0;
    o->memory_bytes_max = 64 << 20;
}

#endif
