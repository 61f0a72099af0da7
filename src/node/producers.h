/*
 * producers.h: bounded idempotence windows, per (stream, producer id), private to the sequencer.
 *
 * An append may carry a producer id and a sequence number. A batch with sequence s uses up
 * `span` sequence numbers, [s, s+span), and the producer's next batch on that stream must start at
 * s+span. The native protocol numbers batches (span 1: 0, 1, 2, ...); Kafka's idempotent producer
 * (KIP-98) numbers messages (span = the batch's message count), and both fit this one rule. For
 * each (stream, producer) the window keeps the last W batches (sequence, span, count, base offset,
 * timestamp), W <= PRODUCER_WINDOW_MAX:
 *   - s == next expected: a new batch, applied;
 *   - s is the start of a batch in the window with the same span: a retry; it gets the
 *     original offsets and is not applied again;
 *   - s > next expected: a gap, OUT_OF_ORDER_SEQUENCE;
 *   - s before the oldest batch of the window: SEQUENCE_TOO_OLD;
 *   - any other s (inside the window but not on a batch start, or another span):
 *     OUT_OF_ORDER_SEQUENCE.
 * A (stream, producer) pair not in the table starts its window with whatever sequence it sends.
 * The table holds capacity pairs; when full, the least recently used pair is forgotten (and a
 * retry of its batches could no longer be recognized: capacity is a config limit, see
 * docs/node.md).
 *
 * The table is rebuilt after a restart by feeding the batches of the node log and of the store
 * to producers_record in stream order; recording is idempotent (a batch already in the window,
 * or older than its next expected sequence, changes nothing).
 */
#ifndef STROM_NODE_PRODUCERS_H
#define STROM_NODE_PRODUCERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PRODUCER_WINDOW_MAX   16         /* the largest window W */
#define PRODUCER_CAPACITY_MAX (1u << 24) /* the most (stream, producer) pairs */

/* One remembered batch. */
struct producer_batch {
    uint64_t sequence;     /* its sequence number (the first of its span) */
    uint64_t base_offset;  /* offset of its first message */
    uint64_t timestamp_ns; /* the timestamp the sequencer gave it */
    uint32_t count;        /* messages */
    uint32_t span;         /* sequence numbers it uses up, >= 1 */
};

/* The window of one (stream, producer) pair. */
struct producer {
    uint64_t stream_id;
    uint64_t producer_id;
    uint64_t next_sequence; /* the sequence the next new batch must carry */
    uint32_t batch_count;   /* valid entries in batches, <= window */
    uint32_t newest;        /* index in batches of the newest entry (a ring of window entries) */
    uint32_t lru_prev;      /* more recently used neighbour, or PRODUCER_NONE */
    uint32_t lru_next;      /* less recently used neighbour, or PRODUCER_NONE */
    struct producer_batch batches[PRODUCER_WINDOW_MAX];
};

#define PRODUCER_NONE UINT32_MAX

/* The table. Memory is given by the caller (producers_bytes of it) and never grows. */
struct producers {
    uint32_t capacity;       /* pairs */
    uint32_t window;         /* W, in [1, PRODUCER_WINDOW_MAX] */
    uint32_t index_slots;    /* power of two >= 2 x capacity */
    uint32_t count;          /* pairs in use */
    uint32_t lru_head;       /* most recently used, or PRODUCER_NONE */
    uint32_t lru_tail;       /* least recently used, or PRODUCER_NONE */
    uint64_t evictions;      /* pairs forgotten because the table was full */
    struct producer *states; /* capacity entries; 0..count-1 in use */
    uint32_t *index;         /* open addressing, linear probing: state index + 1, 0 empty */
};

size_t producers_bytes(uint32_t capacity);
/* memory: producers_bytes(capacity) bytes, 8-byte aligned. capacity in [1, PRODUCER_CAPACITY_MAX],
 * window in [1, PRODUCER_WINDOW_MAX]. */
void producers_init(struct producers *p, void *memory, uint32_t capacity, uint32_t window);

/* Judges a batch with sequence and span >= 1 from producer_id on stream_id (see the rules
 * above): STROM_OK (new), STROM_ERR_EXISTS (a retry: *original_out is the first application),
 * STROM_ERR_OUT_OF_ORDER_SEQUENCE, STROM_ERR_SEQUENCE_TOO_OLD, or STROM_ERR_INVALID_ARGUMENT
 * when sequence + span overflows. Changes nothing but recency. */
strom_err producers_check(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                          uint64_t sequence, uint32_t span, struct producer_batch *original_out);

/* Remembers an applied batch (after it is published), or one replayed in recovery; b->span >= 1
 * and b->count >= 1. */
void producers_record(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                      const struct producer_batch *b);

#endif
