/*
 * fuzz_kafka_batch.c: validates arbitrary bytes as a Kafka RecordBatch v2 record set and
 * iterates the records of each batch, decompressing gzip, snappy, lz4 and zstd bodies into a
 * bounded scratch buffer, the way a native reader of a Kafka-written stream does.
 *
 * Properties beyond "no crash, no out-of-bounds access": a batch that validates has its size
 * within the input; records stay inside their batch or the scratch buffer; iteration ends (END
 * or an error) within recordCount + 1 steps; every header of a record that iterated walks.
 * The first input byte is not the record set: its low bit chooses whether the CRC is
 * recomputed first, so the fuzzer reaches the record decoder instead of stopping at the CRC.
 */
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "kafka/record_batch.h"
#include "kafka/records.h"

#define INPUT_BYTES_MAX (256 * 1024)
#define SCRATCH_BYTES   (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t copy[INPUT_BYTES_MAX];
static uint8_t scratch[SCRATCH_BYTES];

/* Makes each batch's CRC right, so that the bytes after the header get decoded. */
static void fix_crcs(uint8_t *buf, size_t len) {
    size_t pos = 0;
    while (len - pos >= KAFKA_BATCH_HEADER_BYTES) {
        uint64_t total = (uint64_t)(uint32_t)kafka_load_be32(buf + pos + 8) + 12;
        if (total < KAFKA_BATCH_HEADER_BYTES || total > len - pos) {
            return;
        }
        uint32_t crc = crc32c(0, buf + pos + KAFKA_BATCH_CRC_FROM, total - KAFKA_BATCH_CRC_FROM);
        kafka_store_be32(buf + pos + 17, crc);
        pos += total;
    }
}

static void walk_records(const struct kafka_batch_view *v, const struct kafka_batch_limits *lim) {
    struct kafka_record_iter it;
    if (kafka_records_begin(&it, v->data, v->bytes, lim, scratch, sizeof scratch) != STROM_OK) {
        return;
    }
    for (int32_t i = 0; i <= v->header.record_count; i++) {
        struct kafka_record rec;
        strom_err err = kafka_records_next(&it, &rec);
        if (err != STROM_OK) {
            strom_assert(err == STROM_ERR_END ? i == v->header.record_count : true);
            return;
        }
        strom_assert(rec.offset == v->header.base_offset + i);
        struct kafka_header_iter hi;
        struct kafka_bytes k, val;
        int32_t headers = 0;
        kafka_record_headers(&rec, &hi);
        while (kafka_record_header_next(&hi, &k, &val)) {
            headers++;
        }
        strom_assert(headers == rec.headers_count);
    }
    strom_unreachable(); /* more than recordCount records */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > INPUT_BYTES_MAX) {
        return 0;
    }
    size_t len = size - 1;
    memcpy(copy, data + 1, len);
    if (data[0] & 1) {
        fix_crcs(copy, len);
    }
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    lim.decompressed_bytes_max = SCRATCH_BYTES / 2;
    struct kafka_batch_split split;
    kafka_batch_split_init(&split, (struct kafka_bytes){copy, (int32_t)len});
    struct kafka_batch_view v;
    while (kafka_batch_split_next(&split, &lim, &v) == STROM_OK) {
        strom_assert(v.data >= copy && v.data + v.bytes <= copy + len);
        walk_records(&v, &lim);
    }
    return 0;
}
