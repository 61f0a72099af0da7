/* test_kafka_wire.c: Kafka primitive types, the bounded reader and writer, the arena. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "kafka/codec.h"
#include "kafka/wire.h"

/* Encodings from the protocol guide's rules (zig-zag, base 128, little-endian groups). */
struct varint_vector {
    int32_t value;
    uint8_t bytes[5];
    size_t len;
};

Test(kafka_wire, varint_known_encodings) {
    const struct varint_vector v[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {63, {0x7e}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {-65, {0x81, 0x01}, 2},
        {150, {0xac, 0x02}, 2},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t buf[8];
        struct kafka_writer w;
        kafka_writer_init(&w, buf, sizeof buf);
        kafka_write_varint(&w, v[i].value);
        cr_assert_eq(w.err, STROM_OK);
        cr_assert_eq(w.pos, v[i].len, "value %d", v[i].value);
        cr_assert_eq(memcmp(buf, v[i].bytes, v[i].len), 0, "value %d", v[i].value);
        cr_assert_eq(kafka_varint_bytes(v[i].value), v[i].len);
        struct kafka_reader r;
        kafka_reader_init(&r, v[i].bytes, v[i].len);
        cr_assert_eq(kafka_read_varint(&r), v[i].value);
        cr_assert_eq(r.err, STROM_OK);
        cr_assert_eq(kafka_reader_left(&r), 0);
    }
}

Test(kafka_wire, uvarint_and_varlong_round_trip) {
    const uint32_t u[] = {0, 1, 127, 128, 16383, 16384, 1u << 28, UINT32_MAX};
    const int64_t l[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1234567890123LL, -1234567890123LL};
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        struct kafka_writer w;
        kafka_writer_init(&w, buf, sizeof buf);
        kafka_write_uvarint(&w, u[i]);
        cr_assert_eq(w.pos, kafka_uvarint_bytes(u[i]));
        struct kafka_reader r;
        kafka_reader_init(&r, buf, w.pos);
        cr_assert_eq(kafka_read_uvarint(&r), u[i]);
        cr_assert_eq(r.err, STROM_OK);
    }
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++) {
        struct kafka_writer w;
        kafka_writer_init(&w, buf, sizeof buf);
        kafka_write_varlong(&w, l[i]);
        cr_assert_eq(w.pos, kafka_varlong_bytes(l[i]));
        cr_assert_leq(w.pos, KAFKA_VARLONG_BYTES_MAX);
        struct kafka_reader r;
        kafka_reader_init(&r, buf, w.pos);
        cr_assert_eq(kafka_read_varlong(&r), l[i]);
        cr_assert_eq(r.err, STROM_OK);
    }
}

Test(kafka_wire, overlong_or_truncated_varints_are_rejected) {
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x1f}; /* 2^33 - 1: above 32 bits */
    const uint8_t cut[] = {0x80, 0x80};
    struct kafka_reader r;
    kafka_reader_init(&r, six, sizeof six);
    (void)kafka_read_uvarint(&r);
    cr_assert_eq(r.err, STROM_ERR_PROTOCOL);
    kafka_reader_init(&r, big, sizeof big);
    (void)kafka_read_uvarint(&r);
    cr_assert_eq(r.err, STROM_ERR_PROTOCOL);
    kafka_reader_init(&r, cut, sizeof cut);
    (void)kafka_read_varint(&r);
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    const uint8_t eleven[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    kafka_reader_init(&r, eleven, sizeof eleven);
    (void)kafka_read_varlong(&r);
    cr_assert_eq(r.err, STROM_ERR_PROTOCOL);
}

