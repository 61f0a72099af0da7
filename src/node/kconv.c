/* kconv.c: Kafka batches to native message sets and back (see kconv.h). */
#include "node/kconv.h"

#include <string.h>

#include "base/assert.h"
#include "node/msgset.h"

/* --- Kafka batch -> native message set -------------------------------------------------------- */

strom_err kconv_kafka_open(struct kconv_kafka *k, const uint8_t *batch, uint32_t bytes,
                           uint8_t *scratch, size_t scratch_cap) {
    strom_assert(batch != NULL && scratch != NULL);
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    lim.batch_bytes_max = bytes;
    lim.decompressed_bytes_max = scratch_cap;
    return kafka_records_begin(&k->start, batch, bytes, &lim, scratch, scratch_cap);
}

/* Bytes the record takes in a native set; TOO_LARGE when it breaks a native limit. */
static strom_err native_bytes(const struct kafka_record *rec, uint64_t *bytes_out) {
    uint64_t key = rec->key.len > 0 ? (uint64_t)rec->key.len : 0;
    uint64_t value = rec->value.len > 0 ? (uint64_t)rec->value.len : 0;
    if (key > MSGSET_KEY_BYTES_MAX || rec->headers_count < 0 ||
        (uint32_t)rec->headers_count > MSGSET_HEADERS_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    uint64_t bytes = 8 + 4 + key + 4 + 4 + value;
    struct kafka_header_iter hi;
    struct kafka_bytes name, val;
    kafka_record_headers(rec, &hi);
    while (kafka_record_header_next(&hi, &name, &val)) {
        uint64_t v = val.len > 0 ? (uint64_t)val.len : 0;
        if ((uint64_t)name.len > MSGSET_HEADER_NAME_MAX || v > MSGSET_HEADER_VALUE_MAX) {
            return STROM_ERR_TOO_LARGE;
        }
        bytes += 8 + (uint64_t)name.len + v;
    }
    *bytes_out = bytes;
    return STROM_OK;
}

strom_err kconv_kafka_measure(const struct kconv_kafka *k, uint64_t from, uint64_t set_bytes_max,
                              struct kconv_piece *piece) {
    struct kafka_record_iter it = k->start;
    struct kafka_record rec;
    uint64_t set_bytes = 0;
    uint32_t count = 0;
    uint64_t first = 0;
    strom_err err;
    while ((err = kafka_records_next(&it, &rec)) == STROM_OK) {
        if ((uint64_t)rec.offset < from) {
            continue;
        }
        uint64_t bytes = 0;
        err = native_bytes(&rec, &bytes);
        if (err) {
            return err;
        }
        if (count > 0 && (set_bytes + bytes > set_bytes_max || count == MSGSET_COUNT_MAX)) {
            break;
        }
        first = count == 0 ? (uint64_t)rec.offset : first;
        set_bytes += bytes;
        count++;
    }
    if (err != STROM_OK && err != STROM_ERR_END) {
        return err;
    }
    if (count == 0) {
        return STROM_ERR_END;
    }
    if (set_bytes > UINT32_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    *piece = (struct kconv_piece){
        .first_offset = first, .count = count, .set_bytes = (uint32_t)set_bytes};
    return STROM_OK;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, 4); /* little-endian hosts (nodelog.h) */
    return p + 4;
}

static uint8_t *put_bytes(uint8_t *p, struct kafka_bytes b) {
    uint32_t n = b.len > 0 ? (uint32_t)b.len : 0;
    p = put_u32(p, n);
    if (n > 0) {
        memcpy(p, b.ptr, n);
    }
    return p + n;
}

bool kconv_kafka_write(const struct kconv_kafka *k, const struct kconv_piece *piece, uint8_t *out) {
    struct kafka_record_iter it = k->start;
    struct kafka_record rec;
    uint8_t *p = out;
    uint8_t *end = out + piece->set_bytes;
    uint32_t written = 0;
    while (written < piece->count && kafka_records_next(&it, &rec) == STROM_OK) {
        if ((uint64_t)rec.offset < piece->first_offset) {
            continue;
        }
        uint64_t bytes = 0;
        if (native_bytes(&rec, &bytes) != STROM_OK || bytes > (uint64_t)(end - p)) {
            return false; /* not what was measured */
        }
        uint64_t ts_ns = rec.timestamp > 0 ? (uint64_t)rec.timestamp * 1000000u : 0;
        memcpy(p, &ts_ns, 8);
        p = put_bytes(p + 8, rec.key);
        p = put_u32(p, (uint32_t)rec.headers_count);
        struct kafka_header_iter hi;
        struct kafka_bytes name, val;
        kafka_record_headers(&rec, &hi);
        while (kafka_record_header_next(&hi, &name, &val)) {
            p = put_bytes(p, name);
            p = put_bytes(p, val);
        }
        p = put_bytes(p, rec.value);
        written++;
    }
    return written == piece->count && p == end;
}

/* --- native message set -> Kafka batch -------------------------------------------------------- */

/* An upper bound of the bytes one record takes in a batch (varints at their longest). */
static uint64_t record_bound(const struct msgset_msg *m) {
    return 36u + (uint64_t)m->key_len + m->payload_len + (uint64_t)m->header_bytes +
           2u * m->header_count;
}

/* Points the headers of m into b->headers[*used ..]; false when the set is malformed. */
static bool take_headers(const struct msgset_msg *m, const struct kconv_build *b, uint32_t *used) {
    const uint8_t *p = m->headers;
    const uint8_t *end = m->headers + m->header_bytes;
    for (uint32_t h = 0; h < m->header_count; h++) {
        uint32_t lens[2];
        const uint8_t *ptrs[2];
        for (int i = 0; i < 2; i++) {
            if (end - p < 4) {
                return false;
            }
            memcpy(&lens[i], p, 4);
            if ((uint64_t)(end - p) - 4 < lens[i]) {
                return false;
            }
            ptrs[i] = p + 4;
            p += 4 + (size_t)lens[i];
        }
        b->headers[*used + h] = (struct kafka_header_in){.key = kafka_bytes_of(ptrs[0], lens[0]),
                                                         .value = kafka_bytes_of(ptrs[1], lens[1])};
    }
    *used += m->header_count;
    return p == end;
}

strom_err kconv_native_to_kafka(const struct kconv_native *n, uint64_t from, uint32_t bytes_max,
                                const struct kconv_build *b, uint8_t *out, size_t cap,
                                size_t *len_out, uint64_t *end_out) {
    struct msgset_iter it;
    struct msgset_msg m;
    msgset_iter_init(&it, n->set, n->set_bytes, n->count);
    uint64_t offset = n->base_offset;
    uint64_t first = 0, bytes = KAFKA_BATCH_HEADER_BYTES;
    uint32_t count = 0, headers = 0;
    strom_err err;
    for (; (err = msgset_next(&it, &m)) == STROM_OK; offset++) {
        if (offset < from) {
            continue;
        }
        uint64_t rb = record_bound(&m);
        if (count > 0 && (bytes + rb > bytes_max || count == KCONV_BUILD_RECORDS_MAX ||
                          headers + m.header_count > KCONV_BUILD_HEADERS_MAX)) {
            break;
        }
        uint32_t h0 = headers;
        if (!take_headers(&m, b, &headers)) {
            return STROM_ERR_CORRUPT;
        }
        uint64_t ts = m.client_ts_ns != 0 ? m.client_ts_ns : n->timestamp_ns;
        b->records[count] =
            (struct kafka_record_in){.timestamp_ms = (int64_t)(ts / 1000000u),
                                     .key = m.key_len > 0 ? kafka_bytes_of(m.key, m.key_len)
                                                          : (struct kafka_bytes){NULL, -1},
                                     .value = kafka_bytes_of(m.payload, m.payload_len),
                                     .headers_count = (int32_t)m.header_count,
                                     .headers = &b->headers[h0]};
        first = count == 0 ? offset : first;
        bytes += rb;
        count++;
    }
    if (err != STROM_OK && err != STROM_ERR_END) {
        return STROM_ERR_CORRUPT;
    }
    if (count == 0) {
        return STROM_ERR_END;
    }
    struct kafka_batch_build_params p = kafka_batch_build_params_default((int64_t)first);
    p.leader_epoch = n->leader_epoch;
    err = kafka_batch_build(&p, b->records, (int32_t)count, NULL, 0, out, cap, len_out);
    if (!err) {
        *end_out = first + count;
    }
    return err;
}
