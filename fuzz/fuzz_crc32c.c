/*
 * fuzz_crc32c.c: libFuzzer target: every CRC-32C path agrees on any input, cut anywhere.
 *
 * The first byte of the input chooses the cut of a two-part chain; the rest is the data. The
 * table path, the hardware path (where present) and the chain through the cut must give the same
 * CRC, so a wrong table entry, a wrong join of the hardware streams or a wrong tail loop crashes.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    size_t cut = len == 0 ? 0 : (size_t)data[0] * len / 255;
    uint32_t sw = crc32c_sw(0, buf, len);
    strom_assert(crc32c_sw(crc32c_sw(0, buf, cut), buf + cut, len - cut) == sw);
    if (crc32c_hw_available()) {
        strom_assert(crc32c_hw(0, buf, len) == sw);
        strom_assert(crc32c_hw(crc32c_sw(0, buf, cut), buf + cut, len - cut) == sw);
    }
    strom_assert(crc32c(0, buf, len) == sw);
    return 0;
}
