/*
 * kgw_group.c: the group coordinator of the Kafka protocol (docs/kafka.md, "Consumer groups").
 *
 * Every gateway is a coordinator of every group, at the node's one Kafka address, because every
 * gateway folds the same group streams: a request that changes a group (JoinGroup, the leader's
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit) becomes a record of /sys/groups/<group>
 * (kgroup.h) appended through the sequencer at the sync level, the request parks, and the gateway
 * answers it when its fold of the stream (at the node log's sync cursor, or from the store when
 * it missed entries) reaches the record and yields the outcome. Requests that only read a group
 * (OffsetFetch, a follower's SyncGroup) are answered from the gateway's own fold once it caught up
 * with the stream's sync watermark. Group state and committed offsets are therefore durable and
 * survive a restart of any process or of the node; after a restart the fold replays the stream.
 *
 * A gateway holds the state of at most KGW_GROUPS_MAX groups (those its clients use); an idle
 * group is dropped for room and folded again from its stream when needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/kgw.h"
#include "node/msgset.h"
#include "node/path.h"

#define GROUPS_PREFIX "/sys/groups/"

/* --- the group slots -------------------------------------------------------------------------- */

strom_err kgw_groups_open(struct gateway *gw) {
    gw->kafka->groups = calloc(KGW_GROUPS_MAX, sizeof *gw->kafka->groups);
    return gw->kafka->groups != NULL ? STROM_OK : STROM_ERR_NO_MEMORY;
}

/* The stream path of group id: "/sys/groups/<id>" when id is made of path characters (and does
 * not start with '_'), else "/sys/groups/_<hex of id>". Returns its length, 0 when too long. */
static uint32_t group_path(struct kafka_str id, char *buf) {
    static const char hex[] = "0123456789abcdef";
    size_t n = sizeof GROUPS_PREFIX - 1;
    memcpy(buf, GROUPS_PREFIX, n);
    bool plain = id.len > 0 && id.ptr[0] != '_' && n + (size_t)id.len <= PATH_BYTES_MAX;
    for (int32_t i = 0; plain && i < id.len; i++) {
        char ch = id.ptr[i];
        plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '.' || ch == '_' || ch == '-';
    }
    plain = plain && !(id.len == 1 && id.ptr[0] == '.') &&
            !(id.len == 2 && id.ptr[0] == '.' && id.ptr[1] == '.');
    if (plain) {
        memcpy(buf + n, id.ptr, (size_t)id.len);
        return (uint32_t)(n + (size_t)id.len);
    }
    if (id.len <= 0 || n + 1 + 2 * (size_t)id.len > PATH_BYTES_MAX) {
        return 0;
    }
    buf[n++] = '_';
    for (int32_t i = 0; i < id.len; i++) {
        buf[n++] = hex[(uint8_t)id.ptr[i] >> 4];
        buf[n++] = hex[(uint8_t)id.ptr[i] & 15];
    }
    return (uint32_t)n;
}

static bool resolve(void *arg, const char *topic, size_t len, int32_t partition, uint64_t *id) {
    struct gateway *gw = arg;
    return kgw_stream_find(gw, (struct kafka_str){topic, (int32_t)len}, partition, id);
}

static void on_outcome(void *arg, const struct kgroup_outcome *o);

static struct kgroup_env group_env(struct gateway *gw) {
    return (struct kgroup_env){
        .arg = gw, .outcome = on_outcome, .resolve = resolve, .scratch = gw->kafka->fold_scratch};
}

/* Folds the group's stream from the store, from g->next up to (not including) offset `to`. */
static void group_read(struct gateway *gw, struct kgw_group *g, uint64_t to) {
    struct store *s = gw_store_of(gw, g->stream_id);
    struct store_cursor *cur = &gw->kafka->cursor;
    if (s == NULL || gw_store_refresh(gw, g->stream_id, s) != STROM_OK) {
        return;
    }
    struct kgroup_env env = group_env(gw);
    store_cursor_init(cur, g->stream_id, g->next);
    while (g->next < to) {
        struct store_batch sb;
        const struct node_batch *b = (const struct node_batch *)(const void *)gw->scratch;
        strom_err err =
            store_cursor_next(s, cur, &sb, gw->scratch, gw->config->frame_bytes_max + 4096);
        if (err || sb.payload_bytes != sizeof *b + b->messages_bytes || sb.base_offset >= to) {
            return; /* not there yet (or damaged: the fold waits where it is) */
        }
        if (sb.base_offset + sb.message_count > g->next) {
            (void)kgroup_fold(&g->state, &env, b->timestamp_ns, sb.base_offset,
                              gw->scratch + sizeof *b, b->messages_bytes, b->count);
            g->next = sb.base_offset + sb.message_count;
        }
    }
}

