/*
 * path.h: stream paths, the names of streams.
 *
 * A path is '/' followed by one or more segments separated by '/'; a segment is one or more of
 * [A-Za-z0-9._-] and is neither "." nor ".." (so that a path never reads like a relative file
 * name, and so that Kafka topic names map onto it: Kafka forbids the same two). At most
 * PATH_BYTES_MAX bytes in all, no trailing '/', no empty segment. Paths are compared byte for
 * byte: "/a" and "/A" are two streams. Source: docs/node.md, "Streams and paths".
 */
#ifndef STROM_NODE_PATH_H
#define STROM_NODE_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The longest path, in bytes (no terminating NUL counted). */
#define PATH_BYTES_MAX 255

/* The control stream of a node; it always exists and has stream id 0. */
#define PATH_SYS_CMD "/sys/cmd"

/* STROM_OK when path[0..len) is a valid path; STROM_ERR_INVALID_PATH otherwise. path need not be
 * NUL-terminated and may hold any bytes (it comes from the network). */
strom_err path_check(const char *path, size_t len);

/* A 64-bit hash of len bytes (FNV-1a, Fowler-Noll-Vo, 64-bit parameters), for the registry's
 * index. Stable across processes and runs: it may be stored in shared memory. */
uint64_t path_hash(const char *path, size_t len);

#endif
