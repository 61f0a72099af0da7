/*
 * fuzz_proto_frame.c: libFuzzer target for the native protocol's frame decoder
 * (src/proto/frame.h). The input is taken as a stream of frames, as a gateway or a client reads
 * them: each header is checked, each whole frame decoded, and the message sets and list answers
 * of decoded frames walked to the end. Nothing may crash, read out of bounds or loop; a frame that
 * decodes must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks what a decoded frame carries inside it: every message of a set, with its headers. */
static void walk(const struct proto_frame *f) {
    const uint8_t *set = NULL;
    size_t len = 0;
    uint32_t count = 0;
    if (f->header.type == PROTO_APPEND) {
        set = f->body.append.messages;
        len = f->body.append.messages_len;
        count = f->body.append.count;
    } else if (f->header.type == PROTO_DELIVER) {
        set = f->body.deliver.messages;
        len = f->body.deliver.messages_len;
        count = f->body.deliver.count;
    } else {
        return;
    }
    static struct proto_msgs_iter it;
    proto_msgs_begin(&it, set, len, count);
    struct proto_msg m;
    uint32_t seen = 0;
    while (proto_msgs_next(&it, &m) == STROM_OK) {
        for (uint32_t h = 0; h < m.headers_count; h++) {
            strom_assert(m.headers[h].name_len <= PROTO_HEADER_NAME_BYTES_MAX);
        }
        seen++;
    }
    strom_assert(seen == count);
}

/* A decoded frame encodes back to the bytes it came from. */
static void reencode(const uint8_t *frame, size_t len, const struct proto_frame *f) {
    uint8_t *buf = malloc(len);
    size_t out = 0;
    const void *body = f->header.type == PROTO_CANCEL || f->header.type == PROTO_STAT
                           ? NULL
                           : (const void *)&f->body;
    strom_err err = proto_frame_encode(buf, len, f->header.type, f->header.request_id, body, &out);
    strom_assert(err == STROM_OK && out == len);
    proto_header_write(buf, &f->header); /* the encoder writes flags 0; an append may be a retry */
    strom_assert(memcmp(buf, frame, len) == 0);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
    struct strom_arena arena;
    strom_arena_init(&arena, arena_bytes, sizeof arena_bytes);
    size_t at = 0;
    uint32_t max = 1u << 16;
    while (at < size) {
        struct proto_header h;
        strom_err err = proto_header_read(data + at, size - at, max, &h);
        if (err || h.frame_bytes > size - at) {
            break;
        }
        struct proto_frame f;
        /* A copy of exactly the frame's bytes, so that ASan sees any read past its end. */
        uint8_t *frame = malloc(h.frame_bytes);
        memcpy(frame, data + at, h.frame_bytes);
        strom_arena_reset(&arena);
        if (proto_frame_decode(frame, h.frame_bytes, max, &arena, &f) == STROM_OK) {
            walk(&f);
            reencode(frame, h.frame_bytes, &f);
        }
        free(frame);
        at += h.frame_bytes;
    }
    return 0;
}
