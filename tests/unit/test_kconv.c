/* test_kconv.c: Kafka batches to native message sets and back (src/node/kconv.h): every codec,
 * keys (null and present), headers, timestamps, conversion from an offset inside a batch, pieces
 * bounded in bytes, and the limits. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/record_batch.h"
#include "node/kconv.h"
#include "node/msgset.h"

#define RECORDS 10

static uint8_t batch[1 << 16], scratch[1 << 16], set[1 << 16], out[1 << 16];

/* A Kafka batch of RECORDS records at base offset 100: record i has key "k<i>" (null for i = 3),
 * value "value-<i>", a header h=<i> (a second one with a null value for even i), and timestamp
 * 5000 + i ms. */
static size_t kafka_batch(int codec) {
    static char keys[RECORDS][32], values[RECORDS][32], hv[RECORDS][32];
    static struct kafka_header_in headers[RECORDS][2];
    struct kafka_record_in recs[RECORDS];
    for (int i = 0; i < RECORDS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        snprintf(values[i], sizeof values[i], "value-%d", i);
        snprintf(hv[i], sizeof hv[i], "%d", i);
        headers[i][0] =
            (struct kafka_header_in){kafka_bytes_of("h", 1), kafka_bytes_of(hv[i], strlen(hv[i]))};
        headers[i][1] = (struct kafka_header_in){kafka_bytes_of("n", 1), {NULL, -1}};
        recs[i] = (struct kafka_record_in){.timestamp_ms = 5000 + i,
                                           .key = i == 3 ? (struct kafka_bytes){NULL, -1}
                                                         : kafka_bytes_of(keys[i], strlen(keys[i])),
                                           .value = kafka_bytes_of(values[i], strlen(values[i])),
                                           .headers_count = i % 2 == 0 ? 2 : 1,
                                           .headers = headers[i]};
    }
    struct kafka_batch_build_params p = kafka_batch_build_params_default(100);
    p.compression = codec;
    size_t len = 0;
    cr_assert_eq(
        kafka_batch_build(&p, recs, RECORDS, scratch, sizeof scratch, batch, sizeof batch, &len),
        STROM_OK);
    return len;
}

/* Checks native message j (offset 100 + from + j) of a converted set. */
static void check_native(const struct msgset_msg *m, int i) {
    char want[32];
    snprintf(want, sizeof want, "value-%d", i);
    cr_assert_eq(m->payload_len, strlen(want));
    cr_assert(memcmp(m->payload, want, m->payload_len) == 0);
    cr_assert_eq(m->client_ts_ns, (uint64_t)(5000 + i) * 1000000u);
    if (i == 3) {
        cr_assert_eq(m->key_len, 0);
    } else {
        snprintf(want, sizeof want, "k%d", i);
        cr_assert(m->key_len == strlen(want) && memcmp(m->key, want, m->key_len) == 0);
    }
    cr_assert_eq(m->header_count, i % 2 == 0 ? 2u : 1u);
    uint32_t name_len, value_len;
    memcpy(&name_len, m->headers, 4);
    memcpy(&value_len, m->headers + 5, 4);
    cr_assert(name_len == 1 && m->headers[4] == 'h');
    snprintf(want, sizeof want, "%d", i);
    cr_assert(value_len == strlen(want) && memcmp(m->headers + 9, want, value_len) == 0);
}

Test(kconv, kafka_to_native_every_codec_from_any_offset) {
    for (int codec = 0; codec < KAFKA_COMPRESSION_COUNT; codec++) {
        size_t len = kafka_batch(codec);
        for (uint64_t from = 100; from < 100 + RECORDS; from += 3) {
            struct kconv_kafka k;
            struct kconv_piece piece;
            cr_assert_eq(kconv_kafka_open(&k, batch, (uint32_t)len, scratch, sizeof scratch),
                         STROM_OK);
            cr_assert_eq(kconv_kafka_measure(&k, from, UINT32_MAX, &piece), STROM_OK);
            cr_assert_eq(piece.first_offset, from, "codec %d", codec);
            cr_assert_eq(piece.count, 100 + RECORDS - from);
            cr_assert(kconv_kafka_write(&k, &piece, set));
            cr_assert_eq(msgset_check(set, piece.set_bytes, piece.count, NULL), STROM_OK);
            struct msgset_iter it;
            struct msgset_msg m;
            msgset_iter_init(&it, set, piece.set_bytes, piece.count);
            for (uint32_t j = 0; j < piece.count; j++) {
                cr_assert_eq(msgset_next(&it, &m), STROM_OK);
                check_native(&m, (int)(from - 100 + j));
            }
        }
    }
}

Test(kconv, kafka_to_native_in_pieces) {
    size_t len = kafka_batch(KAFKA_COMPRESSION_ZSTD);
    struct kconv_kafka k;
    cr_assert_eq(kconv_kafka_open(&k, batch, (uint32_t)len, scratch, sizeof scratch), STROM_OK);
    uint64_t next = 100;
    uint32_t pieces = 0;
    while (next < 100 + RECORDS) {
        struct kconv_piece piece;
        cr_assert_eq(kconv_kafka_measure(&k, next, 70, &piece), STROM_OK);
        cr_assert(piece.count >= 1 && (piece.count == 1 || piece.set_bytes <= 70));
        cr_assert_eq(piece.first_offset, next);
        cr_assert(kconv_kafka_write(&k, &piece, set));
        next += piece.count;
        pieces++;
    }
    cr_assert(pieces > 2, "a 70-byte bound cuts the batch into pieces (%u)", pieces);
    struct kconv_piece none;
    cr_assert_eq(kconv_kafka_measure(&k, 100 + RECORDS, 70, &none), STROM_ERR_END);
}

