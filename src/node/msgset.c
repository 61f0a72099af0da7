/* msgset.c: walking, checking and writing message sets (see msgset.h). */
#include "node/msgset.h"

#include <stdbool.h>
#include <string.h>

#include "base/assert.h"

static uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* little-endian hosts only (nodelog.h asserts it) */
}

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

void msgset_iter_init(struct msgset_iter *it, const void *set, size_t bytes, uint32_t count) {
    it->p = set;
    it->end = it->p + bytes;
    it->left = count;
}

/* Takes a u32 length and that many bytes; false when they do not fit or exceed max. */
static bool take_bytes(struct msgset_iter *it, uint32_t max, const uint8_t **out, uint32_t *len) {
    if ((size_t)(it->end - it->p) < 4) {
        return false;
    }
    uint32_t n = load_u32(it->p);
    if (n > max || (size_t)(it->end - it->p) - 4 < n) {
        return false;
    }
    *out = it->p + 4;
    *len = n;
    it->p += 4 + (size_t)n;
    return true;
}

static bool take_headers(struct msgset_iter *it, struct msgset_msg *msg) {
    if ((size_t)(it->end - it->p) < 4) {
        return false;
    }
    msg->header_count = load_u32(it->p);
    it->p += 4;
    msg->headers = it->p;
    if (msg->header_count > MSGSET_HEADERS_MAX) {
        return false;
    }
    for (uint32_t h = 0; h < msg->header_count; h++) {
        const uint8_t *v;
        uint32_t n;
        if (!take_bytes(it, MSGSET_HEADER_NAME_MAX, &v, &n) ||
            !take_bytes(it, MSGSET_HEADER_VALUE_MAX, &v, &n)) {
            return false;
        }
    }
    msg->header_bytes = (uint32_t)(it->p - msg->headers);
    return true;
}

strom_err msgset_next(struct msgset_iter *it, struct msgset_msg *msg) {
    if (it->left == 0) {
        return STROM_ERR_END;
    }
    if ((size_t)(it->end - it->p) < 8) {
        return STROM_ERR_PROTOCOL;
    }
    msg->client_ts_ns = load_u64(it->p);
    it->p += 8;
    if (!take_bytes(it, MSGSET_KEY_BYTES_MAX, &msg->key, &msg->key_len) || !take_headers(it, msg) ||
        !take_bytes(it, UINT32_MAX, &msg->payload, &msg->payload_len)) {
        return STROM_ERR_PROTOCOL;
    }
    it->left--;
    return STROM_OK;
}

strom_err msgset_check(const void *set, size_t bytes, uint32_t count, uint64_t *payload_bytes_out) {
    if (count == 0 || count > MSGSET_COUNT_MAX) {
        return count == 0 ? STROM_ERR_PROTOCOL : STROM_ERR_TOO_LARGE;
    }
    struct msgset_iter it;
    msgset_iter_init(&it, set, bytes, count);
    struct msgset_msg msg;
    uint64_t payload = 0;
    strom_err err;
    while ((err = msgset_next(&it, &msg)) == STROM_OK) {
        payload += msg.payload_len;
    }
    if (err != STROM_ERR_END || it.p != it.end) {
        return STROM_ERR_PROTOCOL;
    }
    if (payload_bytes_out != NULL) {
        *payload_bytes_out = payload;
    }
    return STROM_OK;
}

size_t msgset_write_one(void *buf, size_t buf_bytes, const void *payload, uint32_t payload_len) {
    size_t bytes = MSGSET_ONE_OVERHEAD + (size_t)payload_len;
    if (bytes > buf_bytes) {
        return 0;
    }
    uint8_t *p = buf;
    uint64_t zero64 = 0;
    uint32_t zero32 = 0;
    memcpy(p, &zero64, 8);      /* client_ts_ns */
    memcpy(p + 8, &zero32, 4);  /* key length */
    memcpy(p + 12, &zero32, 4); /* header count */
    memcpy(p + 16, &payload_len, 4);
    memcpy(p + 20, payload, payload_len);
    strom_assert(msgset_check(buf, bytes, 1, NULL) == STROM_OK);
    return bytes;
}