Test(kafka_wire, big_endian_integers) {
    uint8_t buf[32];
    struct kafka_writer w;
    kafka_writer_init(&w, buf, sizeof buf);
    kafka_write_i8(&w, -2);
    kafka_write_i16(&w, 0x1234);
    kafka_write_i32(&w, -2);
    kafka_write_i64(&w, 0x0102030405060708LL);
    const uint8_t want[] = {0xfe, 0x12, 0x34, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(w.pos, sizeof want);
    cr_assert_eq(memcmp(buf, want, sizeof want), 0);
    struct kafka_reader r;
    kafka_reader_init(&r, buf, w.pos);
    cr_assert_eq(kafka_read_i8(&r), -2);
    cr_assert_eq(kafka_read_i16(&r), 0x1234);
    cr_assert_eq(kafka_read_i32(&r), -2);
    cr_assert_eq(kafka_read_i64(&r), 0x0102030405060708LL);
    cr_assert_eq(kafka_read_i8(&r), 0); /* past the end: zero and TRUNCATED */
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    cr_assert_eq(r.pos, r.len);
}

Test(kafka_wire, strings_plain_compact_and_null) {
    uint8_t buf[64];
    struct kafka_writer w;
    kafka_writer_init(&w, buf, sizeof buf);
    kafka_write_string(&w, false, false, kafka_str_c("ab"));
    kafka_write_string(&w, true, false, kafka_str_c("xyz"));
    kafka_write_string(&w, false, true, (struct kafka_str){NULL, -1});
    kafka_write_string(&w, true, true, (struct kafka_str){NULL, -1});
    const uint8_t want[] = {0, 2, 'a', 'b', 4, 'x', 'y', 'z', 0xff, 0xff, 0};
    cr_assert_eq(w.pos, sizeof want);
    cr_assert_eq(memcmp(buf, want, sizeof want), 0);
    struct kafka_reader r;
    kafka_reader_init(&r, buf, w.pos);
    struct kafka_str s;
    kafka_read_string(&r, false, false, &s);
    cr_assert(kafka_str_eq(s, "ab"));
    kafka_read_string(&r, true, false, &s);
    cr_assert(kafka_str_eq(s, "xyz"));
    kafka_read_string(&r, false, true, &s);
    cr_assert_eq(s.len, -1);
    kafka_read_string(&r, true, true, &s);
    cr_assert_eq(s.len, -1);
    cr_assert_eq(r.err, STROM_OK);
    /* A null where the field is not nullable is a protocol error. */
    kafka_reader_init(&r, (const uint8_t[]){0xff, 0xff}, 2);
    kafka_read_string(&r, false, false, &s);
    cr_assert_eq(r.err, STROM_ERR_PROTOCOL);
    kafka_writer_init(&w, buf, sizeof buf);
    kafka_write_string(&w, false, false, (struct kafka_str){NULL, -1});
    cr_assert_eq(w.err, STROM_ERR_PROTOCOL);
}

Test(kafka_wire, lengths_are_checked_before_use) {
    struct kafka_reader r;
    struct kafka_str s;
    struct kafka_bytes b;
    /* A string claiming 5 bytes with 2 left. */
    kafka_reader_init(&r, (const uint8_t[]){0, 5, 'a', 'b'}, 4);
    kafka_read_string(&r, false, false, &s);
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    cr_assert_eq(s.len, -1);
    /* A compact string above the int16 maximum (uvarint 40000). */
    kafka_reader_init(&r, (const uint8_t[]){0xc1, 0xb8, 0x02}, 3);
    kafka_read_string(&r, true, false, &s);
    cr_assert_eq(r.err, STROM_ERR_TOO_LARGE);
    /* Bytes of 2^31-1 claimed: checked against the maximum, then what is left; no allocation. */
    kafka_reader_init(&r, (const uint8_t[]){0x7f, 0xff, 0xff, 0xff, 1}, 5);
    kafka_read_bytes(&r, false, false, 100, &b);
    cr_assert_eq(r.err, STROM_ERR_TOO_LARGE);
    kafka_reader_init(&r, (const uint8_t[]){0x00, 0x00, 0x00, 0x09, 1}, 5);
    kafka_read_bytes(&r, false, false, 100, &b);
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    /* Negative lengths below -1 are malformed. */
    kafka_reader_init(&r, (const uint8_t[]){0xff, 0xff, 0xff, 0xfe}, 4);
    kafka_read_bytes(&r, false, true, 100, &b);
    cr_assert_eq(r.err, STROM_ERR_PROTOCOL);
    /* Array counts: against the named maximum and against the bytes left. */
    kafka_reader_init(&r, (const uint8_t[]){0, 0, 0, 10, 0, 0}, 6);
    cr_assert_eq(kafka_read_array_len(&r, false, false, 1, 5), 0);
    cr_assert_eq(r.err, STROM_ERR_TOO_LARGE);
    kafka_reader_init(&r, (const uint8_t[]){0, 0, 0, 3, 0, 0, 0, 0, 0}, 9);
    cr_assert_eq(kafka_read_array_len(&r, false, false, 4, 100), 0);
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    kafka_reader_init(&r, (const uint8_t[]){0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}, 12);
    cr_assert_eq(kafka_read_array_len(&r, false, false, 4, 100), 2);
    cr_assert_eq(r.err, STROM_OK);
    kafka_reader_init(&r, (const uint8_t[]){0}, 1);
    cr_assert_eq(kafka_read_array_len(&r, true, true, 1, 100), -1);
    cr_assert_eq(r.err, STROM_OK);
}

Test(kafka_wire, tagged_fields_are_skipped) {
    /* Two fields: tag 0 with 3 bytes, tag 7 with 0 bytes; then an int8 after them. */
    const uint8_t in[] = {2, 0, 3, 0xaa, 0xbb, 0xcc, 7, 0, 0x42};
    struct kafka_reader r;
    kafka_reader_init(&r, in, sizeof in);
    kafka_read_tagged_fields(&r);
    cr_assert_eq(r.err, STROM_OK);
    cr_assert_eq(kafka_read_i8(&r), 0x42);
    /* A field whose size runs past the end. */
    const uint8_t bad[] = {1, 0, 9, 1, 2};
    kafka_reader_init(&r, bad, sizeof bad);
    kafka_read_tagged_fields(&r);
    cr_assert_eq(r.err, STROM_ERR_TRUNCATED);
    /* More fields than the maximum. */
    const uint8_t many[] = {KAFKA_TAGGED_FIELDS_MAX + 1};
    kafka_reader_init(&r, many, sizeof many);
    kafka_read_tagged_fields(&r);
    cr_assert_eq(r.err, STROM_ERR_TOO_LARGE);
}

Test(kafka_wire, writer_stops_at_its_capacity) {
    uint8_t buf[5];
    struct kafka_writer w;
    kafka_writer_init(&w, buf, sizeof buf);
    kafka_write_i32(&w, 7);
    cr_assert_eq(w.err, STROM_OK);
    kafka_write_i16(&w, 7);
    cr_assert_eq(w.err, STROM_ERR_OVERFLOW);
    cr_assert_eq(w.pos, 4);
    kafka_write_i8(&w, 1); /* sticky: nothing more is written */
    cr_assert_eq(w.pos, 4);
}

Test(kafka_wire, uuid_round_trip) {
    struct kafka_uuid u;
    for (int i = 0; i < 16; i++) {
        u.bytes[i] = (uint8_t)(i * 17);
    }
    uint8_t buf[16];
    struct kafka_writer w;
    kafka_writer_init(&w, buf, sizeof buf);
    kafka_write_uuid(&w, &u);
    struct kafka_reader r;
    kafka_reader_init(&r, buf, w.pos);
    struct kafka_uuid got;
    kafka_read_uuid(&r, &got);
    cr_assert_eq(memcmp(&got, &u, sizeof u), 0);
}

Test(kafka_wire, arena_is_bounded_aligned_and_zeroed) {
    uint64_t mem[8];
    memset(mem, 0xab, sizeof mem);
    struct kafka_arena a;
    kafka_arena_init(&a, (uint8_t *)mem + 1, sizeof mem - 1); /* a misaligned base */
    uint8_t *p = kafka_arena_alloc(&a, 3);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 8, 0);
    cr_assert_eq(p[0] | p[1] | p[2], 0);
    cr_assert_not_null(kafka_arena_alloc(&a, 40));
    cr_assert_null(kafka_arena_alloc(&a, 16));
    kafka_arena_reset(&a);
    cr_assert_not_null(kafka_arena_alloc(&a, 16));
}

Test(kafka_wire, codec_array_takes_from_the_arena_and_fails_when_full) {
    /* An int32 array of 4 elements, with a 8-byte arena: LIMIT, count 0, items NULL. */
    const uint8_t in[] = {0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    uint64_t mem[1];
    struct kafka_arena a;
    kafka_arena_init(&a, mem, sizeof mem);
    struct kafka_codec c;
    kafka_codec_init_read(&c, in, sizeof in, &a);
    int32_t *items = NULL;
    int32_t count = 99;
    kc_i32_array(&c, &items, &count, 100, false);
    cr_assert_eq(kafka_codec_err(&c), STROM_ERR_LIMIT);
    cr_assert_eq(count, 0);
    cr_assert_null(items);
    uint64_t big[4];
    kafka_arena_init(&a, big, sizeof big);
    kafka_codec_init_read(&c, in, sizeof in, &a);
    kc_i32_array(&c, &items, &count, 100, false);
    cr_assert_eq(kafka_codec_err(&c), STROM_OK);
    cr_assert_eq(count, 4);
    cr_assert_eq(items[3], 4);
}
