/*
 * codec.h: one description of a message for both directions (internal to src/kafka/).
 *
 * Each message body is described once, as a function that visits its fields in wire order
 * (requests.c, responses.c). A kafka_codec runs that description either as a decoder (reading
 * into the struct, taking arrays from a bounded arena) or as an encoder (writing from the
 * struct), so the two directions cannot drift apart. `flexible` selects the compact forms and the
 * tagged fields of KIP-482 for the message's flexible versions.
 *
 * Invariants: an encoding codec never writes to the struct it encodes (callers may pass const
 * data); a decoding codec leaves every array it could not read as count 0 (or -1 for null) and
 * items NULL, so visiting loops stay in bounds after an error. The first error sticks (err).
 */
#ifndef STROM_KAFKA_CODEC_H
#define STROM_KAFKA_CODEC_H

#include "kafka/wire.h"

struct kafka_codec {
    struct kafka_reader r;     /* the input, when decoding */
    struct kafka_writer w;     /* the output, when encoding */
    struct kafka_arena *arena; /* where decoded arrays live (decoding only) */
    bool writing;              /* encoding (true) or decoding (false) */
    bool flexible;             /* compact strings/bytes/arrays and tagged fields */
    int16_t version;           /* the message version being visited */
};

void kafka_codec_init_read(struct kafka_codec *c, const void *buf, size_t len,
                           struct kafka_arena *arena);
void kafka_codec_init_write(struct kafka_codec *c, void *buf, size_t cap);
/* The first error of the direction in use, or STROM_OK. */
strom_err kafka_codec_err(const struct kafka_codec *c);

void kc_i8(struct kafka_codec *c, int8_t *v);
void kc_i16(struct kafka_codec *c, int16_t *v);
void kc_i32(struct kafka_codec *c, int32_t *v);
void kc_i64(struct kafka_codec *c, int64_t *v);
void kc_bool(struct kafka_codec *c, bool *v);
void kc_uuid(struct kafka_codec *c, struct kafka_uuid *v);
void kc_str(struct kafka_codec *c, struct kafka_str *v, bool nullable);
/* Bytes; bytes_max bounds a decoded length (encoding is bounded by the output). */
void kc_bytes(struct kafka_codec *c, struct kafka_bytes *v, bool nullable, size_t bytes_max);
/* The tagged fields that end every structure of a flexible version (none otherwise). */
void kc_tags(struct kafka_codec *c);

/*
 * An array's length. Encoding writes *count (items must be non-NULL when *count > 0) and returns
 * items. Decoding reads the count, bounds it by count_max and by the bytes left (elements take at
 * least elem_min_bytes each), takes count * elem_bytes zeroed bytes from the arena (LIMIT when it
 * is full), stores the count (-1 for null) and returns the memory (NULL for none).
 */
void *kc_array(struct kafka_codec *c, int32_t *count, void *items, size_t elem_bytes,
               size_t elem_min_bytes, int32_t count_max, bool nullable);

/* Visits the length of array `items` with `count` elements; assigns items when decoding. */
#define KC_ARRAY(c, items, count, elem_min_bytes, count_max, nullable)                             \
    do {                                                                                           \
        void *kc_items_ = kc_array((c), &(count), (void *)(items), sizeof *(items),                \
                                   (elem_min_bytes), (count_max), (nullable));                     \
        if (!(c)->writing) {                                                                       \
            (items) = kc_items_;                                                                   \
        }                                                                                          \
    } while (0)

/* Visits an array of int32 (replica lists, partition indexes). */
void kc_i32_array(struct kafka_codec *c, int32_t **items, int32_t *count, int32_t count_max,
                  bool nullable);
/* Visits an array of int64. */
void kc_i64_array(struct kafka_codec *c, int64_t **items, int32_t *count, int32_t count_max);
/* Visits an array of strings. */
void kc_str_array(struct kafka_codec *c, struct kafka_str **items, int32_t *count,
                  int32_t count_max, bool nullable);

#endif
