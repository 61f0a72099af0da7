/* path.c: validation and hashing of stream paths (see path.h). */
#include "node/path.h"

#include <stdbool.h>

#include "base/assert.h"

static bool path_byte_ok(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* A segment is valid when it is non-empty, all its bytes are allowed, and it is not . or .. */
static bool path_segment_ok(const char *seg, size_t len) {
    if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!path_byte_ok((unsigned char)seg[i])) {
            return false;
        }
    }
    return true;
}

strom_err path_check(const char *path, size_t len) {
    if (path == NULL || len < 2 || len > PATH_BYTES_MAX || path[0] != '/') {
        return STROM_ERR_INVALID_PATH;
    }
    size_t start = 1;
    for (size_t i = 1; i <= len; i++) {
        if (i == len || path[i] == '/') {
            if (!path_segment_ok(path + start, i - start)) {
                return STROM_ERR_INVALID_PATH;
            }
            start = i + 1;
        }
    }
    strom_assert(start == len + 1);
    return STROM_OK;
}

uint64_t path_hash(const char *path, size_t len) {
    strom_assert(path != NULL || len == 0);
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64-bit offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)path[i];
        h *= 0x100000001b3u; /* FNV-1a 64-bit prime */
    }
    return h;
}
