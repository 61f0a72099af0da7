/*
 * msgset.h: the message set of the native protocol (docs/protocol.md, "The message set"), as the
 * node walks and writes it: `count` messages back to back, each
 *     u64 client_ts_ns | u32 key_len, key | u32 header_count, headers | u32 payload_len, payload
 * with a header = u32 name_len, name | u32 value_len, value; all little-endian. The node stores
 * and delivers a set unchanged; it only checks it (gateway) and reads /sys/cmd records from it.
 */
#ifndef STROM_NODE_MSGSET_H
#define STROM_NODE_MSGSET_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define MSGSET_COUNT_MAX        65536u /* messages per batch */
#define MSGSET_KEY_BYTES_MAX    65535u /* key of one message */
#define MSGSET_HEADERS_MAX      32u    /* headers of one message */
#define MSGSET_HEADER_NAME_MAX  255u   /* header name bytes */
#define MSGSET_HEADER_VALUE_MAX 65535u /* header value bytes */
#define MSGSET_ONE_OVERHEAD     20u /* bytes around the payload of a message without key/headers */

/* One message as a view into the set. */
struct msgset_msg {
    uint64_t client_ts_ns;
    const uint8_t *key;
    uint32_t key_len;
    uint32_t header_count;
    const uint8_t *headers; /* the encoded headers, header_bytes long */
    uint32_t header_bytes;
    const uint8_t *payload;
    uint32_t payload_len;
};

/* A walk over a set. */
struct msgset_iter {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t left; /* messages still to read */
};

void msgset_iter_init(struct msgset_iter *it, const void *set, size_t bytes, uint32_t count);

/* The next message; STROM_ERR_END after the last one, STROM_ERR_PROTOCOL when the set is
 * malformed (a length beyond the set or above its limit). */
strom_err msgset_next(struct msgset_iter *it, struct msgset_msg *msg);

/* Checks a whole set from the network: exactly count (1..MSGSET_COUNT_MAX) well-formed messages
 * and nothing after them; *payload_bytes_out (may be NULL) gets the sum of payload lengths.
 * Errors: PROTOCOL (malformed), TOO_LARGE (a count or length above its limit). */
strom_err msgset_check(const void *set, size_t bytes, uint32_t count, uint64_t *payload_bytes_out);

/* Writes a set of one message with payload (no key, no headers, client_ts_ns 0) into buf of
 * buf_bytes; returns its size, or 0 when it does not fit. */
size_t msgset_write_one(void *buf, size_t buf_bytes, const void *payload, uint32_t payload_len);

#endif
