/*
 * requests.c: the request bodies of every served Kafka API, each described once for both
 * directions (see codec.h), and the frame-level decode and encode of requests (messages.h).
 *
 * Field order and version ranges follow Apache Kafka's <Name>Request.json files. Each visiting
 * function reads c->version; the caller has checked it against the API table.
 */
#include <string.h>

#include "base/assert.h"
#include "kafka/codec.h"
#include "kafka/messages.h"

/* --- Produce ------------------------------------------------------------------------------- */

static void produce_topic(struct kafka_codec *c, struct kafka_produce_topic *t) {
    kc_str(c, &t->name, false);
    KC_ARRAY(c, t->partitions, t->partitions_count, 5, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->partitions_count; i++) {
        kc_i32(c, &t->partitions[i].index);
        kc_bytes(c, &t->partitions[i].records, true, KAFKA_BYTES_FIELD_MAX);
        kc_tags(c);
    }
    kc_tags(c);
}

static void produce_request(struct kafka_codec *c, struct kafka_produce_request *m) {
    if (c->version >= 3) {
        kc_str(c, &m->transactional_id, true);
    }
    kc_i16(c, &m->acks);
    kc_i32(c, &m->timeout_ms);
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        produce_topic(c, &m->topics[i]);
    }
    kc_tags(c);
}

/* --- Fetch --------------------------------------------------------------------------------- */

static void fetch_partition(struct kafka_codec *c, struct kafka_fetch_partition *p) {
    kc_i32(c, &p->partition);
    if (c->version >= 9) {
        kc_i32(c, &p->current_leader_epoch);
    }
    kc_i64(c, &p->fetch_offset);
    if (c->version >= 5) {
        kc_i64(c, &p->log_start_offset);
    }
    kc_i32(c, &p->partition_max_bytes);
    kc_tags(c);
}

static void fetch_topic(struct kafka_codec *c, struct kafka_fetch_topic *t) {
    kc_str(c, &t->topic, false);
    KC_ARRAY(c, t->partitions, t->partitions_count, 16, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->partitions_count; i++) {
        fetch_partition(c, &t->partitions[i]);
    }
    kc_tags(c);
}

static void fetch_request(struct kafka_codec *c, struct kafka_fetch_request *m) {
    kc_i32(c, &m->replica_id);
    kc_i32(c, &m->max_wait_ms);
    kc_i32(c, &m->min_bytes);
    if (c->version >= 3) {
        kc_i32(c, &m->max_bytes);
    }
    if (c->version >= 4) {
        kc_i8(c, &m->isolation_level);
    }
    if (c->version >= 7) {
        kc_i32(c, &m->session_id);
        kc_i32(c, &m->session_epoch);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        fetch_topic(c, &m->topics[i]);
    }
    if (c->version >= 7) {
        KC_ARRAY(c, m->forgotten_topics, m->forgotten_topics_count, 2, KAFKA_TOPICS_MAX, false);
        for (int32_t i = 0; i < m->forgotten_topics_count; i++) {
            struct kafka_fetch_forgotten_topic *f = &m->forgotten_topics[i];
            kc_str(c, &f->topic, false);
            kc_i32_array(c, &f->partitions, &f->partitions_count, KAFKA_PARTITIONS_MAX, false);
            kc_tags(c);
        }
    }
    if (c->version >= 11) {
        kc_str(c, &m->rack_id, false);
    }
    kc_tags(c);
}

/* --- ListOffsets --------------------------------------------------------------------------- */

static void list_offsets_topic(struct kafka_codec *c, struct kafka_list_offsets_topic *t) {
    kc_str(c, &t->name, false);
    KC_ARRAY(c, t->partitions, t->partitions_count, 12, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->partitions_count; i++) {
        struct kafka_list_offsets_partition *p = &t->partitions[i];
        kc_i32(c, &p->partition_index);
        kc_i64(c, &p->timestamp);
        if (c->version == 0) {
            kc_i32(c, &p->max_num_offsets);
        }
        kc_tags(c);
    }
    kc_tags(c);
}

static void list_offsets_request(struct kafka_codec *c, struct kafka_list_offsets_request *m) {
    kc_i32(c, &m->replica_id);
    if (c->version >= 2) {
        kc_i8(c, &m->isolation_level);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        list_offsets_topic(c, &m->topics[i]);
    }
    kc_tags(c);
}

/* --- Metadata ------------------------------------------------------------------------------ */

