/*
 * frame.h: frames of the native protocol (docs/protocol.md), shared by libstrom and the gateway.
 *
 * The records are declared in schema/proto.ssim and generated into src/gen/proto.{h,c} (structs
 * with views for strings and bytes, encoders, bounds-checked decoders, ssim printers). This module
 * adds what the generator leaves to the protocol: reading and checking a frame header against the
 * limits before anything is copied, decoding a whole frame into the body of its type, encoding a
 * frame of any type, and walking the message set carried by append and deliver.
 *
 * Decoding never reads outside the bytes given and never allocates (list answers take their
 * stream array from a caller's arena); a frame that breaks the protocol gives STROM_ERR_PROTOCOL,
 * or STROM_ERR_TOO_LARGE for a length or count above its limit, never a crash.
 */
#ifndef STROM_PROTO_FRAME_H
#define STROM_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "gen/proto.h"

/* The limits the schema does not name as constants of its own. */
#define PROTO_HEADER_BYTES           PROTO_HEADER_ENCODED_BYTES
#define PROTO_LIST_STREAMS_MAX       PROTO_LIST_ANSWER_STREAMS_COUNT_MAX
#define PROTO_HEADER_NAME_BYTES_MAX  PROTO_MSG_HEADER_NAME_BYTES_MAX
#define PROTO_HEADER_VALUE_BYTES_MAX PROTO_MSG_HEADER_VALUE_BYTES_MAX

_Static_assert(PROTO_HEADER_BYTES == 16, "the frame header is 16 bytes (docs/protocol.md)");

/* Header flags. The only one: on an append, the client sent this batch before on a connection
 * that broke (a retry). A node that no longer remembers the batch's producer cannot tell whether
 * it was applied and refuses it (SEQUENCE_TOO_OLD) rather than apply it twice. Any other flag, or
 * this one on another frame type, is a protocol error. */
#define PROTO_FLAG_RETRY      1u
#define PROTO_HEADER_FLAGS_AT 6 /* the flags' byte offset in the header (u16, little-endian) */

/* Frame types: the ids of the body records; cancel and stat have empty bodies. */
enum proto_type {
    PROTO_HELLO = PROTO_HELLO_ID,
    PROTO_HELLO_ANSWER = PROTO_HELLO_ANSWER_ID,
    PROTO_ERROR = PROTO_ERROR_ID,
    PROTO_APPEND = PROTO_APPEND_ID,
    PROTO_APPEND_ANSWER = PROTO_APPEND_ANSWER_ID,
    PROTO_READ = PROTO_READ_ID,
    PROTO_DELIVER = PROTO_DELIVER_ID,
    PROTO_READ_END = PROTO_READ_END_ID,
    PROTO_CREDIT = PROTO_CREDIT_ID,
    PROTO_CANCEL = 10,
    PROTO_CREATE = PROTO_CREATE_ID,
    PROTO_CREATE_ANSWER = PROTO_CREATE_ANSWER_ID,
    PROTO_LIST = PROTO_LIST_ID,
    PROTO_LIST_ANSWER = PROTO_LIST_ANSWER_ID,
    PROTO_STAT = 15,
    PROTO_STAT_ANSWER = PROTO_STAT_ANSWER_ID,
    PROTO_PING = PROTO_PING_ID,
    PROTO_PONG = PROTO_PONG_ID,
    PROTO_TYPE_COUNT_ /* one above the highest type */
};

/* A decoded frame: the header and the body of its type (views into the frame's bytes). */
struct proto_frame {
    struct proto_header header;
    union {
        struct proto_hello hello;
        struct proto_hello_answer hello_answer;
        struct proto_error error;
        struct proto_append append;
        struct proto_append_answer append_answer;
        struct proto_read read;
        struct proto_deliver deliver;
        struct proto_read_end read_end;
        struct proto_credit credit;
        struct proto_create create;
        struct proto_create_answer create_answer;
        struct proto_list list;
        struct proto_list_answer list_answer;
        struct proto_stat_answer stat_answer;
        struct proto_ping ping;
        struct proto_pong pong;
    } body;
};

/* Walks a message set: each proto.msg record in turn, its headers in the iterator's own arena
 * (valid until the next call). */
struct proto_msgs_iter {
    struct strom_cursor cur;
    uint32_t count_left;
    struct strom_arena arena;
    _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_MSG_ARENA_BYTES_MAX];
};

