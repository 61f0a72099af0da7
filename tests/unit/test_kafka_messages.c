/*
 * test_kafka_messages.c: every served request and response at every served version round trips
 * (encode, decode, encode again: the same bytes; every shorter prefix and a trailing byte are
 * rejected), exact byte vectors built by hand from the protocol guide, and requests captured from
 * kcat/librdkafka (tests/data/kafka/, written by tests/data/kafka/capture.py).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kafka/api.h"
#include "kafka/messages.h"
#include "kafka_samples.h"

#define FRAME_MAX   (64 * 1024)
#define ARENA_BYTES (256 * 1024)

static uint8_t arena_mem[ARENA_BYTES];
static uint8_t frame_a[FRAME_MAX];
static uint8_t frame_b[FRAME_MAX];

static struct kafka_arena fresh_arena(void) {
    struct kafka_arena a;
    kafka_arena_init(&a, arena_mem, sizeof arena_mem);
    return a;
}

/* Reads tests/data/kafka/<name> into buf; returns its size. */
static size_t load_vector(const char *name, uint8_t *buf, size_t cap) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/kafka/%s", name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing test vector %s (run from the repository root)", path);
    size_t n = fread(buf, 1, cap, f);
    cr_assert(feof(f), "vector %s larger than the buffer", path);
    fclose(f);
    return n;
}

/* Decoding every proper prefix fails; so does the frame with one byte too many. */
static void check_rejects_prefixes_and_trailing(const uint8_t *frame, size_t len, int16_t key,
                                                int16_t version, bool request) {
    static uint8_t longer[FRAME_MAX + 1];
    for (size_t n = 0; n < len; n++) {
        struct kafka_arena a = fresh_arena();
        strom_err err;
        if (request) {
            struct kafka_request r;
            err = kafka_request_decode(frame, n, &a, &r);
        } else {
            struct kafka_response r;
            err = kafka_response_decode(key, version, frame, n, &a, &r);
        }
        cr_assert_neq(err, STROM_OK, "api %d v%d: prefix %zu of %zu decoded", key, version, n, len);
    }
    memcpy(longer, frame, len);
    longer[len] = 0;
    struct kafka_arena a = fresh_arena();
    strom_err err;
    if (request) {
        struct kafka_request r;
        err = kafka_request_decode(longer, len + 1, &a, &r);
    } else {
        struct kafka_response r;
        err = kafka_response_decode(key, version, longer, len + 1, &a, &r);
    }
    cr_assert_eq(err, STROM_ERR_PROTOCOL, "api %d v%d: trailing byte accepted", key, version);
}

static void request_round_trip(int16_t key, int16_t v) {
    struct kafka_request req;
    kafka_sample_request(key, v, &req);
    size_t len_a = 0;
    cr_assert_eq(kafka_request_encode(&req, frame_a, sizeof frame_a, &len_a), STROM_OK,
                 "encode api %d v%d", key, v);
    cr_assert_eq((size_t)kafka_load_be32(frame_a) + 4, len_a, "size prefix api %d v%d", key, v);
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    strom_err err = kafka_request_decode(frame_a + 4, len_a - 4, &a, &dec);
    cr_assert_eq(err, STROM_OK, "decode api %d v%d: %s", key, v, strom_errname(err));
    cr_assert_eq(dec.header.api_key, key);
    cr_assert_eq(dec.header.api_version, v);
    cr_assert_eq(dec.header.correlation_id, 1000 + v);
    cr_assert(kafka_str_eq(dec.header.client_id, "strom-test"));
    size_t len_b = 0;
    cr_assert_eq(kafka_request_encode(&dec, frame_b, sizeof frame_b, &len_b), STROM_OK);
    cr_assert_eq(len_a, len_b, "api %d v%d", key, v);
    cr_assert_eq(memcmp(frame_a, frame_b, len_a), 0, "api %d v%d: re-encoding differs", key, v);
    check_rejects_prefixes_and_trailing(frame_a + 4, len_a - 4, key, v, true);
}

