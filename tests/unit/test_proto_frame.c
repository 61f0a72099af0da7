/*
 * test_proto_frame.c: frames of the native protocol (src/proto/frame.h over the codecs generated
 * from schema/proto.ssim): every frame type round trips, the bytes are those docs/protocol.md
 * gives, message sets round trip with random contents, and every malformed input is refused with
 * an error (never read past its end, checked under ASan).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "proto/frame.h"

#define S(s) (s), (uint32_t)strlen(s)

static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
static struct strom_arena arena;

static bool text_eq(const char *a, uint32_t len, const char *s) {
    return len == strlen(s) && memcmp(a, s, len) == 0;
}

/* Encodes a frame into buf and decodes it back into f. */
static size_t round_trip(uint8_t *buf, size_t cap, enum proto_type type, uint64_t id,
                         const void *body, struct proto_frame *f) {
    size_t len = 0;
    cr_assert_eq(proto_frame_encode(buf, cap, type, id, body, &len), STROM_OK);
    strom_arena_init(&arena, arena_bytes, sizeof arena_bytes);
    cr_assert_eq(proto_frame_decode(buf, len, PROTO_FRAME_BYTES_MAX, &arena, f), STROM_OK,
                 "type %d", type);
    cr_assert_eq(f->header.type, type);
    cr_assert_eq(f->header.request_id, id);
    cr_assert_eq(f->header.frame_bytes, len);
    return len;
}

Test(proto_frame, header_layout_is_little_endian) {
    uint8_t buf[16];
    struct proto_header h = {
        .frame_bytes = 0x11223344, .type = PROTO_APPEND, .request_id = 0x0102030405060708};
    proto_header_write(buf, &h);
    const uint8_t want[16] = {0x44, 0x33, 0x22, 0x11, 4, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
    cr_assert_arr_eq(buf, want, 16);
    struct proto_header r;
    cr_assert_eq(proto_header_read(buf, 16, UINT32_MAX, &r), STROM_OK);
    cr_assert_eq(r.frame_bytes, 0x11223344);
    cr_assert_eq(r.request_id, 0x0102030405060708);
}

/* A create of "/ab" with request id 2, byte for byte as docs/protocol.md lays it out. */
Test(proto_frame, create_bytes_as_documented) {
    uint8_t buf[64];
    size_t len = 0;
    struct proto_create c = {S("/ab")};
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_CREATE, 2, &c, &len), STROM_OK);
    const uint8_t want[] = {23, 0, 0, 0, 11,  0,   0,  0, 2, 0, 0, 0, 0, 0, 0, 0, /* header */
                            3,  0, 0, 0, '/', 'a', 'b'};                          /* path */
    cr_assert_eq(len, sizeof want);
    cr_assert_arr_eq(buf, want, sizeof want);
}

Test(proto_frame, header_errors) {
    uint8_t buf[16] = {0};
    struct proto_header h = {.frame_bytes = 16, .type = PROTO_STAT, .request_id = 1};
    proto_header_write(buf, &h);
    struct proto_header r;
    cr_assert_eq(proto_header_read(buf, 15, 1024, &r), STROM_ERR_TRUNCATED);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_OK);
    h.frame_bytes = 1025;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_TOO_LARGE);
    cr_assert_eq(r.request_id, 1, "the id is there for the error frame");
    h.frame_bytes = 15;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_PROTOCOL);
    h.frame_bytes = 16;
    h.type = PROTO_TYPE_COUNT_;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_PROTOCOL);
    h.type = 0;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_PROTOCOL);
    h.type = PROTO_STAT;
    h.flags = 1;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_PROTOCOL);
    h.type = PROTO_APPEND; /* retry: the one flag, on appends only */
    h.flags = PROTO_FLAG_RETRY;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_OK);
    cr_assert_eq(buf[PROTO_HEADER_FLAGS_AT], PROTO_FLAG_RETRY);
    h.flags = 2;
    proto_header_write(buf, &h);
    cr_assert_eq(proto_header_read(buf, 16, 1024, &r), STROM_ERR_PROTOCOL);
}

