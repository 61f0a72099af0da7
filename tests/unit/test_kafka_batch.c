/*
 * test_kafka_batch.c: RecordBatch v2 validation, offset assignment, record iteration for every
 * codec (batches librdkafka compressed, captured in tests/data/kafka/, and batches strom builds),
 * corruption, bounds and decompression bombs, Produce splitting and Fetch filling.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/crc32c.h"
#include "kafka/compress.h"
#include "kafka/messages.h"
#include "kafka/record_batch.h"
#include "kafka/records.h"

#define BUF_BYTES (2 * 1024 * 1024)

static uint8_t frame[BUF_BYTES];
static uint8_t batch_buf[BUF_BYTES];
static uint8_t scratch[BUF_BYTES];
static uint8_t arena_mem[64 * 1024];

static bool bytes_eq(struct kafka_bytes b, const char *s) {
    size_t n = strlen(s);
    return b.len >= 0 && (size_t)b.len == n && memcmp(b.ptr, s, n) == 0;
}

/* The messages capture.py produced (MESSAGES there): key k<i>, value value-<i>-abcdefgh x 8. */
static void expected_value(int i, char *out, size_t cap) {
    int n = snprintf(out, cap, "value-%d-", i);
    for (int j = 0; j < 8; j++) {
        n += snprintf(out + n, cap - (size_t)n, "abcdefgh");
    }
}

/* Loads a captured Produce v7 request and returns its one partition's record set. */
static struct kafka_bytes captured_records(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/kafka/%s", name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing %s (run from the repository root)", path);
    size_t n = fread(frame, 1, sizeof frame, f);
    fclose(f);
    struct kafka_arena a;
    kafka_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kafka_request req;
    cr_assert_eq(kafka_request_decode(frame, n, &a, &req), STROM_OK);
    return req.body.produce.topics[0].partitions[0].records;
}

static void recompute_crc(uint8_t *b, size_t len) {
    kafka_store_be32(b + 17, crc32c(0, b + KAFKA_BATCH_CRC_FROM, len - KAFKA_BATCH_CRC_FROM));
}

Test(kafka_batch, captured_librdkafka_batches_of_every_codec_iterate) {
    const char *names[KAFKA_COMPRESSION_COUNT] = {"produce_v7_none.bin", "produce_v7_gzip.bin",
                                                  "produce_v7_snappy.bin", "produce_v7_lz4.bin",
                                                  "produce_v7_zstd.bin"};
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    for (int codec = 0; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        struct kafka_bytes records = captured_records(names[codec]);
        struct kafka_batch_split split;
        kafka_batch_split_init(&split, records);
        struct kafka_batch_view view;
        cr_assert_eq(kafka_batch_split_next(&split, &lim, &view), STROM_OK, "%s", names[codec]);
        cr_assert_eq(kafka_batch_compression(&view.header), codec, "%s", names[codec]);
        cr_assert_eq(view.header.record_count, 20);
        cr_assert_eq(view.header.base_offset, 0);
        struct kafka_record_iter it;
        cr_assert_eq(kafka_records_begin(&it, view.data, view.bytes, &lim, scratch, sizeof scratch),
                     STROM_OK, "%s", names[codec]);
        for (int i = 0; i < 20; i++) {
            struct kafka_record rec;
            cr_assert_eq(kafka_records_next(&it, &rec), STROM_OK, "%s record %d", names[codec], i);
            char key[16], value[128];
            snprintf(key, sizeof key, "k%d", i);
            expected_value(i, value, sizeof value);
            cr_assert(bytes_eq(rec.key, key), "%s record %d key", names[codec], i);
            cr_assert(bytes_eq(rec.value, value), "%s record %d value", names[codec], i);
            cr_assert_eq(rec.offset, i);
            cr_assert_geq(rec.timestamp, view.header.base_timestamp);
            cr_assert_eq(rec.headers_count, 1);
            struct kafka_header_iter hi;
            kafka_record_headers(&rec, &hi);
            struct kafka_bytes hk, hv;
            cr_assert(kafka_record_header_next(&hi, &hk, &hv));
            cr_assert(bytes_eq(hk, "h1") && bytes_eq(hv, "v1"));
            cr_assert_not(kafka_record_header_next(&hi, &hk, &hv));
        }
        struct kafka_record rec;
        cr_assert_eq(kafka_records_next(&it, &rec), STROM_ERR_END);
        cr_assert_eq(kafka_batch_split_next(&split, &lim, &view), STROM_ERR_END);
    }
}

