/* test_arena.c: the bump allocator of the generated decoders, and the little-endian cursor. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/le.h"

static _Alignas(STROM_ARENA_ALIGN) uint8_t mem[64];

Test(arena, aligns_bounds_and_rolls_back) {
    struct strom_arena a;
    strom_arena_init(&a, mem, sizeof mem);
    uint8_t *one = strom_arena_alloc(&a, 1, 1);
    cr_assert_eq(one, mem);
    uint64_t *eight = strom_arena_alloc(&a, sizeof *eight, 8);
    cr_assert_eq((uint8_t *)eight, mem + 8);
    size_t mark = strom_arena_mark(&a);
    cr_assert_eq(mark, 16);
    cr_assert_not_null(strom_arena_alloc(&a, 48, 8));
    cr_assert_null(strom_arena_alloc(&a, 1, 1));
    cr_assert_eq(a.bytes_used, 64, "a failed allocation changes nothing");
    strom_arena_rollback(&a, mark);
    cr_assert_eq(a.bytes_used, 16);
    cr_assert_null(strom_arena_alloc_array(&a, 0, 8, 8));
    cr_assert_null(strom_arena_alloc_array(&a, SIZE_MAX / 4, 8, 8), "count * size overflows");
    cr_assert_null(strom_arena_alloc_array(&a, 7, 8, 8));
    cr_assert_not_null(strom_arena_alloc_array(&a, 6, 8, 8));
    size_t rest;
    strom_arena_rest(&a, &rest);
    cr_assert_eq(rest, 0);
    strom_arena_reset(&a);
    cr_assert_eq(a.bytes_used, 0);
}

Test(arena, cursor_reads_little_endian) {
    uint8_t buf[16];
    uint8_t *at = buf;
    at = strom_put_u8(at, 0xab);
    at = strom_put_u16(at, 0x1234);
    at = strom_put_u32(at, 0xdeadbeef);
    at = strom_put_u64(at, 0x0102030405060708ull);
    cr_assert_eq(at - buf, 15);
    cr_assert(buf[1] == 0x34 && buf[2] == 0x12 && buf[3] == 0xef && buf[14] == 0x01);
    struct strom_cursor c = strom_cursor_of(buf, 15);
    cr_assert_eq(strom_take_u8(&c), 0xab);
    cr_assert_eq(strom_take_u16(&c), 0x1234);
    cr_assert_eq(strom_take_u32(&c), 0xdeadbeef);
    cr_assert_eq(strom_take_u64(&c), 0x0102030405060708ull);
    cr_assert_eq(strom_cursor_left(&c), 0);
    uint8_t len_buf[4];
    strom_put_u32(len_buf, 10);
    struct strom_cursor l = strom_cursor_of(len_buf, 4);
    uint32_t len;
    cr_assert_eq(strom_take_len(&l, &len, 9), STROM_ERR_TOO_LARGE);
    cr_assert_eq(len, 10);
}
