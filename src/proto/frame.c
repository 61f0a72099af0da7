/*
 * frame.c: frames of the native protocol (see frame.h and docs/protocol.md) over the codecs
 * generated from schema/proto.ssim. The generated decoders report TRUNCATED, CORRUPT (a bool that
 * is not 0 or 1, bytes left over) and LIMIT (arena); to the protocol all of these are a malformed
 * frame, PROTOCOL; TOO_LARGE stays TOO_LARGE.
 */
#include "proto/frame.h"

#include <string.h>

#include "base/assert.h"

/* The generated decoders' errors as the protocol's. */
static strom_err frame_err(strom_err err) {
    return err == STROM_OK || err == STROM_ERR_TOO_LARGE ? err : STROM_ERR_PROTOCOL;
}

/* --- header ------------------------------------------------------------------------------------
 */

strom_err proto_header_read(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                            struct proto_header *h) {
    strom_assert(frame_bytes_max >= PROTO_HEADER_BYTES);
    if (len < PROTO_HEADER_BYTES) {
        return STROM_ERR_TRUNCATED;
    }
    strom_err err = proto_header_decode(h, buf, PROTO_HEADER_BYTES);
    strom_assert(err == STROM_OK); /* a fixed-size record decodes from its size */
    if (h->frame_bytes > frame_bytes_max) {
        return STROM_ERR_TOO_LARGE;
    }
    bool known = h->type > 0 && h->type < PROTO_TYPE_COUNT_;
    bool flags_ok = h->flags == 0 || (h->flags == PROTO_FLAG_RETRY && h->type == PROTO_APPEND);
    if (h->frame_bytes < PROTO_HEADER_BYTES || !flags_ok || !known) {
        return STROM_ERR_PROTOCOL;
    }
    return STROM_OK;
}

void proto_header_write(uint8_t *buf, const struct proto_header *h) {
    uint8_t *end = proto_header_put(h, buf);
    strom_assert(end == buf + PROTO_HEADER_BYTES);
}

/* --- message sets ------------------------------------------------------------------------------
 */

void proto_msgs_begin(struct proto_msgs_iter *it, const uint8_t *set, size_t len, uint32_t count) {
    it->cur = strom_cursor_of(set, len);
    it->count_left = count;
    strom_arena_init(&it->arena, it->arena_bytes, sizeof it->arena_bytes);
}

strom_err proto_msgs_next(struct proto_msgs_iter *it, struct proto_msg *m) {
    if (it->count_left == 0) {
        return STROM_ERR_END;
    }
    strom_arena_reset(&it->arena);
    strom_err err = frame_err(proto_msg_take(m, &it->cur, &it->arena));
    if (err == STROM_OK) {
        it->count_left--;
    }
    return err;
}

strom_err proto_msgs_check(const uint8_t *set, size_t len, uint32_t count) {
    if (count == 0 || count > PROTO_MSGS_PER_BATCH_MAX) {
        return count == 0 ? STROM_ERR_PROTOCOL : STROM_ERR_TOO_LARGE;
    }
    struct proto_msgs_iter it;
    proto_msgs_begin(&it, set, len, count);
    struct proto_msg m;
    strom_err err;
    while ((err = proto_msgs_next(&it, &m)) == STROM_OK) {
    }
    if (err != STROM_ERR_END) {
        return err;
    }
    return strom_cursor_left(&it.cur) == 0 ? STROM_OK : STROM_ERR_PROTOCOL;
}

/* --- bodies ------------------------------------------------------------------------------------
 */

/* Decodes the body of f's type from buf[0, len). */
static strom_err frame_body_decode(struct proto_frame *f, const uint8_t *buf, size_t len,
                                   struct strom_arena *arena) {
    switch (f->header.type) {
    case PROTO_HELLO:
        return proto_hello_decode(&f->body.hello, buf, len);
    case PROTO_HELLO_ANSWER:
        return proto_hello_answer_decode(&f->body.hello_answer, buf, len);
    case PROTO_ERROR:
        return proto_error_decode(&f->body.error, buf, len);
    case PROTO_APPEND:
        return proto_append_decode(&f->body.append, buf, len);
    case PROTO_APPEND_ANSWER:
        return proto_append_answer_decode(&f->body.append_answer, buf, len);
    case PROTO_READ:
        return proto_read_decode(&f->body.read, buf, len);
    case PROTO_DELIVER:
        return proto_deliver_decode(&f->body.deliver, buf, len);
    case PROTO_READ_END:
        return proto_read_end_decode(&f->body.read_end, buf, len);
    case PROTO_CREDIT:
        return proto_credit_decode(&f->body.credit, buf, len);
    case PROTO_CREATE:
        return proto_create_decode(&f->body.create, buf, len);
    case PROTO_CREATE_ANSWER:
        return proto_create_answer_decode(&f->body.create_answer, buf, len);
    case PROTO_LIST:
        return proto_list_decode(&f->body.list, buf, len);
    case PROTO_LIST_ANSWER:
        return arena == NULL ? STROM_ERR_PROTOCOL
                             : proto_list_answer_decode(&f->body.list_answer, buf, len, arena);
    case PROTO_STAT_ANSWER:
        return proto_stat_answer_decode(&f->body.stat_answer, buf, len);
    case PROTO_PING:
        return proto_ping_decode(&f->body.ping, buf, len);
    case PROTO_PONG:
        return proto_pong_decode(&f->body.pong, buf, len);
    default: /* cancel, stat: empty bodies */
        return len == 0 ? STROM_OK : STROM_ERR_PROTOCOL;
    }
}

