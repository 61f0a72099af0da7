/*
 * kgw_data.c: the Kafka requests that move records: Produce (through the sequencer, each batch
 * stored as it came), Fetch (whole stored batches from the stores, up to the sync watermark),
 * ListOffsets, and InitProducerId (strom's bounded idempotence). docs/kafka.md says what each
 * answers.
 *
 * The high watermark a Kafka client sees is the stream's sync watermark (durable_next): a batch is
 * served once its commit synced it, so every batch below it is in the commit's store, which is
 * where a Fetch reads. A Fetch long-polls: with less than min_bytes to send it parks until a
 * commit's durable position moves or max_wait_ms passes.
 */
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "kafka/records.h"
#include "node/kgw.h"
#include "node/msgset.h"
#include "store/store.h"

#define KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED 53
#define KAFKA_ERR_FENCED_LEADER_EPOCH                   74
#define KAFKA_ERR_UNKNOWN_LEADER_EPOCH                  75
#define KGW_LIST_SCAN_MAX                               100000 /* batches a ListOffsets by time reads */

/* --- Produce ---------------------------------------------------------------------------------- */

uint32_t kgw_produce_units(const struct kafka_request *q) {
    const struct kafka_produce_request *m = &q->body.produce;
    uint32_t n = 0;
    for (int32_t t = 0; t < m->topics_count; t++) {
        n += (uint32_t)m->topics[t].partitions_count;
    }
    return m->acks == 0 ? 0 : n; /* acks=0: nothing to answer */
}

/* strom's producer id for a Kafka producer id and epoch (a new epoch starts a new sequence):
 * splitmix64 of both, never 0 (0 means "no idempotence"). */
static uint64_t producer_map(int64_t producer_id, int16_t epoch) {
    uint64_t z = (uint64_t)producer_id ^ ((uint64_t)(uint16_t)epoch << 48);
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return z | 1;
}

static int16_t batch_error(strom_err err) {
    switch (err) {
    case STROM_ERR_UNSUPPORTED:
        return KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT; /* magic 0 or 1 */
    case STROM_ERR_TOO_LARGE:
        return KAFKA_ERR_MESSAGE_TOO_LARGE;
    default:
        return KAFKA_ERR_CORRUPT_MESSAGE; /* CRC, framing, counts, an empty record set */
    }
}

/* The error of a produce partition before anything is sent, or NONE: the request, the topic,
 * and every batch of its record set. */
