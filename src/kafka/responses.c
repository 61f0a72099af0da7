/*
 * responses.c: the response bodies of every served Kafka API, each described once for both
 * directions (see codec.h), and the frame-level encode and decode of responses (messages.h).
 *
 * Field order and version ranges follow Apache Kafka's <Name>Response.json files.
 */
#include <string.h>

#include "base/assert.h"
#include "kafka/codec.h"
#include "kafka/messages.h"

/* --- Produce ------------------------------------------------------------------------------- */

static void produce_partition_response(struct kafka_codec *c,
                                       struct kafka_produce_partition_response *p) {
    kc_i32(c, &p->index);
    kc_i16(c, &p->error_code);
    kc_i64(c, &p->base_offset);
    if (c->version >= 2) {
        kc_i64(c, &p->log_append_time_ms);
    }
    if (c->version >= 5) {
        kc_i64(c, &p->log_start_offset);
    }
    kc_tags(c);
}

static void produce_response(struct kafka_codec *c, struct kafka_produce_response *m) {
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_produce_topic_response *t = &m->topics[i];
        kc_str(c, &t->name, false);
        KC_ARRAY(c, t->partitions, t->partitions_count, 14, KAFKA_PARTITIONS_MAX, false);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            produce_partition_response(c, &t->partitions[j]);
        }
        kc_tags(c);
    }
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    kc_tags(c);
}

/* --- Fetch --------------------------------------------------------------------------------- */

/* The record set: one bytes field, written from one view or gathered from segments. */
static void fetch_records(struct kafka_codec *c, struct kafka_fetch_partition_response *p) {
    if (!c->writing || p->record_segments_count <= 0) {
        kc_bytes(c, &p->records, true, KAFKA_BYTES_FIELD_MAX);
        return;
    }
    if (p->record_segments_count > KAFKA_RECORD_SEGMENTS_MAX) {
        kafka_writer_fail(&c->w, STROM_ERR_TOO_LARGE);
        return;
    }
    uint64_t total = 0;
    for (int32_t i = 0; i < p->record_segments_count; i++) {
        strom_assert(p->record_segments[i].len >= 0);
        total += (uint64_t)p->record_segments[i].len;
    }
    if (total > INT32_MAX - 1) {
        kafka_writer_fail(&c->w, STROM_ERR_TOO_LARGE);
        return;
    }
    if (c->flexible) {
        kafka_write_uvarint(&c->w, (uint32_t)total + 1);
    } else {
        kafka_write_i32(&c->w, (int32_t)total);
    }
    for (int32_t i = 0; i < p->record_segments_count; i++) {
        kafka_write_raw(&c->w, p->record_segments[i].ptr, (size_t)p->record_segments[i].len);
    }
}

static void fetch_partition_response(struct kafka_codec *c,
                                     struct kafka_fetch_partition_response *p) {
    kc_i32(c, &p->partition);
    kc_i16(c, &p->error_code);
    kc_i64(c, &p->high_watermark);
    if (c->version >= 4) {
        kc_i64(c, &p->last_stable_offset);
    }
    if (c->version >= 5) {
        kc_i64(c, &p->log_start_offset);
    }
    if (c->version >= 4) {
        KC_ARRAY(c, p->aborted_transactions, p->aborted_transactions_count, 16,
                 KAFKA_ABORTED_TXNS_MAX, true);
        for (int32_t i = 0; i < p->aborted_transactions_count; i++) {
            kc_i64(c, &p->aborted_transactions[i].producer_id);
            kc_i64(c, &p->aborted_transactions[i].first_offset);
            kc_tags(c);
        }
    }
    if (c->version >= 11) {
        kc_i32(c, &p->preferred_read_replica);
    }
    fetch_records(c, p);
    kc_tags(c);
}

