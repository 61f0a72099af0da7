/* record_batch.c: RecordBatch v2 validation, offset assignment, records, building. */
#include "kafka/record_batch.h"

#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"

_Static_assert(KAFKA_BATCH_HEADER_BYTES == 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4,
               "RecordBatch v2 header layout");
_Static_assert(KAFKA_BATCH_CRC_FROM == 8 + 4 + 4 + 1 + 4, "the CRC starts at attributes");

/* Byte positions in the header (record_batch.h). */
#define AT_BATCH_LENGTH 8
#define AT_LEADER_EPOCH 12
#define AT_MAGIC        16
#define AT_CRC          17
/* The smallest batchLength: the header after the log overhead. */
#define BATCH_LENGTH_MIN (KAFKA_BATCH_HEADER_BYTES - KAFKA_BATCH_LOG_OVERHEAD)

struct kafka_batch_limits kafka_batch_limits_default(void) {
    return (struct kafka_batch_limits){
        .batch_bytes_max = KAFKA_BATCH_BYTES_DEFAULT_MAX,
        .records_max = KAFKA_BATCH_RECORDS_DEFAULT_MAX,
        .decompressed_bytes_max = KAFKA_BATCH_DECOMPRESSED_DEFAULT_MAX,
    };
}

strom_err kafka_batch_header_read(const uint8_t *buf, size_t len, struct kafka_batch_header *out) {
    strom_assert(out != NULL);
    struct kafka_reader r;
    kafka_reader_init(&r, buf, len);
    out->base_offset = kafka_read_i64(&r);
    out->batch_length = kafka_read_i32(&r);
    out->partition_leader_epoch = kafka_read_i32(&r);
    out->magic = kafka_read_i8(&r);
    out->crc = kafka_read_u32(&r);
    out->attributes = kafka_read_i16(&r);
    out->last_offset_delta = kafka_read_i32(&r);
    out->base_timestamp = kafka_read_i64(&r);
    out->max_timestamp = kafka_read_i64(&r);
    out->producer_id = kafka_read_i64(&r);
    out->producer_epoch = kafka_read_i16(&r);
    out->base_sequence = kafka_read_i32(&r);
    out->record_count = kafka_read_i32(&r);
    strom_assert(r.err != STROM_OK || r.pos == KAFKA_BATCH_HEADER_BYTES);
    return r.err;
}