static void response_round_trip(int16_t key, int16_t v) {
    struct kafka_response resp;
    kafka_sample_response(key, v, &resp);
    size_t len_a = 0;
    cr_assert_eq(kafka_response_encode(&resp, frame_a, sizeof frame_a, &len_a), STROM_OK,
                 "encode api %d v%d", key, v);
    cr_assert_eq((size_t)kafka_load_be32(frame_a) + 4, len_a);
    struct kafka_arena a = fresh_arena();
    struct kafka_response dec;
    strom_err err = kafka_response_decode(key, v, frame_a + 4, len_a - 4, &a, &dec);
    cr_assert_eq(err, STROM_OK, "decode api %d v%d: %s", key, v, strom_errname(err));
    cr_assert_eq(dec.correlation_id, 2000 + v);
    size_t len_b = 0;
    cr_assert_eq(kafka_response_encode(&dec, frame_b, sizeof frame_b, &len_b), STROM_OK);
    cr_assert_eq(len_a, len_b, "api %d v%d", key, v);
    cr_assert_eq(memcmp(frame_a, frame_b, len_a), 0, "api %d v%d: re-encoding differs", key, v);
    check_rejects_prefixes_and_trailing(frame_a + 4, len_a - 4, key, v, false);
}

Test(kafka_messages, every_request_round_trips_at_every_version) {
    const struct kafka_api_info *t = kafka_api_table();
    int checked = 0;
    for (int i = 0; i < KAFKA_API_COUNT; i++) {
        for (int16_t v = t[i].min_version; v <= t[i].max_version; v++) {
            request_round_trip(t[i].api_key, v);
            checked++;
        }
    }
    cr_assert_eq(checked, 8 + 8 + 3 + 10 + 6 + 5 + 3 + 6 + 4 + 2 + 4 + 4 + 5 + 2 + 2 + 2);
}

Test(kafka_messages, every_response_round_trips_at_every_version) {
    const struct kafka_api_info *t = kafka_api_table();
    for (int i = 0; i < KAFKA_API_COUNT; i++) {
        for (int16_t v = t[i].min_version; v <= t[i].max_version; v++) {
            response_round_trip(t[i].api_key, v);
        }
    }
}

/* Decodes the sample of key at v and returns it (the arena lives in arena_mem). */
static struct kafka_request decode_sample(int16_t key, int16_t v) {
    struct kafka_request req;
    kafka_sample_request(key, v, &req);
    size_t len = 0;
    cr_assert_eq(kafka_request_encode(&req, frame_a, sizeof frame_a, &len), STROM_OK);
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    cr_assert_eq(kafka_request_decode(frame_a + 4, len - 4, &a, &dec), STROM_OK);
    return dec;
}

