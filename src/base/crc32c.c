/* crc32c.c: CRC-32C, table-driven (see crc32c.h). */
#include "base/crc32c.h"

static uint32_t crc32c_table[256];
static int crc32c_table_ready;

static void crc32c_table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        crc32c_table[i] = c;
    }
    crc32c_table_ready = 1;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) {
    if (!crc32c_table_ready) {
        crc32c_table_init();
    }
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) {
        c = crc32c_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    }
    return ~c;
}