/* The checks of the header's fields once the batch is known to be all in the buffer. */
static strom_err batch_check_fields(const uint8_t *buf, const struct kafka_batch_header *h,
                                    const struct kafka_batch_limits *lim) {
    if (h->magic != KAFKA_BATCH_MAGIC || h->base_offset < 0 ||
        kafka_batch_compression(h) >= KAFKA_COMPRESSION_COUNT) {
        return STROM_ERR_CORRUPT;
    }
    uint32_t crc = crc32c(0, buf + KAFKA_BATCH_CRC_FROM,
                          kafka_batch_bytes(h) - (uint32_t)KAFKA_BATCH_CRC_FROM);
    if (crc != h->crc) {
        return STROM_ERR_CORRUPT;
    }
    if (h->record_count < 1 || h->last_offset_delta != h->record_count - 1) {
        return STROM_ERR_CORRUPT;
    }
    if (h->record_count > lim->records_max) {
        return STROM_ERR_TOO_LARGE;
    }
    uint32_t body = kafka_batch_bytes(h) - KAFKA_BATCH_HEADER_BYTES;
    if (kafka_batch_compression(h) == KAFKA_COMPRESSION_NONE &&
        (uint32_t)h->record_count > body / KAFKA_RECORD_MIN_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

strom_err kafka_batch_validate(const uint8_t *buf, size_t len, const struct kafka_batch_limits *lim,
                               struct kafka_batch_header *out) {
    strom_assert(buf != NULL || len == 0);
    strom_assert(lim != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (len <= AT_MAGIC) {
        return STROM_ERR_TRUNCATED;
    }
    if (buf[AT_MAGIC] == 0 || buf[AT_MAGIC] == 1) {
        return STROM_ERR_UNSUPPORTED; /* a v0/v1 message set: strom stores magic 2 only */
    }
    strom_err err = kafka_batch_header_read(buf, len, out);
    if (err != STROM_OK) {
        return err;
    }
    if (out->batch_length < BATCH_LENGTH_MIN) {
        return STROM_ERR_CORRUPT;
    }
    if (kafka_batch_bytes(out) > lim->batch_bytes_max) {
        return STROM_ERR_TOO_LARGE;
    }
    if (kafka_batch_bytes(out) > len) {
        return STROM_ERR_TRUNCATED;
    }
    return batch_check_fields(buf, out, lim);
}

void kafka_batch_assign(uint8_t *batch, size_t len, int64_t base_offset, int32_t leader_epoch) {
    strom_assert(batch != NULL && len >= KAFKA_BATCH_HEADER_BYTES);
    strom_assert(base_offset >= 0);
    kafka_store_be64(batch, (uint64_t)base_offset);
    kafka_store_be32(batch + AT_LEADER_EPOCH, (uint32_t)leader_epoch);
}

/* --- reading records ---------------------------------------------------------------------- */

strom_err kafka_records_begin(struct kafka_record_iter *it, const uint8_t *buf, size_t len,
                              const struct kafka_batch_limits *lim, uint8_t *scratch,
                              size_t scratch_cap) {
    strom_assert(it != NULL && lim != NULL);
    strom_assert(scratch != NULL || scratch_cap == 0);
    memset(it, 0, sizeof *it);
    strom_err err = kafka_batch_validate(buf, len, lim, &it->batch);
    if (err != STROM_OK) {
        return err;
    }
    const uint8_t *body = buf + KAFKA_BATCH_HEADER_BYTES;
    size_t body_bytes = kafka_batch_bytes(&it->batch) - KAFKA_BATCH_HEADER_BYTES;
    int codec = kafka_batch_compression(&it->batch);
    if (codec == KAFKA_COMPRESSION_NONE) {
        kafka_reader_init(&it->r, body, body_bytes);
        return STROM_OK;
    }
    size_t cap =
        scratch_cap < lim->decompressed_bytes_max ? scratch_cap : lim->decompressed_bytes_max;
    size_t got = 0;
    err = kafka_decompress(codec, body, body_bytes, scratch, cap, &got);
    if (err == STROM_OK) {
        kafka_reader_init(&it->r, scratch, got);
    }
    return err;
}

/* Reads a varint length and that many bytes: -1 is null (when nullable), below is invalid. */
static struct kafka_bytes read_varbytes(struct kafka_reader *r, bool nullable) {
    int32_t n = kafka_read_varint(r);
    struct kafka_bytes b = {.ptr = NULL, .len = -1};
    if (n < -1 || (n == -1 && !nullable)) {
        kafka_reader_fail(r, STROM_ERR_CORRUPT);
    } else if (n >= 0) {
        b.ptr = kafka_read_raw(r, (size_t)n);
        b.len = b.ptr != NULL ? n : -1;
    }
    return b;
}

/* Walks count headers from r, checking their framing; returns their bytes. */
static struct kafka_bytes skip_headers(struct kafka_reader *r, int32_t count) {
    size_t start = r->pos;
    if (count < 0 || (size_t)count > kafka_reader_left(r) / 2) {
        kafka_reader_fail(r, STROM_ERR_CORRUPT); /* each header takes at least 2 bytes */
        count = 0;
    }
    for (int32_t i = 0; i < count && r->err == STROM_OK; i++) {
        (void)read_varbytes(r, false);
        (void)read_varbytes(r, true);
    }
    return (struct kafka_bytes){.ptr = r->buf + start, .len = (int32_t)(r->pos - start)};
}

/* Decodes one record from its own bytes (rr spans exactly the record). */
static strom_err record_decode(struct kafka_record_iter *it, struct kafka_reader *rr,
                               struct kafka_record *out) {
    out->attributes = kafka_read_i8(rr);
    int64_t ts_delta = kafka_read_varlong(rr);
    int32_t offset_delta = kafka_read_varint(rr);
    out->key = read_varbytes(rr, true);
    out->value = read_varbytes(rr, true);
    out->headers_count = kafka_read_varint(rr);
    out->headers = skip_headers(rr, out->headers_count);
    if (rr->err != STROM_OK || kafka_reader_left(rr) != 0 || offset_delta != it->index) {
        return STROM_ERR_CORRUPT;
    }
    const struct kafka_batch_header *h = &it->batch;
    out->offset = h->base_offset + offset_delta;
    bool log_append = (h->attributes & KAFKA_ATTR_LOG_APPEND_TIME) != 0;
    out->timestamp =
        log_append ? h->max_timestamp : (int64_t)((uint64_t)h->base_timestamp + (uint64_t)ts_delta);
    return STROM_OK;
}

strom_err kafka_records_next(struct kafka_record_iter *it, struct kafka_record *out) {
    strom_assert(it != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (it->index == it->batch.record_count) {
        return kafka_reader_left(&it->r) == 0 ? STROM_ERR_END : STROM_ERR_CORRUPT;
    }
    strom_assert(it->index < it->batch.record_count);
    int32_t len = kafka_read_varint(&it->r);
    if (it->r.err != STROM_OK || len < 0) {
        return STROM_ERR_CORRUPT;
    }
    const uint8_t *p = kafka_read_raw(&it->r, (size_t)len);
    if (p == NULL) {
        return STROM_ERR_CORRUPT;
    }
    struct kafka_reader rr;
    kafka_reader_init(&rr, p, (size_t)len);
    strom_err err = record_decode(it, &rr, out);
    if (err == STROM_OK) {
        it->index++;
    }
    return err;
}

void kafka_record_headers(const struct kafka_record *rec, struct kafka_header_iter *it) {
    strom_assert(rec != NULL && it != NULL);
    kafka_reader_init(&it->r, rec->headers.ptr,
                      rec->headers.len > 0 ? (size_t)rec->headers.len : 0);
    it->left = rec->headers_count;
}

bool kafka_record_header_next(struct kafka_header_iter *it, struct kafka_bytes *key,
                              struct kafka_bytes *value) {
    if (it->left <= 0) {
        return false;
    }
    *key = read_varbytes(&it->r, false);
    *value = read_varbytes(&it->r, true);
    /* kafka_records_next checked this framing: a failure here is a caller's bad record. */
    strom_assert(it->r.err == STROM_OK);
    it->left--;
    return true;
}

/* --- building a batch --------------------------------------------------------------------- */

struct kafka_batch_build_params kafka_batch_build_params_default(int64_t base_offset) {
    return (struct kafka_batch_build_params){
        .base_offset = base_offset,
        .leader_epoch = 0,
        .compression = KAFKA_COMPRESSION_NONE,
        .producer_id = -1,
        .producer_epoch = -1,
        .base_sequence = -1,
    };
}

static size_t varbytes_size(struct kafka_bytes b) {
    return kafka_varint_bytes(b.len < 0 ? -1 : b.len) + (b.len > 0 ? (size_t)b.len : 0);
}

/* Bytes of a record after its length varint. */
static size_t record_body_bytes(const struct kafka_record_in *rec, int64_t ts_delta,
                                int32_t offset_delta) {
    size_t n = 1 + kafka_varlong_bytes(ts_delta) + kafka_varint_bytes(offset_delta);
    n += varbytes_size(rec->key) + varbytes_size(rec->value);
    n += kafka_varint_bytes(rec->headers_count);
    for (int32_t i = 0; i < rec->headers_count; i++) {
        n += varbytes_size(rec->headers[i].key) + varbytes_size(rec->headers[i].value);
    }
    return n;
}

static void write_varbytes(struct kafka_writer *w, struct kafka_bytes b) {
    kafka_write_varint(w, b.len < 0 ? -1 : b.len);
    if (b.len > 0) {
        kafka_write_raw(w, b.ptr, (size_t)b.len);
    }
}

/* Writes count records (their bodies with length prefixes) to w. */
static void write_records(struct kafka_writer *w, const struct kafka_record_in *records,
                          int32_t count) {
    int64_t base_ts = records[0].timestamp_ms;
    for (int32_t i = 0; i < count && w->err == STROM_OK; i++) {
        const struct kafka_record_in *rec = &records[i];
        strom_assert(rec->headers_count >= 0 && (rec->headers_count == 0 || rec->headers));
        int64_t ts_delta = (int64_t)((uint64_t)rec->timestamp_ms - (uint64_t)base_ts);
        size_t body = record_body_bytes(rec, ts_delta, i);
        if (body > INT32_MAX) {
            kafka_writer_fail(w, STROM_ERR_TOO_LARGE);
            break;
        }
        kafka_write_varint(w, (int32_t)body);
        kafka_write_i8(w, 0);
        kafka_write_varlong(w, ts_delta);
        kafka_write_varint(w, i);
        write_varbytes(w, rec->key);
        write_varbytes(w, rec->value);
        kafka_write_varint(w, rec->headers_count);
        for (int32_t j = 0; j < rec->headers_count; j++) {
            strom_assert(rec->headers[j].key.len >= 0);
            write_varbytes(w, rec->headers[j].key);
            write_varbytes(w, rec->headers[j].value);
        }
    }
}

/* Writes the 61-byte header for a batch of total bytes and fills in its CRC. */
static void write_header(const struct kafka_batch_build_params *p,
                         const struct kafka_record_in *records, int32_t count, uint8_t *out,
                         size_t total) {
    int64_t max_ts = records[0].timestamp_ms;
    for (int32_t i = 1; i < count; i++) {
        max_ts = records[i].timestamp_ms > max_ts ? records[i].timestamp_ms : max_ts;
    }
    struct kafka_writer w;
    kafka_writer_init(&w, out, KAFKA_BATCH_HEADER_BYTES);
    kafka_write_i64(&w, p->base_offset);
    kafka_write_i32(&w, (int32_t)(total - KAFKA_BATCH_LOG_OVERHEAD));
    kafka_write_i32(&w, p->leader_epoch);
    kafka_write_i8(&w, KAFKA_BATCH_MAGIC);
    kafka_write_u32(&w, 0); /* the CRC, below */
    kafka_write_i16(&w, (int16_t)(p->compression & KAFKA_ATTR_COMPRESSION_MASK));
    kafka_write_i32(&w, count - 1);
    kafka_write_i64(&w, records[0].timestamp_ms);
    kafka_write_i64(&w, max_ts);
    kafka_write_i64(&w, p->producer_id);
    kafka_write_i16(&w, p->producer_epoch);
    kafka_write_i32(&w, p->base_sequence);
    kafka_write_i32(&w, count);
    strom_assert(w.err == STROM_OK && w.pos == KAFKA_BATCH_HEADER_BYTES);
    uint32_t crc = crc32c(0, out + KAFKA_BATCH_CRC_FROM, total - KAFKA_BATCH_CRC_FROM);
    kafka_store_be32(out + AT_CRC, crc);
}

strom_err kafka_batch_build(const struct kafka_batch_build_params *p,
                            const struct kafka_record_in *records, int32_t count, uint8_t *scratch,
                            size_t scratch_cap, uint8_t *out, size_t cap, size_t *len_out) {
    strom_assert(p != NULL && records != NULL && count >= 1 && len_out != NULL);
    strom_assert(p->base_offset >= 0);
    *len_out = 0;
    if (p->compression < 0 || p->compression >= KAFKA_COMPRESSION_COUNT) {
        return STROM_ERR_UNSUPPORTED;
    }
    if (cap < KAFKA_BATCH_HEADER_BYTES) {
        return STROM_ERR_OVERFLOW;
    }
    bool plain = p->compression == KAFKA_COMPRESSION_NONE;
    struct kafka_writer w;
    if (plain) {
        kafka_writer_init(&w, out + KAFKA_BATCH_HEADER_BYTES, cap - KAFKA_BATCH_HEADER_BYTES);
    } else {
        kafka_writer_init(&w, scratch, scratch_cap);
    }
    write_records(&w, records, count);
    if (w.err != STROM_OK) {
        return w.err;
    }
    size_t body = w.pos;
    if (!plain) {
        strom_err err =
            kafka_compress(p->compression, scratch, w.pos, out + KAFKA_BATCH_HEADER_BYTES,
                           cap - KAFKA_BATCH_HEADER_BYTES, &body);
        if (err != STROM_OK) {
            return err;
        }
    }
    size_t total = KAFKA_BATCH_HEADER_BYTES + body;
    if (total > INT32_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    write_header(p, records, count, out, total);
    *len_out = total;
    return STROM_OK;
}