/* Brings the fold up to the stream's sync watermark (finding the stream once it exists). */
static void group_catch_up(struct gateway *gw, struct kgw_group *g) {
    if (g->stream_id == UINT64_MAX &&
        !registry_find(&gw->registry, g->path, g->path_len, &g->stream_id)) {
        g->stream_id = UINT64_MAX;
        return;
    }
    const struct node_stream *st = registry_stream(&gw->registry, g->stream_id);
    uint64_t durable = __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE);
    if (g->next < durable) {
        group_read(gw, g, durable);
    }
}

/* The slot of group id (made, or reused from the least recently used idle group); -1 when every
 * slot is busy. */
static int group_slot(struct gateway *gw, struct kafka_str id) {
    struct kgw *k = gw->kafka;
    char path[PATH_BYTES_MAX + 1];
    uint32_t len = group_path(id, path);
    int spare = -1;
    for (int i = 0; i < KGW_GROUPS_MAX; i++) {
        struct kgw_group *g = &k->groups[i];
        if (g->used && g->path_len == len && memcmp(g->path, path, len) == 0) {
            g->last_use_ns = gw->now_ns;
            return i;
        }
        bool idle = !g->used || g->waiters == 0;
        if (idle && (spare < 0 || !g->used ||
                     (k->groups[spare].used && g->last_use_ns < k->groups[spare].last_use_ns))) {
            spare = i;
        }
    }
    if (spare >= 0) {
        struct kgw_group *g = &k->groups[spare];
        g->used = true;
        g->stream_id = UINT64_MAX;
        g->next = 0;
        g->waiters = 0;
        g->tick_sent_ns = 0;
        g->last_use_ns = gw->now_ns;
        g->path_len = (uint16_t)len;
        memcpy(g->path, path, len);
        kgroup_init(&g->state);
    }
    return spare;
}

/* --- the fold's outcomes ---------------------------------------------------------------------- */

static void on_outcome(void *arg, const struct kgroup_outcome *o) {
    struct gateway *gw = arg;
    struct kgw *k = gw->kafka;
    if ((o->ref >> 56) != gw->index + 1u) {
        return; /* another gateway's request */
    }
    for (uint32_t i = 0; i < k->parked_len; i++) {
        struct gw_conn *c = &gw->conns[k->parked[i]];
        struct kgw_conn *kc = &k->conns[k->parked[i]];
        if (c->state == GW_CONN_OPEN && kc->park.wait == KGW_WAIT_GROUP && kc->park.ref == o->ref &&
            !kc->park.resolved) {
            kc->park.resolved = true;
            kc->park.error = o->error;
            kc->park.generation = o->generation;
            kc->park.member_len = o->member_id_len;
            if (o->member_id_len > 0) {
                memcpy(kc->park.member, o->member_id, o->member_id_len);
            }
            kgw_wake(gw, c);
            return;
        }
    }
}

/* Every connection parked on group slot i looks again (its state changed). */
static void group_wake(struct gateway *gw, int slot) {
    struct kgw *k = gw->kafka;
    for (uint32_t i = 0; i < k->parked_len && k->groups[slot].waiters > 0; i++) {
        struct gw_conn *c = &gw->conns[k->parked[i]];
        struct kgw_conn *kc = &k->conns[k->parked[i]];
        if (c->state == GW_CONN_OPEN && kc->park.wait == KGW_WAIT_GROUP &&
            kc->park.group == (uint32_t)slot) {
            kgw_wake(gw, c);
        }
    }
}

void kgw_groups_on_log(struct gateway *gw, const struct ring_entry *e) {
    struct kgw *k = gw->kafka;
    struct node_batch b;
    memcpy(&b, e->body, sizeof b);
    for (int i = 0; i < KGW_GROUPS_MAX; i++) {
        struct kgw_group *g = &k->groups[i];
        if (!g->used || g->stream_id != b.stream_id || b.base_offset + b.count <= g->next) {
            continue;
        }
        if (b.base_offset > g->next) {
            group_read(gw, g, b.base_offset); /* missed entries: every one before is durable */
        }
        if (b.base_offset == g->next) {
            struct kgroup_env env = group_env(gw);
            (void)kgroup_fold(&g->state, &env, b.timestamp_ns, b.base_offset, e->body + sizeof b,
                              b.messages_bytes, b.count);
            g->next = b.base_offset + b.count;
        }
        group_wake(gw, i);
        return;
    }
}