Test(kafka_messages, decoded_fields_follow_their_versions) {
    struct kafka_request d = decode_sample(KAFKA_API_PRODUCE, 2);
    cr_assert_eq(d.body.produce.acks, -1);
    cr_assert_eq(d.body.produce.transactional_id.len, 0); /* absent before v3: left zero */
    cr_assert_eq(d.body.produce.topics_count, 2);
    const struct kafka_produce_partition *p = &d.body.produce.topics[0].partitions[0];
    cr_assert_eq(p->records.len, 35);
    cr_assert_eq(memcmp(p->records.ptr + 12, "records-are-opaque-here", 23), 0);
    cr_assert_eq(d.body.produce.topics[0].partitions[1].records.len, -1);
    cr_assert_eq(d.body.produce.topics[1].partitions_count, 0);

    d = decode_sample(KAFKA_API_FETCH, 11);
    cr_assert_eq(d.body.fetch.topics[0].partitions[0].fetch_offset, 123456789012LL);
    cr_assert_eq(d.body.fetch.topics[0].partitions[0].current_leader_epoch, 7);
    cr_assert(kafka_str_eq(d.body.fetch.rack_id, "rack-a"));
    cr_assert_eq(d.body.fetch.forgotten_topics[0].partitions[2], 9);
    d = decode_sample(KAFKA_API_FETCH, 8);
    cr_assert_eq(d.body.fetch.topics[0].partitions[0].current_leader_epoch, 0);
    cr_assert_eq(d.body.fetch.rack_id.len, 0);

    d = decode_sample(KAFKA_API_METADATA, 9);
    cr_assert_eq(d.body.metadata.topics_count, 2);
    cr_assert(kafka_str_eq(d.body.metadata.topics[1], "payments"));
    cr_assert(d.body.metadata.allow_auto_topic_creation);

    d = decode_sample(KAFKA_API_OFFSET_COMMIT, 4);
    cr_assert_eq(d.body.offset_commit.retention_time_ms, 604800000);
    cr_assert_eq(d.body.offset_commit.group_instance_id.len, 0);
    cr_assert_eq(d.body.offset_commit.topics[0].partitions[1].committed_metadata.len, -1);
    d = decode_sample(KAFKA_API_OFFSET_COMMIT, 7);
    cr_assert_eq(d.body.offset_commit.retention_time_ms, 0);
    cr_assert(kafka_str_eq(d.body.offset_commit.group_instance_id, "instance-1"));
    cr_assert_eq(d.body.offset_commit.topics[0].partitions[0].committed_leader_epoch, 3);

    d = decode_sample(KAFKA_API_JOIN_GROUP, 5);
    cr_assert_eq(d.body.join_group.protocols_count, 2);
    cr_assert_eq(d.body.join_group.protocols[0].metadata.len, 18);
    cr_assert_eq(d.body.join_group.protocols[1].metadata.len, 0);

    d = decode_sample(KAFKA_API_CREATE_TOPICS, 4);
    cr_assert_eq(d.body.create_topics.topics[0].configs[0].value.len, 8);
    cr_assert_eq(d.body.create_topics.topics[0].configs[1].value.len, -1);
    cr_assert_eq(d.body.create_topics.topics[0].assignments[0].broker_ids[2], 3);

    d = decode_sample(KAFKA_API_DESCRIBE_CONFIGS, 1);
    cr_assert_eq(d.body.describe_configs.resources[1].configuration_keys_count, -1);
    cr_assert(d.body.describe_configs.include_synonyms);
}

/* --- exact vectors built by hand from the protocol guide ---------------------------------- */

static void assert_encodes_to(const struct kafka_request *req, const uint8_t *want, size_t n) {
    size_t len = 0;
    cr_assert_eq(kafka_request_encode(req, frame_a, sizeof frame_a, &len), STROM_OK);
    cr_assert_eq(len, n, "length %zu, want %zu", len, n);
    cr_assert_eq(memcmp(frame_a, want, n), 0);
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    cr_assert_eq(kafka_request_decode(want + 4, n - 4, &a, &dec), STROM_OK);
}

Test(kafka_messages, vector_api_versions_v0_request) {
    const uint8_t want[] = {0, 0,  0, 12,                              /* size */
                            0, 18, 0, 0,  0, 0, 0, 7, 0, 2, 'a', 'b'}; /* header v1, no body */
    struct kafka_request req = {.header = {18, 0, 7, {"ab", 2}}};
    assert_encodes_to(&req, want, sizeof want);
}

Test(kafka_messages, vector_metadata_v1_all_topics_is_a_null_array) {
    const uint8_t want[] = {0,    0,    0,    14,  0, 3,    0,
                            1,    0,    0,    0,   9, 0xff, 0xff, /* null client id */
                            0xff, 0xff, 0xff, 0xff};
    struct kafka_request req = {.header = {3, 1, 9, {NULL, -1}}};
    req.body.metadata.topics_count = -1;
    assert_encodes_to(&req, want, sizeof want);
}

Test(kafka_messages, vector_metadata_v9_request_is_flexible) {
    /* Header v2 (client id keeps its int16 length, then tagged fields), compact body. */
    const uint8_t want[] = {0, 0, 0,   20, 0, 3, 0, 9, 0, 0, 0, 5, 0, 1, 'c', 0, /* header */
                            2, 2, 't', 0,                                        /* [{"t"}] */
                            1, 0, 0,   0};                                       /* bools, tags */
    struct kafka_str topic = {"t", 1};
    struct kafka_request req = {.header = {3, 9, 5, {"c", 1}}};
    req.body.metadata = (struct kafka_metadata_request){
        .topics_count = 1, .topics = &topic, .allow_auto_topic_creation = true};
    assert_encodes_to(&req, want, sizeof want);
}