static void metadata_request(struct kafka_codec *c, struct kafka_metadata_request *m) {
    KC_ARRAY(c, m->topics, m->topics_count, 1, KAFKA_TOPICS_MAX, c->version >= 1);
    for (int32_t i = 0; i < m->topics_count; i++) {
        kc_str(c, &m->topics[i], false);
        kc_tags(c);
    }
    if (c->version >= 4) {
        kc_bool(c, &m->allow_auto_topic_creation);
    }
    if (c->version >= 8) {
        kc_bool(c, &m->include_cluster_authorized_operations);
        kc_bool(c, &m->include_topic_authorized_operations);
    }
    kc_tags(c);
}

/* --- OffsetCommit -------------------------------------------------------------------------- */

static void offset_commit_topic(struct kafka_codec *c, struct kafka_offset_commit_topic *t) {
    kc_str(c, &t->name, false);
    KC_ARRAY(c, t->partitions, t->partitions_count, 13, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->partitions_count; i++) {
        struct kafka_offset_commit_partition *p = &t->partitions[i];
        kc_i32(c, &p->partition_index);
        kc_i64(c, &p->committed_offset);
        if (c->version >= 6) {
            kc_i32(c, &p->committed_leader_epoch);
        }
        kc_str(c, &p->committed_metadata, true);
        kc_tags(c);
    }
    kc_tags(c);
}

static void offset_commit_request(struct kafka_codec *c, struct kafka_offset_commit_request *m) {
    kc_str(c, &m->group_id, false);
    if (c->version >= 1) {
        kc_i32(c, &m->generation_id);
        kc_str(c, &m->member_id, false);
    }
    if (c->version >= 7) {
        kc_str(c, &m->group_instance_id, true);
    }
    if (c->version >= 2 && c->version <= 4) {
        kc_i64(c, &m->retention_time_ms);
    }
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        offset_commit_topic(c, &m->topics[i]);
    }
    kc_tags(c);
}

/* --- OffsetFetch --------------------------------------------------------------------------- */

static void offset_fetch_request(struct kafka_codec *c, struct kafka_offset_fetch_request *m) {
    kc_str(c, &m->group_id, false);
    KC_ARRAY(c, m->topics, m->topics_count, 2, KAFKA_TOPICS_MAX, c->version >= 2);
    for (int32_t i = 0; i < m->topics_count; i++) {
        struct kafka_offset_fetch_topic *t = &m->topics[i];
        kc_str(c, &t->name, false);
        kc_i32_array(c, &t->partition_indexes, &t->partition_indexes_count, KAFKA_PARTITIONS_MAX,
                     false);
        kc_tags(c);
    }
    kc_tags(c);
}

/* --- FindCoordinator, group membership ----------------------------------------------------- */

static void find_coordinator_request(struct kafka_codec *c,
                                     struct kafka_find_coordinator_request *m) {
    kc_str(c, &m->key, false);
    if (c->version >= 1) {
        kc_i8(c, &m->key_type);
    }
    kc_tags(c);
}

static void join_group_request(struct kafka_codec *c, struct kafka_join_group_request *m) {
    kc_str(c, &m->group_id, false);
    kc_i32(c, &m->session_timeout_ms);
    if (c->version >= 1) {
        kc_i32(c, &m->rebalance_timeout_ms);
    }
    kc_str(c, &m->member_id, false);
    if (c->version >= 5) {
        kc_str(c, &m->group_instance_id, true);
    }
    kc_str(c, &m->protocol_type, false);
    KC_ARRAY(c, m->protocols, m->protocols_count, 2, KAFKA_GROUP_PROTOCOLS_MAX, false);
    for (int32_t i = 0; i < m->protocols_count; i++) {
        kc_str(c, &m->protocols[i].name, false);
        kc_bytes(c, &m->protocols[i].metadata, false, KAFKA_BYTES_FIELD_MAX);
        kc_tags(c);
    }
    kc_tags(c);
}

static void heartbeat_request(struct kafka_codec *c, struct kafka_heartbeat_request *m) {
    kc_str(c, &m->group_id, false);
    kc_i32(c, &m->generation_id);
    kc_str(c, &m->member_id, false);
    if (c->version >= 3) {
        kc_str(c, &m->group_instance_id, true);
    }
    kc_tags(c);
}

static void leave_group_request(struct kafka_codec *c, struct kafka_leave_group_request *m) {
    kc_str(c, &m->group_id, false);
    kc_str(c, &m->member_id, false);
    kc_tags(c);
}