Test(proto_frame, small_frames_round_trip) {
    uint8_t buf[1024];
    struct proto_frame f;
    struct proto_hello hello = {1, 3, S("cli")};
    round_trip(buf, sizeof buf, PROTO_HELLO, 0, &hello, &f);
    cr_assert_eq(f.body.hello.version_max, 3);
    cr_assert(text_eq(f.body.hello.client_name, f.body.hello.client_name_len, "cli"));

    struct proto_hello_answer ha = {1, S("node-a"), 1 << 20, 100, 10, 5};
    round_trip(buf, sizeof buf, PROTO_HELLO_ANSWER, 0, &ha, &f);
    cr_assert_eq(f.body.hello_answer.idempotence_window, 5);

    struct proto_error e = {STROM_ERR_LIMIT, S("too many")};
    round_trip(buf, sizeof buf, PROTO_ERROR, 9, &e, &f);
    cr_assert_eq(f.body.error.code, STROM_ERR_LIMIT);

    struct proto_append_answer aa = {0, 7, 1000, 3, 123456789};
    round_trip(buf, sizeof buf, PROTO_APPEND_ANSWER, 5, &aa, &f);
    cr_assert_eq(f.body.append_answer.base_offset, 1000);
    cr_assert_eq(f.body.append_answer.ts_ns, 123456789);

    struct proto_read rd = {0, S("/a/b"), 5, UINT64_MAX, true, 1, true, 4096};
    round_trip(buf, sizeof buf, PROTO_READ, 1ull << 63, &rd, &f);
    cr_assert_eq(f.body.read.to, UINT64_MAX);
    cr_assert(f.body.read.follow && f.body.read.sync);
    cr_assert_eq(f.body.read.credit_bytes, 4096);

    struct proto_read_end re = {STROM_ERR_NO_STREAM, 42};
    round_trip(buf, sizeof buf, PROTO_READ_END, 3, &re, &f);
    cr_assert_eq(f.body.read_end.next_offset, 42);

    struct proto_credit cr = {1 << 20};
    round_trip(buf, sizeof buf, PROTO_CREDIT, 3, &cr, &f);
    cr_assert_eq(f.body.credit.bytes, 1 << 20);
    cr_assert_eq(round_trip(buf, sizeof buf, PROTO_CANCEL, 3, NULL, &f), 16);
    cr_assert_eq(round_trip(buf, sizeof buf, PROTO_STAT, 4, NULL, &f), 16);

    struct proto_create_answer ca = {0, 12, true};
    round_trip(buf, sizeof buf, PROTO_CREATE_ANSWER, 6, &ca, &f);
    cr_assert(f.body.create_answer.created);

    struct proto_list l = {S("/air"), 10, 1024};
    round_trip(buf, sizeof buf, PROTO_LIST, 7, &l, &f);
    cr_assert_eq(f.body.list.count_max, 1024);

    struct proto_stat_answer sa = {0, S("strom.stat  x:1\n")};
    round_trip(buf, sizeof buf, PROTO_STAT_ANSWER, 8, &sa, &f);
    cr_assert(text_eq(f.body.stat_answer.text, f.body.stat_answer.text_len, "strom.stat  x:1\n"));

    struct proto_ping p = {99};
    round_trip(buf, sizeof buf, PROTO_PING, 9, &p, &f);
    struct proto_pong q = {99};
    round_trip(buf, sizeof buf, PROTO_PONG, 9, &q, &f);
    cr_assert_eq(f.body.pong.value, 99);
}

Test(proto_frame, list_answer_streams) {
    struct proto_stream_info s[3];
    char paths[3][16];
    for (uint32_t i = 0; i < 3; i++) {
        snprintf(paths[i], sizeof paths[i], "/s/%u", i);
        s[i] = (struct proto_stream_info){S(paths[i]), i + 1, i, 10 * i, 9 * i, 100 * i};
    }
    struct proto_list_answer a = {0, s, 3, true};
    uint8_t buf[8192];
    struct proto_frame f;
    round_trip(buf, sizeof buf, PROTO_LIST_ANSWER, 2, &a, &f);
    cr_assert_eq(f.body.list_answer.streams_count, 3);
    cr_assert(f.body.list_answer.more);
    const struct proto_stream_info *r = &f.body.list_answer.streams[2];
    cr_assert(text_eq(r->path, r->path_len, "/s/2"));
    cr_assert_eq(r->next, 20);
    cr_assert_eq(r->bytes, 200);
    /* Without an arena a list answer cannot be decoded (the gateway never gets one). */
    size_t len = 0;
    proto_frame_encode(buf, sizeof buf, PROTO_LIST_ANSWER, 2, &a, &len);
    cr_assert_eq(proto_frame_decode(buf, len, PROTO_FRAME_BYTES_MAX, NULL, &f), STROM_ERR_PROTOCOL);
}

