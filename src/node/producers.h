/*
 * producers.h: bounded idempotence windows per (stream, producer id), kept by the sequencer in
 * shared memory so that they survive a restart of the sequencer.
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
 * A (stream, producer) pair not in the table starts its window with whatever sequence it sends,
 * unless the batch is a retry (the client sent it before, on a connection that broke): the node
 * cannot tell whether a forgotten pair's batch was applied, so a retry from a pair not in the
 * table (evicted, or not rebuilt after a restart of the whole node) gets SEQUENCE_TOO_OLD, never
 * a second application.
 * Once the node has started again on stored data, or has evicted a pair, a pair that starts its
 * window so may be one whose window the crash or the eviction lost: it gets the allowance of a
 * rebuilt window below (a batch past a gap is applied for its first W batches). On a node that
 * has done neither, a new pair is new, and a gap is OUT_OF_ORDER_SEQUENCE.
 * A window rebuilt from the stores when the whole node starts again (producers_mark_recovered)
 * holds only the batches that were durable; the producer may have had later batches acknowledged
 * at ack 1 that the crash took back, so its next sequence may lie beyond the window's, and the
 * batches it sends again (those it had not seen answered) may have such holes between them: for
 * the first W batches applied after the start, a batch past a gap is applied (not
 * OUT_OF_ORDER_SEQUENCE, which the producer could never get past); the window is an ordinary one
 * from there on.
 * The table holds `capacity` pairs; when it is full, a new pair replaces the least recently used
 * of PRODUCER_EVICT_SAMPLES pairs picked at random (approximate LRU, as Redis evicts keys): a
 * forgotten pair's retries are no longer recognized, so capacity is a config limit
 * (--producers-max, docs/node.md).
 *
 * Crash safety: each state holds its own key and window, and the index over them is rebuilt by
 * producers_attach, so a sequencer that died in the middle of an update leaves at most that one
 * state stale; the restarted sequencer records the last node log entry again (recording is
 * idempotent: a batch older than the pair's next expected sequence changes nothing).
 *
 * Region layout: struct producers_header | capacity x struct producer | index (index_slots x 4 B).
 * Only the sequencer touches it.
 */
#ifndef STROM_NODE_PRODUCERS_H
#define STROM_NODE_PRODUCERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PRODUCER_WINDOW_MAX    16                  /* the largest window W */
#define PRODUCER_CAPACITY_MAX  (1u << 24)          /* the most (stream, producer) pairs */
#define PRODUCER_EVICT_SAMPLES 8                   /* pairs looked at to pick one to forget */
#define PRODUCERS_MAGIC        0x3130646f72707473u /* "stprod01" */

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
    uint64_t last_used;     /* the table's clock when the pair was last checked or recorded */
    uint32_t batch_count;   /* valid entries in batches, <= window */
    uint32_t newest;        /* index in batches of the newest entry (a ring of window entries) */
    uint32_t recovered;     /* rebuilt from the stores at a node start: batches that may still
                               follow a gap (see above) */
    uint32_t reserved;      /* zero */
    struct producer_batch batches[PRODUCER_WINDOW_MAX];
};

/* At the start of the region. */
struct producers_header {
    uint64_t magic;        /* PRODUCERS_MAGIC once formatted */
    uint32_t capacity;     /* pairs */
    uint32_t window;       /* W, in [1, PRODUCER_WINDOW_MAX] */
    uint32_t index_slots;  /* power of two >= 2 x capacity */
    uint32_t count;        /* states 0..count-1 are in use */
    uint64_t clock;        /* counts checks and records: the recency of last_used */
    uint64_t evictions;    /* pairs forgotten to make room */
    uint64_t windows_lost; /* 1 once the node started again on stored data (see above) */
    uint64_t reserved[2];
};
_Static_assert(sizeof(struct producers_header) == 64, "header layout");

/* A process's view of the region (the sequencer's). */
struct producers {
    struct producers_header *header;
    struct producer *states; /* capacity entries */
    uint32_t *index;         /* open addressing, linear probing: state index + 1, 0 empty */
    uint64_t sample_state;   /* picks eviction samples (xorshift64) */
};

/* Bytes of a region for capacity pairs. */
size_t producers_region_bytes(uint32_t capacity);

/* Formats a zero-filled region (8-byte aligned) for capacity pairs in [1, PRODUCER_CAPACITY_MAX]
 * and a window in [1, PRODUCER_WINDOW_MAX]. */
void producers_format(void *region, uint32_t capacity, uint32_t window);

/* Attaches to a formatted region of region_bytes and rebuilds the index from the states.
 * Errors: CORRUPT when the header does not describe such a region. */
strom_err producers_attach(struct producers *p, void *region, size_t region_bytes);

/* Judges a batch with sequence and span >= 1 from producer_id on stream_id (see the rules
 * above; retry: the client sent the batch before): STROM_OK (new), STROM_ERR_EXISTS (a retry:
 * *original_out is the first application), STROM_ERR_OUT_OF_ORDER_SEQUENCE,
 * STROM_ERR_SEQUENCE_TOO_OLD (also a retry from a pair not in the table), or
 * STROM_ERR_INVALID_ARGUMENT when sequence + span overflows. Changes nothing but recency. */
strom_err producers_check(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                          uint64_t sequence, uint32_t span, bool retry,
                          struct producer_batch *original_out);

/* Marks every pair's window as rebuilt from the stores (see above); data_found: the node started
 * on stored data, so pairs it does not hold may have lost their windows. */
void producers_mark_recovered(struct producers *p, bool data_found);

/* Remembers an applied batch (after it is published), or one replayed in recovery; b->span >= 1
 * and b->count >= 1. */
void producers_record(struct producers *p, uint64_t stream_id, uint64_t producer_id,
                      const struct producer_batch *b);

#endif