static void fetch_response(struct kafka_codec *c, struct kafka_fetch_response *m) {
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    if (c->version >= 7) {
        kc_i16(c, &m->error_code);
        kc_i32(c, &m->session_id);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_fetch_topic_response *t = &m->topics[i];
        kc_str(c, &t->topic, false);
        KC_ARRAY(c, t->partitions, t->partitions_count, 18, KAFKA_PARTITIONS_MAX, false);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            fetch_partition_response(c, &t->partitions[j]);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

/* --- ListOffsets --------------------------------------------------------------------------- */

static void list_offsets_partition_response(struct kafka_codec *c,
                                            struct kafka_list_offsets_partition_response *p) {
    kc_i32(c, &p->partition_index);
    kc_i16(c, &p->error_code);
    if (c->version == 0) {
        kc_i64_array(c, &p->old_style_offsets, &p->old_style_offsets_count, KAFKA_OLD_OFFSETS_MAX);
    } else {
        kc_i64(c, &p->timestamp);
        kc_i64(c, &p->offset);
    }
    kc_tags(c);
}

static void list_offsets_response(struct kafka_codec *c, struct kafka_list_offsets_response *m) {
    if (c->version >= 2) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_list_offsets_topic_response *t = &m->topics[i];
        kc_str(c, &t->name, false);
        KC_ARRAY(c, t->partitions, t->partitions_count, 6, KAFKA_PARTITIONS_MAX, false);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            list_offsets_partition_response(c, &t->partitions[j]);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

/* --- Metadata ------------------------------------------------------------------------------ */

static void metadata_partition(struct kafka_codec *c, struct kafka_metadata_partition *p) {
    kc_i16(c, &p->error_code);
    kc_i32(c, &p->partition_index);
    kc_i32(c, &p->leader_id);
    if (c->version >= 7) {
        kc_i32(c, &p->leader_epoch);
    }
    kc_i32_array(c, &p->replica_nodes, &p->replica_nodes_count, KAFKA_REPLICAS_MAX, false);
    kc_i32_array(c, &p->isr_nodes, &p->isr_nodes_count, KAFKA_REPLICAS_MAX, false);
    if (c->version >= 5) {
        kc_i32_array(c, &p->offline_replicas, &p->offline_replicas_count, KAFKA_REPLICAS_MAX,
                     false);
    }
    kc_tags(c);
}

static void metadata_topic(struct kafka_codec *c, struct kafka_metadata_topic *t) {
    kc_i16(c, &t->error_code);
    kc_str(c, &t->name, false);
    if (c->version >= 1) {
        kc_bool(c, &t->is_internal);
    }
    KC_ARRAY(c, t->partitions, t->partitions_count, 12, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->partitions_count; i++) {
        metadata_partition(c, &t->partitions[i]);
    }
    if (c->version >= 8) {
        kc_i32(c, &t->topic_authorized_operations);
    }
    kc_tags(c);
}

static void metadata_response(struct kafka_codec *c, struct kafka_metadata_response *m) {
    if (c->version >= 3) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->brokers, m->brokers_count, 9, KAFKA_BROKERS_MAX, false);
    for (int32_t i = 0; i < m->brokers_count; i++) {
        struct kafka_metadata_broker *b = &m->brokers[i];
        kc_i32(c, &b->node_id);
        kc_str(c, &b->host, false);
        kc_i32(c, &b->port);
        if (c->version >= 1) {
            kc_str(c, &b->rack, true);
        }
        kc_tags(c);
    }
    if (c->version >= 2) {
        kc_str(c, &m->cluster_id, true);
    }
    if (c->version >= 1) {
        kc_i32(c, &m->controller_id);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 4, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        metadata_topic(c, &m->topics[i]);
    }
    if (c->version >= 8) {
        kc_i32(c, &m->cluster_authorized_operations);
    }
    kc_tags(c);
}

/* --- OffsetCommit, OffsetFetch ------------------------------------------------------------- */

static void offset_commit_response(struct kafka_codec *c, struct kafka_offset_commit_response *m) {
    if (c->version >= 3) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_offset_commit_topic_response *t = &m->topics[i];
        kc_str(c, &t->name, false);
        KC_ARRAY(c, t->partitions, t->partitions_count, 6, KAFKA_PARTITIONS_MAX, false);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            kc_i32(c, &t->partitions[j].partition_index);
            kc_i16(c, &t->partitions[j].error_code);
            kc_tags(c);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

static void offset_fetch_partition_response(struct kafka_codec *c,
                                            struct kafka_offset_fetch_partition_response *p) {
    kc_i32(c, &p->partition_index);
    kc_i64(c, &p->committed_offset);
    if (c->version >= 5) {
        kc_i32(c, &p->committed_leader_epoch);
    }
    kc_str(c, &p->metadata, true);
    kc_i16(c, &p->error_code);
    kc_tags(c);
}

static void offset_fetch_response(struct kafka_codec *c, struct kafka_offset_fetch_response *m) {
    if (c->version >= 3) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_offset_fetch_topic_response *t = &m->topics[i];
        kc_str(c, &t->name, false);
        KC_ARRAY(c, t->partitions, t->partitions_count, 15, KAFKA_PARTITIONS_MAX, false);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            offset_fetch_partition_response(c, &t->partitions[j]);
        }
        kc_tags(c);
    }
    if (c->version >= 2) {
        kc_i16(c, &m->error_code);
    }
    kc_tags(c);
}

/* --- FindCoordinator, group membership ----------------------------------------------------- */

static void find_coordinator_response(struct kafka_codec *c,
                                      struct kafka_find_coordinator_response *m) {
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    kc_i16(c, &m->error_code);
    if (c->version >= 1) {
        kc_str(c, &m->error_message, true);
    }
    kc_i32(c, &m->node_id);
    kc_str(c, &m->host, false);
    kc_i32(c, &m->port);
    kc_tags(c);
}

static void join_group_response(struct kafka_codec *c, struct kafka_join_group_response *m) {
    if (c->version >= 2) {
        kc_i32(c, &m->throttle_time_ms);
    }
    kc_i16(c, &m->error_code);
    kc_i32(c, &m->generation_id);
    kc_str(c, &m->protocol_name, false);
    kc_str(c, &m->leader, false);
    kc_str(c, &m->member_id, false);
    KC_ARRAY(c, m->members, m->members_count, 2, KAFKA_GROUP_MEMBERS_MAX, false);
    for (int32_t i = 0; i < m->members_count; i++) {
        struct kafka_join_group_member *mb = &m->members[i];
        kc_str(c, &mb->member_id, false);
        if (c->version >= 5) {
            kc_str(c, &mb->group_instance_id, true);
        }
        kc_bytes(c, &mb->metadata, false, KAFKA_BYTES_FIELD_MAX);
        kc_tags(c);
    }
    kc_tags(c);
}

/* Heartbeat and LeaveGroup answer with the same two fields at the versions strom serves. */
static void throttle_error_response(struct kafka_codec *c, int32_t *throttle_time_ms,
                                    int16_t *error_code) {
    if (c->version >= 1) {
        kc_i32(c, throttle_time_ms);
    }
    kc_i16(c, error_code);
    kc_tags(c);
}

static void sync_group_response(struct kafka_codec *c, struct kafka_sync_group_response *m) {
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    kc_i16(c, &m->error_code);
    kc_bytes(c, &m->assignment, false, KAFKA_BYTES_FIELD_MAX);
    kc_tags(c);
}

/* --- ApiVersions --------------------------------------------------------------------------- */

static void api_versions_response(struct kafka_codec *c, struct kafka_api_versions_response *m) {
    kc_i16(c, &m->error_code);
    KC_ARRAY(c, m->api_keys, m->api_keys_count, 6, KAFKA_API_KEYS_MAX, false);
    for (int32_t i = 0; i < m->api_keys_count; i++) {
        kc_i16(c, &m->api_keys[i].api_key);
        kc_i16(c, &m->api_keys[i].min_version);
        kc_i16(c, &m->api_keys[i].max_version);
        kc_tags(c);
    }
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    kc_tags(c);
}

/* --- admin --------------------------------------------------------------------------------- */

static void create_topics_response(struct kafka_codec *c, struct kafka_create_topics_response *m) {
    if (c->version >= 2) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 3, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        kc_str(c, &m->topics[i].name, false);
        kc_i16(c, &m->topics[i].error_code);
        if (c->version >= 1) {
            kc_str(c, &m->topics[i].error_message, true);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

static void delete_topics_response(struct kafka_codec *c, struct kafka_delete_topics_response *m) {
    if (c->version >= 1) {
        kc_i32(c, &m->throttle_time_ms);
    }
    KC_ARRAY(c, m->responses, m->responses_count, 3, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->responses_count; i++) {
        kc_str(c, &m->responses[i].name, false);
        kc_i16(c, &m->responses[i].error_code);
        kc_tags(c);
    }
    kc_tags(c);
}

static void init_producer_id_response(struct kafka_codec *c,
                                      struct kafka_init_producer_id_response *m) {
    kc_i32(c, &m->throttle_time_ms);
    kc_i16(c, &m->error_code);
    kc_i64(c, &m->producer_id);
    kc_i16(c, &m->producer_epoch);
    kc_tags(c);
}

static void describe_configs_entry(struct kafka_codec *c, struct kafka_describe_configs_entry *e) {
    kc_str(c, &e->name, false);
    kc_str(c, &e->value, true);
    kc_bool(c, &e->read_only);
    if (c->version == 0) {
        kc_bool(c, &e->is_default);
    } else {
        kc_i8(c, &e->config_source);
    }
    kc_bool(c, &e->is_sensitive);
    if (c->version >= 1) {
        KC_ARRAY(c, e->synonyms, e->synonyms_count, 3, KAFKA_CONFIGS_MAX, false);
        for (int32_t i = 0; i < e->synonyms_count; i++) {
            kc_str(c, &e->synonyms[i].name, false);
            kc_str(c, &e->synonyms[i].value, true);
            kc_i8(c, &e->synonyms[i].source);
            kc_tags(c);
        }
    }
    kc_tags(c);
}

static void describe_configs_response(struct kafka_codec *c,
                                      struct kafka_describe_configs_response *m) {
    kc_i32(c, &m->throttle_time_ms);
    KC_ARRAY(c, m->results, m->results_count, 7, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->results_count; i++) {
        struct kafka_describe_configs_result *r = &m->results[i];
        kc_i16(c, &r->error_code);
        kc_str(c, &r->error_message, true);
        kc_i8(c, &r->resource_type);
        kc_str(c, &r->resource_name, false);
        KC_ARRAY(c, r->configs, r->configs_count, 5, KAFKA_CONFIGS_MAX, false);
        for (int32_t j = 0; j < r->configs_count; j++) {
            describe_configs_entry(c, &r->configs[j]);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

/* --- dispatch ------------------------------------------------------------------------------ */

static void response_body(struct kafka_codec *c, int16_t api_key, struct kafka_response *m) {
    switch (api_key) {
    case KAFKA_API_PRODUCE:
        produce_response(c, &m->body.produce);
        break;
    case KAFKA_API_FETCH:
        fetch_response(c, &m->body.fetch);
        break;
    case KAFKA_API_LIST_OFFSETS:
        list_offsets_response(c, &m->body.list_offsets);
        break;
    case KAFKA_API_METADATA:
        metadata_response(c, &m->body.metadata);
        break;
    case KAFKA_API_OFFSET_COMMIT:
        offset_commit_response(c, &m->body.offset_commit);
        break;
    case KAFKA_API_OFFSET_FETCH:
        offset_fetch_response(c, &m->body.offset_fetch);
        break;
    case KAFKA_API_FIND_COORDINATOR:
        find_coordinator_response(c, &m->body.find_coordinator);
        break;
    case KAFKA_API_JOIN_GROUP:
        join_group_response(c, &m->body.join_group);
        break;
    case KAFKA_API_HEARTBEAT:
        throttle_error_response(c, &m->body.heartbeat.throttle_time_ms,
                                &m->body.heartbeat.error_code);
        break;
    case KAFKA_API_LEAVE_GROUP:
        throttle_error_response(c, &m->body.leave_group.throttle_time_ms,
                                &m->body.leave_group.error_code);
        break;
    case KAFKA_API_SYNC_GROUP:
        sync_group_response(c, &m->body.sync_group);
        break;
    case KAFKA_API_API_VERSIONS:
        api_versions_response(c, &m->body.api_versions);
        break;
    case KAFKA_API_CREATE_TOPICS:
        create_topics_response(c, &m->body.create_topics);
        break;
    case KAFKA_API_DELETE_TOPICS:
        delete_topics_response(c, &m->body.delete_topics);
        break;
    case KAFKA_API_INIT_PRODUCER_ID:
        init_producer_id_response(c, &m->body.init_producer_id);
        break;
    case KAFKA_API_DESCRIBE_CONFIGS:
        describe_configs_response(c, &m->body.describe_configs);
        break;
    default:
        strom_unreachable();
    }
}

/*
 * The ApiVersions fallback answers a version strom does not serve with a v0 body: encoding and
 * decoding accept version 0 of ApiVersions besides the table's range (0 is in the range today;
 * the check stays right if the range's floor ever moves).
 */
static strom_err check_response_version(int16_t api_key, int16_t version) {
    if (kafka_api_find(api_key) == NULL) {
        return STROM_ERR_UNSUPPORTED;
    }
    bool ok = kafka_api_supported(api_key, version) ||
              (api_key == KAFKA_API_API_VERSIONS && version == 0);
    return ok ? STROM_OK : STROM_ERR_UNSUPPORTED_VERSION;
}

strom_err kafka_response_encode(const struct kafka_response *resp, uint8_t *buf, size_t cap,
                                size_t *len_out) {
    strom_assert(resp != NULL && len_out != NULL);
    strom_err err = check_response_version(resp->api_key, resp->api_version);
    if (err != STROM_OK) {
        return err;
    }
    struct kafka_codec c;
    kafka_codec_init_write(&c, buf,
                           cap > INT32_MAX ? INT32_MAX : cap); /* a frame's size is int32 */
    c.version = resp->api_version;
    c.flexible = kafka_api_flexible(resp->api_key, resp->api_version);
    size_t size_at = kafka_writer_reserve_i32(&c.w);
    kafka_write_i32(&c.w, resp->correlation_id);
    if (kafka_response_header_version(resp->api_key, resp->api_version) >= 1) {
        kafka_write_tagged_fields_empty(&c.w);
    }
    /* The codec does not write to the struct when encoding (codec.h): the cast is safe. */
    response_body(&c, resp->api_key, (struct kafka_response *)resp);
    kafka_writer_patch_i32(&c.w, size_at, (int32_t)(c.w.pos - KAFKA_FRAME_PREFIX_BYTES));
    *len_out = c.w.err == STROM_OK ? c.w.pos : 0;
    return c.w.err;
}

strom_err kafka_response_decode(int16_t api_key, int16_t api_version, const uint8_t *frame,
                                size_t frame_bytes, struct kafka_arena *arena,
                                struct kafka_response *out) {
    strom_assert(out != NULL);
    memset(out, 0, sizeof *out);
    out->api_key = api_key;
    out->api_version = api_version;
    strom_err err = check_response_version(api_key, api_version);
    if (err != STROM_OK) {
        return err;
    }
    struct kafka_codec c;
    kafka_codec_init_read(&c, frame, frame_bytes, arena);
    c.version = api_version;
    c.flexible = kafka_api_flexible(api_key, api_version);
    out->correlation_id = kafka_read_i32(&c.r);
    if (kafka_response_header_version(api_key, api_version) >= 1) {
        kafka_read_tagged_fields(&c.r);
    }
    response_body(&c, api_key, out);
    if (c.r.err == STROM_OK && kafka_reader_left(&c.r) != 0) {
        kafka_reader_fail(&c.r, STROM_ERR_PROTOCOL);
    }
    return c.r.err;
}

void kafka_api_versions_fill(struct kafka_api_versions_response *body,
                             struct kafka_api_version keys[KAFKA_API_COUNT]) {
    strom_assert(body != NULL && keys != NULL);
    const struct kafka_api_info *table = kafka_api_table();
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        keys[i] = (struct kafka_api_version){.api_key = table[i].api_key,
                                             .min_version = table[i].min_version,
                                             .max_version = table[i].max_version};
    }
    *body = (struct kafka_api_versions_response){
        .error_code = KAFKA_ERR_NONE, .api_keys_count = KAFKA_API_COUNT, .api_keys = keys};
}

strom_err kafka_api_versions_fallback(int32_t correlation_id, uint8_t *buf, size_t cap,
                                      size_t *len_out) {
    struct kafka_api_version keys[KAFKA_API_COUNT];
    struct kafka_response resp = {
        .api_key = KAFKA_API_API_VERSIONS, .api_version = 0, .correlation_id = correlation_id};
    kafka_api_versions_fill(&resp.body.api_versions, keys);
    resp.body.api_versions.error_code = KAFKA_ERR_UNSUPPORTED_VERSION;
    return kafka_response_encode(&resp, buf, cap, len_out);
}