/* Builds a random message set of count messages into set; returns its length. */
static size_t random_set(struct rng *rng, uint8_t *set, size_t cap, uint32_t count,
                         uint8_t *payloads) {
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t plen = (uint32_t)rng_below(rng, 200);
        uint32_t klen = (uint32_t)rng_below(rng, 3) == 0 ? (uint32_t)rng_below(rng, 20) : 0;
        uint32_t hcount = (uint32_t)rng_below(rng, 4);
        rng_fill(rng, payloads, plen);
        struct proto_msg_header hs[4];
        for (uint32_t h = 0; h < hcount; h++) {
            hs[h] = (struct proto_msg_header){S("name"), payloads, plen / 2};
        }
        struct proto_msg m = {i, payloads, klen, hs, hcount, payloads, plen};
        size_t len = 0;
        cr_assert_eq(proto_msg_encode(&m, set + at, cap - at, &len), STROM_OK);
        cr_assert_eq(len, proto_msg_encoded_bytes(&m));
        at += len;
    }
    return at;
}

Test(proto_frame, message_sets_round_trip_in_append_and_deliver) {
    struct rng rng;
    rng_init(&rng, 7);
    static uint8_t set[1 << 20];
    static uint8_t buf[(1 << 20) + 1024];
    uint8_t payloads[256];
    for (int round = 0; round < 200; round++) {
        uint32_t count = 1 + (uint32_t)rng_below(&rng, 100);
        size_t len = random_set(&rng, set, sizeof set, count, payloads);
        struct proto_append a = {0,   S("/r"),      1, true, 77, (uint64_t)round, count,
                                 set, (uint32_t)len};
        struct proto_frame f;
        size_t flen = round_trip(buf, sizeof buf, PROTO_APPEND, 1, &a, &f);
        cr_assert_eq(flen, proto_append_frame_bytes(2, len));
        cr_assert_eq(f.body.append.count, count);
        cr_assert_eq(f.body.append.messages_len, len);
        struct proto_msgs_iter it;
        proto_msgs_begin(&it, f.body.append.messages, f.body.append.messages_len, count);
        struct proto_msg m;
        uint32_t seen = 0;
        while (proto_msgs_next(&it, &m) == STROM_OK) {
            cr_assert_eq(m.client_ts_ns, seen);
            for (uint32_t h = 0; h < m.headers_count; h++) {
                cr_assert(text_eq(m.headers[h].name, m.headers[h].name_len, "name"));
            }
            seen++;
        }
        cr_assert_eq(seen, count);
        struct proto_deliver d = {3, 100, count, 5, set, (uint32_t)len};
        flen = round_trip(buf, sizeof buf, PROTO_DELIVER, 1, &d, &f);
        cr_assert_eq(flen, proto_deliver_frame_bytes(len));
    }
}

/* An append frame begun with proto_append_frame_begin and its set written in place is the frame
 * proto_frame_encode makes of the same append, byte for byte. */
Test(proto_frame, append_frame_begun_then_filled_matches_encode) {
    struct rng rng;
    rng_init(&rng, 11);
    static uint8_t set[1 << 16];
    static uint8_t want[(1 << 16) + 1024];
    static uint8_t got[(1 << 16) + 1024];
    uint8_t payloads[256];
    for (int round = 0; round < 50; round++) {
        uint32_t count = 1 + (uint32_t)rng_below(&rng, 50);
        size_t len = random_set(&rng, set, sizeof set, count, payloads);
        struct proto_append a = {9,   S("/p/q"),    1, round % 2 == 0, 5, (uint64_t)round, count,
                                 set, (uint32_t)len};
        size_t want_len = 0;
        cr_assert_eq(proto_frame_encode(want, sizeof want, PROTO_APPEND, 42, &a, &want_len),
                     STROM_OK);
        memset(got, 0xee, sizeof got);
        uint8_t *at = NULL;
        size_t got_len = 0;
        cr_assert_eq(proto_append_frame_begin(got, want_len, 42, &a, len, &at, &got_len), STROM_OK);
        cr_assert_eq(got_len, want_len);
        cr_assert_eq((size_t)(at - got), want_len - len);
        memcpy(at, set, len);
        cr_assert_eq(memcmp(got, want, want_len), 0);
        cr_assert_eq(proto_append_frame_begin(got, want_len - 1, 42, &a, len, &at, &got_len),
                     STROM_ERR_OVERFLOW);
    }
    struct proto_append big = {0, S("/b"), 1, true, 0, 0, 1, NULL, 0};
    uint8_t *at = NULL;
    size_t n = 0;
    cr_assert_eq(proto_append_frame_begin(got, sizeof got, 1, &big, PROTO_FRAME_BYTES_MAX, &at, &n),
                 STROM_ERR_TOO_LARGE);
}