/* Builds a batch of n records (key k<i> or null for i % 3 == 2, value v<i> x width). */
static size_t build(int codec, int n, int width, int64_t base_offset) {
    static char values[64][256];
    static struct kafka_record_in recs[64];
    static const struct kafka_header_in hdrs[] = {
        {{(const uint8_t *)"trace", 5}, {(const uint8_t *)"abc", 3}},
        {{(const uint8_t *)"nullv", 5}, {NULL, -1}},
    };
    cr_assert_leq(n, 64);
    for (int i = 0; i < n; i++) {
        int len = 0;
        for (int j = 0; j < width && len < 250; j++) {
            len += snprintf(values[i] + len, sizeof values[i] - (size_t)len, "v%d", i % 10);
        }
        recs[i] = (struct kafka_record_in){
            .timestamp_ms = 1700000000000LL + i * 7 - (i == 1 ? 100 : 0),
            .key = i % 3 == 2 ? (struct kafka_bytes){NULL, -1}
                              : (struct kafka_bytes){(const uint8_t *)"key", 3},
            .value = {(const uint8_t *)values[i], len},
            .headers_count = i % 2 == 0 ? 2 : 0,
            .headers = hdrs};
    }
    struct kafka_batch_build_params p = kafka_batch_build_params_default(base_offset);
    p.compression = codec;
    size_t len = 0;
    strom_err err =
        kafka_batch_build(&p, recs, n, scratch, sizeof scratch, batch_buf, sizeof batch_buf, &len);
    cr_assert_eq(err, STROM_OK, "build %s: %s", kafka_compression_name(codec), strom_errname(err));
    return len;
}

Test(kafka_batch, built_batches_of_every_codec_validate_and_iterate) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    for (int codec = 0; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        size_t len = build(codec, 40, 30, 500);
        struct kafka_batch_header h;
        cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_OK);
        cr_assert_eq(kafka_batch_bytes(&h), len);
        cr_assert_eq(h.record_count, 40);
        cr_assert_eq(h.last_offset_delta, 39);
        cr_assert_eq(kafka_batch_compression(&h), codec);
        cr_assert_eq(h.base_timestamp, 1700000000000LL);
        cr_assert_eq(h.max_timestamp, 1700000000000LL + 39 * 7);
        cr_assert_eq(h.producer_id, -1);
        if (codec == KAFKA_COMPRESSION_SNAPPY) { /* the xerial framing the Java client reads */
            cr_assert_eq(memcmp(batch_buf + 61, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16), 0);
        }
        if (codec != KAFKA_COMPRESSION_NONE) {
            cr_assert_lt(len, 40 * 60, "%s did not compress", kafka_compression_name(codec));
        }
        struct kafka_record_iter it;
        cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch),
                     STROM_OK);
        for (int i = 0; i < 40; i++) {
            struct kafka_record rec;
            cr_assert_eq(kafka_records_next(&it, &rec), STROM_OK);
            cr_assert_eq(rec.offset, 500 + i);
            cr_assert_eq(rec.timestamp, 1700000000000LL + i * 7 - (i == 1 ? 100 : 0));
            cr_assert_eq(rec.key.len, i % 3 == 2 ? -1 : 3);
            cr_assert_eq(rec.value.len, 60);
            cr_assert_eq(rec.value.ptr[1], '0' + i % 10);
            cr_assert_eq(rec.headers_count, i % 2 == 0 ? 2 : 0);
            if (i % 2 == 0) {
                struct kafka_header_iter hi;
                struct kafka_bytes hk, hv;
                kafka_record_headers(&rec, &hi);
                cr_assert(kafka_record_header_next(&hi, &hk, &hv));
                cr_assert(bytes_eq(hk, "trace") && bytes_eq(hv, "abc"));
                cr_assert(kafka_record_header_next(&hi, &hk, &hv));
                cr_assert(bytes_eq(hk, "nullv") && hv.len == -1);
            }
        }
        struct kafka_record rec;
        cr_assert_eq(kafka_records_next(&it, &rec), STROM_ERR_END);
    }
}

