/*
 * kconv.h: a stream's batches hold either a native message set (msgset.h) or, when a Kafka client
 * produced them (NODE_FLAG_KAFKA), one Kafka RecordBatch v2 as it came (kafka/record_batch.h).
 * Readers of the other protocol get them converted on the fly, here:
 *   - a native reader of a Kafka batch gets a native message set: one message per record, with
 *     the record's value as payload (null: empty), its key (null: none), its headers (a null value:
 *     empty) and its timestamp (ms) as the message's client timestamp (ns);
 *   - a Kafka consumer of a native batch gets a RecordBatch v2 built from the messages:
 *     uncompressed, CreateTime, no producer id; the message's client timestamp (ms), or the
 *     node's timestamp of its batch when the message has none; an empty key is sent as null.
 * Offsets are the stream's: one offset per message and per record, so a batch may be converted
 * from any offset inside it, and in pieces (records [from, end) at a time) to stay within a
 * byte bound.
 */
#ifndef STROM_NODE_KCONV_H
#define STROM_NODE_KCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kafka/record_batch.h"

/* --- Kafka batch -> native message set -------------------------------------------------------- */

/* An opened Kafka batch (decompressed once into the caller's scratch). */
struct kconv_kafka {
    struct kafka_record_iter start; /* a fresh iteration; copied for each pass */
};

/* A piece of a Kafka batch as a native set: records [first_offset, first_offset + count). */
struct kconv_piece {
    uint64_t first_offset;
    uint32_t count;
    uint32_t set_bytes; /* bytes of the native message set */
};

/*
 * Opens the Kafka batch batch[0, bytes) (checked: framing, CRC), decompressing its records into
 * scratch (scratch_cap bytes) when it is compressed. scratch must outlive the use of k. Errors:
 * those of kafka_records_begin (CORRUPT, TRUNCATED, TOO_LARGE above scratch_cap, UNSUPPORTED).
 */
strom_err kconv_kafka_open(struct kconv_kafka *k, const uint8_t *batch, uint32_t bytes,
                           uint8_t *scratch, size_t scratch_cap);

/*
 * Measures the piece of records with offsets >= from whose native set stays within set_bytes_max
 * (at least one record, whatever its size). Errors: END (no record at or after from), CORRUPT (a
 * malformed record), TOO_LARGE (a record's key or headers beyond the native limits of msgset.h).
 */
strom_err kconv_kafka_measure(const struct kconv_kafka *k, uint64_t from, uint64_t set_bytes_max,
                              struct kconv_piece *piece);

/* Writes the native set of a piece kconv_kafka_measure returned into out (piece->set_bytes);
 * false when the records no longer match the measure (a batch read from a ring its writer
 * overwrote meanwhile): out then holds no valid set, and nothing beyond set_bytes was written. */
bool kconv_kafka_write(const struct kconv_kafka *k, const struct kconv_piece *piece, uint8_t *out);

/* --- native message set -> Kafka batch -------------------------------------------------------- */

#define KCONV_BUILD_RECORDS_MAX 65536u  /* records in one built batch */
#define KCONV_BUILD_HEADERS_MAX 262144u /* headers of all records of one built batch */

/* The caller's room for building (KCONV_BUILD_RECORDS_MAX records, KCONV_BUILD_HEADERS_MAX
 * headers), allocated once. */
struct kconv_build {
    struct kafka_record_in *records;
    struct kafka_header_in *headers;
};

/* A native batch as stored. */
struct kconv_native {
    const uint8_t *set; /* the message set */
    uint32_t set_bytes;
    uint32_t count;        /* its messages */
    uint64_t base_offset;  /* offset of the first */
    uint64_t timestamp_ns; /* the node's timestamp of the batch */
    int32_t leader_epoch;  /* the stream's epoch */
};

/*
 * Builds into out (cap bytes) one RecordBatch of the messages of n with offsets >= from, taking
 * messages while the batch stays within bytes_max (at least one message); *len_out is its size
 * and *end_out the offset after its last record. Errors: END (no message at or after from),
 * CORRUPT (a malformed set), OVERFLOW (out cannot hold even one message).
 */
strom_err kconv_native_to_kafka(const struct kconv_native *n, uint64_t from, uint32_t bytes_max,
                                const struct kconv_build *b, uint8_t *out, size_t cap,
                                size_t *len_out, uint64_t *end_out);

#endif
