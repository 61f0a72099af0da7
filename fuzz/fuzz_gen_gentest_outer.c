/*
 * fuzz_gen_gentest_outer.c: the generated decoder of gentest.outer (schema/gentest.ssim) on
 * arbitrary bytes. When a decode succeeds, the record is encoded again, which must give back the
 * input bytes exactly (the encoding is canonical) and decode to an equal record; it is also
 * printed as ssim and parsed back, which must give an equal record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "gen/gentest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_mem[GENTEST_OUTER_ARENA_BYTES_MAX];
static _Alignas(STROM_ARENA_ALIGN) uint8_t arena2_mem[GENTEST_OUTER_ARENA_BYTES_MAX];
static _Alignas(STROM_ARENA_ALIGN) uint8_t arena3_mem[1 << 16];
static uint8_t wire[1 << 14];
static char text[1 << 16];

static void check_ssim(const struct gentest_outer *rec) {
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, text, sizeof text);
    strom_assert(gentest_outer_ssim_write(rec, &w) == STROM_OK);
    struct strom_arena arena;
    struct strom_ssim_reader r;
    struct strom_ssim_record line;
    struct gentest_outer back;
    strom_arena_init(&arena, arena3_mem, sizeof arena3_mem);
    strom_ssim_reader_init(&r, text, w.bytes_used);
    strom_assert(strom_ssim_reader_next_in(&r, &line, &arena, NULL) == STROM_OK);
    strom_assert(gentest_outer_ssim_parse(&back, &line, &r, &arena, NULL) == STROM_OK);
    strom_assert(gentest_outer_equal(rec, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct strom_arena arena;
    struct gentest_outer rec;
    strom_arena_init(&arena, arena_mem, sizeof arena_mem);
    strom_err e = gentest_outer_decode(&rec, data, size, &arena);
    if (e != STROM_OK) {
        strom_assert(e == STROM_ERR_TRUNCATED || e == STROM_ERR_TOO_LARGE ||
                     e == STROM_ERR_CORRUPT);
        strom_assert(arena.bytes_used == 0);
        return 0;
    }
    size_t n = 0;
    strom_assert(gentest_outer_encode(&rec, wire, sizeof wire, &n) == STROM_OK);
    strom_assert(n == size && memcmp(wire, data, size) == 0);
    struct strom_arena arena2;
    struct gentest_outer again;
    strom_arena_init(&arena2, arena2_mem, sizeof arena2_mem);
    strom_assert(gentest_outer_decode(&again, wire, n, &arena2) == STROM_OK);
    strom_assert(gentest_outer_equal(&rec, &again));
    check_ssim(&rec);
    return 0;
}