Test(kafka_batch, offset_assignment_keeps_the_crc_valid) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    for (int codec = 0; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        size_t len = build(codec, 5, 3, 0);
        uint32_t crc_before = kafka_load_be32(batch_buf + 17);
        kafka_batch_assign(batch_buf, len, 1234567890123LL, 77);
        struct kafka_batch_header h;
        cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_OK);
        cr_assert_eq(h.base_offset, 1234567890123LL);
        cr_assert_eq(h.partition_leader_epoch, 77);
        cr_assert_eq(h.crc, crc_before);
        struct kafka_record_iter it;
        struct kafka_record rec;
        cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch),
                     STROM_OK);
        cr_assert_eq(kafka_records_next(&it, &rec), STROM_OK);
        cr_assert_eq(rec.offset, 1234567890123LL);
    }
    /* The same on a batch librdkafka compressed. */
    struct kafka_bytes records = captured_records("produce_v7_zstd.bin");
    memcpy(batch_buf, records.ptr, (size_t)records.len);
    kafka_batch_assign(batch_buf, (size_t)records.len, 99, 3);
    struct kafka_batch_header h;
    cr_assert_eq(kafka_batch_validate(batch_buf, (size_t)records.len, &lim, &h), STROM_OK);
    cr_assert_eq(h.base_offset, 99);
}

Test(kafka_batch, corruption_is_detected_by_the_crc) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    for (int codec = 0; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        size_t len = build(codec, 10, 5, 0);
        struct kafka_batch_header h;
        /* Every byte from the attributes to the end is covered. */
        for (size_t at = KAFKA_BATCH_CRC_FROM; at < len; at += 7) {
            batch_buf[at] ^= 0x20;
            cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT,
                         "%s: flip at %zu", kafka_compression_name(codec), at);
            batch_buf[at] ^= 0x20;
        }
        batch_buf[17] ^= 1; /* the CRC itself */
        cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
        batch_buf[17] ^= 1;
        cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_OK);
    }
}

Test(kafka_batch, bad_framing_magic_and_counts_are_rejected) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    size_t len = build(KAFKA_COMPRESSION_NONE, 3, 2, 0);
    struct kafka_batch_header h;
    cr_assert_eq(kafka_batch_validate(batch_buf, len - 1, &lim, &h), STROM_ERR_TRUNCATED);
    cr_assert_eq(kafka_batch_validate(batch_buf, 40, &lim, &h), STROM_ERR_TRUNCATED);
    cr_assert_eq(kafka_batch_validate(batch_buf, 10, &lim, &h), STROM_ERR_TRUNCATED);
    lim.batch_bytes_max = (uint32_t)len - 1;
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_TOO_LARGE);
    lim = kafka_batch_limits_default();
    lim.records_max = 2;
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_TOO_LARGE);
    lim = kafka_batch_limits_default();
    /* A huge declared length is TOO_LARGE before the buffer is looked at. */
    kafka_store_be32(batch_buf + 8, 0x7fffffff);
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_TOO_LARGE);
    kafka_store_be32(batch_buf + 8, 20); /* shorter than a header */
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
    kafka_store_be32(batch_buf + 8, (uint32_t)(len - 12));
    batch_buf[16] = 1; /* a v1 message set */
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_UNSUPPORTED);
    batch_buf[16] = 3;
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
    batch_buf[16] = 2;
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_OK);
    /* recordCount disagreeing with lastOffsetDelta, and a codec above zstd (CRC made valid). */
    kafka_store_be32(batch_buf + 57, 4);
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
    kafka_store_be32(batch_buf + 57, 3);
    batch_buf[22] = 5;
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
    batch_buf[22] = 0;
    /* More records than an uncompressed body can hold. */
    kafka_store_be32(batch_buf + 57, 1000);
    kafka_store_be32(batch_buf + 23, 999);
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
    /* A negative base offset. */
    len = build(KAFKA_COMPRESSION_NONE, 3, 2, 0);
    kafka_store_be64(batch_buf, (uint64_t)-5);
    cr_assert_eq(kafka_batch_validate(batch_buf, len, &lim, &h), STROM_ERR_CORRUPT);
}

