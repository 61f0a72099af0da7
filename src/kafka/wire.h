/*
 * wire.h: the primitive types of the Kafka wire protocol, a bounded reader, a bounded writer and
 * a bump arena for decoded arrays.
 *
 * Source: the Kafka protocol guide (kafka.apache.org/protocol, "Protocol Primitive Types") and
 * the message definitions in Apache Kafka's clients/src/main/resources/common/message/. All
 * integers are big-endian; varints are the zig-zag varints of protocol buffers; "compact" strings,
 * bytes and arrays carry an unsigned varint of length + 1 (0 for null); tagged fields are an
 * unsigned varint count of (tag, size, bytes) triples.
 *
 * Invariants: a reader never looks at a byte at or past buf + len; every length and count it
 * reads is checked against the bytes that remain and against a named maximum before anyone uses
 * it. A writer never writes past buf + cap. Both keep the first error they meet (err) and turn
 * every later call into a no-op that reads zeros, so a decoder can read a whole structure and
 * check err once at the end. Views (kafka_str, kafka_bytes) point into the reader's buffer: they
 * are valid as long as that buffer is.
 */
#ifndef STROM_KAFKA_WIRE_H
#define STROM_KAFKA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* A string of the protocol, a view into a buffer. len -1 is null; ptr is not NUL-terminated. */
struct kafka_str {
    const char *ptr;
    int32_t len;
};

/* Bytes of the protocol, a view into a buffer. len -1 is null. */
struct kafka_bytes {
    const uint8_t *ptr;
    int32_t len;
};

/* A UUID (16 bytes, as sent). */
struct kafka_uuid {
    uint8_t bytes[16];
};

/* Longest string the protocol carries: an int16 length (also applied to compact strings). */
#define KAFKA_STRING_BYTES_MAX 32767
/* Most tagged fields one structure may carry. */
#define KAFKA_TAGGED_FIELDS_MAX 64
/* Longest unsigned varint (32 bits) and varlong (64 bits), in bytes. */
#define KAFKA_UVARINT_BYTES_MAX 5
#define KAFKA_VARLONG_BYTES_MAX 10

/* Builds a string view of a NUL-terminated C string (for encoders and tests). */
struct kafka_str kafka_str_c(const char *s);
/* True when the view holds exactly the C string s (a null view equals nothing). */
bool kafka_str_eq(struct kafka_str a, const char *s);
/* Builds a bytes view of len bytes at p (len must fit in int32). */
struct kafka_bytes kafka_bytes_of(const void *p, size_t len);

/* --- reader ----------------------------------------------------------------------------------- */

struct kafka_reader {
    const uint8_t *buf; /* input, not owned */
    size_t len;         /* bytes of input */
    size_t pos;         /* next byte to read; pos <= len */
    strom_err err;      /* first error: TRUNCATED (input ends), TOO_LARGE (a maximum), PROTOCOL */
};

void kafka_reader_init(struct kafka_reader *r, const void *buf, size_t len);
/* Bytes not yet read. */
size_t kafka_reader_left(const struct kafka_reader *r);
/* Records err unless an earlier error is already there. */
void kafka_reader_fail(struct kafka_reader *r, strom_err err);

int8_t kafka_read_i8(struct kafka_reader *r);
int16_t kafka_read_i16(struct kafka_reader *r);
int32_t kafka_read_i32(struct kafka_reader *r);
int64_t kafka_read_i64(struct kafka_reader *r);
uint32_t kafka_read_u32(struct kafka_reader *r);
/* A bool is one byte; any non-zero byte reads as true (as the Java client does). */
bool kafka_read_bool(struct kafka_reader *r);
/* Unsigned varint of at most 5 bytes (PROTOCOL when longer or above 2^32-1). */
uint32_t kafka_read_uvarint(struct kafka_reader *r);
/* Zig-zag varint of at most 5 bytes. */
int32_t kafka_read_varint(struct kafka_reader *r);
/* Zig-zag varlong of at most 10 bytes. */
int64_t kafka_read_varlong(struct kafka_reader *r);
void kafka_read_uuid(struct kafka_reader *r, struct kafka_uuid *out);
/* A view of the next n bytes (NULL and TRUNCATED when fewer remain). */
const uint8_t *kafka_read_raw(struct kafka_reader *r, size_t n);

/*
 * A string: int16 length (compact: uvarint length + 1). Null (-1, or 0 when compact) is accepted
 * only when nullable, else PROTOCOL. A length above KAFKA_STRING_BYTES_MAX is TOO_LARGE.
 */