Test(kafka_messages, vector_produce_v7_response) {
    const uint8_t want[] = {0,    0,    0,    49,   0,    0,    0,    3, /* size, correlation */
                            0,    0,    0,    1,    0,    1,    't',     /* [topic "t" */
                            0,    0,    0,    1,    0,    0,    0,    0,
                            0,    0, /* [partition 0, error 0 */
                            0,    0,    0,    0,    0,    0,    0,    42,   /* base offset 42 */
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log append time -1 */
                            0,    0,    0,    0,    0,    0,    0,    0, /* log start offset 0]] */
                            0,    0,    0,    0};                        /* throttle */
    struct kafka_produce_partition_response part = {0, 0, 42, -1, 0};
    struct kafka_produce_topic_response topic = {{"t", 1}, 1, &part};
    struct kafka_response resp = {.api_key = 0, .api_version = 7, .correlation_id = 3};
    resp.body.produce = (struct kafka_produce_response){1, &topic, 0};
    size_t len = 0;
    cr_assert_eq(kafka_response_encode(&resp, frame_a, sizeof frame_a, &len), STROM_OK);
    cr_assert_eq(len, sizeof want);
    cr_assert_eq(memcmp(frame_a, want, len), 0);
}

Test(kafka_messages, vector_heartbeat_v0_response_and_api_versions_v3_header) {
    struct kafka_response resp = {.api_key = 12, .api_version = 0, .correlation_id = 0x01020304};
    resp.body.heartbeat.error_code = 27;
    size_t len = 0;
    cr_assert_eq(kafka_response_encode(&resp, frame_a, sizeof frame_a, &len), STROM_OK);
    const uint8_t want[] = {0, 0, 0, 6, 1, 2, 3, 4, 0, 27};
    cr_assert_eq(len, sizeof want);
    cr_assert_eq(memcmp(frame_a, want, len), 0);
    /* ApiVersions v3: flexible body, but the response header stays v0 (no tagged fields). */
    struct kafka_api_version key = {18, 0, 3};
    resp = (struct kafka_response){.api_key = 18, .api_version = 3, .correlation_id = 1};
    resp.body.api_versions = (struct kafka_api_versions_response){0, 1, &key, 0};
    cr_assert_eq(kafka_response_encode(&resp, frame_a, sizeof frame_a, &len), STROM_OK);
    const uint8_t want_av[] = {0, 0, 0, 19, 0,  0, 0, 1,       /* correlation, no header tags */
                               0, 0, 2, 0,  18, 0, 0, 0, 3, 0, /* error, [key 18 0..3 tags] */
                               0, 0, 0, 0,  0};                /* throttle, tags */
    cr_assert_eq(len, sizeof want_av);
    cr_assert_eq(memcmp(frame_a, want_av, len), 0);
}

Test(kafka_messages, vector_fetch_response_gathers_record_segments) {
    const struct kafka_bytes segs[] = {{(const uint8_t *)"abc", 3}, {(const uint8_t *)"de", 2}};
    struct kafka_fetch_partition_response part = {.partition = 0,
                                                  .high_watermark = 9,
                                                  .last_stable_offset = 9,
                                                  .log_start_offset = 0,
                                                  .aborted_transactions_count = -1,
                                                  .preferred_read_replica = -1,
                                                  .record_segments_count = 2,
                                                  .record_segments = segs};
    struct kafka_fetch_topic_response topic = {{"t", 1}, 1, &part};
    struct kafka_response resp = {.api_key = 1, .api_version = 11, .correlation_id = 1};
    resp.body.fetch = (struct kafka_fetch_response){0, 0, 0, 1, &topic};
    size_t len = 0;
    cr_assert_eq(kafka_response_encode(&resp, frame_a, sizeof frame_a, &len), STROM_OK);
    /* The record set is the last field: int32 5, then "abcde". */
    cr_assert_eq(memcmp(frame_a + len - 9, "\0\0\0\5abcde", 9), 0);
    struct kafka_arena a = fresh_arena();
    struct kafka_response dec;
    cr_assert_eq(kafka_response_decode(1, 11, frame_a + 4, len - 4, &a, &dec), STROM_OK);
    const struct kafka_fetch_partition_response *p = &dec.body.fetch.topics[0].partitions[0];
    cr_assert_eq(p->records.len, 5);
    cr_assert_eq(memcmp(p->records.ptr, "abcde", 5), 0);
    cr_assert_eq(p->aborted_transactions_count, -1);
    cr_assert_eq(p->preferred_read_replica, -1);
    cr_assert_eq(p->high_watermark, 9);
}