Test(kafka_batch, malformed_records_inside_a_valid_crc_are_rejected) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    struct kafka_record_iter it;
    struct kafka_record rec;
    /* The first record's length varint claims more than there is. */
    size_t len = build(KAFKA_COMPRESSION_NONE, 2, 2, 0);
    batch_buf[61] = 0x7e; /* varint 63 */
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch), STROM_OK);
    cr_assert_eq(kafka_records_next(&it, &rec), STROM_ERR_CORRUPT);
    /* An offsetDelta that is not the record's index (record 0's delta set to 1). */
    len = build(KAFKA_COMPRESSION_NONE, 2, 2, 0);
    cr_assert_eq(batch_buf[64], 0); /* length, attributes, timestamp delta 0, offset delta 0 */
    batch_buf[64] = 2;
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch), STROM_OK);
    cr_assert_eq(kafka_records_next(&it, &rec), STROM_ERR_CORRUPT);
    /* Bytes left over after the declared records (recordCount lowered to 1). */
    len = build(KAFKA_COMPRESSION_NONE, 2, 2, 0);
    kafka_store_be32(batch_buf + 57, 1);
    kafka_store_be32(batch_buf + 23, 0);
    recompute_crc(batch_buf, len);
    cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch), STROM_OK);
    cr_assert_eq(kafka_records_next(&it, &rec), STROM_OK);
    cr_assert_eq(kafka_records_next(&it, &rec), STROM_ERR_CORRUPT);
    /* A compressed body that is not valid for its codec. */
    for (int codec = 1; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        len = build(codec, 4, 4, 0);
        memset(batch_buf + 61, 0x41, len - 61);
        recompute_crc(batch_buf, len);
        strom_err err = kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch);
        if (err == STROM_OK) { /* the codec may "decode" garbage: then the records cannot be */
            err = kafka_records_next(&it, &rec);
        }
        cr_assert_neq(err, STROM_OK, "%s accepted garbage", kafka_compression_name(codec));
    }
}

Test(kafka_batch, decompression_is_bounded_by_the_caller) {
    static uint8_t zeros[1 << 20];
    const struct kafka_record_in rec = {
        .timestamp_ms = 1, .key = {NULL, -1}, .value = {zeros, sizeof zeros}};
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    for (int codec = 1; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        struct kafka_batch_build_params p = kafka_batch_build_params_default(0);
        p.compression = codec;
        size_t len = 0;
        cr_assert_eq(kafka_batch_build(&p, &rec, 1, scratch, sizeof scratch, batch_buf,
                                       sizeof batch_buf, &len),
                     STROM_OK);
        cr_assert_lt(len, 64 * 1024, "%s: a megabyte of zeros", kafka_compression_name(codec));
        struct kafka_record_iter it;
        /* The scratch buffer bounds the output... */
        cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, 64 * 1024),
                     STROM_ERR_TOO_LARGE, "%s", kafka_compression_name(codec));
        /* ... and so does the limit, whichever is smaller. */
        lim.decompressed_bytes_max = 1000;
        cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch),
                     STROM_ERR_TOO_LARGE, "%s", kafka_compression_name(codec));
        lim = kafka_batch_limits_default();
        cr_assert_eq(kafka_records_begin(&it, batch_buf, len, &lim, scratch, sizeof scratch),
                     STROM_OK);
        struct kafka_record r;
        cr_assert_eq(kafka_records_next(&it, &r), STROM_OK);
        cr_assert_eq(r.value.len, (int32_t)sizeof zeros);
    }
}

