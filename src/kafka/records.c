/* records.c: splitting Produce record sets, filling Fetch record sets (see records.h). */
#include "kafka/records.h"

#include "base/assert.h"
#include "kafka/messages.h"

void kafka_batch_split_init(struct kafka_batch_split *s, struct kafka_bytes records) {
    strom_assert(s != NULL);
    strom_assert(records.len <= 0 || records.ptr != NULL);
    s->records = records.ptr;
    s->bytes = records.len > 0 ? (size_t)records.len : 0;
    s->pos = 0;
}

strom_err kafka_batch_split_next(struct kafka_batch_split *s, const struct kafka_batch_limits *lim,
                                 struct kafka_batch_view *out) {
    strom_assert(s->pos <= s->bytes);
    if (s->bytes == 0) {
        return STROM_ERR_EMPTY;
    }
    if (s->pos == s->bytes) {
        return STROM_ERR_END;
    }
    const uint8_t *at = s->records + s->pos;
    strom_err err = kafka_batch_validate(at, s->bytes - s->pos, lim, &out->header);
    if (err != STROM_OK) {
        return err;
    }
    out->data = at;
    out->bytes = kafka_batch_bytes(&out->header);
    s->pos += out->bytes;
    strom_assert(s->pos <= s->bytes);
    return STROM_OK;
}

void kafka_fetch_fill_init(struct kafka_fetch_fill *f, int64_t fetch_offset, uint32_t max_bytes,
                           struct kafka_bytes *segments, int32_t segments_cap) {
    strom_assert(f != NULL && fetch_offset >= 0);
    strom_assert(segments != NULL && segments_cap >= 1 &&
                 segments_cap <= KAFKA_RECORD_SEGMENTS_MAX);
    *f = (struct kafka_fetch_fill){.fetch_offset = fetch_offset,
                                   .max_bytes = max_bytes,
                                   .next_offset = fetch_offset,
                                   .segments_cap = segments_cap,
                                   .segments = segments};
}

strom_err kafka_fetch_fill_offer(struct kafka_fetch_fill *f, int64_t base_offset,
                                 int32_t record_count, struct kafka_bytes data) {
    strom_assert(record_count >= 1 && data.len > 0 && data.ptr != NULL);
    strom_assert(f->count <= f->segments_cap);
    int64_t end = base_offset + record_count;
    if (f->count == 0 && end <= f->fetch_offset) {
        return STROM_ERR_AGAIN;
    }
    if (f->count == 0 ? base_offset > f->fetch_offset : base_offset != f->next_offset) {
        return STROM_ERR_GAP;
    }
    bool over = (uint64_t)f->bytes + (uint64_t)data.len > f->max_bytes;
    if (f->count > 0 && (over || f->count == f->segments_cap)) {
        return STROM_ERR_END; /* KIP-74: only the first batch may exceed the limit */
    }
    f->segments[f->count] = data;
    f->count++;
    f->bytes += (uint32_t)data.len;
    f->next_offset = end;
    return STROM_OK;
}