Test(kconv, a_corrupt_batch_is_refused) {
    size_t len = kafka_batch(KAFKA_COMPRESSION_GZIP);
    batch[len - 1] ^= 1;
    struct kconv_kafka k;
    cr_assert_eq(kconv_kafka_open(&k, batch, (uint32_t)len, scratch, sizeof scratch),
                 STROM_ERR_CORRUPT);
    batch[len - 1] ^= 1;
    cr_assert_eq(kconv_kafka_open(&k, batch, (uint32_t)len, scratch, 16), STROM_ERR_TOO_LARGE,
                 "decompressed above the scratch given");
}

/* A native set of RECORDS messages: key "k<i>" (none for i = 3), one header h=<i>, payload
 * "value-<i>", client timestamp (5000 + i) ms except message 5, which has none. */
static uint32_t native_set(void) {
    uint8_t *p = set;
    for (int i = 0; i < RECORDS; i++) {
        char key[32], value[32], hv[32];
        uint32_t kl = i == 3 ? 0 : (uint32_t)snprintf(key, sizeof key, "k%d", i);
        uint32_t vl = (uint32_t)snprintf(value, sizeof value, "value-%d", i);
        uint32_t hl = (uint32_t)snprintf(hv, sizeof hv, "%d", i), one = 1, count = 1;
        uint64_t ts = i == 5 ? 0 : (uint64_t)(5000 + i) * 1000000u;
        memcpy(p, &ts, 8);
        memcpy(p + 8, &kl, 4);
        memcpy(p + 12, key, kl);
        p += 12 + kl;
        memcpy(p, &count, 4);
        memcpy(p + 4, &one, 4);
        p[8] = 'h';
        memcpy(p + 9, &hl, 4);
        memcpy(p + 13, hv, hl);
        p += 13 + hl;
        memcpy(p, &vl, 4);
        memcpy(p + 4, value, vl);
        p += 4 + vl;
    }
    return (uint32_t)(p - set);
}

Test(kconv, native_to_kafka_and_back) {
    uint32_t bytes = native_set();
    cr_assert_eq(msgset_check(set, bytes, RECORDS, NULL), STROM_OK);
    struct kconv_build b = {calloc(KCONV_BUILD_RECORDS_MAX, sizeof *b.records),
                            calloc(KCONV_BUILD_HEADERS_MAX, sizeof *b.headers)};
    struct kconv_native n = {set, bytes, RECORDS, 100, 7777 * 1000000ull, 3};
    size_t len = 0;
    uint64_t end = 0;
    cr_assert_eq(kconv_native_to_kafka(&n, 102, 1 << 16, &b, out, sizeof out, &len, &end),
                 STROM_OK);
    cr_assert_eq(end, 100 + RECORDS);
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    struct kafka_batch_header h;
    cr_assert_eq(kafka_batch_validate(out, len, &lim, &h), STROM_OK);
    cr_assert_eq(h.base_offset, 102);
    cr_assert_eq(h.partition_leader_epoch, 3);
    cr_assert_eq(h.record_count, RECORDS - 2);
    struct kafka_record_iter it;
    struct kafka_record r;
    cr_assert_eq(kafka_records_begin(&it, out, len, &lim, scratch, sizeof scratch), STROM_OK);
    for (int i = 2; i < RECORDS; i++) {
        cr_assert_eq(kafka_records_next(&it, &r), STROM_OK);
        cr_assert_eq(r.offset, 100 + i);
        cr_assert_eq(r.timestamp, i == 5 ? 7777 : 5000 + i, "no client time: the node's");
        cr_assert_eq(r.key.len, i == 3 ? -1 : (int32_t)strlen("k0"), "an empty key goes as null");
        cr_assert_eq(r.headers_count, 1);
    }
    cr_assert_eq(kafka_records_next(&it, &r), STROM_ERR_END);
    /* and in pieces of about 100 bytes */
    uint64_t next = 100;
    int pieces = 0;
    while (next < 100 + RECORDS) {
        cr_assert_eq(kconv_native_to_kafka(&n, next, 100, &b, out, sizeof out, &len, &end),
                     STROM_OK);
        cr_assert(end > next);
        next = end;
        pieces++;
    }
    cr_assert(pieces > 2);
    cr_assert_eq(kconv_native_to_kafka(&n, 100 + RECORDS, 100, &b, out, sizeof out, &len, &end),
                 STROM_ERR_END);
    set[8] = 0xff; /* message 0's key length now runs past the set */
    cr_assert_eq(kconv_native_to_kafka(&n, 100, 1 << 16, &b, out, sizeof out, &len, &end),
                 STROM_ERR_CORRUPT);
    free(b.records);
    free(b.headers);
}
