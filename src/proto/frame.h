/*
 * frame.h: frames of the native protocol (docs/protocol.md), shared by libstrom and the gateway.
 *
 * A frame is a 16-byte header (frame_bytes u32, type u16, flags u16, request_id u64, all
 * little-endian) and a body, the record of its type. This module reads and writes headers, checks
 * whole frames against the limits before anything is copied, decodes bodies into views (pointers
 * into the frame, valid as long as the frame's bytes), encodes frames into a caller's buffer, and
 * walks the message set carried by append and deliver.
 *
 * Decoding never reads outside the bytes given and never allocates; a frame that breaks the
 * protocol gives STROM_ERR_PROTOCOL (or TOO_LARGE for a length over its limit), never a crash.
 */
#ifndef STROM_PROTO_FRAME_H
#define STROM_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PROTO_VERSION                1u
#define PROTO_HEADER_BYTES           16u
#define PROTO_FRAME_BYTES_MAX        (16u << 20) /* default and highest frame_bytes_max */
#define PROTO_PATH_BYTES_MAX         255u
#define PROTO_NAME_BYTES_MAX         64u /* client_name, node_name */
#define PROTO_MSGS_PER_BATCH_MAX     65536u
#define PROTO_KEY_BYTES_MAX          65535u
#define PROTO_HEADERS_MAX            32u
#define PROTO_HEADER_NAME_BYTES_MAX  255u
#define PROTO_HEADER_VALUE_BYTES_MAX 65535u
#define PROTO_LIST_STREAMS_MAX       1024u
#define PROTO_STAT_TEXT_BYTES_MAX    (1u << 20)
#define PROTO_ERROR_TEXT_BYTES_MAX   255u

/* Frame types (docs/protocol.md). Numbers are part of the protocol: never renumber. */
enum proto_type {
    PROTO_HELLO = 1,
    PROTO_HELLO_ANSWER = 2,
    PROTO_ERROR = 3,
    PROTO_APPEND = 4,
    PROTO_APPEND_ANSWER = 5,
    PROTO_READ = 6,
    PROTO_DELIVER = 7,
    PROTO_READ_END = 8,
    PROTO_CREDIT = 9,
    PROTO_CANCEL = 10,
    PROTO_CREATE = 11,
    PROTO_CREATE_ANSWER = 12,
    PROTO_LIST = 13,
    PROTO_LIST_ANSWER = 14,
    PROTO_STAT = 15,
    PROTO_STAT_ANSWER = 16,
    PROTO_PING = 17,
    PROTO_PONG = 18,
    PROTO_TYPE_COUNT_ /* one above the highest type */
};

/* A view of len bytes at ptr (ptr may be NULL when len is 0). */
struct proto_bytes {
    const uint8_t *ptr;
    uint32_t len;
};

struct proto_header {
    uint32_t frame_bytes; /* the whole frame, header included */
    uint16_t type;        /* enum proto_type */
    uint16_t flags;       /* 0 */
    uint64_t request_id;
};

struct proto_hello {
    uint16_t version_min;
    uint16_t version_max;
    struct proto_bytes client_name; /* <= PROTO_NAME_BYTES_MAX */
};

struct proto_hello_answer {
    uint16_t version;
    struct proto_bytes node_name; /* <= PROTO_NAME_BYTES_MAX */
    uint32_t frame_bytes_max;
    uint32_t inflight_max;
    uint32_t reads_max;
    uint32_t idempotence_window;
};

struct proto_error {
    uint32_t code;           /* strom_err */
    struct proto_bytes text; /* <= PROTO_ERROR_TEXT_BYTES_MAX */
};

struct proto_append {
    uint64_t stream_id;
    struct proto_bytes path; /* <= PROTO_PATH_BYTES_MAX */
    uint8_t ack;
    bool sync;
    uint64_t producer_id;
    uint64_t sequence;
    uint32_t count;              /* 1..PROTO_MSGS_PER_BATCH_MAX */
    struct proto_bytes messages; /* the message set */
};

struct proto_append_answer {
    uint32_t error;
    uint64_t stream_id;
    uint64_t base_offset;
    uint32_t count;
    uint64_t ts_ns;
};

struct proto_read {
    uint64_t stream_id;
    struct proto_bytes path;
    uint64_t from;
    uint64_t to;
    bool follow;
    uint8_t ack;
    bool sync;
    uint64_t credit_bytes;
};

struct proto_deliver {
    uint64_t stream_id;
    uint64_t base_offset;
    uint32_t count;
    uint64_t ts_ns;
    struct proto_bytes messages;
};

struct proto_read_end {
    uint32_t error;
    uint64_t next_offset;
};

struct proto_credit {
    uint64_t bytes;
};

struct proto_create {
    struct proto_bytes path;
};

struct proto_create_answer {
    uint32_t error;
    uint64_t stream_id;
    bool created;
};

struct proto_list {
    struct proto_bytes prefix;
    uint64_t after_id;
    uint32_t count_max;
};

/* One stream of a list answer. */
struct proto_stream_info {
    struct proto_bytes path;
    uint64_t stream_id;
    uint64_t first;
    uint64_t next;
    uint64_t durable;
    uint64_t bytes;
};

