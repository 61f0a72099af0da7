/* assert.c: the failure path of strom_assert (see assert.h). */
#include "base/assert.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

_Noreturn void strom_assert_fail(const char *file, int line, const char *expr) {
    enum { frames_max = 64 };
    void *frames[frames_max];
    int frame_count = backtrace(frames, frames_max);
    fprintf(stderr, "strom: assertion failed: %s:%d: %s\nbacktrace:\n", file, line, expr);
    fflush(stderr);
    backtrace_symbols_fd(frames, frame_count, STDERR_FILENO);
    abort();
}
