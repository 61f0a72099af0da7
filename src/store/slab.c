/*
 * slab.c: blocks of 16-byte units carved from 1 MiB chunks, with a free list per size class (see
 * internal.h). A ref is chunk << 16 | unit; unit 0 of chunk 0 is never handed out, so ref 0 means
 * none. A free block holds the ref of the next free block of its class in its first 4 bytes.
 * Chunks are allocated as needed up to bytes_max and kept until slab_free_all: the per-stream
 * state of a store lives here without a malloc per stream.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "store/internal.h"

/* Block sizes in units: steps of about 1.5x so that a block wastes at most a third. */
static const uint16_t class_units[SLAB_CLASS_COUNT] = {
    1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
};

_Static_assert(SLAB_BLOCK_UNITS_MAX == 2048, "the largest class");
_Static_assert(STORE_SPINE_MAX *STORE_ENTRY_BYTES <= SLAB_BLOCK_UNITS_MAX * SLAB_UNIT_BYTES,
               "a full spine fits in the largest block");

void slab_init(struct store_slab *slab, uint64_t bytes_max) {
    memset(slab, 0, sizeof *slab);
    slab->bytes_max = bytes_max;
}

void slab_free_all(struct store_slab *slab) {
    for (uint32_t i = 0; i < slab->chunk_count; i++) {
        free(slab->chunks[i]);
    }
    free(slab->chunks);
    memset(slab, 0, sizeof *slab);
}

uint8_t slab_class_of(uint32_t units) {
    strom_assert(units >= 1 && units <= SLAB_BLOCK_UNITS_MAX);
    uint8_t cls = 0;
    while (class_units[cls] < units) {
        cls++;
    }
    return cls;
}

uint32_t slab_class_units(uint8_t cls) {
    strom_assert(cls < SLAB_CLASS_COUNT);
    return class_units[cls];
}

void *slab_ptr(const struct store_slab *slab, uint32_t ref) {
    uint32_t chunk = ref >> 16;
    strom_assert(ref != 0 && chunk < slab->chunk_count);
    return slab->chunks[chunk] + (size_t)(ref & 0xFFFF) * SLAB_UNIT_BYTES;
}

static strom_err slab_add_chunk(struct store_slab *slab) {
    uint64_t chunk_bytes = (uint64_t)SLAB_CHUNK_UNITS * SLAB_UNIT_BYTES;
    if ((uint64_t)(slab->chunk_count + 1) * chunk_bytes > slab->bytes_max ||
        slab->chunk_count == 0xFFFF) {
        return STROM_ERR_LIMIT;
    }
    if (slab->chunk_count == slab->chunk_cap) {
        uint32_t cap = slab->chunk_cap ? slab->chunk_cap * 2 : 16;
        uint8_t **grown = realloc(slab->chunks, cap * sizeof *grown);
        if (grown == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        slab->chunks = grown;
        slab->chunk_cap = cap;
    }
    uint8_t *chunk = malloc(chunk_bytes);
    if (chunk == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    slab->chunks[slab->chunk_count++] = chunk;
    slab->bump_unit = slab->chunk_count == 1 ? 1 : 0; /* unit 0 of chunk 0 is ref 0 */
    return STROM_OK;
}

strom_err slab_alloc(struct store_slab *slab, uint8_t cls, uint32_t *ref_out) {
    strom_assert(cls < SLAB_CLASS_COUNT);
    uint32_t units = class_units[cls];
    uint32_t ref = slab->free_head[cls];
    if (ref != 0) {
        uint32_t next;
        memcpy(&next, slab_ptr(slab, ref), sizeof next);
        slab->free_head[cls] = next;
    } else {
        if (slab->chunk_count == 0 || slab->bump_unit + units > SLAB_CHUNK_UNITS) {
            strom_err err = slab_add_chunk(slab);
            if (err) {
                return err;
            }
        }
        ref = ((slab->chunk_count - 1) << 16) | slab->bump_unit;
        slab->bump_unit += units;
    }
    slab->units_in_use += units;
    *ref_out = ref;
    return STROM_OK;
}

void slab_free(struct store_slab *slab, uint32_t ref, uint8_t cls) {
    strom_assert(ref != 0 && cls < SLAB_CLASS_COUNT);
    strom_assert(slab->units_in_use >= class_units[cls]);
    memcpy(slab_ptr(slab, ref), &slab->free_head[cls], sizeof(uint32_t));
    slab->free_head[cls] = ref;
    slab->units_in_use -= class_units[cls];
}

uint64_t slab_bytes(const struct store_slab *slab) {
    return (uint64_t)slab->chunk_count * SLAB_CHUNK_UNITS * SLAB_UNIT_BYTES +
           (uint64_t)slab->chunk_cap * sizeof(uint8_t *);
}
