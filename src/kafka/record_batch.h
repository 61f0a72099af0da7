/*
 * record_batch.h: Kafka's RecordBatch (message format v2, "magic 2"): validation, offset
 * assignment in place, iteration over its records (decompressing when needed), and building
 * a batch from messages.
 *
 * Source: kafka.apache.org/documentation/#recordbatch and #record (KIP-98). Layout, big-endian:
 *
 *    0 int64 baseOffset          \ the "log overhead": not counted in batchLength,
 *    8 int32 batchLength         / not covered by the CRC
 *   12 int32 partitionLeaderEpoch  (not covered by the CRC either)
 *   16 int8  magic (2)
 *   17 uint32 crc                  CRC-32C of bytes 21 .. end
 *   21 int16 attributes            bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *   23 int32 lastOffsetDelta
 *   27 int64 baseTimestamp
 *   35 int64 maxTimestamp
 *   43 int64 producerId
 *   51 int16 producerEpoch
 *   53 int32 baseSequence
 *   57 int32 recordCount
 *   61 records (compressed as one block when the codec is not none)
 *
 * A record: varint length, int8 attributes, varlong timestampDelta, varint offsetDelta, varint
 * key length (-1 null) and key, varint value length (-1 null) and value, varint header count,
 * then per header varint key length, key, varint value length (-1 null), value.
 *
 * strom stores a batch as it came and serves it unchanged: the broker writes only baseOffset and
 * partitionLeaderEpoch, which the CRC does not cover, so compressed batches are never opened on
 * the produce path. In strom every offset of a batch holds one record, so a valid batch has
 * recordCount = lastOffsetDelta + 1 and record i has offsetDelta i.
 */
#ifndef STROM_KAFKA_RECORD_BATCH_H
#define STROM_KAFKA_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kafka/compress.h"
#include "kafka/wire.h"

#define KAFKA_BATCH_HEADER_BYTES 61
#define KAFKA_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define KAFKA_BATCH_MAGIC        2
#define KAFKA_BATCH_CRC_FROM     21 /* the CRC covers attributes .. end */
#define KAFKA_RECORD_MIN_BYTES   7  /* length, attributes, three deltas/lengths, header count */

#define KAFKA_ATTR_COMPRESSION_MASK 0x07
#define KAFKA_ATTR_LOG_APPEND_TIME  0x08
#define KAFKA_ATTR_TRANSACTIONAL    0x10
#define KAFKA_ATTR_CONTROL          0x20
#define KAFKA_ATTR_DELETE_HORIZON   0x40

/* Defaults of kafka_batch_limits (Kafka's message.max.bytes is 1048588). */
#define KAFKA_BATCH_BYTES_DEFAULT_MAX        (1024u * 1024 + 12)
#define KAFKA_BATCH_RECORDS_DEFAULT_MAX      (1 << 20)
#define KAFKA_BATCH_DECOMPRESSED_DEFAULT_MAX (64u * 1024 * 1024)

/* The limits a batch is checked against. */
struct kafka_batch_limits {
    uint32_t batch_bytes_max;      /* whole batch, log overhead included: above is TOO_LARGE */
    int32_t records_max;           /* records in one batch: above is TOO_LARGE */
    size_t decompressed_bytes_max; /* records once decompressed: above is TOO_LARGE */
};

/* The defaults above. */
struct kafka_batch_limits kafka_batch_limits_default(void);

struct kafka_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after this field: the whole batch is batch_length + 12 */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
};

/* The whole batch's size in bytes. */
static inline uint32_t kafka_batch_bytes(const struct kafka_batch_header *h) {
    return (uint32_t)h->batch_length + KAFKA_BATCH_LOG_OVERHEAD;
}

static inline int kafka_batch_compression(const struct kafka_batch_header *h) {
    return h->attributes & KAFKA_ATTR_COMPRESSION_MASK;
}

/* Reads the 61-byte header at buf without checking it (TRUNCATED when len < 61). */
strom_err kafka_batch_header_read(const uint8_t *buf, size_t len, struct kafka_batch_header *out);

/*
 * Checks the batch at the start of buf (len bytes; the batch may be followed by others) and
 * reads its header into *out. In order:
 *   - magic 0 or 1 (the old message sets, whose magic byte sits at the same place): UNSUPPORTED;
 *   - fewer than 61 bytes, or batchLength past the end of buf: TRUNCATED;
 *   - the whole batch above lim->batch_bytes_max: TOO_LARGE (checked before the buffer's end);
 *   - batchLength below a header, magic not 2, negative baseOffset, codec above 4, a CRC-32C
 *     mismatch, recordCount < 1 or != lastOffsetDelta + 1, or more records than an uncompressed
 *     body can hold: CORRUPT;
 *   - recordCount above lim->records_max: TOO_LARGE.
 * The records themselves are not opened (kafka_records_begin does that).
 */