/* The head of an append decodes from its first bytes alone, once every byte before the set is
 * there, with the fields the whole frame decodes to; short of that it is TRUNCATED. */
Test(proto_frame, append_head_decodes_before_the_set_arrives) {
    struct rng rng;
    rng_init(&rng, 13);
    static uint8_t set[1 << 16];
    static uint8_t buf[(1 << 16) + 1024];
    uint8_t payloads[256];
    uint32_t count = 40;
    size_t len = random_set(&rng, set, sizeof set, count, payloads);
    struct proto_append a = {0, S("/head/x"), 1, true, 8, 9, count, set, (uint32_t)len};
    size_t flen = 0;
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_APPEND, 5, &a, &flen), STROM_OK);
    size_t head = proto_append_frame_bytes(a.path_len, 0);
    struct proto_header h;
    struct proto_append got;
    for (size_t have = 0; have < head; have++) {
        cr_assert_eq(proto_append_head_decode(buf, have, 1u << 20, &h, &got), STROM_ERR_TRUNCATED,
                     "have %zu", have);
    }
    for (size_t have = head; have <= flen; have += (flen - head) / 3) {
        cr_assert_eq(proto_append_head_decode(buf, have, 1u << 20, &h, &got), STROM_OK);
        cr_assert_eq(h.frame_bytes, flen);
        cr_assert_eq(h.request_id, 5);
        cr_assert(text_eq(got.path, got.path_len, "/head/x"));
        cr_assert_eq(got.count, count);
        cr_assert_eq(got.sync, true);
        cr_assert_eq(got.producer_id, 8);
        cr_assert_eq(got.sequence, 9);
        cr_assert_eq(got.messages_len, len);
        cr_assert_eq(got.messages, buf + head, "the set's place, not its bytes");
    }
    cr_assert_eq(proto_append_head_decode(buf, flen, (uint32_t)flen - 1, &h, &got),
                 STROM_ERR_TOO_LARGE);
    /* A set length that disagrees with the frame's length, and a path above its limit. */
    uint8_t copy[128];
    memcpy(copy, buf, head);
    copy[head - 4] ^= 1;
    cr_assert_eq(proto_append_head_decode(copy, head, 1u << 20, &h, &got), STROM_ERR_PROTOCOL);
    memcpy(copy, buf, head);
    uint32_t long_path = PROTO_APPEND_PATH_BYTES_MAX + 1;
    memcpy(copy + PROTO_HEADER_BYTES + 8, &long_path, 4);
    cr_assert_eq(proto_append_head_decode(copy, head, 1u << 20, &h, &got), STROM_ERR_PROTOCOL);
    /* Another type of frame. */
    struct proto_ping ping = {.value = 1};
    cr_assert_eq(proto_frame_encode(copy, sizeof copy, PROTO_PING, 6, &ping, &flen), STROM_OK);
    cr_assert_eq(proto_append_head_decode(copy, flen, 1u << 20, &h, &got),
                 STROM_ERR_INVALID_ARGUMENT);
}

Test(proto_frame, message_set_must_match_its_count) {
    uint8_t set[256];
    size_t len = 0;
    struct proto_msg m = {.payload = (const uint8_t *)"hi", .payload_len = 2};
    cr_assert_eq(proto_msg_encode(&m, set, sizeof set, &len), STROM_OK);
    cr_assert_eq(proto_msgs_check(set, len, 1), STROM_OK);
    cr_assert_eq(proto_msgs_check(set, len, 2), STROM_ERR_PROTOCOL);
    cr_assert_eq(proto_msgs_check(set, len, 0), STROM_ERR_PROTOCOL);
    memcpy(set + len, set, len);
    cr_assert_eq(proto_msgs_check(set, 2 * len, 1), STROM_ERR_PROTOCOL, "bytes left over");
    cr_assert_eq(proto_msgs_check(set, 2 * len, 2), STROM_OK);
    cr_assert_eq(proto_msgs_check(set, 2 * len, PROTO_MSGS_PER_BATCH_MAX + 1), STROM_ERR_TOO_LARGE);
    set[12] = PROTO_HEADERS_MAX + 1; /* after client_ts_ns (8) and the empty key (4) */
    cr_assert_eq(proto_msgs_check(set, len, 1), STROM_ERR_TOO_LARGE);
}

