/*
 * le.h: little-endian stores and bounded loads, the primitives of the generated binary codecs
 * (src/gen/, docs/schema.md) and of any hand-written wire or disk format.
 *
 * Stores write at a pointer the caller knows has room and return the pointer just past what they
 * wrote, so a record is written as a chain `at = strom_put_u32(at, v);`.
 *
 * Loads go through a cursor over [at, end). The loads themselves do not check: the caller checks
 * strom_cursor_left() first, once for a run of fixed-size fields (the generated decoders do), and
 * each load asserts that the check was made, so a missed check crashes instead of reading past the
 * buffer.
 *
 * Byte by byte shifts rather than casts: no alignment or aliasing assumptions, and compilers turn
 * them into single moves on little-endian machines.
 */
#ifndef STROM_BASE_LE_H
#define STROM_BASE_LE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "base/error.h"

static inline uint8_t *strom_put_u8(uint8_t *at, uint8_t v) {
    at[0] = v;
    return at + 1;
}

static inline uint8_t *strom_put_u16(uint8_t *at, uint16_t v) {
    at[0] = (uint8_t)v;
    at[1] = (uint8_t)(v >> 8);
    return at + 2;
}

static inline uint8_t *strom_put_u32(uint8_t *at, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        at[i] = (uint8_t)(v >> (8 * i));
    }
    return at + 4;
}

static inline uint8_t *strom_put_u64(uint8_t *at, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        at[i] = (uint8_t)(v >> (8 * i));
    }
    return at + 8;
}

/* Copies len bytes of src (which may be NULL when len is 0). */
static inline uint8_t *strom_put_bytes(uint8_t *at, const void *src, size_t len) {
    if (len > 0) {
        memcpy(at, src, len);
    }
    return at + len;
}

/* A bounded reader of bytes: the next byte is at, the end is end (exclusive); at <= end. */
struct strom_cursor {
    const uint8_t *at;
    const uint8_t *end;
};

static inline struct strom_cursor strom_cursor_of(const void *buf, size_t len) {
    struct strom_cursor c = {(const uint8_t *)buf, (const uint8_t *)buf + len};
    return c;
}

/* Bytes left to read. */
static inline size_t strom_cursor_left(const struct strom_cursor *c) {
    return (size_t)(c->end - c->at);
}

/* Moves past len bytes and returns where they start: a view into the buffer, no copy. */
static inline const uint8_t *strom_take_bytes(struct strom_cursor *c, size_t len) {
    strom_assert(strom_cursor_left(c) >= len);
    const uint8_t *at = c->at;
    c->at += len;
    return at;
}

/* Copies the next len bytes into dst (a fixed-size field) and moves past them. */
static inline void strom_take_copy(struct strom_cursor *c, void *dst, size_t len) {
    memcpy(dst, strom_take_bytes(c, len), len);
}

/* A view of the next len bytes, as bytes or as text, and moves past them. */
static inline void strom_take_view(struct strom_cursor *c, const uint8_t **view, size_t len) {
    *view = strom_take_bytes(c, len);
}

static inline void strom_take_str(struct strom_cursor *c, const char **view, size_t len) {
    *view = (const char *)strom_take_bytes(c, len);
}

static inline uint8_t strom_take_u8(struct strom_cursor *c) {
    return strom_take_bytes(c, 1)[0];
}

static inline uint16_t strom_take_u16(struct strom_cursor *c) {
    const uint8_t *p = strom_take_bytes(c, 2);
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t strom_take_u32(struct strom_cursor *c) {
    const uint8_t *p = strom_take_bytes(c, 4);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static inline uint64_t strom_take_u64(struct strom_cursor *c) {
    const uint8_t *p = strom_take_bytes(c, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* Reads a u32 length or count into *len: STROM_ERR_TOO_LARGE when it is above max (checked
 * before anything uses it). The caller checked that 4 bytes are left. */
static inline strom_err strom_take_len(struct strom_cursor *c, uint32_t *len, uint32_t max) {
    *len = strom_take_u32(c);
    return *len > max ? STROM_ERR_TOO_LARGE : STROM_OK;
}

/* True when a and b hold the same bytes (either pointer may be NULL when its length is 0). */
static inline int strom_bytes_equal(const void *a, size_t a_len, const void *b, size_t b_len) {
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

#endif