Test(kafka_batch, codecs_round_trip_into_an_exact_buffer) {
    static uint8_t in[100000], comp[200000], out[100000];
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (uint8_t)((i * 31) % 251 < 128 ? i % 7 : 'x');
    }
    for (int codec = 1; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        size_t clen = 0, olen = 0;
        cr_assert_leq(kafka_compress_bound(codec, sizeof in), sizeof comp);
        cr_assert_eq(kafka_compress(codec, in, sizeof in, comp, sizeof comp, &clen), STROM_OK);
        cr_assert_eq(kafka_decompress(codec, comp, clen, out, sizeof in, &olen), STROM_OK,
                     "%s into an exact buffer", kafka_compression_name(codec));
        cr_assert_eq(olen, sizeof in);
        cr_assert_eq(memcmp(in, out, olen), 0);
        cr_assert_eq(kafka_decompress(codec, comp, clen, out, sizeof in - 1, &olen),
                     STROM_ERR_TOO_LARGE, "%s one byte short", kafka_compression_name(codec));
        cr_assert_eq(kafka_decompress(codec, comp, clen / 2, out, sizeof out, &olen),
                     STROM_ERR_CORRUPT, "%s truncated", kafka_compression_name(codec));
        cr_assert_eq(kafka_compress(codec, in, sizeof in, comp, 10, &clen), STROM_ERR_OVERFLOW);
    }
    size_t olen;
    cr_assert_eq(kafka_decompress(KAFKA_COMPRESSION_NONE, in, 1, out, 1, &olen),
                 STROM_ERR_UNSUPPORTED);
    cr_assert_eq(kafka_decompress(6, in, 1, out, 1, &olen), STROM_ERR_UNSUPPORTED);
}

Test(kafka_batch, gzip_reads_concatenated_members_and_snappy_reads_raw_blocks) {
    static uint8_t comp[4096], out[4096];
    size_t a = 0, b = 0, olen = 0;
    cr_assert_eq(
        kafka_compress(KAFKA_COMPRESSION_GZIP, (const uint8_t *)"hello ", 6, comp, sizeof comp, &a),
        STROM_OK);
    cr_assert_eq(kafka_compress(KAFKA_COMPRESSION_GZIP, (const uint8_t *)"world", 5, comp + a,
                                sizeof comp - a, &b),
                 STROM_OK);
    cr_assert_eq(kafka_decompress(KAFKA_COMPRESSION_GZIP, comp, a + b, out, sizeof out, &olen),
                 STROM_OK);
    cr_assert_eq(olen, 11);
    cr_assert_eq(memcmp(out, "hello world", 11), 0);
    /* A raw snappy block (what librdkafka sends): xerial blocks without their framing. */
    cr_assert_eq(kafka_compress(KAFKA_COMPRESSION_SNAPPY, (const uint8_t *)"snappy!", 7, comp,
                                sizeof comp, &a),
                 STROM_OK);
    size_t block = kafka_load_be32(comp + 16);
    cr_assert_eq(a, 16 + 4 + block);
    cr_assert_eq(
        kafka_decompress(KAFKA_COMPRESSION_SNAPPY, comp + 20, block, out, sizeof out, &olen),
        STROM_OK);
    cr_assert_eq(olen, 7);
    cr_assert_eq(memcmp(out, "snappy!", 7), 0);
}

/* --- Produce splitting ------------------------------------------------------------------------ */