void kgw_group_answer(struct gateway *gw, struct gw_conn *c, uint64_t ref,
                      const struct node_batch *b) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    if (kc->park.wait != KGW_WAIT_GROUP || kc->park.ref != ref || kc->park.resolved) {
        return;
    }
    struct kgw_group *g = &gw->kafka->groups[kc->park.group];
    if (b->error != STROM_OK) {
        kc->park.resolved = true;
        kc->park.error = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE; /* the client retries */
        kc->park.generation = -1;
        kc->park.member_len = 0;
        kgw_wake(gw, c);
    } else if (g->stream_id == UINT64_MAX) {
        g->stream_id = b->stream_id; /* the group's first record made its stream */
        group_catch_up(gw, g);
        group_wake(gw, (int)kc->park.group);
    }
}

void kgw_group_unwait(struct gateway *gw, struct kgw_conn *kc) {
    struct kgw_group *g = &gw->kafka->groups[kc->park.group];
    strom_assert(g->waiters > 0);
    g->waiters--;
}

/* --- ticks ------------------------------------------------------------------------------------ */

/* Sends a tick record for slot i on behalf of one of its parked connections. */
static void group_tick(struct gateway *gw, int slot) {
    struct kgw *k = gw->kafka;
    struct kgw_group *g = &k->groups[slot];
    for (uint32_t i = 0; i < k->parked_len; i++) {
        struct gw_conn *c = &gw->conns[k->parked[i]];
        struct kgw_conn *kc = &k->conns[k->parked[i]];
        if (c->state != GW_CONN_OPEN || kc->park.wait != KGW_WAIT_GROUP ||
            kc->park.group != (uint32_t)slot) {
            continue;
        }
        struct kgroup_writer w;
        kgroup_writer_init(&w, k->record_buf, k->record_cap);
        kgroup_write_tick(&w, k->ref_next++);
        struct node_request req = {.path_len = g->path_len,
                                   .span = 1,
                                   .count = w.count,
                                   .messages_bytes = (uint32_t)w.used,
                                   .ack = 1,
                                   .flags = NODE_FLAG_SYNC | NODE_FLAG_SYSTEM};
        if (kgw_submit(gw, c, NODE_ENTRY_APPEND, &req, g->path, w.buf, 0, KGW_TAG_IGNORE, true) ==
            STROM_OK) {
            g->tick_sent_ns = gw->now_ns;
        }
        return;
    }
}

uint64_t kgw_groups_turn(struct gateway *gw) {
    struct kgw *k = gw->kafka;
    uint64_t wait = UINT64_MAX;
    uint64_t now_real = 0;
    for (int i = 0; i < KGW_GROUPS_MAX; i++) {
        struct kgw_group *g = &k->groups[i];
        if (!g->used || g->waiters == 0) {
            continue;
        }
        if (g->stream_id == UINT64_MAX) {
            group_catch_up(gw, g); /* another gateway may have made the stream */
        }
        uint64_t due = kgroup_deadline_ns(&g->state);
        if (due == UINT64_MAX) {
            continue;
        }
        now_real = now_real ? now_real : io_clock_realtime_ns(gw->io);
        uint64_t left = due > now_real ? due - now_real : 0;
        if (left == 0 && gw->now_ns - g->tick_sent_ns >= KGW_TICK_MIN_NS) {
            group_tick(gw, i);
        }
        left = left > KGW_TICK_MIN_NS ? left : KGW_TICK_MIN_NS;
        wait = left < wait ? left : wait;
    }
    return wait;
}

/* --- responses -------------------------------------------------------------------------------- */

static struct kafka_response response_of(const struct kafka_request *q) {
    return (struct kafka_response){.api_key = q->header.api_key,
                                   .api_version = q->header.api_version,
                                   .correlation_id = q->header.correlation_id};
}