static void sync_group_request(struct kafka_codec *c, struct kafka_sync_group_request *m) {
    kc_str(c, &m->group_id, false);
    kc_i32(c, &m->generation_id);
    kc_str(c, &m->member_id, false);
    if (c->version >= 3) {
        kc_str(c, &m->group_instance_id, true);
    }
    KC_ARRAY(c, m->assignments, m->assignments_count, 2, KAFKA_GROUP_MEMBERS_MAX, false);
    for (int32_t i = 0; i < m->assignments_count; i++) {
        kc_str(c, &m->assignments[i].member_id, false);
        kc_bytes(c, &m->assignments[i].assignment, false, KAFKA_BYTES_FIELD_MAX);
        kc_tags(c);
    }
    kc_tags(c);
}

/* --- ApiVersions --------------------------------------------------------------------------- */

static void api_versions_request(struct kafka_codec *c, struct kafka_api_versions_request *m) {
    if (c->version >= 3) {
        kc_str(c, &m->client_software_name, false);
        kc_str(c, &m->client_software_version, false);
    }
    kc_tags(c);
}

/* --- admin --------------------------------------------------------------------------------- */

static void create_topics_topic(struct kafka_codec *c, struct kafka_create_topics_topic *t) {
    kc_str(c, &t->name, false);
    kc_i32(c, &t->num_partitions);
    kc_i16(c, &t->replication_factor);
    KC_ARRAY(c, t->assignments, t->assignments_count, 5, KAFKA_PARTITIONS_MAX, false);
    for (int32_t i = 0; i < t->assignments_count; i++) {
        struct kafka_create_topics_assignment *a = &t->assignments[i];
        kc_i32(c, &a->partition_index);
        kc_i32_array(c, &a->broker_ids, &a->broker_ids_count, KAFKA_REPLICAS_MAX, false);
        kc_tags(c);
    }
    KC_ARRAY(c, t->configs, t->configs_count, 2, KAFKA_CONFIGS_MAX, false);
    for (int32_t i = 0; i < t->configs_count; i++) {
        kc_str(c, &t->configs[i].name, false);
        kc_str(c, &t->configs[i].value, true);
        kc_tags(c);
    }
    kc_tags(c);
}

static void create_topics_request(struct kafka_codec *c, struct kafka_create_topics_request *m) {
    KC_ARRAY(c, m->topics, m->topics_count, 9, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->topics_count; i++) {
        create_topics_topic(c, &m->topics[i]);
    }
    kc_i32(c, &m->timeout_ms);
    if (c->version >= 1) {
        kc_bool(c, &m->validate_only);
    }
    kc_tags(c);
}

static void delete_topics_request(struct kafka_codec *c, struct kafka_delete_topics_request *m) {
    kc_str_array(c, &m->topic_names, &m->topic_names_count, KAFKA_TOPICS_MAX, false);
    kc_i32(c, &m->timeout_ms);
    kc_tags(c);
}

static void init_producer_id_request(struct kafka_codec *c,
                                     struct kafka_init_producer_id_request *m) {
    kc_str(c, &m->transactional_id, true);
    kc_i32(c, &m->transaction_timeout_ms);
    kc_tags(c);
}

static void describe_configs_request(struct kafka_codec *c,
                                     struct kafka_describe_configs_request *m) {
    KC_ARRAY(c, m->resources, m->resources_count, 4, KAFKA_TOPICS_MAX, false);
    for (int32_t i = 0; i < m->resources_count; i++) {
        struct kafka_describe_configs_resource *r = &m->resources[i];
        kc_i8(c, &r->resource_type);
        kc_str(c, &r->resource_name, false);
        kc_str_array(c, &r->configuration_keys, &r->configuration_keys_count, KAFKA_CONFIGS_MAX,
                     true);
        kc_tags(c);
    }
    if (c->version >= 1) {
        kc_bool(c, &m->include_synonyms);
    }
    kc_tags(c);
}

/* --- dispatch ------------------------------------------------------------------------------ */