/* --- ApiVersions: fallback and unsupported requests --------------------------------------- */

Test(kafka_messages, api_versions_above_range_gets_error_35_in_a_v0_body_with_every_api) {
    /* A v9 ApiVersions request whose body strom cannot know: only 8 bytes are needed. */
    const uint8_t req[] = {0, 18, 0, 9, 0, 0, 0, 42, 0, 3, 'c', 'l', 'i', 0, 0x55, 0x66};
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    cr_assert_eq(kafka_request_decode(req, sizeof req, &a, &dec), STROM_ERR_UNSUPPORTED_VERSION);
    cr_assert_eq(dec.header.api_key, 18);
    cr_assert_eq(dec.header.api_version, 9);
    cr_assert_eq(dec.header.correlation_id, 42);
    size_t len = 0;
    cr_assert_eq(kafka_api_versions_fallback(42, frame_a, sizeof frame_a, &len), STROM_OK);
    cr_assert_eq(len, 4 + 4 + 2 + 4 + KAFKA_API_COUNT * 6);
    cr_assert_eq(memcmp(frame_a + 4, "\0\0\0\x2a\0\x23\0\0\0\x10", 10), 0); /* 42, 35, 16 */
    cr_assert_eq(memcmp(frame_a + 14, "\0\0\0\0\0\7", 6), 0);               /* Produce 0..7 */
    struct kafka_response resp;
    cr_assert_eq(kafka_response_decode(18, 0, frame_a + 4, len - 4, &a, &resp), STROM_OK);
    cr_assert_eq(resp.body.api_versions.error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
    cr_assert_eq(resp.body.api_versions.api_keys_count, KAFKA_API_COUNT);
    const struct kafka_api_info *t = kafka_api_table();
    for (int i = 0; i < KAFKA_API_COUNT; i++) {
        cr_assert_eq(resp.body.api_versions.api_keys[i].api_key, t[i].api_key);
        cr_assert_eq(resp.body.api_versions.api_keys[i].max_version, t[i].max_version);
    }
}

Test(kafka_messages, unsupported_apis_and_versions_are_reported) {
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    const uint8_t fetch_v3[] = {0, 1, 0, 3, 0, 0, 0, 1, 0xff, 0xff};
    cr_assert_eq(kafka_request_decode(fetch_v3, sizeof fetch_v3, &a, &dec),
                 STROM_ERR_UNSUPPORTED_VERSION);
    cr_assert_eq(dec.header.api_key, 1);
    const uint8_t unknown[] = {0, 99, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    cr_assert_eq(kafka_request_decode(unknown, sizeof unknown, &a, &dec), STROM_ERR_UNSUPPORTED);
    const uint8_t short_header[] = {0, 3, 0, 1, 0, 0};
    cr_assert_eq(kafka_request_decode(short_header, sizeof short_header, &a, &dec),
                 STROM_ERR_TRUNCATED);
    /* Produce v0-2 are advertised and decoded (the gateway answers UNSUPPORTED_VERSION). */
    cr_assert(kafka_api_supported(KAFKA_API_PRODUCE, 0));
    cr_assert_not(kafka_api_supported(KAFKA_API_PRODUCE, 8));
    cr_assert_not(kafka_api_supported(KAFKA_API_FETCH, 3));
}

Test(kafka_messages, header_versions_follow_flexibility) {
    cr_assert_eq(kafka_request_header_version(KAFKA_API_API_VERSIONS, 3), 2);
    cr_assert_eq(kafka_response_header_version(KAFKA_API_API_VERSIONS, 3), 0);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_METADATA, 9), 2);
    cr_assert_eq(kafka_response_header_version(KAFKA_API_METADATA, 9), 1);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_METADATA, 8), 1);
    cr_assert_eq(kafka_response_header_version(KAFKA_API_FETCH, 11), 0);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_PRODUCE, 7), 1);
}

