/*
 * error.h: the one enum of error codes for all of strom, with a message each.
 *
 * Operating errors (bad input from network, disk, CLI or config; a full disk; a peer that went
 * away) are returned as a strom_err. Programmer errors are not codes: they are broken invariants
 * and crash through strom_assert (see assert.h).
 *
 * The numbers are part of the native protocol and of the on-disk format: never renumber, only
 * append. STROM_OK is 0 so that `if (err)` reads naturally.
 */
#ifndef STROM_BASE_ERROR_H
#define STROM_BASE_ERROR_H

/* X(name, number, message) */
#define STROM_ERRORS(X)                                                                            \
    X(OK, 0, "success")                                                                            \
    X(INVALID_ARGUMENT, 1, "invalid argument")                                                     \
    X(NO_MEMORY, 2, "out of memory")                                                               \
    X(IO, 3, "input/output error")                                                                 \
    X(NO_SPACE, 4, "no space left on device")                                                      \
    X(CORRUPT, 5, "data is corrupt (checksum or format mismatch)")                                 \
    X(TOO_LARGE, 6, "length or count above its limit")                                             \
    X(TRUNCATED, 7, "input ends before the record does")                                           \
    X(PARSE, 8, "malformed text")                                                                  \
    X(NOT_FOUND, 9, "not found")                                                                   \
    X(EXISTS, 10, "already exists")                                                                \
    X(OUT_OF_RANGE, 11, "offset out of range")                                                     \
    X(OUT_OF_ORDER_SEQUENCE, 12, "producer sequence out of order (a gap)")                         \
    X(SEQUENCE_TOO_OLD, 13, "producer sequence older than the idempotence window")                 \
    X(STORE_FAILED, 14, "store failed after a failed fdatasync; it refuses writes until reopened") \
    X(AGAIN, 15, "resource temporarily unavailable; try again")                                    \
    X(CLOSED, 16, "connection closed")                                                             \
    X(TIMEOUT, 17, "timed out")                                                                    \
    X(PROTOCOL, 18, "protocol violation")                                                          \
    X(UNSUPPORTED_VERSION, 19, "unsupported protocol version")                                     \
    X(LIMIT, 20, "a configured limit was reached")                                                 \
    X(INVALID_PATH, 21, "invalid stream path")                                                     \
    X(NOT_CONNECTED, 22, "not connected")                                                          \
    X(END, 23, "end of input")                                                                     \
    X(GAP, 24, "batch does not start at the stream's next offset")                                 \
    X(EMPTY, 25, "empty input")                                                                    \
    X(UNSUPPORTED, 26, "unsupported operation or value")                                           \
    X(NO_STREAM, 27, "no such stream")                                                             \
    X(OVERFLOW, 28, "output buffer too small")

typedef enum strom_err {
#define STROM_ERR_ENUM(name, num, msg) STROM_ERR_##name = num,
    STROM_ERRORS(STROM_ERR_ENUM)
#undef STROM_ERR_ENUM
        STROM_ERR_COUNT_
} strom_err;

#define STROM_OK STROM_ERR_OK

/* A short, constant message for err; "unknown error" for a number outside the enum. */
const char *strom_strerror(strom_err err);

/* The upper-case name of err ("NO_SPACE"); "UNKNOWN" outside the enum. */
const char *strom_errname(strom_err err);

/* Maps an errno value from the operating system onto the closest strom_err. */
strom_err strom_err_from_errno(int errnum);

#endif
