/*
 * assert.h: assertions that are always compiled in.
 *
 * strom_assert(expr) checks an invariant of the program. On failure it prints file, line, the
 * expression and a backtrace to stderr and aborts: continuing after a broken invariant is worse
 * than crashing, and the supervisor restarts a crashed process. It is not tied to NDEBUG.
 *
 * Never use it for bad input from the network, disk, CLI or config: those are operating errors
 * and return a strom_err (error.h).
 */
#ifndef STROM_BASE_ASSERT_H
#define STROM_BASE_ASSERT_H

_Noreturn void strom_assert_fail(const char *file, int line, const char *expr);

#define strom_assert(expr) ((expr) ? (void)0 : strom_assert_fail(__FILE__, __LINE__, #expr))

/* Marks a point the program can never reach (an exhaustive switch's default, for instance). */
#define strom_unreachable() strom_assert_fail(__FILE__, __LINE__, "unreachable")

#endif