strom_err kafka_batch_validate(const uint8_t *buf, size_t len, const struct kafka_batch_limits *lim,
                               struct kafka_batch_header *out);

/*
 * Writes baseOffset and partitionLeaderEpoch into a batch in place. They lie outside the CRC, so
 * a valid batch stays valid. batch must hold at least the 61-byte header (a programmer error
 * otherwise).
 */
void kafka_batch_assign(uint8_t *batch, size_t len, int64_t base_offset, int32_t leader_epoch);

/* --- reading records ---------------------------------------------------------------------- */

struct kafka_record {
    int64_t offset;    /* baseOffset + offsetDelta */
    int64_t timestamp; /* ms: baseTimestamp + delta, or maxTimestamp for LogAppendTime batches */
    int8_t attributes;
    struct kafka_bytes key;   /* len -1: null */
    struct kafka_bytes value; /* len -1: null */
    int32_t headers_count;
    struct kafka_bytes headers; /* the raw headers, walked with kafka_record_header_next */
};

/* Walks a record's headers (already checked by kafka_records_next). */
struct kafka_header_iter {
    struct kafka_reader r;
    int32_t left;
};

/* The iteration over one batch's records. */
struct kafka_record_iter {
    struct kafka_batch_header batch;
    struct kafka_reader r; /* over the records: in the batch, or decompressed into scratch */
    int32_t index;         /* records returned so far */
};

/*
 * Validates the batch at the start of buf (as kafka_batch_validate) and prepares to iterate its
 * records. A compressed batch is decompressed into scratch (scratch_cap bytes; output above
 * min(scratch_cap, lim->decompressed_bytes_max) is TOO_LARGE); records then point into scratch.
 * Errors: those of kafka_batch_validate and kafka_decompress.
 */
strom_err kafka_records_begin(struct kafka_record_iter *it, const uint8_t *buf, size_t len,
                              const struct kafka_batch_limits *lim, uint8_t *scratch,
                              size_t scratch_cap);

/*
 * The next record. END after the last one; CORRUPT when a record is malformed, its offsetDelta
 * is not its index, or the records and recordCount disagree (too few, or bytes left over).
 */
strom_err kafka_records_next(struct kafka_record_iter *it, struct kafka_record *out);

void kafka_record_headers(const struct kafka_record *rec, struct kafka_header_iter *it);
/* The next header: key (never null) and value (len -1: null); false after the last. */
bool kafka_record_header_next(struct kafka_header_iter *it, struct kafka_bytes *key,
                              struct kafka_bytes *value);

/* --- building a batch --------------------------------------------------------------------- */

struct kafka_header_in {
    struct kafka_bytes key;   /* not null */
    struct kafka_bytes value; /* len -1: null */
};

/* One message to put in a batch. */
struct kafka_record_in {
    int64_t timestamp_ms;
    struct kafka_bytes key;   /* len -1: null */
    struct kafka_bytes value; /* len -1: null */
    int32_t headers_count;
    const struct kafka_header_in *headers;
};

struct kafka_batch_build_params {
    int64_t base_offset;
    int32_t leader_epoch;
    int compression;        /* enum kafka_compression */
    int64_t producer_id;    /* -1 when none */
    int16_t producer_epoch; /* -1 when none */
    int32_t base_sequence;  /* -1 when none */
};

/* Parameters of a plain batch: no producer, no compression, epoch 0. */
struct kafka_batch_build_params kafka_batch_build_params_default(int64_t base_offset);

/*
 * Builds a RecordBatch v2 of count >= 1 records (CreateTime; baseTimestamp is the first record's,
 * maxTimestamp the largest) into out (cap bytes); *len_out is its size. A compressed batch first
 * encodes its records into scratch (scratch_cap bytes; unused when uncompressed). Errors: OVERFLOW
 * (out or scratch too small), TOO_LARGE (a batch above 2^31 bytes), UNSUPPORTED (unknown codec),
 * and those of kafka_compress.
 */
strom_err kafka_batch_build(const struct kafka_batch_build_params *p,
                            const struct kafka_record_in *records, int32_t count, uint8_t *scratch,
                            size_t scratch_cap, uint8_t *out, size_t cap, size_t *len_out);

#endif
