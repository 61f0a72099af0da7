/*
 * test_crc32c.c: CRC-32C against the published vectors (RFC 3720 appendix B.4, the "123456789"
 * check value) and against a bit-at-a-time model, for the table path, the hardware path and the
 * dispatching crc32c, over every table entry and random buffers, alignments and chains.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/rng.h"

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

/* The definition: reflected register, one bit per step, initial and final inversion. */
static uint32_t model_crc32c(uint32_t crc, const uint8_t *buf, size_t len) {
    uint32_t reg = ~crc;
    for (size_t i = 0; i < len; i++) {
        reg ^= buf[i];
        for (int bit = 0; bit < 8; bit++) {
            reg = (reg >> 1) ^ ((reg & 1) ? 0x82F63B78u : 0);
        }
    }
    return ~reg;
}

/* The paths under test; the hardware one only where this processor has it. */
static int paths(crc_fn out[3], const char *names[3]) {
    int n = 0;
    out[n] = crc32c_sw, names[n++] = "sw";
    out[n] = crc32c, names[n++] = "dispatch";
    if (crc32c_hw_available()) {
        out[n] = crc32c_hw, names[n++] = "hw";
    }
    return n;
}

Test(crc32c, hardware_path_present_on_this_machine) {
    /* strom's targets are x86-64 with SSE4.2; say so loudly when a run lacks it, because the
     * hardware path would then go untested. */
#if defined(__x86_64__)
    cr_assert(crc32c_hw_available(), "no SSE4.2: the hardware path is not tested");
#else
    cr_assert(!crc32c_hw_available());
#endif
}

Test(crc32c, rfc3720_and_check_vectors) {
    uint8_t zeros[32], ones[32], inc[32], dec[32];
    memset(zeros, 0, sizeof zeros);
    memset(ones, 0xFF, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    /* RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU. */
    const uint8_t read_pdu[48] = {
        0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    const struct {
        const void *buf;
        size_t len;
        uint32_t crc;
    } vectors[] = {
        {zeros, 32, 0x8A9136AAu}, {ones, 32, 0x62A8AB43u},     {inc, 32, 0x46DD794Eu},
        {dec, 32, 0x113FDB5Cu},   {read_pdu, 48, 0xD9963A56u}, {"123456789", 9, 0xE3069283u},
        {"", 0, 0x00000000u},
    };
    crc_fn fns[3];
    const char *names[3];
    int n = paths(fns, names);
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        cr_assert_eq(model_crc32c(0, vectors[v].buf, vectors[v].len), vectors[v].crc,
                     "model, vector %zu", v);
        for (int f = 0; f < n; f++) {
            uint32_t got = fns[f](0, vectors[v].buf, vectors[v].len);
            cr_assert_eq(got, vectors[v].crc, "%s, vector %zu: %08" PRIx32, names[f], v, got);
        }
    }
}

Test(crc32c, every_table_entry) {
    /* One non-zero byte at each position of an aligned 16-byte buffer reaches every entry of
     * every slice-by-8 table (position mod 8 picks the table, the value the entry). */
    _Alignas(8) uint8_t buf[16];
    crc_fn fns[3];
    const char *names[3];
    int n = paths(fns, names);
    for (int pos = 0; pos < 16; pos++) {
        for (int value = 1; value < 256; value++) {
            memset(buf, 0, sizeof buf);
            buf[pos] = (uint8_t)value;
            uint32_t want = model_crc32c(0, buf, sizeof buf);
            for (int f = 0; f < n; f++) {
                cr_assert_eq(fns[f](0, buf, sizeof buf), want, "%s pos %d value %d", names[f], pos,
                             value);
            }
        }
    }
}

enum { random_rounds = 3000, random_len_max = 4096, arena_bytes = 3 * 4096 + 64 };

Test(crc32c, random_buffers_alignments_and_chains) {
    uint8_t *arena = malloc(arena_bytes);
    struct rng r;
    cr_assert_not_null(arena);
    rng_init(&r, 2024);
    rng_fill(&r, arena, arena_bytes);
    crc_fn fns[3];
    const char *names[3];
    int n = paths(fns, names);
    for (int round = 0; round < random_rounds; round++) {
        size_t len = rng_range(&r, 0, random_len_max);
        size_t misalign = rng_below(&r, 8);
        const uint8_t *buf = arena + 8 + misalign;
        uint32_t seed = rng_chance(&r, 0.5) ? 0 : (uint32_t)rng_next_u64(&r);
        uint32_t want = model_crc32c(seed, buf, len);
        size_t cut = rng_range(&r, 0, len);
        for (int f = 0; f < n; f++) {
            cr_assert_eq(fns[f](seed, buf, len), want, "%s round %d len %zu misalign %zu", names[f],
                         round, len, misalign);
            /* A chain through any cut, finished by another path, gives the same CRC. */
            uint32_t head = fns[f](seed, buf, cut);
            uint32_t chained = fns[(f + 1) % n](head, buf + cut, len - cut);
            cr_assert_eq(chained, want, "%s chain round %d cut %zu/%zu", names[f], round, cut, len);
        }
    }
    free(arena);
}

Test(crc32c, long_buffers_cross_many_interleaved_blocks) {
    /* Lengths around multiples of the hardware path's 3 KiB block, where its streams join. */
    enum { big = 64 * 1024 + 64 };
    uint8_t *buf = malloc(big);
    struct rng r;
    cr_assert_not_null(buf);
    rng_init(&r, 77);
    rng_fill(&r, buf, big);
    const size_t lens[] = {3071, 3072, 3073, 6144, 6151, 9216 + 5, 65536, big - 3};
    crc_fn fns[3];
    const char *names[3];
    int n = paths(fns, names);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t off = 0; off < 3; off++) {
            uint32_t want = model_crc32c(0, buf + off, lens[i]);
            for (int f = 0; f < n; f++) {
                cr_assert_eq(fns[f](0, buf + off, lens[i]), want, "%s len %zu off %zu", names[f],
                             lens[i], off);
            }
        }
    }
    free(buf);
}

Test(crc32c, hardware_joins_of_many_random_blocks) {
    /* Each 3 KiB block joins its streams through two shifts of four table lookups; 2000 random
     * blocks make 16000 lookups into the 1024 entries, so every entry is all but sure to be hit.
     * crc32c_sw is the reference here, itself checked entry by entry above. */
    enum { block = 3 * 1024, blocks = 2000 };
    if (!crc32c_hw_available()) {
        return;
    }
    uint8_t *buf = malloc(block);
    struct rng r;
    cr_assert_not_null(buf);
    rng_init(&r, 78);
    for (int i = 0; i < blocks; i++) {
        rng_fill(&r, buf, block);
        uint32_t seed = (uint32_t)rng_next_u64(&r);
        cr_assert_eq(crc32c_hw(seed, buf, block), crc32c_sw(seed, buf, block), "block %d", i);
    }
    free(buf);
}

Test(crc32c, detects_single_bit_flips) {
    uint8_t buf[256];
    struct rng r;
    rng_init(&r, 5);
    rng_fill(&r, buf, sizeof buf);
    uint32_t clean = crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < 8 * sizeof buf; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_neq(crc32c(0, buf, sizeof buf), clean, "bit %zu", bit);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert_eq(crc32c(0, buf, sizeof buf), clean);
}