/* Visits the body of api_key; the caller has checked that the API is served. */
static void request_body(struct kafka_codec *c, int16_t api_key, struct kafka_request *m) {
    switch (api_key) {
    case KAFKA_API_PRODUCE:
        produce_request(c, &m->body.produce);
        break;
    case KAFKA_API_FETCH:
        fetch_request(c, &m->body.fetch);
        break;
    case KAFKA_API_LIST_OFFSETS:
        list_offsets_request(c, &m->body.list_offsets);
        break;
    case KAFKA_API_METADATA:
        metadata_request(c, &m->body.metadata);
        break;
    case KAFKA_API_OFFSET_COMMIT:
        offset_commit_request(c, &m->body.offset_commit);
        break;
    case KAFKA_API_OFFSET_FETCH:
        offset_fetch_request(c, &m->body.offset_fetch);
        break;
    case KAFKA_API_FIND_COORDINATOR:
        find_coordinator_request(c, &m->body.find_coordinator);
        break;
    case KAFKA_API_JOIN_GROUP:
        join_group_request(c, &m->body.join_group);
        break;
    case KAFKA_API_HEARTBEAT:
        heartbeat_request(c, &m->body.heartbeat);
        break;
    case KAFKA_API_LEAVE_GROUP:
        leave_group_request(c, &m->body.leave_group);
        break;
    case KAFKA_API_SYNC_GROUP:
        sync_group_request(c, &m->body.sync_group);
        break;
    case KAFKA_API_API_VERSIONS:
        api_versions_request(c, &m->body.api_versions);
        break;
    case KAFKA_API_CREATE_TOPICS:
        create_topics_request(c, &m->body.create_topics);
        break;
    case KAFKA_API_DELETE_TOPICS:
        delete_topics_request(c, &m->body.delete_topics);
        break;
    case KAFKA_API_INIT_PRODUCER_ID:
        init_producer_id_request(c, &m->body.init_producer_id);
        break;
    case KAFKA_API_DESCRIBE_CONFIGS:
        describe_configs_request(c, &m->body.describe_configs);
        break;
    default:
        strom_unreachable();
    }
}

/* Checks api_key and version against the table: UNSUPPORTED or UNSUPPORTED_VERSION. */
static strom_err check_served(int16_t api_key, int16_t version) {
    if (kafka_api_find(api_key) == NULL) {
        return STROM_ERR_UNSUPPORTED;
    }
    return kafka_api_supported(api_key, version) ? STROM_OK : STROM_ERR_UNSUPPORTED_VERSION;
}

strom_err kafka_request_decode(const uint8_t *frame, size_t frame_bytes, struct kafka_arena *arena,
                               struct kafka_request *out) {
    strom_assert(frame != NULL || frame_bytes == 0);
    strom_assert(out != NULL);
    memset(out, 0, sizeof *out);
    struct kafka_codec c;
    kafka_codec_init_read(&c, frame, frame_bytes, arena);
    struct kafka_request_header *h = &out->header;
    h->api_key = kafka_read_i16(&c.r);
    h->api_version = kafka_read_i16(&c.r);
    h->correlation_id = kafka_read_i32(&c.r);
    if (c.r.err != STROM_OK) {
        return c.r.err;
    }
    strom_err err = check_served(h->api_key, h->api_version);
    if (err != STROM_OK && h->api_key == KAFKA_API_API_VERSIONS) {
        return err; /* KIP-511: answered from these 8 bytes alone */
    }
    /* client_id keeps its int16 length even in header v2 (RequestHeader.json). */
    kafka_read_string(&c.r, false, true, &h->client_id);
    if (err != STROM_OK || c.r.err != STROM_OK) {
        return c.r.err != STROM_OK ? c.r.err : err;
    }
    c.version = h->api_version;
    c.flexible = kafka_api_flexible(h->api_key, h->api_version);
    if (c.flexible) {
        kafka_read_tagged_fields(&c.r);
    }
    request_body(&c, h->api_key, out);
    if (c.r.err == STROM_OK && kafka_reader_left(&c.r) != 0) {
        kafka_reader_fail(&c.r, STROM_ERR_PROTOCOL); /* trailing bytes: not the declared body */
    }
    return c.r.err;
}

strom_err kafka_request_encode(const struct kafka_request *req, uint8_t *buf, size_t cap,
                               size_t *len_out) {
    strom_assert(req != NULL && len_out != NULL);
    const struct kafka_request_header *h = &req->header;
    strom_err err = check_served(h->api_key, h->api_version);
    if (err != STROM_OK) {
        return err;
    }
    struct kafka_codec c;
    kafka_codec_init_write(&c, buf,
                           cap > INT32_MAX ? INT32_MAX : cap); /* a frame's size is int32 */
    c.version = h->api_version;
    c.flexible = kafka_api_flexible(h->api_key, h->api_version);
    size_t size_at = kafka_writer_reserve_i32(&c.w);
    kafka_write_i16(&c.w, h->api_key);
    kafka_write_i16(&c.w, h->api_version);
    kafka_write_i32(&c.w, h->correlation_id);
    kafka_write_string(&c.w, false, true, h->client_id);
    if (c.flexible) {
        kafka_write_tagged_fields_empty(&c.w);
    }
    /* The codec does not write to the struct when encoding (codec.h): the cast is safe. */
    request_body(&c, h->api_key, (struct kafka_request *)req);
    kafka_writer_patch_i32(&c.w, size_at, (int32_t)(c.w.pos - KAFKA_FRAME_PREFIX_BYTES));
    *len_out = c.w.err == STROM_OK ? c.w.pos : 0;
    return c.w.err;
}
