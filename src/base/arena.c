/* arena.c: the bump allocator of arena.h. */
#include "base/arena.h"

#include "base/assert.h"

void strom_arena_init(struct strom_arena *a, void *buf, size_t bytes_max) {
    strom_assert(buf != NULL || bytes_max == 0);
    a->base = buf;
    a->bytes_max = bytes_max;
    a->bytes_used = 0;
}

void strom_arena_reset(struct strom_arena *a) {
    a->bytes_used = 0;
}

void *strom_arena_alloc(struct strom_arena *a, size_t bytes, size_t align) {
    strom_assert(align >= 1 && align <= STROM_ARENA_ALIGN && (align & (align - 1)) == 0);
    strom_assert(a->bytes_used <= a->bytes_max);
    size_t start = (a->bytes_used + align - 1) & ~(align - 1);
    if (start > a->bytes_max || a->bytes_max - start < bytes) {
        return NULL;
    }
    a->bytes_used = start + bytes;
    return a->base == NULL ? NULL : a->base + start; /* NULL + 0 is undefined */
}

void *strom_arena_alloc_array(struct strom_arena *a, size_t count, size_t elem_bytes,
                              size_t align) {
    if (count == 0 || elem_bytes > SIZE_MAX / count) {
        return NULL;
    }
    return strom_arena_alloc(a, count * elem_bytes, align);
}

void *strom_arena_rest(struct strom_arena *a, size_t *bytes_out) {
    strom_assert(a->bytes_used <= a->bytes_max);
    *bytes_out = a->bytes_max - a->bytes_used;
    return a->base == NULL ? NULL : a->base + a->bytes_used;
}

size_t strom_arena_mark(const struct strom_arena *a) {
    return a->bytes_used;
}

void strom_arena_rollback(struct strom_arena *a, size_t mark) {
    strom_assert(mark <= a->bytes_used);
    a->bytes_used = mark;
}