static int16_t produce_check(struct gateway *gw, const struct kafka_request *q,
                             struct kafka_str topic, const struct kafka_produce_partition *p) {
    const struct kafka_produce_request *m = &q->body.produce;
    if (q->header.api_version < 3) {
        return KAFKA_ERR_UNSUPPORTED_VERSION; /* message formats 0 and 1 are not stored */
    }
    if (m->transactional_id.len >= 0) {
        return KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* no transactions */
    }
    if (m->acks != 0 && m->acks != 1 && m->acks != -1) {
        return KAFKA_ERR_INVALID_REQUIRED_ACKS;
    }
    char path[KGW_PATH_BYTES];
    uint64_t id = 0;
    if (kgw_path(topic, p->index, path) == 0) {
        return kgw_topic_valid(topic) ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                      : KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (!gw->config->auto_create && !kgw_stream_find(gw, topic, p->index, &id)) {
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    struct kafka_batch_split split;
    struct kafka_batch_view v;
    strom_err err;
    kafka_batch_split_init(&split, p->records);
    while ((err = kafka_batch_split_next(&split, &gw->kafka->limits, &v)) == STROM_OK) {
        if (v.header.attributes & (KAFKA_ATTR_TRANSACTIONAL | KAFKA_ATTR_CONTROL)) {
            return KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
        }
    }
    return err == STROM_ERR_END ? KAFKA_ERR_NONE : batch_error(err);
}

/* Sends the batches of partition p from batch *sent on; AGAIN leaves *sent at the next. */
static strom_err produce_batches(struct gateway *gw, struct gw_conn *c,
                                 const struct kafka_request *q, struct kafka_str topic,
                                 const struct kafka_produce_partition *p, uint64_t seq,
                                 struct kgw_result *r, uint32_t *sent) {
    int16_t acks = q->body.produce.acks;
    char path[KGW_PATH_BYTES];
    uint32_t len = kgw_path(topic, p->index, path);
    uint64_t id = 0;
    bool exists = kgw_stream_find(gw, topic, p->index, &id);
    struct kafka_batch_split split;
    struct kafka_batch_view v;
    kafka_batch_split_init(&split, p->records);
    for (uint32_t i = 0; kafka_batch_split_next(&split, &gw->kafka->limits, &v) == STROM_OK; i++) {
        if (i < *sent) {
            continue;
        }
        bool idem = v.header.producer_id >= 0 && v.header.base_sequence >= 0;
        struct node_request req = {
            .stream_id = exists ? id : 0,
            .producer_id = idem ? producer_map(v.header.producer_id, v.header.producer_epoch) : 0,
            .sequence = idem ? (uint64_t)v.header.base_sequence : 0,
            .span = (uint32_t)v.header.record_count,
            .count = (uint32_t)v.header.record_count,
            .messages_bytes = v.bytes,
            .path_len = exists ? 0 : (uint16_t)len,
            .ack = 1,
            .flags = (uint8_t)(NODE_FLAG_KAFKA | (acks == -1 ? NODE_FLAG_SYNC : 0))};
        strom_err err = kgw_submit(gw, c, NODE_ENTRY_APPEND, &req, path, v.data, seq,
                                   r != NULL ? KGW_TAG_UNIT : KGW_TAG_IGNORE, acks == -1);
        if (err == STROM_ERR_AGAIN) {
            return err;
        }
        if (err && r != NULL && r->error == KAFKA_ERR_NONE) {
            r->error = kafka_error_from_strom(err);
        }
        if (r != NULL && !err) {
            r->pending++;
        }
        (*sent)++;
        gw->counters->appends++;
    }
    return STROM_OK;
}

strom_err kgw_produce_submit(struct gateway *gw, struct gw_conn *c, struct kgw_inflight *f,
                             const struct kafka_request *q) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    const struct kafka_produce_request *m = &q->body.produce;
    uint32_t u = 0;
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_produce_topic *topic = &m->topics[t];
        for (int32_t i = 0; i < topic->partitions_count; i++, u++) {
            if (u < f->units_done) {
                continue;
            }
            const struct kafka_produce_partition *p = &topic->partitions[i];
            uint64_t seq = f->results_start + u;
            struct kgw_result *r = f->units > 0 ? &kc->results[seq % KGW_RESULTS_MAX] : NULL;
            int16_t error = f->subs_done == 0 ? produce_check(gw, q, topic->name, p) : 0;
            if (r != NULL && error != KAFKA_ERR_NONE) {
                r->error = error;
            }
            strom_err err = error == KAFKA_ERR_NONE
                                ? produce_batches(gw, c, q, topic->name, p, seq, r, &f->subs_done)
                                : STROM_OK;
            if (err) {
                return err;
            }
            f->units_done++;
            f->subs_done = 0;
            if (r != NULL) {
                r->submitting = false;
                f->units_left -= r->pending == 0 ? 1 : 0;
            }
        }
    }
    return STROM_OK;
}

bool kgw_produce_respond(struct gateway *gw, struct gw_conn *c, const struct kgw_inflight *f,
                         const struct kafka_request *q) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    const struct kafka_produce_request *m = &q->body.produce;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_produce_response *b = &r.body.produce;
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    uint32_t u = 0;
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_produce_topic *topic = &m->topics[t];
        struct kafka_produce_topic_response *rt = &b->topics[t];
        rt->name = topic->name;
        rt->partitions_count = topic->partitions_count;
        rt->partitions = kgw_alloc(gw, (size_t)topic->partitions_count, sizeof *rt->partitions);
        for (int32_t i = 0; i < topic->partitions_count; i++, u++) {
            const struct kgw_result *res =
                u < f->units ? &kc->results[(f->results_start + u) % KGW_RESULTS_MAX] : NULL;
            int16_t error = res != NULL ? res->error : (int16_t)KAFKA_ERR_POLICY_VIOLATION;
            uint64_t id = 0;
            int64_t start = kgw_stream_find(gw, topic->name, topic->partitions[i].index, &id)
                                ? (int64_t)registry_stream(&gw->registry, id)->first_offset
                                : -1;
            rt->partitions[i] = (struct kafka_produce_partition_response){
                .index = topic->partitions[i].index,
                .error_code = error,
                .base_offset = error == KAFKA_ERR_NONE ? res->base_offset : -1,
                .log_append_time_ms = -1,
                .log_start_offset = start};
        }
    }
    return kgw_send(gw, c, &r);
}

