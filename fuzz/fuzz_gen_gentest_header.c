/*
 * fuzz_gen_gentest_header.c: the generated decoder of the fixed-size gentest.header
 * (schema/gentest.ssim) on arbitrary bytes: it accepts exactly GENTEST_HEADER_ENCODED_BYTES
 * bytes, and what it accepts encodes back to the same bytes and prints and parses back as ssim to
 * an equal record.
 */
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "gen/gentest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct gentest_header rec;
    strom_err e = gentest_header_decode(&rec, data, size);
    if (size < GENTEST_HEADER_ENCODED_BYTES) {
        strom_assert(e == STROM_ERR_TRUNCATED);
        return 0;
    }
    if (size > GENTEST_HEADER_ENCODED_BYTES) {
        strom_assert(e == STROM_ERR_CORRUPT);
        return 0;
    }
    strom_assert(e == STROM_OK);
    uint8_t wire[GENTEST_HEADER_ENCODED_BYTES];
    size_t n = 0;
    strom_assert(gentest_header_encode(&rec, wire, sizeof wire, &n) == STROM_OK);
    strom_assert(n == size && memcmp(wire, data, size) == 0);
    char text[256];
    static char scratch[256];
    struct strom_ssim_writer w;
    struct strom_ssim_record line;
    struct gentest_header back;
    strom_ssim_writer_init(&w, text, sizeof text);
    strom_assert(gentest_header_ssim_write(&rec, &w) == STROM_OK);
    strom_assert(strom_ssim_parse(&line, text, w.bytes_used - 1, scratch, sizeof scratch, NULL) ==
                 STROM_OK);
    strom_assert(gentest_header_ssim_parse(&back, &line, NULL) == STROM_OK);
    strom_assert(gentest_header_equal(&rec, &back));
    return 0;
}