static enum kgw_done send_or_room(struct gateway *gw, struct gw_conn *c,
                                  const struct kafka_response *r) {
    return kgw_send(gw, c, r) ? KGW_DONE : KGW_ROOM;
}

static struct kafka_str str_of(const char *p, size_t len) {
    return (struct kafka_str){p, (int32_t)len};
}

static enum kgw_done join_respond(struct gateway *gw, struct gw_conn *c,
                                  const struct kafka_request *q, const struct kgroup *s,
                                  int16_t error, int32_t generation, struct kafka_str member) {
    struct kafka_response r = response_of(q);
    struct kafka_join_group_response *b = &r.body.join_group;
    bool moved = error == KAFKA_ERR_NONE && (s == NULL || s->generation != generation);
    b->error_code = moved ? (int16_t)KAFKA_ERR_REBALANCE_IN_PROGRESS : error;
    b->generation_id = -1;
    b->protocol_name = b->leader = kafka_str_c("");
    b->member_id = member;
    if (b->error_code == KAFKA_ERR_NONE) {
        b->generation_id = generation;
        b->protocol_name = str_of(s->protocol, s->protocol_len);
        b->leader = str_of(s->leader, s->leader_len);
        bool leader =
            member.len == s->leader_len && memcmp(member.ptr, s->leader, s->leader_len) == 0;
        b->members = kgw_alloc(gw, leader ? s->member_count : 0, sizeof *b->members);
        for (uint32_t i = 0; leader && i < s->member_count; i++) {
            const struct kgroup_member *m = &s->members[i];
            if (m->generation == generation) {
                b->members[b->members_count++] = (struct kafka_join_group_member){
                    str_of(m->id, m->id_len), {NULL, -1}, kgroup_member_metadata(s, m)};
            }
        }
    }
    return send_or_room(gw, c, &r);
}

static enum kgw_done simple_respond(struct gateway *gw, struct gw_conn *c,
                                    const struct kafka_request *q, int16_t error) {
    struct kafka_response r = response_of(q);
    if (q->header.api_key == KAFKA_API_HEARTBEAT) {
        r.body.heartbeat.error_code = error;
    } else {
        r.body.leave_group.error_code = error;
    }
    return send_or_room(gw, c, &r);
}

static enum kgw_done sync_respond(struct gateway *gw, struct gw_conn *c,
                                  const struct kafka_request *q, const struct kgroup *s,
                                  int16_t error) {
    const struct kafka_sync_group_request *m = &q->body.sync_group;
    struct kafka_response r = response_of(q);
    struct kafka_sync_group_response *b = &r.body.sync_group;
    b->assignment = kafka_bytes_of("", 0);
    const struct kgroup_member *me =
        s != NULL ? kgroup_member_find(s, m->member_id.ptr, (size_t)m->member_id.len) : NULL;
    if (error == KAFKA_ERR_NONE &&
        (me == NULL || s->state != KGROUP_STABLE || s->generation != m->generation_id)) {
        error = KAFKA_ERR_REBALANCE_IN_PROGRESS; /* the group moved on meanwhile */
    }
    b->error_code = error;
    if (error == KAFKA_ERR_NONE) {
        b->assignment = kafka_bytes_of(me->assignment, me->assignment_len);
    }
    return send_or_room(gw, c, &r);
}

/* Per-partition errors of a commit: error, or UNKNOWN_TOPIC_OR_PARTITION for a partition with
 * no stream. */
static enum kgw_done commit_respond(struct gateway *gw, struct gw_conn *c,
                                    const struct kafka_request *q, int16_t error) {
    const struct kafka_offset_commit_request *m = &q->body.offset_commit;
    struct kafka_response r = response_of(q);
    struct kafka_offset_commit_response *b = &r.body.offset_commit;
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_offset_commit_topic *mt = &m->topics[t];
        struct kafka_offset_commit_topic_response *rt = &b->topics[t];
        rt->name = mt->name;
        rt->partitions_count = mt->partitions_count;
        rt->partitions = kgw_alloc(gw, (size_t)mt->partitions_count, sizeof *rt->partitions);
        for (int32_t p = 0; p < mt->partitions_count; p++) {
            uint64_t id = 0;
            int32_t index = mt->partitions[p].partition_index;
            bool known = kgw_stream_find(gw, mt->name, index, &id);
            rt->partitions[p] = (struct kafka_offset_commit_partition_response){
                index, known ? error : (int16_t)KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION};
        }
    }
    return send_or_room(gw, c, &r);
}