/* --- Fetch ------------------------------------------------------------------------------------ */

/* A Fetch response being filled: record sets go to fetch_buf back to back. */
struct fetch_fill {
    uint32_t used;          /* bytes of fetch_buf taken */
    uint32_t budget;        /* bytes the request may still take (max_bytes) */
    bool any;               /* some partition has records: the "at least one batch" rule is spent */
    bool error;             /* some partition has an error: answer at once */
    struct kgw_park *watch; /* where the streams read and their watermarks are noted */
};

/* Notes a stream the fetch read up to hw, for its wake-up if it parks. */
static void fetch_watch(struct fetch_fill *ff, uint64_t id, uint64_t hw) {
    struct kgw_park *p = ff->watch;
    if (p->watch_count < KGW_FETCH_WATCH_MAX) {
        p->watch_id[p->watch_count] = id;
        p->watch_hw[p->watch_count] = hw;
        p->watch_count++;
    } else {
        p->watch_all = true;
    }
}

/* How many more bytes a partition that took `taken` of its `limit` may take now; UINT32_MAX
 * marks the first batch of the response, taken whatever its size. */
static uint32_t fetch_room(const struct fetch_fill *ff, uint32_t taken, uint32_t limit) {
    if (!ff->any && taken == 0) {
        return UINT32_MAX;
    }
    uint32_t room = limit > taken ? limit - taken : 0;
    return room < ff->budget ? room : ff->budget;
}

/* Takes batch sb (payload in gw->scratch) from offset *next on into the fill. false: full. */
static bool fetch_take(struct gateway *gw, struct fetch_fill *ff, const struct store_batch *sb,
                       uint64_t *next, uint32_t *taken, uint32_t limit) {
    struct kgw *k = gw->kafka;
    const struct node_batch *b = (const struct node_batch *)(const void *)gw->scratch;
    const uint8_t *set = gw->scratch + sizeof *b;
    uint64_t end = sb->base_offset + sb->message_count;
    while (*next < end) {
        uint32_t room = fetch_room(ff, *taken, limit);
        uint32_t cap = k->fetch_cap - ff->used;
        size_t len = 0;
        uint64_t piece_end = end;
        if (b->flags & NODE_FLAG_KAFKA) {
            len = b->messages_bytes; /* stored as it came: served whole */
            if (len > room || len > cap) {
                return false;
            }
            memcpy(k->fetch_buf + ff->used, set, len);
        } else {
            struct kconv_native n = {set,
                                     b->messages_bytes,
                                     b->count,
                                     b->base_offset,
                                     b->timestamp_ns,
                                     (int32_t)b->epoch};
            uint32_t most = room < cap ? room : cap;
            if (most < KAFKA_BATCH_HEADER_BYTES + 64 ||
                kconv_native_to_kafka(&n, *next, most, &k->build, k->fetch_buf + ff->used, cap,
                                      &len, &piece_end) != STROM_OK) {
                return false;
            }
        }
        ff->used += (uint32_t)len;
        ff->budget -= len < ff->budget ? (uint32_t)len : ff->budget;
        ff->any = true;
        *taken += (uint32_t)len;
        *next = piece_end;
    }
    return true;
}

