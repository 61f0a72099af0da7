/*
 * records.h: the record sets of Produce and Fetch. A Produce partition carries a record set of
 * one or more RecordBatches back to back; a Fetch partition answers with whole stored batches.
 *
 * Source: kafka.apache.org/protocol ("Records") and KIP-74 (Fetch max bytes: the first batch is
 * returned even when it is larger than the limit, so a consumer can always make progress).
 */
#ifndef STROM_KAFKA_RECORDS_H
#define STROM_KAFKA_RECORDS_H

#include <stdint.h>

#include "base/error.h"
#include "kafka/record_batch.h"
#include "kafka/wire.h"

/* --- Produce: splitting a record set into batches ------------------------------------------ */

/* One validated batch of a produce record set: a view into the request. */
struct kafka_batch_view {
    const uint8_t *data; /* the whole batch, log overhead included */
    uint32_t bytes;
    struct kafka_batch_header header;
};

/* Iterates the batches of one Produce partition's record set. */
struct kafka_batch_split {
    const uint8_t *records;
    size_t bytes;
    size_t pos; /* start of the next batch; pos <= bytes */
};

/* Starts a split. A null record set (len -1) holds no batch. */
void kafka_batch_split_init(struct kafka_batch_split *s, struct kafka_bytes records);

/*
 * The next batch, validated with kafka_batch_validate (errors as there; a partial batch at the
 * end is TRUNCATED). END after the last batch; EMPTY when the record set holds no batch at all.
 * The view is read-only: whoever owns the request buffer, or a copy of the batch (the one that
 * is stored), writes the offsets into it with kafka_batch_assign.
 */
strom_err kafka_batch_split_next(struct kafka_batch_split *s, const struct kafka_batch_limits *lim,
                                 struct kafka_batch_view *out);

/* --- Fetch: choosing stored batches --------------------------------------------------------- */

/*
 * Gathers the batches of one Fetch partition response. Offer stored batches of the stream in
 * offset order; the fill takes the one that holds fetch_offset and those after it while the total
 * stays within max_bytes, always taking the first even when it alone exceeds max_bytes. The
 * taken batches become the record segments of a kafka_fetch_partition_response.
 */
struct kafka_fetch_fill {
    int64_t fetch_offset; /* the offset the consumer asked for */
    uint32_t max_bytes;   /* the partition's (or what is left of the request's) byte limit */
    uint32_t bytes;       /* bytes taken so far */
    int64_t next_offset;  /* the offset after the last batch taken (fetch_offset before) */
    int32_t count;        /* batches taken so far; count <= segments_cap */
    int32_t segments_cap; /* room in segments (at most KAFKA_RECORD_SEGMENTS_MAX) */
    struct kafka_bytes *segments; /* the taken batches (caller's memory) */
};

void kafka_fetch_fill_init(struct kafka_fetch_fill *f, int64_t fetch_offset, uint32_t max_bytes,
                           struct kafka_bytes *segments, int32_t segments_cap);

/*
 * Offers the stored batch [base_offset, base_offset + record_count) whose bytes are data.
 * STROM_OK: taken, offer the next. AGAIN: it ends at or before fetch_offset; skipped, offer the
 * next. END: the fill is complete (byte limit or segment room reached); this batch was not taken.
 * GAP: the batch does not continue the taken ones (base_offset != next_offset), or the first
 * batch taken starts after fetch_offset: offsets are dense, so the caller's source is wrong.
 */
strom_err kafka_fetch_fill_offer(struct kafka_fetch_fill *f, int64_t base_offset,
                                 int32_t record_count, struct kafka_bytes data);

#endif
