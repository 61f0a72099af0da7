/*
 * fuzz_kafka_request.c: decodes arbitrary bytes as a Kafka request frame (header and body, any
 * API and version), the way a gateway does with what a client sends.
 *
 * Properties checked beyond "no crash, no out-of-bounds access" (ASan, UBSan): decoding uses only
 * the arena it is given; a request that decodes re-encodes, no longer than it came (the encoder
 * writes the canonical form: minimal varints, bools as 0/1, no unknown tagged fields), and that
 * encoding decodes and re-encodes to itself byte for byte. An ApiVersions request of an unserved
 * version gets its fallback answer encoded.
 */
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "kafka/messages.h"

#define ARENA_BYTES     (256 * 1024)
#define FRAME_BYTES_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena_mem[ARENA_BYTES];
static uint8_t arena_mem2[ARENA_BYTES];
static uint8_t out[FRAME_BYTES_MAX + 4];
static uint8_t out2[FRAME_BYTES_MAX + 4];

static void check_reencodes(const struct kafka_request *req, size_t size) {
    size_t len = 0;
    strom_assert(kafka_request_encode(req, out, sizeof out, &len) == STROM_OK);
    strom_assert(len <= size + 4);
    struct kafka_arena arena;
    kafka_arena_init(&arena, arena_mem2, sizeof arena_mem2);
    struct kafka_request again;
    strom_assert(kafka_request_decode(out + 4, len - 4, &arena, &again) == STROM_OK);
    size_t len2 = 0;
    strom_assert(kafka_request_encode(&again, out2, sizeof out2, &len2) == STROM_OK);
    strom_assert(len2 == len && memcmp(out, out2, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FRAME_BYTES_MAX) {
        return 0;
    }
    struct kafka_arena arena;
    kafka_arena_init(&arena, arena_mem, sizeof arena_mem);
    struct kafka_request req;
    strom_err err = kafka_request_decode(data, size, &arena, &req);
    strom_assert(arena.used <= arena.cap);
    if (err == STROM_OK) {
        check_reencodes(&req, size);
    } else if (err == STROM_ERR_UNSUPPORTED_VERSION &&
               req.header.api_key == KAFKA_API_API_VERSIONS) {
        size_t len = 0;
        strom_assert(kafka_api_versions_fallback(req.header.correlation_id, out, sizeof out,
                                                 &len) == STROM_OK);
    }
    return 0;
}
