/*
 * arena.h: a bump allocator over memory the caller provides, for the generated decoders.
 *
 * A decoded record is views into the input buffer, except for its arrays of records, which need
 * storage: the decoder takes it from an arena. The caller owns the memory (a static buffer, a slab
 * allocated at start-up), typically resets the arena for every frame or line it decodes, and
 * bounds it with the generated <RECORD>_ARENA_BYTES_MAX or a smaller figure of its own; running
 * out is STROM_ERR_LIMIT from the decoder, never a crash or a malloc.
 *
 * Invariant: bytes_used <= bytes_max. Allocations are aligned to the requested power of two
 * relative to base, so base should be aligned to STROM_ARENA_ALIGN (malloc'd or _Alignas memory).
 */
#ifndef STROM_BASE_ARENA_H
#define STROM_BASE_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* The largest alignment generated records need (they hold pointers and 64-bit integers). */
#define STROM_ARENA_ALIGN 8

struct strom_arena {
    uint8_t *base;
    size_t bytes_max;
    size_t bytes_used;
};

/* An arena over buf[0, bytes_max), empty. */
void strom_arena_init(struct strom_arena *a, void *buf, size_t bytes_max);

/* Forgets every allocation: the next decode reuses the memory. */
void strom_arena_reset(struct strom_arena *a);

/*
 * bytes from the arena aligned to align (a power of two, at most STROM_ARENA_ALIGN), or NULL when
 * they do not fit (the arena is then unchanged). bytes may be 0 (a valid, unique-enough pointer is
 * not promised: NULL may come back; callers of a 0-byte allocation must not use the pointer).
 */
void *strom_arena_alloc(struct strom_arena *a, size_t bytes, size_t align);

/* count elements of elem_bytes each: NULL when count is 0, when they do not fit, or when
 * count * elem_bytes overflows. */
void *strom_arena_alloc_array(struct strom_arena *a, size_t count, size_t elem_bytes, size_t align);

/* Points ptr (a pointer lvalue) at count elements of its type from arena: NULL when count is 0 or
 * they do not fit. The generated decoders store arrays of records this way. */
#define STROM_ARENA_ARRAY(arena, ptr, count)                                                       \
    ((ptr) = strom_arena_alloc_array((arena), (count), sizeof *(ptr), STROM_ARENA_ALIGN))

/* The free tail of the arena, for a use whose size is known only afterwards (text to unescape);
 * *bytes_out is its size. Claim what was used with strom_arena_alloc(a, used, 1). */
void *strom_arena_rest(struct strom_arena *a, size_t *bytes_out);

/* How much is used, to take later allocations back with _rollback (a decode that failed). */
size_t strom_arena_mark(const struct strom_arena *a);
void strom_arena_rollback(struct strom_arena *a, size_t mark);

#endif