void kafka_read_string(struct kafka_reader *r, bool compact, bool nullable, struct kafka_str *out);
/* Bytes: int32 length (compact: uvarint length + 1), at most bytes_max (else TOO_LARGE). */
void kafka_read_bytes(struct kafka_reader *r, bool compact, bool nullable, size_t bytes_max,
                      struct kafka_bytes *out);
/*
 * An array length: int32 (compact: uvarint count + 1). Returns the count, or -1 for null (only
 * when nullable). The count must be at most count_max, and count * elem_min_bytes must fit in the
 * bytes left (every element takes at least elem_min_bytes >= 1 bytes on the wire).
 */
int32_t kafka_read_array_len(struct kafka_reader *r, bool compact, bool nullable,
                             size_t elem_min_bytes, int32_t count_max);
/* Tagged fields: reads and skips them all (none is known to this decoder), counted and bounded. */
void kafka_read_tagged_fields(struct kafka_reader *r);

/* --- writer ----------------------------------------------------------------------------------- */

struct kafka_writer {
    uint8_t *buf;  /* output, not owned */
    size_t cap;    /* bytes available at buf */
    size_t pos;    /* bytes written; pos <= cap */
    strom_err err; /* first error: OVERFLOW (cap reached), TOO_LARGE (a value above its limit) */
};

void kafka_writer_init(struct kafka_writer *w, void *buf, size_t cap);
void kafka_writer_fail(struct kafka_writer *w, strom_err err);

void kafka_write_i8(struct kafka_writer *w, int8_t v);
void kafka_write_i16(struct kafka_writer *w, int16_t v);
void kafka_write_i32(struct kafka_writer *w, int32_t v);
void kafka_write_i64(struct kafka_writer *w, int64_t v);
void kafka_write_u32(struct kafka_writer *w, uint32_t v);
void kafka_write_bool(struct kafka_writer *w, bool v);
void kafka_write_uvarint(struct kafka_writer *w, uint32_t v);
void kafka_write_varint(struct kafka_writer *w, int32_t v);
void kafka_write_varlong(struct kafka_writer *w, int64_t v);
void kafka_write_uuid(struct kafka_writer *w, const struct kafka_uuid *v);
void kafka_write_raw(struct kafka_writer *w, const void *p, size_t n);
/* Writes a string (null when s.len < 0; TOO_LARGE, or PROTOCOL for null when !nullable). */
void kafka_write_string(struct kafka_writer *w, bool compact, bool nullable, struct kafka_str s);
void kafka_write_bytes(struct kafka_writer *w, bool compact, bool nullable, struct kafka_bytes b);
/* Writes an array length (-1: null, only when nullable). */
void kafka_write_array_len(struct kafka_writer *w, bool compact, bool nullable, int32_t count);
/* Writes an empty set of tagged fields (one zero byte). */
void kafka_write_tagged_fields_empty(struct kafka_writer *w);
/* Reserves 4 bytes for an int32 written later with kafka_writer_patch_i32; returns its position. */
size_t kafka_writer_reserve_i32(struct kafka_writer *w);
void kafka_writer_patch_i32(struct kafka_writer *w, size_t at, int32_t v);

/* Encoded size in bytes of an unsigned varint, a zig-zag varint and a zig-zag varlong. */
size_t kafka_uvarint_bytes(uint32_t v);
size_t kafka_varint_bytes(int32_t v);
size_t kafka_varlong_bytes(int64_t v);

/* Big-endian loads and stores on raw memory (callers check bounds). */
uint16_t kafka_load_be16(const uint8_t *p);
uint32_t kafka_load_be32(const uint8_t *p);
uint64_t kafka_load_be64(const uint8_t *p);
void kafka_store_be16(uint8_t *p, uint16_t v);
void kafka_store_be32(uint8_t *p, uint32_t v);
void kafka_store_be64(uint8_t *p, uint64_t v);

/* --- arena ------------------------------------------------------------------------------------ */

/*
 * A bump allocator over a caller's buffer: the decoder takes its arrays from it, so decoding does
 * no malloc and the memory one request may hold is bounded by cap. Reset it between requests.
 */
struct kafka_arena {
    uint8_t *base; /* memory, not owned */
    size_t cap;    /* bytes at base */
    size_t used;   /* bytes handed out, rounded up to 8; used <= cap */
};

void kafka_arena_init(struct kafka_arena *a, void *base, size_t cap);
void kafka_arena_reset(struct kafka_arena *a);
/* bytes of zeroed memory aligned to 8, or NULL when the arena cannot hold them. */
void *kafka_arena_alloc(struct kafka_arena *a, size_t bytes);

#endif