Test(kafka_messages, request_frames_are_bounded_before_reading) {
    uint32_t n = 0;
    const uint8_t ok[] = {0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1};
    cr_assert_eq(kafka_frame_peek(ok, sizeof ok, 1024, &n), STROM_OK);
    cr_assert_eq(n, 8);
    cr_assert_eq(kafka_frame_peek(ok, 7, 1024, &n), STROM_ERR_AGAIN);
    cr_assert_eq(kafka_frame_peek(ok, 3, 1024, &n), STROM_ERR_AGAIN);
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
    cr_assert_eq(kafka_frame_peek(huge, 4, KAFKA_REQUEST_BYTES_DEFAULT_MAX, &n),
                 STROM_ERR_TOO_LARGE);
    const uint8_t negative[] = {0xff, 0xff, 0xff, 0xf0};
    cr_assert_eq(kafka_frame_peek(negative, 4, 1024, &n), STROM_ERR_PROTOCOL);
}

Test(kafka_messages, huge_counts_fail_without_allocating) {
    /* Produce v3 claiming 2^31-1 topics in a 30-byte frame; and 1000 topics, arena of 64 B. */
    uint8_t req[] = {0, 0,    0,    3,    0,    0,    0,    1, 0xff, 0xff, 0xff, 0xff, 0, 1, 0,
                     0, 0x75, 0x30, 0x7f, 0xff, 0xff, 0xff, 0, 1,    't',  0,    0,    0, 0, 0};
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    cr_assert_eq(kafka_request_decode(req, sizeof req, &a, &dec), STROM_ERR_TOO_LARGE);
    cr_assert_eq(a.used, 0);
    uint8_t big[8 + 2 + 2 + 2 + 4 + 4 + 1000 * 6];
    memset(big, 0, sizeof big);
    memcpy(big, req, 18);
    kafka_store_be32(big + 18, 1000);
    uint64_t small_mem[8];
    struct kafka_arena small;
    kafka_arena_init(&small, small_mem, sizeof small_mem);
    cr_assert_eq(kafka_request_decode(big, sizeof big, &small, &dec), STROM_ERR_LIMIT);
}

/* --- captured from kcat (librdkafka 2.0.2) ------------------------------------------------- */

/* Decodes a captured request, checks it re-encodes to exactly the captured bytes. */
static struct kafka_request decode_vector(const char *name, uint8_t *buf, size_t cap) {
    size_t n = load_vector(name, buf + 4, cap - 4);
    kafka_store_be32(buf, (uint32_t)n);
    struct kafka_arena a = fresh_arena();
    struct kafka_request dec;
    strom_err err = kafka_request_decode(buf + 4, n, &a, &dec);
    cr_assert_eq(err, STROM_OK, "%s: %s", name, strom_errname(err));
    size_t len = 0;
    cr_assert_eq(kafka_request_encode(&dec, frame_b, sizeof frame_b, &len), STROM_OK);
    cr_assert_eq(len, n + 4, "%s", name);
    cr_assert_eq(memcmp(frame_b, buf, len), 0, "%s: re-encoding differs from the capture", name);
    return dec;
}

static struct kafka_request decode_captured(const char *name, uint8_t *buf, size_t cap) {
    struct kafka_request dec = decode_vector(name, buf, cap);
    cr_assert(kafka_str_eq(dec.header.client_id, "rdkafka"));
    return dec;
}

Test(kafka_messages, captured_api_versions_v3) {
    static uint8_t buf[FRAME_MAX];
    struct kafka_request d = decode_captured("api_versions_v3.bin", buf, sizeof buf);
    cr_assert_eq(d.header.api_key, KAFKA_API_API_VERSIONS);
    cr_assert_eq(d.header.api_version, 3);
    cr_assert(kafka_str_eq(d.body.api_versions.client_software_name, "librdkafka"));
    cr_assert(kafka_str_eq(d.body.api_versions.client_software_version, "2.0.2"));
}