strom_err proto_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                             struct strom_arena *arena, struct proto_frame *f) {
    memset(f, 0, sizeof *f);
    strom_err err = proto_header_read(buf, len, frame_bytes_max, &f->header);
    if (err) {
        return err;
    }
    if (f->header.frame_bytes != len) {
        return STROM_ERR_PROTOCOL;
    }
    err =
        frame_err(frame_body_decode(f, buf + PROTO_HEADER_BYTES, len - PROTO_HEADER_BYTES, arena));
    if (err == STROM_OK && f->header.type == PROTO_APPEND) {
        err = proto_msgs_check(f->body.append.messages, f->body.append.messages_len,
                               f->body.append.count);
    } else if (err == STROM_OK && f->header.type == PROTO_DELIVER) {
        err = proto_msgs_check(f->body.deliver.messages, f->body.deliver.messages_len,
                               f->body.deliver.count);
    }
    return err;
}

/* Encodes the body of type into buf[0, cap). */
static strom_err frame_body_encode(enum proto_type type, const void *body, uint8_t *buf, size_t cap,
                                   size_t *len) {
    switch (type) {
    case PROTO_HELLO:
        return proto_hello_encode(body, buf, cap, len);
    case PROTO_HELLO_ANSWER:
        return proto_hello_answer_encode(body, buf, cap, len);
    case PROTO_ERROR:
        return proto_error_encode(body, buf, cap, len);
    case PROTO_APPEND:
        return proto_append_encode(body, buf, cap, len);
    case PROTO_APPEND_ANSWER:
        return proto_append_answer_encode(body, buf, cap, len);
    case PROTO_READ:
        return proto_read_encode(body, buf, cap, len);
    case PROTO_DELIVER:
        return proto_deliver_encode(body, buf, cap, len);
    case PROTO_READ_END:
        return proto_read_end_encode(body, buf, cap, len);
    case PROTO_CREDIT:
        return proto_credit_encode(body, buf, cap, len);
    case PROTO_CREATE:
        return proto_create_encode(body, buf, cap, len);
    case PROTO_CREATE_ANSWER:
        return proto_create_answer_encode(body, buf, cap, len);
    case PROTO_LIST:
        return proto_list_encode(body, buf, cap, len);
    case PROTO_LIST_ANSWER:
        return proto_list_answer_encode(body, buf, cap, len);
    case PROTO_STAT_ANSWER:
        return proto_stat_answer_encode(body, buf, cap, len);
    case PROTO_PING:
        return proto_ping_encode(body, buf, cap, len);
    case PROTO_PONG:
        return proto_pong_encode(body, buf, cap, len);
    default: /* cancel, stat */
        *len = 0;
        return STROM_OK;
    }
}

