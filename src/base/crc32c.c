/*
 * crc32c.c: CRC-32C by the SSE4.2 crc32 instruction and by slice-by-8 tables (see crc32c.h).
 *
 * Both work on the CRC register (the CRC before its final inversion) and lean on its linearity
 * over GF(2): the register after data D from register r is shift(r, |D|) xor the register after D
 * from 0, where shift(r, n) is r followed by n zero bytes. The hardware path uses it to run three
 * independent streams and join them; the tables are built from it (crc32c_tables.h).
 */
#include "base/crc32c.h"

#include <string.h>

#include "base/assert.h"
#include "base/crc32c_tables.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HAVE_HW 1
#else
#define CRC32C_HAVE_HW 0
#endif

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "8-byte loads assume little-endian");
_Static_assert(CRC32C_SHIFT_BYTES % 8 == 0, "hardware streams advance 8 bytes at a time");

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One byte through the first table: the classic byte-at-a-time step. */
static uint32_t sw_byte(uint32_t reg, uint8_t byte) {
    return (reg >> 8) ^ crc32c_slice[0][(reg ^ byte) & 0xFF];
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len) {
    strom_assert(buf != NULL || len == 0);
    const uint8_t *p = buf;
    uint32_t reg = ~crc;
    /* Bytes up to 8-byte alignment, so that the word loads below stay within cache lines. */
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        reg = sw_byte(reg, *p++);
        len--;
    }
    /* The word's first byte is followed by seven more, so it goes through table 7, and so on. */
    while (len >= 8) {
        uint64_t w = load_u64(p) ^ reg;
        reg = crc32c_slice[7][w & 0xFF] ^ crc32c_slice[6][(w >> 8) & 0xFF] ^
              crc32c_slice[5][(w >> 16) & 0xFF] ^ crc32c_slice[4][(w >> 24) & 0xFF] ^
              crc32c_slice[3][(w >> 32) & 0xFF] ^ crc32c_slice[2][(w >> 40) & 0xFF] ^
              crc32c_slice[1][(w >> 48) & 0xFF] ^ crc32c_slice[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        reg = sw_byte(reg, *p++);
        len--;
    }
    return ~reg;
}

#if CRC32C_HAVE_HW

bool crc32c_hw_available(void) {
    return __builtin_cpu_supports("sse4.2");
}

/* shift(reg, CRC32C_SHIFT_BYTES): the xor of the shift table entries of the register's bytes. */
static uint32_t shift_block(uint32_t reg) {
    return crc32c_shift[0][reg & 0xFF] ^ crc32c_shift[1][(reg >> 8) & 0xFF] ^
           crc32c_shift[2][(reg >> 16) & 0xFF] ^ crc32c_shift[3][reg >> 24];
}

__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len) {
    strom_assert(buf != NULL || len == 0);
    strom_assert(crc32c_hw_available());
    const uint8_t *p = buf;
    uint32_t reg = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        reg = _mm_crc32_u8(reg, *p++);
        len--;
    }
    /* Three streams over consecutive blocks a, b, c; b and c start from register 0, and the
     * joined register is shift(shift(a) ^ b) ^ c. */
    while (len >= 3 * CRC32C_SHIFT_BYTES) {
        uint64_t a = reg, b = 0, c = 0;
        for (size_t i = 0; i < CRC32C_SHIFT_BYTES; i += 8) {
            a = _mm_crc32_u64(a, load_u64(p + i));
            b = _mm_crc32_u64(b, load_u64(p + CRC32C_SHIFT_BYTES + i));
            c = _mm_crc32_u64(c, load_u64(p + 2 * CRC32C_SHIFT_BYTES + i));
        }
        reg = shift_block(shift_block((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
        p += 3 * CRC32C_SHIFT_BYTES;
        len -= 3 * CRC32C_SHIFT_BYTES;
    }
    uint64_t reg64 = reg;
    while (len >= 8) {
        reg64 = _mm_crc32_u64(reg64, load_u64(p));
        p += 8;
        len -= 8;
    }
    reg = (uint32_t)reg64;
    while (len > 0) {
        reg = _mm_crc32_u8(reg, *p++);
        len--;
    }
    return ~reg;
}

#else

bool crc32c_hw_available(void) {
    return false;
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len) {
    (void)crc;
    (void)buf;
    (void)len;
    strom_assert(crc32c_hw_available());
    return 0;
}

#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) {
    return crc32c_hw_available() ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}
