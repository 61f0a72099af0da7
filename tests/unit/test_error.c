/* test_error.c: every strom_err has a distinct name and a message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/error.h"

Test(error, every_code_has_a_message_and_a_distinct_name) {
    for (int i = 0; i < STROM_ERR_COUNT_; i++) {
        const char *name = strom_errname((strom_err)i);
        cr_assert_str_neq(strom_strerror((strom_err)i), "unknown error", "code %d", i);
        cr_assert_str_neq(name, "UNKNOWN", "code %d", i);
        for (int j = 0; j < i; j++) {
            cr_assert_str_neq(name, strom_errname((strom_err)j), "codes %d and %d", i, j);
        }
    }
    cr_assert_str_eq(strom_strerror(STROM_ERR_COUNT_), "unknown error");
}

Test(error, errno_mapping) {
    cr_assert_eq(strom_err_from_errno(ENOSPC), STROM_ERR_NO_SPACE);
    cr_assert_eq(strom_err_from_errno(ENOENT), STROM_ERR_NOT_FOUND);
    cr_assert_eq(strom_err_from_errno(0), STROM_OK);
    cr_assert_eq(strom_err_from_errno(EIO), STROM_ERR_IO);
}