/*
 * Reads a frame header from buf[0, len). STROM_OK with *h; TRUNCATED when len < 16 (read more);
 * TOO_LARGE when frame_bytes > frame_bytes_max; PROTOCOL when frame_bytes < 16, the type is
 * unknown, or flags are other than 0 (PROTO_FLAG_RETRY on an append). h is filled in every case but
 * TRUNCATED (for the error's request id).
 */
strom_err proto_header_read(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                            struct proto_header *h);

/* Writes h into buf[0, 16). */
void proto_header_write(uint8_t *buf, const struct proto_header *h);

/*
 * Decodes one whole frame, buf[0, len) with len == its frame_bytes, into *f (views into buf).
 * Checks every length and count against its limit and that the body is consumed exactly; for
 * append and deliver also the message set (proto_msgs_check). A list answer's streams go to arena
 * (reset by the caller; PROTO_LIST_ANSWER_ARENA_BYTES_MAX is enough), which may be NULL where list
 * answers are not expected (a list answer is then PROTOCOL). Errors: those of proto_header_read,
 * PROTOCOL (malformed body), TOO_LARGE (a length or count over its limit).
 */
strom_err proto_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                             struct strom_arena *arena, struct proto_frame *f);

/*
 * Encodes a frame of type with request_id and body into buf[0, cap): *len_out gets its length.
 * body points at the generated struct of the type (NULL for cancel and stat). OVERFLOW when cap is
 * too small; TOO_LARGE when a field is over its limit or the frame over PROTO_FRAME_BYTES_MAX.
 */
strom_err proto_frame_encode(uint8_t *buf, size_t cap, enum proto_type type, uint64_t request_id,
                             const void *body, size_t *len_out);

/*
 * Encodes an append frame whose message set, set_bytes long, the caller writes afterwards at
 * *set_out (the set is the frame's last field): a client encodes its messages in place rather
 * than into a scratch buffer and then again into the frame. a->messages and a->messages_len are
 * ignored. *len_out gets the whole frame's length, set included. Errors as proto_frame_encode.
 */
strom_err proto_append_frame_begin(uint8_t *buf, size_t cap, uint64_t request_id,
                                   const struct proto_append *a, size_t set_bytes,
                                   uint8_t **set_out, size_t *len_out);

/*
 * Decodes the head of an append frame whose message set may not have arrived yet: buf[0, have)
 * holds its first bytes, at least up to the start of the set; the frame's frame_bytes (h) may be
 * more than have, and buf must have room for all of them (a->messages points at where the set
 * goes, h->frame_bytes - (set's offset) bytes). Checks what proto_frame_decode checks but the set
 * (the caller runs proto_msgs_check once it is there). Errors: TRUNCATED (the head has not all
 * arrived), INVALID_ARGUMENT (a frame of another type), and those of proto_header_read and of
 * the body's decoding (PROTOCOL, TOO_LARGE).
 */
strom_err proto_append_head_decode(const uint8_t *buf, size_t have, uint32_t frame_bytes_max,
                                   struct proto_header *h, struct proto_append *a);

/* Bytes of an append frame with a path_bytes path and a set_bytes message set, and of a deliver
 * frame with a set_bytes message set. */
size_t proto_append_frame_bytes(size_t path_bytes, size_t set_bytes);
size_t proto_deliver_frame_bytes(size_t set_bytes);

/* Checks that the message set set[0, len) holds exactly count well-formed messages, 1 to
 * PROTO_MSGS_PER_BATCH_MAX. STROM_OK, PROTOCOL or TOO_LARGE. */
strom_err proto_msgs_check(const uint8_t *set, size_t len, uint32_t count);

void proto_msgs_begin(struct proto_msgs_iter *it, const uint8_t *set, size_t len, uint32_t count);
/* The next message into *m: STROM_OK, END after the last, PROTOCOL or TOO_LARGE when malformed. */
strom_err proto_msgs_next(struct proto_msgs_iter *it, struct proto_msg *m);

/* Checks a stream path: starts with '/', segments of [A-Za-z0-9._-] separated by single '/', none
 * of them "." or "..", no trailing '/', at most PROTO_PATH_BYTES_MAX bytes (the node's rule,
 * node/path.h). STROM_OK or INVALID_PATH. */
strom_err proto_path_check(const char *path, size_t len);

/* The name of a frame type ("append"), "unknown" outside the enum. */
const char *proto_type_name(uint16_t type);

#endif