/* Reads the partition's batches from offset next up to hw into the fill. */
static int16_t fetch_read(struct gateway *gw, struct fetch_fill *ff, uint64_t id, uint64_t next,
                          uint64_t hw, uint32_t limit, uint32_t *taken) {
    struct store *s = gw_store_of(gw, id);
    struct store_cursor *cur = &gw->kafka->cursor;
    if (s == NULL || gw_store_refresh(gw, id, s) != STROM_OK) {
        return KAFKA_ERR_NONE; /* not readable yet: nothing this time */
    }
    store_cursor_init(cur, id, next);
    while (next < hw) {
        struct store_batch sb;
        strom_err err =
            store_cursor_next(s, cur, &sb, gw->scratch, gw->config->frame_bytes_max + 4096);
        const struct node_batch *b = (const struct node_batch *)(const void *)gw->scratch;
        if (err == STROM_ERR_END) {
            return KAFKA_ERR_NONE;
        }
        if (err == STROM_ERR_OUT_OF_RANGE) {
            return KAFKA_ERR_OFFSET_OUT_OF_RANGE;
        }
        if (err || sb.payload_bytes < sizeof *b ||
            sb.payload_bytes != sizeof *b + b->messages_bytes || b->base_offset != sb.base_offset ||
            b->count != sb.message_count) {
            return KAFKA_ERR_KAFKA_STORAGE_ERROR;
        }
        if (sb.base_offset >= hw || !fetch_take(gw, ff, &sb, &next, taken, limit)) {
            return KAFKA_ERR_NONE;
        }
    }
    return KAFKA_ERR_NONE;
}

static int16_t fetch_epoch_check(int32_t asked, uint32_t epoch) {
    if (asked < 0 || (uint32_t)asked == epoch) {
        return KAFKA_ERR_NONE;
    }
    return (uint32_t)asked < epoch ? KAFKA_ERR_FENCED_LEADER_EPOCH : KAFKA_ERR_UNKNOWN_LEADER_EPOCH;
}

static void fetch_partition(struct gateway *gw, struct fetch_fill *ff, struct kafka_str topic,
                            const struct kafka_fetch_partition *fp,
                            struct kafka_fetch_partition_response *rp) {
    *rp = (struct kafka_fetch_partition_response){.partition = fp->partition,
                                                  .high_watermark = -1,
                                                  .last_stable_offset = -1,
                                                  .log_start_offset = -1,
                                                  .aborted_transactions_count = -1,
                                                  .preferred_read_replica = -1,
                                                  .records = {NULL, -1}};
    uint64_t id = 0;
    if (!kgw_stream_find(gw, topic, fp->partition, &id)) {
        rp->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else {
        const struct node_stream *st = registry_stream(&gw->registry, id);
        uint64_t hw = __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE);
        uint64_t first = __atomic_load_n(&st->first_offset, __ATOMIC_ACQUIRE);
        rp->high_watermark = rp->last_stable_offset = (int64_t)hw;
        fetch_watch(ff, id, hw);
        rp->log_start_offset = (int64_t)first;
        rp->error_code = fetch_epoch_check(fp->current_leader_epoch, st->epoch);
        if (rp->error_code == KAFKA_ERR_NONE &&
            (fp->fetch_offset < (int64_t)first || fp->fetch_offset > (int64_t)hw)) {
            rp->error_code = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
        }
        if (rp->error_code == KAFKA_ERR_NONE) {
            uint32_t start = ff->used, taken = 0;
            uint32_t limit = fp->partition_max_bytes > 0 ? (uint32_t)fp->partition_max_bytes : 0;
            rp->error_code = fetch_read(gw, ff, id, (uint64_t)fp->fetch_offset, hw, limit, &taken);
            rp->records = kafka_bytes_of(gw->kafka->fetch_buf + start, taken);
        }
    }
    ff->error |= rp->error_code != KAFKA_ERR_NONE;
}

/* Encodes the response with room for its record sets asked first. */
static bool fetch_send(struct gateway *gw, struct gw_conn *c, const struct kafka_response *r,
                       uint32_t records) {
    uint64_t hint = (uint64_t)records + KGW_RESPONSE_HINT;
    uint32_t most = gw->config->frame_bytes_max;
    if (!gw_out_reserve(gw, c, (uint32_t)(hint < most ? hint : most), false)) {
        return false;
    }
    return kgw_send(gw, c, r);
}