Test(proto_frame, body_errors) {
    uint8_t buf[512];
    size_t len = 0;
    struct proto_create c = {S("/abc")};
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_CREATE, 1, &c, &len), STROM_OK);
    struct proto_frame f;
    /* Every cut of the body is an error, never a read past the end. */
    for (size_t cut = 16; cut < len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, buf, cut);
        struct proto_header h = {
            .frame_bytes = (uint32_t)cut, .type = PROTO_CREATE, .request_id = 1};
        proto_header_write(copy, &h);
        cr_assert_eq(proto_frame_decode(copy, cut, 1024, NULL, &f), STROM_ERR_PROTOCOL, "cut %zu",
                     cut);
        free(copy);
    }
    /* Bytes left after the body. */
    buf[len] = 0;
    struct proto_header h = {.frame_bytes = (uint32_t)len + 1, .type = PROTO_CREATE};
    proto_header_write(buf, &h);
    cr_assert_eq(proto_frame_decode(buf, len + 1, 1024, NULL, &f), STROM_ERR_PROTOCOL);
    /* A path length over its maximum, with the bytes there. */
    memset(buf, 'a', sizeof buf);
    h = (struct proto_header){.frame_bytes = 20 + 256, .type = PROTO_CREATE};
    proto_header_write(buf, &h);
    buf[16] = 0;
    buf[17] = 1; /* 256 */
    buf[18] = 0;
    buf[19] = 0;
    cr_assert_eq(proto_frame_decode(buf, 20 + 256, 1024, NULL, &f), STROM_ERR_TOO_LARGE);
    /* A bool that is not 0 or 1. */
    struct proto_create_answer ca = {0, 1, true};
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_CREATE_ANSWER, 1, &ca, &len), STROM_OK);
    buf[len - 1] = 2;
    cr_assert_eq(proto_frame_decode(buf, len, 1024, NULL, &f), STROM_ERR_PROTOCOL);
    /* A frame whose header length differs from the bytes given. */
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_CREATE_ANSWER, 1, &ca, &len), STROM_OK);
    cr_assert_eq(proto_frame_decode(buf, len - 1, 1024, NULL, &f), STROM_ERR_PROTOCOL);
    /* A stat (no body) with a body. */
    h = (struct proto_header){.frame_bytes = 17, .type = PROTO_STAT};
    proto_header_write(buf, &h);
    cr_assert_eq(proto_frame_decode(buf, 17, 1024, NULL, &f), STROM_ERR_PROTOCOL);
}

Test(proto_frame, encode_overflow_and_limits) {
    uint8_t buf[64];
    size_t len = 0;
    struct proto_create c = {S("/abc")};
    cr_assert_eq(proto_frame_encode(buf, 20, PROTO_CREATE, 1, &c, &len), STROM_ERR_OVERFLOW);
    cr_assert_eq(proto_frame_encode(buf, 8, PROTO_CREATE, 1, &c, &len), STROM_ERR_OVERFLOW);
    static uint8_t big[PROTO_KEY_BYTES_MAX + 1];
    struct proto_msg m = {.key = big, .key_len = sizeof big};
    cr_assert_eq(proto_msg_encode(&m, buf, sizeof buf, &len), STROM_ERR_TOO_LARGE);
}

Test(proto_frame, paths) {
    const char *good[] = {"/a",   "/air/Dongsi", "/a.b/c-d/e_f/09", "/sys/cmd",
                          "/...", "/a/.b",       "/..a/b.",         "/x/a.."};
    const char *bad[] = {"",     "/",  "a",   "/a/",    "//a",     "/a//b", "/a b", "/a/\xc3\xa9",
                         "/a:b", "/.", "/..", "/a/./b", "/a/../b", "/a/.."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cr_assert_eq(proto_path_check(good[i], strlen(good[i])), STROM_OK, "%s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(proto_path_check(bad[i], strlen(bad[i])), STROM_ERR_INVALID_PATH, "%s",
                     bad[i]);
    }
    char longest[257];
    longest[0] = '/';
    memset(longest + 1, 'a', 255);
    cr_assert_eq(proto_path_check(longest, 255), STROM_OK);
    cr_assert_eq(proto_path_check(longest, 256), STROM_ERR_INVALID_PATH);
    cr_assert_str_eq(proto_type_name(PROTO_DELIVER), "deliver");
    cr_assert_str_eq(proto_type_name(0), "unknown");
}