/* The error response of a group request that was not recorded. */
static enum kgw_done error_respond(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q, int16_t error) {
    switch (q->header.api_key) {
    case KAFKA_API_JOIN_GROUP:
        return join_respond(gw, c, q, NULL, error, -1, q->body.join_group.member_id);
    case KAFKA_API_SYNC_GROUP:
        return sync_respond(gw, c, q, NULL, error);
    case KAFKA_API_OFFSET_COMMIT:
        return commit_respond(gw, c, q, error);
    default:
        return simple_respond(gw, c, q, error);
    }
}

/* The response of a recorded request whose outcome is known (kc->park). */
static enum kgw_done outcome_respond(struct gateway *gw, struct gw_conn *c,
                                     const struct kafka_request *q, const struct kgw_park *p) {
    const struct kgroup *s = &gw->kafka->groups[p->group].state;
    switch (q->header.api_key) {
    case KAFKA_API_JOIN_GROUP: {
        struct kafka_str member =
            p->member_len > 0 ? str_of(p->member, p->member_len) : q->body.join_group.member_id;
        return join_respond(gw, c, q, s, p->error, p->generation, member);
    }
    case KAFKA_API_SYNC_GROUP:
        return sync_respond(gw, c, q, s, p->error);
    case KAFKA_API_OFFSET_COMMIT:
        return commit_respond(gw, c, q, p->error);
    default:
        return simple_respond(gw, c, q, p->error);
    }
}

/* --- recording -------------------------------------------------------------------------------- */