struct proto_list_answer {
    uint32_t error;
    uint32_t stream_count;      /* <= PROTO_LIST_STREAMS_MAX */
    struct proto_bytes streams; /* stream_count encoded stream_info records; see
                                   proto_list_answer_stream */
    bool more;
};

struct proto_stat_answer {
    uint32_t error;
    struct proto_bytes text; /* <= PROTO_STAT_TEXT_BYTES_MAX */
};

struct proto_ping {
    uint64_t value;
};

/* A decoded frame: the header and the body of its type. */
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
        struct proto_ping ping; /* ping and pong */
    } body;
};

/* One message of a message set; the views point into the set. headers_raw holds header_count
 * encoded headers, walked with proto_msg_header. */
struct proto_msg {
    uint64_t client_ts_ns;
    struct proto_bytes key;
    uint32_t header_count;
    struct proto_bytes headers_raw;
    struct proto_bytes payload;
};

/* One header of a message. */
struct proto_msg_header {
    struct proto_bytes name;
    struct proto_bytes value;
};

/* Walks a message set. */
struct proto_msgs_iter {
    const uint8_t *pos;
    size_t bytes_left;
    uint32_t count_left;
};

/*
 * Reads a frame header from buf[0, len). STROM_OK with *h; TRUNCATED when len < 16 (read more);
 * TOO_LARGE when frame_bytes > frame_bytes_max; PROTOCOL when frame_bytes < 16, flags != 0 or the
 * type is unknown. h is filled in every case but TRUNCATED (for the error's request id).
 */
strom_err proto_header_read(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                            struct proto_header *h);

/* Writes h into buf[0, 16). */
void proto_header_write(uint8_t *buf, const struct proto_header *h);

/*
 * Decodes one whole frame, buf[0, len) with len == its frame_bytes, into *f (views into buf).
 * Checks every length and count against its limit and that the body is consumed exactly; for
 * append and deliver also the message set (proto_msgs_check). Errors: those of
 * proto_header_read, PROTOCOL (malformed body), TOO_LARGE (a length over its limit).
 */
strom_err proto_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                             struct proto_frame *f);

/*
 * Encodes a frame of type with request_id and body into buf[0, cap): *len_out gets its length.
 * body points at the struct of the type (NULL for cancel and stat). OVERFLOW when cap is too
 * small; TOO_LARGE when a field is over its limit (a programmer's error in the node, a caller's
 * error in the client).
 */
strom_err proto_frame_encode(uint8_t *buf, size_t cap, enum proto_type type, uint64_t request_id,
                             const void *body, size_t *len_out);

/* Bytes proto_frame_encode needs for an append or deliver whose message set is set_bytes long
 * and path is path_bytes long. */
size_t proto_append_frame_bytes(size_t path_bytes, size_t set_bytes);
size_t proto_deliver_frame_bytes(size_t set_bytes);

/* Bytes one message takes in a message set. */
size_t proto_msg_bytes(uint32_t key_bytes, uint32_t header_count, const uint32_t *name_bytes,
                       const uint32_t *value_bytes, uint32_t payload_bytes);

/* Appends one message to a message set at buf[0, cap): headers as (name, value) pairs.
 * *len_out gets its length. OVERFLOW when cap is too small; TOO_LARGE over a limit. */
strom_err proto_msg_encode(uint8_t *buf, size_t cap, uint64_t client_ts_ns, struct proto_bytes key,
                           const struct proto_msg_header *headers, uint32_t header_count,
                           struct proto_bytes payload, size_t *len_out);

/* Checks that set holds exactly count well-formed messages. STROM_OK or PROTOCOL/TOO_LARGE. */
strom_err proto_msgs_check(struct proto_bytes set, uint32_t count);

void proto_msgs_begin(struct proto_msgs_iter *it, struct proto_bytes set, uint32_t count);
/* The next message into *m: STROM_OK, END after the last, PROTOCOL on a malformed one. */
strom_err proto_msgs_next(struct proto_msgs_iter *it, struct proto_msg *m);
/* Header index of m into *h (index < m->header_count; the message must have passed the
 * iterator, so this cannot fail on a checked set). */
strom_err proto_msg_header_at(const struct proto_msg *m, uint32_t index,
                              struct proto_msg_header *h);

/* Encodes one stream_info record into buf[0, cap) (*len_out its length), for the streams view
 * of a list answer being built. OVERFLOW, TOO_LARGE. */
strom_err proto_stream_info_encode(uint8_t *buf, size_t cap, const struct proto_stream_info *s,
                                   size_t *len_out);

/* Stream index (< stream_count) of a list answer into *s. */
strom_err proto_list_answer_stream(const struct proto_list_answer *a, uint32_t index,
                                   struct proto_stream_info *s);

/* Checks a stream path: starts with '/', segments of [A-Za-z0-9._-] separated by single '/', no
 * trailing '/', at most PROTO_PATH_BYTES_MAX bytes. STROM_OK or INVALID_PATH. */
strom_err proto_path_check(const char *path, size_t len);

/* The name of a frame type ("append"), "unknown" outside the enum. */
const char *proto_type_name(uint16_t type);

#endif