Test(kafka_messages, captured_metadata_v4) {
    static uint8_t buf[FRAME_MAX];
    struct kafka_request d = decode_captured("metadata_v4.bin", buf, sizeof buf);
    cr_assert_eq(d.header.api_version, 4);
    cr_assert_eq(d.body.metadata.topics_count, 1);
    cr_assert(kafka_str_eq(d.body.metadata.topics[0], "t"));
    cr_assert(d.body.metadata.allow_auto_topic_creation);
    d = decode_captured("metadata_v4_list.bin", buf, sizeof buf);
    cr_assert_eq(d.body.metadata.topics_count, 0);
}

Test(kafka_messages, captured_produce_v7_every_codec) {
    static uint8_t buf[FRAME_MAX];
    const char *names[] = {"produce_v7_none.bin", "produce_v7_gzip.bin", "produce_v7_snappy.bin",
                           "produce_v7_lz4.bin", "produce_v7_zstd.bin"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct kafka_request d = decode_captured(names[i], buf, sizeof buf);
        cr_assert_eq(d.header.api_version, 7);
        cr_assert_eq(d.body.produce.acks, -1);
        cr_assert_eq(d.body.produce.transactional_id.len, -1);
        cr_assert_eq(d.body.produce.topics_count, 1);
        cr_assert(kafka_str_eq(d.body.produce.topics[0].name, "t"));
        cr_assert_eq(d.body.produce.topics[0].partitions_count, 1);
        cr_assert_gt(d.body.produce.topics[0].partitions[0].records.len, 61);
    }
}

/*
 * Requests of every API the clients use, recorded by tests/integ/kafka_loopback --dump while
 * kcat (librdkafka 2.0.2) and kafka-python 2.0.2 produced, consumed in groups and administered
 * topics (the scenario of tests/integ/kafka_clients.sh).
 */
struct client_vector {
    const char *name;
    int16_t api_key;
    int16_t version;
};

static const struct client_vector client_vectors[] = {
    {"rdkafka/api_versions_v3.bin", 18, 3},
    {"rdkafka/metadata_v4.bin", 3, 4},
    {"rdkafka/produce_v7.bin", 0, 7},
    {"rdkafka/list_offsets_v2.bin", 2, 2},
    {"rdkafka/fetch_v11.bin", 1, 11},
    {"rdkafka/find_coordinator_v2.bin", 10, 2},
    {"rdkafka/join_group_v5.bin", 11, 5},
    {"rdkafka/sync_group_v3.bin", 14, 3},
    {"rdkafka/heartbeat_v3.bin", 12, 3},
    {"rdkafka/offset_fetch_v5.bin", 9, 5},
    {"rdkafka/offset_commit_v7.bin", 8, 7},
    {"rdkafka/leave_group_v1.bin", 13, 1},
    {"kafka-python/api_versions_v0.bin", 18, 0},
    {"kafka-python/metadata_v0.bin", 3, 0},
    {"kafka-python/metadata_v1.bin", 3, 1},
    {"kafka-python/metadata_v5.bin", 3, 5},
    {"kafka-python/create_topics_v3.bin", 19, 3},
    {"kafka-python/describe_configs_v1.bin", 32, 1},
    {"kafka-python/produce_v7.bin", 0, 7},
    {"kafka-python/list_offsets_v1.bin", 2, 1},
    {"kafka-python/fetch_v4.bin", 1, 4},
    {"kafka-python/find_coordinator_v0.bin", 10, 0},
    {"kafka-python/join_group_v2.bin", 11, 2},
    {"kafka-python/sync_group_v1.bin", 14, 1},
    {"kafka-python/heartbeat_v1.bin", 12, 1},
    {"kafka-python/offset_fetch_v1.bin", 9, 1},
    {"kafka-python/offset_commit_v2.bin", 8, 2},
    {"kafka-python/leave_group_v1.bin", 13, 1},
    {"kafka-python/delete_topics_v1.bin", 20, 1},
};

Test(kafka_messages, requests_of_two_clients_decode_and_reencode) {
    static uint8_t buf[FRAME_MAX];
    for (size_t i = 0; i < sizeof client_vectors / sizeof client_vectors[0]; i++) {
        const struct client_vector *cv = &client_vectors[i];
        struct kafka_request d = decode_vector(cv->name, buf, sizeof buf);
        cr_assert_eq(d.header.api_key, cv->api_key, "%s", cv->name);
        cr_assert_eq(d.header.api_version, cv->version, "%s", cv->name);
    }
}