/* Appends the record in w for the request q of c and parks c until its outcome. */
static enum kgw_done record(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q,
                            int slot, const struct kgroup_writer *w, uint64_t ref) {
    struct kgw_group *g = &gw->kafka->groups[slot];
    if (w->overflow || w->count == 0) {
        return error_respond(gw, c, q, KAFKA_ERR_INVALID_REQUEST); /* above the record limits */
    }
    struct node_request req = {.path_len = g->path_len,
                               .span = 1,
                               .count = w->count,
                               .messages_bytes = (uint32_t)w->used,
                               .ack = 1,
                               .flags = NODE_FLAG_SYNC | NODE_FLAG_SYSTEM};
    strom_err err =
        kgw_submit(gw, c, NODE_ENTRY_APPEND, &req, g->path, w->buf, ref, KGW_TAG_GROUP, true);
    if (err == STROM_ERR_AGAIN) {
        return KGW_ROOM;
    }
    if (err) {
        return error_respond(gw, c, q, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    kgw_park(gw, c, &q->header, KGW_WAIT_GROUP, UINT64_MAX);
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    kc->park.ref = ref;
    kc->park.group = (uint32_t)slot;
    kc->park.submitted = true;
    kc->park.resolved = false;
    g->waiters++;
    return KGW_PARKED;
}

/* A JoinGroup (v4+) without a member id gets one to join with (KIP-394). */
static enum kgw_done join_member_id(struct gateway *gw, struct gw_conn *c,
                                    const struct kafka_request *q) {
    struct kafka_str client = q->header.client_id;
    int n = client.len > 0 ? (client.len < KGROUP_CLIENT_ID_BYTES_MAX ? client.len
                                                                      : KGROUP_CLIENT_ID_BYTES_MAX)
                           : 0;
    char *id = kgw_alloc(gw, KGROUP_MEMBER_ID_BYTES_MAX, 1);
    int len = snprintf(id, KGROUP_MEMBER_ID_BYTES_MAX, "%.*s%sg%u-%llx", n, n > 0 ? client.ptr : "",
                       n > 0 ? "-" : "member-", (unsigned)gw->index,
                       (unsigned long long)io_clock_realtime_ns(gw->io));
    return join_respond(gw, c, q, NULL, KAFKA_ERR_MEMBER_ID_REQUIRED, -1, str_of(id, (size_t)len));
}

static enum kgw_done join_group(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q, int slot) {
    const struct kafka_join_group_request *m = &q->body.join_group;
    struct kgw *k = gw->kafka;
    if (m->member_id.len <= 0 && q->header.api_version >= 4) {
        return join_member_id(gw, c, q);
    }
    if (m->protocols_count < 1 || m->protocols_count > KGROUP_PROTOCOLS_MAX ||
        m->member_id.len >= KGROUP_MEMBER_ID_BYTES_MAX ||
        m->protocol_type.len >= KGROUP_NAME_BYTES_MAX) {
        return error_respond(gw, c, q, KAFKA_ERR_INVALID_REQUEST);
    }
    struct kgroup_protocol_in in[KGROUP_PROTOCOLS_MAX];
    size_t bytes = 0;
    for (int32_t i = 0; i < m->protocols_count; i++) {
        in[i] = (struct kgroup_protocol_in){m->protocols[i].name, m->protocols[i].metadata};
        bytes += (size_t)(in[i].name.len > 0 ? in[i].name.len : 0) +
                 (size_t)(in[i].metadata.len > 0 ? in[i].metadata.len : 0);
        if (in[i].name.len <= 0 || in[i].name.len >= KGROUP_NAME_BYTES_MAX) {
            bytes = SIZE_MAX / 2;
        }
    }
    if (bytes > KGROUP_METADATA_BYTES_MAX) {
        return error_respond(gw, c, q, KAFKA_ERR_INVALID_REQUEST);
    }
    uint64_t ref = k->ref_next++;
    int32_t rebalance_ms =
        q->header.api_version >= 1 ? m->rebalance_timeout_ms : m->session_timeout_ms;
    struct kgroup_writer w;
    kgroup_writer_init(&w, k->record_buf, k->record_cap);
    kgroup_write_join(&w, ref, m->member_id, q->header.client_id, m->session_timeout_ms,
                      rebalance_ms, m->protocol_type, q->header.api_version >= 4, in,
                      (uint32_t)m->protocols_count);
    return record(gw, c, q, slot, &w, ref);
}

static enum kgw_done sync_group(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q, int slot) {
    const struct kafka_sync_group_request *m = &q->body.sync_group;
    struct kgw *k = gw->kafka;
    const struct kgroup *s = &k->groups[slot].state;
    const struct kgroup_member *me =
        kgroup_member_find(s, m->member_id.ptr, (size_t)m->member_id.len);
    bool leader = me != NULL && m->member_id.len == s->leader_len &&
                  memcmp(m->member_id.ptr, s->leader, s->leader_len) == 0;
    if (leader || m->assignments_count > 0) {
        if (m->assignments_count > KGROUP_MEMBERS_MAX) {
            return error_respond(gw, c, q, KAFKA_ERR_INVALID_REQUEST);
        }
        struct kgroup_assignment_in *in =
            kgw_alloc(gw, (size_t)m->assignments_count + 1, sizeof *in);
        for (int32_t i = 0; i < m->assignments_count; i++) {
            in[i] = (struct kgroup_assignment_in){m->assignments[i].member_id,
                                                  m->assignments[i].assignment};
            if (in[i].assignment.len > KGROUP_ASSIGNMENT_BYTES_MAX) {
                return error_respond(gw, c, q, KAFKA_ERR_INVALID_REQUEST);
            }
        }
        uint64_t ref = k->ref_next++;
        struct kgroup_writer w;
        kgroup_writer_init(&w, k->record_buf, k->record_cap);
        kgroup_write_sync(&w, ref, m->member_id, m->generation_id, in,
                          (uint32_t)m->assignments_count);
        return record(gw, c, q, slot, &w, ref);
    }
    /* A follower: its assignment comes with the leader's record, in this gateway's fold. */
    if (me == NULL) {
        return error_respond(gw, c, q, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    }
    if (m->generation_id != s->generation) {
        return error_respond(gw, c, q, KAFKA_ERR_ILLEGAL_GENERATION);
    }
    if (s->state == KGROUP_COMPLETING) {
        kgw_park(gw, c, &q->header, KGW_WAIT_GROUP, UINT64_MAX);
        struct kgw_conn *kc = kgw_conn_of(gw, c);
        if (kc->park.ref == 0 && !kc->park.submitted) {
            kc->park.group = (uint32_t)slot;
            kc->park.submitted = true; /* counted once as a waiter */
            k->groups[slot].waiters++;
        }
        return KGW_PARKED;
    }
    return sync_respond(gw, c, q, s, KAFKA_ERR_NONE);
}

static enum kgw_done commit(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q,
                            int slot) {
    const struct kafka_offset_commit_request *m = &q->body.offset_commit;
    struct kgw *k = gw->kafka;
    uint32_t count = 0;
    for (int32_t t = 0; t < m->topics_count; t++) {
        for (int32_t p = 0; p < m->topics[t].partitions_count; p++) {
            uint64_t id = 0;
            const struct kafka_offset_commit_partition *mp = &m->topics[t].partitions[p];
            if (mp->committed_metadata.len > KGROUP_OFFSET_METADATA_MAX) {
                return error_respond(gw, c, q, 12); /* OFFSET_METADATA_TOO_LARGE */
            }
            count += kgw_stream_find(gw, m->topics[t].name, mp->partition_index, &id) ? 1 : 0;
        }
    }
    if (count == 0 || count >= KGROUP_RECORD_ITEMS_MAX) {
        return error_respond(gw, c, q, count == 0 ? KAFKA_ERR_NONE : KAFKA_ERR_INVALID_REQUEST);
    }
    uint64_t ref = k->ref_next++;
    struct kgroup_writer w;
    kgroup_writer_init(&w, k->record_buf, k->record_cap);
    kgroup_write_commit(&w, ref, m->member_id, m->generation_id, count);
    for (int32_t t = 0; t < m->topics_count; t++) {
        for (int32_t p = 0; p < m->topics[t].partitions_count; p++) {
            uint64_t id = 0;
            const struct kafka_offset_commit_partition *mp = &m->topics[t].partitions[p];
            if (kgw_stream_find(gw, m->topics[t].name, mp->partition_index, &id)) {
                struct kgroup_offset_in o = {m->topics[t].name, mp->partition_index,
                                             mp->committed_offset, mp->committed_leader_epoch,
                                             mp->committed_metadata};
                kgroup_write_offset(&w, &o);
            }
        }
    }
    return record(gw, c, q, slot, &w, ref);
}

/* --- OffsetFetch ------------------------------------------------------------------------------ */

static void fetch_offset_one(struct gateway *gw, const struct kgroup *s, struct kafka_str topic,
                             int32_t partition, struct kafka_offset_fetch_partition_response *rp) {
    *rp = (struct kafka_offset_fetch_partition_response){.partition_index = partition,
                                                         .committed_offset = -1,
                                                         .committed_leader_epoch = -1,
                                                         .metadata = kafka_str_c("")};
    uint64_t id = 0;
    const struct kgroup_offset *o =
        kgw_stream_find(gw, topic, partition, &id) ? kgroup_offset_find(s, id) : NULL;
    if (o != NULL) {
        rp->committed_offset = o->offset;
        rp->committed_leader_epoch = o->leader_epoch;
        rp->metadata = str_of(o->metadata, o->metadata_len);
    }
}

/* The topic and partition of a stream "/T/p"; false for another shape. */
static bool topic_partition_of(struct gateway *gw, uint64_t id, struct kafka_str *topic,
                               int32_t *partition) {
    size_t len = 0;
    const char *path = registry_path(&gw->registry, id, &len);
    const char *slash = len > 1 ? memchr(path + 1, '/', len - 1) : NULL;
    if (slash == NULL || slash + 1 >= path + len) {
        return false;
    }
    *topic = str_of(path + 1, (size_t)(slash - path - 1));
    int64_t p = 0;
    for (const char *d = slash + 1; d < path + len; d++) {
        p = *d >= '0' && *d <= '9' && p < INT32_MAX / 10 ? p * 10 + (*d - '0') : -1;
        if (p < 0) {
            return false;
        }
    }
    *partition = (int32_t)p;
    return true;
}

/* Every committed offset of the group, one topic entry per topic. */
static void fetch_offsets_all(struct gateway *gw, const struct kgroup *s,
                              struct kafka_offset_fetch_response *b) {
    b->topics = kgw_alloc(gw, s->offset_count, sizeof *b->topics);
    for (uint32_t i = 0; i < s->offset_count; i++) {
        struct kafka_str topic;
        int32_t partition = 0;
        if (!topic_partition_of(gw, s->offsets[i].stream_id, &topic, &partition)) {
            continue;
        }
        struct kafka_offset_fetch_topic_response *rt = NULL;
        for (int32_t t = 0; t < b->topics_count && rt == NULL; t++) {
            bool same = b->topics[t].name.len == topic.len &&
                        memcmp(b->topics[t].name.ptr, topic.ptr, (size_t)topic.len) == 0;
            rt = same ? &b->topics[t] : NULL;
        }
        if (rt == NULL) {
            rt = &b->topics[b->topics_count++];
            rt->name = topic;
            rt->partitions = kgw_alloc(gw, s->offset_count, sizeof *rt->partitions);
        }
        fetch_offset_one(gw, s, topic, partition, &rt->partitions[rt->partitions_count++]);
    }
}

static enum kgw_done offset_fetch(struct gateway *gw, struct gw_conn *c,
                                  const struct kafka_request *q, int slot) {
    const struct kafka_offset_fetch_request *m = &q->body.offset_fetch;
    const struct kgroup *s = &gw->kafka->groups[slot].state;
    struct kafka_response r = response_of(q);
    struct kafka_offset_fetch_response *b = &r.body.offset_fetch;
    if (m->topics_count < 0) {
        fetch_offsets_all(gw, s, b);
        return send_or_room(gw, c, &r);
    }
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    for (int32_t t = 0; t < m->topics_count; t++) {
        const struct kafka_offset_fetch_topic *mt = &m->topics[t];
        struct kafka_offset_fetch_topic_response *rt = &b->topics[t];
        rt->name = mt->name;
        rt->partitions_count = mt->partition_indexes_count;
        rt->partitions = kgw_alloc(gw, (size_t)mt->partition_indexes_count, sizeof *rt->partitions);
        for (int32_t p = 0; p < mt->partition_indexes_count; p++) {
            fetch_offset_one(gw, s, mt->name, mt->partition_indexes[p], &rt->partitions[p]);
        }
    }
    return send_or_room(gw, c, &r);
}

/* --- the entry -------------------------------------------------------------------------------- */

static struct kafka_str group_id_of(const struct kafka_request *q) {
    switch (q->header.api_key) {
    case KAFKA_API_JOIN_GROUP:
        return q->body.join_group.group_id;
    case KAFKA_API_SYNC_GROUP:
        return q->body.sync_group.group_id;
    case KAFKA_API_HEARTBEAT:
        return q->body.heartbeat.group_id;
    case KAFKA_API_LEAVE_GROUP:
        return q->body.leave_group.group_id;
    case KAFKA_API_OFFSET_COMMIT:
        return q->body.offset_commit.group_id;
    default:
        return q->body.offset_fetch.group_id;
    }
}

/* A request not yet recorded: records it, or answers it from the fold. */
static enum kgw_done group_new(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q,
                               int slot) {
    struct kgw *k = gw->kafka;
    struct kgroup_writer w;
    uint64_t ref = 0;
    switch (q->header.api_key) {
    case KAFKA_API_JOIN_GROUP:
        return join_group(gw, c, q, slot);
    case KAFKA_API_SYNC_GROUP:
        return sync_group(gw, c, q, slot);
    case KAFKA_API_HEARTBEAT:
        ref = k->ref_next++;
        kgroup_writer_init(&w, k->record_buf, k->record_cap);
        kgroup_write_heartbeat(&w, ref, q->body.heartbeat.member_id,
                               q->body.heartbeat.generation_id);
        return record(gw, c, q, slot, &w, ref);
    case KAFKA_API_LEAVE_GROUP:
        ref = k->ref_next++;
        kgroup_writer_init(&w, k->record_buf, k->record_cap);
        kgroup_write_leave(&w, ref, q->body.leave_group.member_id);
        return record(gw, c, q, slot, &w, ref);
    case KAFKA_API_OFFSET_COMMIT:
        return commit(gw, c, q, slot);
    default:
        return offset_fetch(gw, c, q, slot);
    }
}

enum kgw_done kgw_group_request(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    if (kgw_park_is(kc, &q->header) && kc->park.ref != 0) {
        /* decoded again: answered once its outcome is known */
        if (kc->park.resolved) {
            return outcome_respond(gw, c, q, &kc->park);
        }
        kgw_park(gw, c, &q->header, KGW_WAIT_GROUP, UINT64_MAX);
        return KGW_PARKED;
    }
    char path[PATH_BYTES_MAX + 1];
    struct kafka_str id = group_id_of(q);
    if (group_path(id, path) == 0) {
        return error_respond(gw, c, q, KAFKA_ERR_INVALID_GROUP_ID);
    }
    int slot = group_slot(gw, id);
    if (slot < 0) {
        return error_respond(gw, c, q, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    group_catch_up(gw, &gw->kafka->groups[slot]);
    return group_new(gw, c, q, slot);
}
