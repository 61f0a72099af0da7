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

/* Walks what a decoded frame carries inside it. */
static void walk(const struct proto_frame *f) {
    struct proto_bytes set = {0};
    uint32_t count = 0;
    if (f->header.type == PROTO_APPEND) {
        set = f->body.append.messages;
        count = f->body.append.count;
    } else if (f->header.type == PROTO_DELIVER) {
        set = f->body.deliver.messages;
        count = f->body.deliver.count;
    } else if (f->header.type == PROTO_LIST_ANSWER) {
        for (uint32_t i = 0; i < f->body.list_answer.stream_count; i++) {
            struct proto_stream_info s;
            strom_assert(proto_list_answer_stream(&f->body.list_answer, i, &s) == STROM_OK);
        }
        return;
    }
    struct proto_msgs_iter it;
    proto_msgs_begin(&it, set, count);
    struct proto_msg m;
    uint32_t seen = 0;
    while (proto_msgs_next(&it, &m) == STROM_OK) {
        for (uint32_t h = 0; h < m.header_count; h++) {
            struct proto_msg_header mh;
            strom_assert(proto_msg_header_at(&m, h, &mh) == STROM_OK);
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
    strom_assert(err == STROM_OK && out == len && memcmp(buf, frame, len) == 0);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
        if (proto_frame_decode(frame, h.frame_bytes, max, &f) == STROM_OK) {
            walk(&f);
            reencode(frame, h.frame_bytes, &f);
        }
        free(frame);
        at += h.frame_bytes;
    }
    return 0;
}