Test(kafka_batch, produce_record_sets_split_into_batches) {
    static uint8_t set[8192];
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    size_t a = build(KAFKA_COMPRESSION_NONE, 2, 2, 0);
    memcpy(set, batch_buf, a);
    size_t b = build(KAFKA_COMPRESSION_LZ4, 3, 2, 0);
    memcpy(set + a, batch_buf, b);
    struct kafka_batch_split s;
    struct kafka_batch_view v;
    kafka_batch_split_init(&s, kafka_bytes_of(set, a + b));
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_OK);
    cr_assert_eq(v.bytes, a);
    cr_assert_eq(v.header.record_count, 2);
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_OK);
    cr_assert_eq(v.data, set + a);
    cr_assert_eq(v.header.record_count, 3);
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_ERR_END);
    /* A partial batch at the end. */
    kafka_batch_split_init(&s, kafka_bytes_of(set, a + b - 1));
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_OK);
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_ERR_TRUNCATED);
    /* No batch at all. */
    kafka_batch_split_init(&s, (struct kafka_bytes){NULL, -1});
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_ERR_EMPTY);
    kafka_batch_split_init(&s, kafka_bytes_of(set, 0));
    cr_assert_eq(kafka_batch_split_next(&s, &lim, &v), STROM_ERR_EMPTY);
}

/* --- Fetch filling -----------------------------------------------------------------------------
 */

Test(kafka_batch, fetch_takes_whole_batches_from_the_one_holding_the_offset) {
    static const uint8_t blob[300];
    struct kafka_bytes segs[8];
    struct kafka_fetch_fill f;
    /* Stored: [0,3) 100 B, [3,5) 100 B, [5,10) 100 B. Fetch offset 4, 250 bytes. */
    kafka_fetch_fill_init(&f, 4, 250, segs, 8);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 0, 3, kafka_bytes_of(blob, 100)), STROM_ERR_AGAIN);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 3, 2, kafka_bytes_of(blob + 100, 100)), STROM_OK);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 5, 5, kafka_bytes_of(blob + 200, 100)), STROM_OK);
    cr_assert_eq(f.count, 2);
    cr_assert_eq(f.bytes, 200);
    cr_assert_eq(f.next_offset, 10);
    cr_assert_eq(segs[0].ptr, blob + 100);
    /* A third batch would pass the limit. */
    cr_assert_eq(kafka_fetch_fill_offer(&f, 10, 1, kafka_bytes_of(blob, 100)), STROM_ERR_END);
    cr_assert_eq(f.count, 2);
    /* The first batch is taken even above the limit (KIP-74), nothing after it. */
    kafka_fetch_fill_init(&f, 0, 10, segs, 8);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 0, 3, kafka_bytes_of(blob, 100)), STROM_OK);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 3, 2, kafka_bytes_of(blob, 1)), STROM_ERR_END);
    cr_assert_eq(f.bytes, 100);
    /* Offsets are dense: a hole or a first batch after the offset is the source's error. */
    kafka_fetch_fill_init(&f, 0, 1000, segs, 8);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 1, 3, kafka_bytes_of(blob, 100)), STROM_ERR_GAP);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 0, 3, kafka_bytes_of(blob, 100)), STROM_OK);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 4, 3, kafka_bytes_of(blob, 100)), STROM_ERR_GAP);
    /* The segment room bounds the fill. */
    kafka_fetch_fill_init(&f, 0, 100000, segs, 2);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 0, 1, kafka_bytes_of(blob, 1)), STROM_OK);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 1, 1, kafka_bytes_of(blob, 1)), STROM_OK);
    cr_assert_eq(kafka_fetch_fill_offer(&f, 2, 1, kafka_bytes_of(blob, 1)), STROM_ERR_END);
}

Test(kafka_batch, error_mapping_for_partitions) {
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_CORRUPT), KAFKA_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_TRUNCATED), KAFKA_ERR_CORRUPT_MESSAGE);
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_TOO_LARGE), KAFKA_ERR_MESSAGE_TOO_LARGE);
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_NO_STREAM), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_UNSUPPORTED_VERSION),
                 KAFKA_ERR_UNSUPPORTED_VERSION);
    cr_assert_eq(kafka_error_from_strom(STROM_OK), KAFKA_ERR_NONE);
    cr_assert_eq(kafka_error_from_strom(STROM_ERR_AGAIN), KAFKA_ERR_UNKNOWN_SERVER_ERROR);
}
