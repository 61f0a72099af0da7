/*
 * ring_internal.h: helpers shared by ring.c, ring_writer.c and ring_reader.c (not an API).
 *
 * The header word of an entry is one 64-bit value, stored and loaded atomically:
 *   bits  0..31  length: header + body bytes (>= 8, so a published word is never 0)
 *   bits 32..47  type (RING_TYPE_PADDING = 0)
 *   bits 48..63  lap: (position >> capacity_log2) mod 2^16, the lap the entry was written in
 * Shared memory never leaves the machine, so the word is in native order (little-endian on every
 * machine strom builds for; asserted below).
 *
 * Shared fields are accessed with the GCC/Clang __atomic builtins on plain integers, so that the
 * layout in ring.h stays plain C.
 */
#ifndef STROM_RING_RING_INTERNAL_H
#define STROM_RING_RING_INTERNAL_H

#include <stdint.h>

#include "ring/ring.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ring words are little-endian");

static inline uint64_t ring_word_make(uint32_t length, uint16_t type, uint16_t lap) {
    return (uint64_t)length | ((uint64_t)type << 32) | ((uint64_t)lap << 48);
}
static inline uint32_t ring_word_length(uint64_t word) {
    return (uint32_t)word;
}
static inline uint16_t ring_word_type(uint64_t word) {
    return (uint16_t)(word >> 32);
}
static inline uint16_t ring_word_lap(uint64_t word) {
    return (uint16_t)(word >> 48);
}

/* The lap tag of position: which pass over the data area it belongs to, mod 2^16. */
static inline uint16_t ring_lap(const struct ring *ring, uint64_t position) {
    return (uint16_t)(position >> ring->capacity_log2);
}

/* Bytes an entry of length (header + body) takes in the data area. */
static inline uint64_t ring_aligned(uint64_t length) {
    return (length + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

/* The header word slot of position in the data area. */
static inline uint64_t *ring_word_at(const struct ring *ring, uint64_t position) {
    return (uint64_t *)(void *)(ring->data + (position & ring->mask));
}

/*
 * Checks a loaded word against the position it was loaded from: right lap, a length that fits
 * before the end of the data area, and padding that reaches the end exactly. Returns the aligned
 * bytes of the entry, or 0 when the word is not a valid entry at position.
 */
static inline uint64_t ring_word_check(const struct ring *ring, uint64_t position, uint64_t word) {
    uint32_t length = ring_word_length(word);
    uint64_t offset = position & ring->mask;
    uint64_t bytes = ring_aligned(length);
    bool ok = length >= RING_ENTRY_HEADER_BYTES &&
              ring_word_lap(word) == ring_lap(ring, position) &&
              bytes <= ring->capacity_bytes - offset;
    if (ok && ring_word_type(word) == RING_TYPE_PADDING) {
        ok = offset + bytes == ring->capacity_bytes;
    } else if (ok) {
        ok = length - RING_ENTRY_HEADER_BYTES <= ring_body_bytes_max(ring);
    }
    return ok ? bytes : 0;
}

/* Wakes a writer that waits for space (writer_waiting set): futex and the process's event. */
void ring_wake_writer(struct ring *ring);

/* One pause of a polling loop. */
static inline void ring_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