Test(kafka_messages, librdkafka_group_requests_carry_what_it_was_asked) {
    static uint8_t buf[FRAME_MAX];
    struct kafka_request d = decode_vector("rdkafka/join_group_v5.bin", buf, sizeof buf);
    const struct kafka_join_group_request *j = &d.body.join_group;
    cr_assert(kafka_str_eq(j->group_id, "g"));
    cr_assert(kafka_str_eq(j->protocol_type, "consumer"));
    cr_assert_eq(j->session_timeout_ms, 45000);    /* session.timeout.ms default */
    cr_assert_eq(j->rebalance_timeout_ms, 300000); /* max.poll.interval.ms default */
    cr_assert_eq(j->group_instance_id.len, -1);
    cr_assert_eq(j->protocols_count, 2);
    cr_assert(kafka_str_eq(j->protocols[0].name, "range"));
    cr_assert(kafka_str_eq(j->protocols[1].name, "roundrobin"));
    /* ConsumerProtocolSubscription v1: version 1, topics ["t"], empty user data, owned []. */
    cr_assert_eq(j->protocols[0].metadata.len, 17);
    cr_assert_eq(memcmp(j->protocols[0].metadata.ptr, "\0\1\0\0\0\1\0\1t\0\0\0\0\0\0\0\0", 17), 0);

    d = decode_vector("rdkafka/sync_group_v3.bin", buf, sizeof buf);
    cr_assert_eq(d.body.sync_group.assignments_count, 1); /* the leader assigns */
    cr_assert(kafka_str_eq(d.body.sync_group.assignments[0].member_id, "member-1"));
    cr_assert_gt(d.body.sync_group.assignments[0].assignment.len, 0);

    d = decode_vector("rdkafka/offset_commit_v7.bin", buf, sizeof buf);
    const struct kafka_offset_commit_request *oc = &d.body.offset_commit;
    cr_assert(kafka_str_eq(oc->group_id, "g"));
    cr_assert(kafka_str_eq(oc->topics[0].name, "t"));
    cr_assert_eq(oc->topics[0].partitions[0].committed_offset, 10);

    d = decode_vector("rdkafka/fetch_v11.bin", buf, sizeof buf);
    cr_assert_eq(d.body.fetch.replica_id, -1);
    cr_assert_eq(d.body.fetch.isolation_level, 1); /* isolation.level=read_committed */
    cr_assert(kafka_str_eq(d.body.fetch.topics[0].topic, "t"));
}

Test(kafka_messages, kafka_python_admin_requests_carry_what_it_was_asked) {
    static uint8_t buf[FRAME_MAX];
    struct kafka_request d = decode_vector("kafka-python/create_topics_v3.bin", buf, sizeof buf);
    const struct kafka_create_topics_topic *t = &d.body.create_topics.topics[0];
    cr_assert_eq(d.body.create_topics.topics_count, 1);
    cr_assert(kafka_str_eq(t->name, "py"));
    cr_assert_eq(t->num_partitions, 2);
    cr_assert_eq(t->replication_factor, 1);
    cr_assert_eq(t->configs_count, 1);
    cr_assert(kafka_str_eq(t->configs[0].name, "retention.ms"));
    cr_assert(kafka_str_eq(t->configs[0].value, "1000"));
    d = decode_vector("kafka-python/describe_configs_v1.bin", buf, sizeof buf);
    const struct kafka_describe_configs_resource *r = &d.body.describe_configs.resources[0];
    cr_assert_eq(r->resource_type, 2);
    cr_assert(kafka_str_eq(r->resource_name, "py"));
    cr_assert_eq(r->configuration_keys_count, 1);
    cr_assert(kafka_str_eq(r->configuration_keys[0], "retention.ms"));
    d = decode_vector("kafka-python/delete_topics_v1.bin", buf, sizeof buf);
    cr_assert_eq(d.body.delete_topics.topic_names_count, 1);
    cr_assert(kafka_str_eq(d.body.delete_topics.topic_names[0], "py"));
    d = decode_vector("kafka-python/metadata_v0.bin", buf, sizeof buf);
    cr_assert_geq(d.body.metadata.topics_count, 0);
}