/* The bytes of record sets a response to m may hold: a frame less its other fields (the part of
 * those beyond the reserve comes out of the record sets). */
static uint32_t fetch_records_cap(const struct gateway *gw, const struct kafka_fetch_request *m) {
    uint64_t overhead = 1024;
    for (int32_t t = 0; t < m->topics_count; t++) {
        overhead +=
            (uint64_t)m->topics[t].topic.len + 16 + 64u * (uint64_t)m->topics[t].partitions_count;
    }
    const struct kgw *k = gw->kafka;
    uint64_t beyond = overhead > k->reserve_bytes ? overhead - k->reserve_bytes : 0;
    return beyond < k->fetch_cap ? k->fetch_cap - (uint32_t)beyond : 0;
}

enum kgw_done kgw_fetch(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q) {
    const struct kafka_fetch_request *m = &q->body.fetch;
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    int32_t wait_ms = m->max_wait_ms < 0 ? 0 : m->max_wait_ms;
    wait_ms = wait_ms < KGW_FETCH_WAIT_MAX_MS ? wait_ms : KGW_FETCH_WAIT_MAX_MS;
    uint64_t deadline = kgw_park_is(kc, &q->header) ? kc->park.deadline_ns
                                                    : gw->now_ns + (uint64_t)wait_ms * 1000000u;
    uint32_t cap = fetch_records_cap(gw, m);
    uint32_t max = m->max_bytes > 0 && (uint32_t)m->max_bytes < cap ? (uint32_t)m->max_bytes : cap;
    struct kgw_park watch = {0};
    struct fetch_fill ff = {.budget = max, .watch = &watch};
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_fetch_response *b = &r.body.fetch;
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_fetch_topic *ft = &m->topics[t];
        b->topics[t].topic = ft->topic;
        b->topics[t].partitions_count = ft->partitions_count;
        b->topics[t].partitions =
            kgw_alloc(gw, (size_t)ft->partitions_count, sizeof *b->topics[t].partitions);
        for (int32_t p = 0; p < ft->partitions_count; p++) {
            fetch_partition(gw, &ff, ft->topic, &ft->partitions[p], &b->topics[t].partitions[p]);
        }
    }
    bool enough = ff.error || ff.used >= (uint32_t)(m->min_bytes > 0 ? m->min_bytes : 0);
    if (!enough && gw->now_ns < deadline) {
        kgw_park(gw, c, &q->header, KGW_WAIT_FETCH, deadline);
        kc->park.watch_count = watch.watch_count;
        kc->park.watch_all = watch.watch_all;
        memcpy(kc->park.watch_id, watch.watch_id, sizeof watch.watch_id);
        memcpy(kc->park.watch_hw, watch.watch_hw, sizeof watch.watch_hw);
        return KGW_PARKED;
    }
    return fetch_send(gw, c, &r, ff.used) ? KGW_DONE : KGW_ROOM;
}

/* --- ListOffsets ------------------------------------------------------------------------------ */

/* The largest timestamp (ms) of a stored batch. */
static int64_t batch_max_ms(const struct node_batch *b, const uint8_t *set) {
    if (b->flags & NODE_FLAG_KAFKA) {
        struct kafka_batch_header h;
        return kafka_batch_header_read(set, b->messages_bytes, &h) == STROM_OK ? h.max_timestamp
                                                                               : -1;
    }
    int64_t most = (int64_t)(b->timestamp_ns / 1000000u);
    struct msgset_iter it;
    struct msgset_msg msg;
    msgset_iter_init(&it, set, b->messages_bytes, b->count);
    while (msgset_next(&it, &msg) == STROM_OK) {
        int64_t ms = msg.client_ts_ns ? (int64_t)(msg.client_ts_ns / 1000000u) : most;
        most = ms > most ? ms : most;
    }
    return most;
}