strom_err proto_frame_encode(uint8_t *buf, size_t cap, enum proto_type type, uint64_t request_id,
                             const void *body, size_t *len_out) {
    strom_assert(type > 0 && type < PROTO_TYPE_COUNT_);
    strom_assert(body != NULL || type == PROTO_CANCEL || type == PROTO_STAT);
    if (cap < PROTO_HEADER_BYTES) {
        return STROM_ERR_OVERFLOW;
    }
    size_t body_len = 0;
    strom_err err = frame_body_encode(type, body, buf + PROTO_HEADER_BYTES,
                                      cap - PROTO_HEADER_BYTES, &body_len);
    if (err) {
        return err;
    }
    size_t len = PROTO_HEADER_BYTES + body_len;
    if (len > PROTO_FRAME_BYTES_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    struct proto_header h = {
        .frame_bytes = (uint32_t)len, .type = (uint16_t)type, .request_id = request_id};
    proto_header_write(buf, &h);
    *len_out = len;
    return STROM_OK;
}

strom_err proto_append_frame_begin(uint8_t *buf, size_t cap, uint64_t request_id,
                                   const struct proto_append *a, size_t set_bytes,
                                   uint8_t **set_out, size_t *len_out) {
    if (set_bytes > PROTO_APPEND_MESSAGES_BYTES_MAX ||
        proto_append_frame_bytes(a->path_len, set_bytes) > PROTO_FRAME_BYTES_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    /* The frame without its set, then the set's length and the frame's length patched in: the
     * set's length prefix is the body's last 4 bytes before the set. */
    struct proto_append head = *a;
    head.messages = NULL;
    head.messages_len = 0;
    size_t head_len = 0;
    strom_err err = proto_frame_encode(buf, cap, PROTO_APPEND, request_id, &head, &head_len);
    if (err == STROM_OK && cap - head_len < set_bytes) {
        err = STROM_ERR_OVERFLOW;
    }
    if (err == STROM_OK) {
        strom_assert(head_len == proto_append_frame_bytes(a->path_len, 0));
        strom_put_u32(buf + head_len - 4, (uint32_t)set_bytes);
        struct proto_header h = {.frame_bytes = (uint32_t)(head_len + set_bytes),
                                 .type = PROTO_APPEND,
                                 .request_id = request_id};
        proto_header_write(buf, &h);
        *set_out = buf + head_len;
        *len_out = head_len + set_bytes;
    }
    return err;
}

strom_err proto_append_head_decode(const uint8_t *buf, size_t have, uint32_t frame_bytes_max,
                                   struct proto_header *h, struct proto_append *a) {
    strom_err err = proto_header_read(buf, have, frame_bytes_max, h);
    if (err == STROM_OK && h->type != PROTO_APPEND) {
        err = STROM_ERR_INVALID_ARGUMENT;
    }
    /* The path's length prefix follows the stream id (8 bytes); the head ends where the set
     * starts, PROTO_APPEND_ENCODED_BYTES_MIN + path bytes after the frame header. */
    size_t len_at = PROTO_HEADER_BYTES + 8;
    if (err == STROM_OK && have < len_at + 4) {
        err = STROM_ERR_TRUNCATED;
    }
    if (err == STROM_OK) {
        struct strom_cursor at = strom_cursor_of(buf + len_at, 4);
        uint32_t path_len = strom_take_u32(&at);
        if (path_len > PROTO_APPEND_PATH_BYTES_MAX) {
            err = STROM_ERR_PROTOCOL;
        } else if (have < proto_append_frame_bytes(path_len, 0)) {
            err = STROM_ERR_TRUNCATED;
        }
    }
    if (err == STROM_OK) {
        /* Reads only the head's bytes: the set is a view (its bytes are not looked at). */
        err = frame_err(
            proto_append_decode(a, buf + PROTO_HEADER_BYTES, h->frame_bytes - PROTO_HEADER_BYTES));
    }
    return err;
}

size_t proto_append_frame_bytes(size_t path_bytes, size_t set_bytes) {
    return PROTO_HEADER_BYTES + PROTO_APPEND_ENCODED_BYTES_MIN + path_bytes + set_bytes;
}

size_t proto_deliver_frame_bytes(size_t set_bytes) {
    return PROTO_HEADER_BYTES + PROTO_DELIVER_ENCODED_BYTES_MIN + set_bytes;
}

/* --- names and paths ---------------------------------------------------------------------------
 */

static bool path_byte_ok(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

/* True when the segment that ends before path[end] (and starts after a '/') is "." or "..". */
static bool path_segment_dots(const char *path, size_t end) {
    return (path[end - 1] == '.' && path[end - 2] == '/') ||
           (end >= 3 && path[end - 1] == '.' && path[end - 2] == '.' && path[end - 3] == '/');
}

strom_err proto_path_check(const char *path, size_t len) {
    if (len < 2 || len > PROTO_PATH_BYTES_MAX || path[0] != '/' || path[len - 1] == '/') {
        return STROM_ERR_INVALID_PATH;
    }
    for (size_t i = 1; i <= len; i++) {
        bool ok = i == len || path[i] == '/' ? path[i - 1] != '/' && !path_segment_dots(path, i)
                                             : path_byte_ok(path[i]);
        if (!ok) {
            return STROM_ERR_INVALID_PATH;
        }
    }
    return STROM_OK;
}

const char *proto_type_name(uint16_t type) {
    static const char *const names[PROTO_TYPE_COUNT_] = {
        [PROTO_HELLO] = "hello",
        [PROTO_HELLO_ANSWER] = "hello_answer",
        [PROTO_ERROR] = "error",
        [PROTO_APPEND] = "append",
        [PROTO_APPEND_ANSWER] = "append_answer",
        [PROTO_READ] = "read",
        [PROTO_DELIVER] = "deliver",
        [PROTO_READ_END] = "read_end",
        [PROTO_CREDIT] = "credit",
        [PROTO_CANCEL] = "cancel",
        [PROTO_CREATE] = "create",
        [PROTO_CREATE_ANSWER] = "create_answer",
        [PROTO_LIST] = "list",
        [PROTO_LIST_ANSWER] = "list_answer",
        [PROTO_STAT] = "stat",
        [PROTO_STAT_ANSWER] = "stat_answer",
        [PROTO_PING] = "ping",
        [PROTO_PONG] = "pong",
    };
    return type > 0 && type < PROTO_TYPE_COUNT_ ? names[type] : "unknown";
}