/* The first batch of the stream whose records reach timestamp ms: its base offset, or -1. */
static int64_t offset_for_time(struct gateway *gw, uint64_t id, uint64_t first, uint64_t hw,
                               int64_t ms) {
    struct store *s = gw_store_of(gw, id);
    struct store_cursor *cur = &gw->kafka->cursor;
    if (s == NULL || gw_store_refresh(gw, id, s) != STROM_OK) {
        return -1;
    }
    store_cursor_init(cur, id, first);
    for (uint32_t n = 0; n < KGW_LIST_SCAN_MAX; n++) {
        struct store_batch sb;
        const struct node_batch *b = (const struct node_batch *)(const void *)gw->scratch;
        if (store_cursor_next(s, cur, &sb, gw->scratch, gw->config->frame_bytes_max + 4096) ||
            sb.base_offset >= hw || sb.payload_bytes != sizeof *b + b->messages_bytes) {
            return -1;
        }
        if (batch_max_ms(b, gw->scratch + sizeof *b) >= ms) {
            return (int64_t)sb.base_offset;
        }
    }
    return -1;
}

static void list_partition(struct gateway *gw, struct kafka_str topic,
                           const struct kafka_list_offsets_partition *p,
                           struct kafka_list_offsets_partition_response *rp) {
    *rp = (struct kafka_list_offsets_partition_response){
        .partition_index = p->partition_index, .timestamp = -1, .offset = -1};
    uint64_t id = 0;
    if (!kgw_stream_find(gw, topic, p->partition_index, &id)) {
        rp->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    const struct node_stream *st = registry_stream(&gw->registry, id);
    uint64_t hw = __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE);
    uint64_t first = __atomic_load_n(&st->first_offset, __ATOMIC_ACQUIRE);
    if (p->timestamp == -1) {
        rp->offset = (int64_t)hw;
    } else if (p->timestamp == -2) {
        rp->offset = (int64_t)first;
    } else {
        rp->offset = offset_for_time(gw, id, first, hw, p->timestamp);
        rp->timestamp = rp->offset >= 0 ? p->timestamp : -1;
    }
    rp->old_style_offsets_count = rp->offset >= 0 ? 1 : 0;
    rp->old_style_offsets = kgw_alloc(gw, 1, sizeof(int64_t));
    rp->old_style_offsets[0] = rp->offset;
}

enum kgw_done kgw_list_offsets(struct gateway *gw, struct gw_conn *c,
                               const struct kafka_request *q) {
    const struct kafka_list_offsets_request *m = &q->body.list_offsets;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_list_offsets_response *b = &r.body.list_offsets;
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_list_offsets_topic *lt = &m->topics[t];
        struct kafka_list_offsets_topic_response *rt = &b->topics[t];
        rt->name = lt->name;
        rt->partitions_count = lt->partitions_count;
        rt->partitions = kgw_alloc(gw, (size_t)lt->partitions_count, sizeof *rt->partitions);
        for (int32_t p = 0; p < lt->partitions_count; p++) {
            list_partition(gw, lt->name, &lt->partitions[p], &rt->partitions[p]);
        }
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}

/* --- InitProducerId --------------------------------------------------------------------------- */

/* A producer id unique on this node: microseconds of the wall clock times 16 plus the gateway
 * (at most 16), above the last one this gateway handed out. */
enum kgw_done kgw_init_producer_id(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q) {
    const struct kafka_init_producer_id_request *m = &q->body.init_producer_id;
    struct kgw *k = gw->kafka;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_init_producer_id_response *b = &r.body.init_producer_id;
    _Static_assert(NODE_GATEWAYS_MAX <= 16, "four bits of a producer id name the gateway");
    if (m->transactional_id.len >= 0) {
        b->error_code = KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* no transactions */
        b->producer_id = -1;
        b->producer_epoch = -1;
    } else {
        uint64_t id = (io_clock_realtime_ns(gw->io) / 1000u) * 16u + gw->index;
        id = id > k->producer_id_last ? id : k->producer_id_last + 16u;
        k->producer_id_last = id;
        b->producer_id = (int64_t)id;
        b->producer_epoch = 0;
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}
