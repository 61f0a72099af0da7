/* kgroup.c: a Kafka consumer group folded from its stream (see kgroup.h). */
#include "node/kgroup.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "kafka/api.h"
#include "node/msgset.h"

#define NS_PER_MS 1000000u
#define HALF      (KGROUP_SCRATCH_BYTES / 2)

void kgroup_init(struct kgroup *g) {
    memset(g, 0, offsetof(struct kgroup, members));
    g->state = KGROUP_EMPTY;
}

const char *kgroup_state_name(enum kgroup_state s) {
    switch (s) {
    case KGROUP_PREPARING:
        return "PreparingRebalance";
    case KGROUP_COMPLETING:
        return "CompletingRebalance";
    case KGROUP_STABLE:
        return "Stable";
    default:
        return "Empty";
    }
}

/* --- reading the state ------------------------------------------------------------------------ */

static int member_index(const struct kgroup *g, const char *id, size_t len) {
    for (uint32_t i = 0; i < g->member_count; i++) {
        const struct kgroup_member *m = &g->members[i];
        if (len > 0 && m->id_len == len && memcmp(m->id, id, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const struct kgroup_member *kgroup_member_find(const struct kgroup *g, const char *id, size_t len) {
    int i = member_index(g, id, len);
    return i < 0 ? NULL : &g->members[i];
}

/* The index of protocol name in m's list, or -1. */
static int member_protocol(const struct kgroup_member *m, const char *name, size_t len) {
    for (int p = 0; p < m->protocol_count; p++) {
        if (m->name_len[p] == len && memcmp(m->blob + m->name_off[p], name, len) == 0) {
            return p;
        }
    }
    return -1;
}

struct kafka_bytes kgroup_member_metadata(const struct kgroup *g, const struct kgroup_member *m) {
    int p = member_protocol(m, g->protocol, g->protocol_len);
    if (p < 0) {
        return kafka_bytes_of(m->blob, 0);
    }
    return kafka_bytes_of(m->blob + m->meta_off[p], m->meta_len[p]);
}

const struct kgroup_offset *kgroup_offset_find(const struct kgroup *g, uint64_t stream_id) {
    for (uint32_t i = 0; i < g->offset_count; i++) {
        if (g->offsets[i].stream_id == stream_id) {
            return &g->offsets[i];
        }
    }
    return NULL;
}

static uint64_t member_expiry(const struct kgroup_member *m) {
    return m->last_seen_ns + (uint64_t)m->session_ms * NS_PER_MS;
}

/* A member whose JoinGroup waits in a rebalance does not expire (it cannot heartbeat). */
static bool member_waits(const struct kgroup *g, const struct kgroup_member *m) {
    return g->state == KGROUP_PREPARING && m->join_ref != 0;
}

uint64_t kgroup_deadline_ns(const struct kgroup *g) {
    uint64_t t = g->state == KGROUP_PREPARING ? g->rebalance_deadline_ns : UINT64_MAX;
    for (uint32_t i = 0; i < g->member_count; i++) {
        const struct kgroup_member *m = &g->members[i];
        if (!member_waits(g, m) && member_expiry(m) < t) {
            t = member_expiry(m);
        }
    }
    return t;
}

/* --- changing the state ----------------------------------------------------------------------- */

static void outcome(const struct kgroup_env *env, uint64_t ref, int16_t error, int32_t generation,
                    const struct kgroup_member *m) {
    if (ref == 0) {
        return;
    }
    struct kgroup_outcome o = {.ref = ref, .error = error, .generation = generation};
    if (m != NULL) {
        o.member_id = m->id;
        o.member_id_len = m->id_len;
    }
    env->outcome(env->arg, &o);
}

static void member_remove(struct kgroup *g, uint32_t i) {
    strom_assert(i < g->member_count);
    memmove(&g->members[i], &g->members[i + 1], (g->member_count - i - 1) * sizeof g->members[0]);
    g->member_count--;
}

/* No members left: the group is empty, and its next generation starts afresh. */
static void become_empty(struct kgroup *g) {
    g->state = KGROUP_EMPTY;
    g->generation++;
    g->protocol_len = 0;
    g->leader_len = 0;
}

static void rebalance_start(struct kgroup *g, uint64_t ts_ns) {
    if (g->member_count == 0) {
        become_empty(g);
        return;
    }
    int32_t longest = 0;
    for (uint32_t i = 0; i < g->member_count; i++) {
        g->members[i].join_ref = 0;
        longest = g->members[i].rebalance_ms > longest ? g->members[i].rebalance_ms : longest;
    }
    g->state = KGROUP_PREPARING;
    g->rebalance_deadline_ns = ts_ns + (uint64_t)longest * NS_PER_MS;
}

/* The first protocol of the leader's list that every member offers. */
static void protocol_choose(struct kgroup *g, const struct kgroup_member *leader) {
    for (int p = 0; p < leader->protocol_count; p++) {
        const char *name = (const char *)leader->blob + leader->name_off[p];
        uint16_t len = leader->name_len[p];
        bool all = true;
        for (uint32_t i = 0; i < g->member_count && all; i++) {
            all = member_protocol(&g->members[i], name, len) >= 0;
        }
        if (all || p + 1 == leader->protocol_count) {
            memcpy(g->protocol, name, len);
            g->protocol_len = len;
            return;
        }
    }
}

/* Everyone who joined is in the new generation; the rest are gone. */
static void rebalance_complete(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns) {
    strom_assert(g->state == KGROUP_PREPARING);
    for (uint32_t i = g->member_count; i-- > 0;) {
        if (g->members[i].join_ref == 0) {
            member_remove(g, i);
        }
    }
    if (g->member_count == 0) {
        become_empty(g);
        return;
    }
    g->generation++;
    int leader = member_index(g, g->leader, g->leader_len);
    const struct kgroup_member *l = &g->members[leader < 0 ? 0 : leader];
    memcpy(g->leader, l->id, l->id_len);
    g->leader_len = l->id_len;
    protocol_choose(g, l);
    g->state = KGROUP_COMPLETING;
    for (uint32_t i = 0; i < g->member_count; i++) {
        struct kgroup_member *m = &g->members[i];
        uint64_t ref = m->join_ref;
        m->join_ref = 0;
        m->generation = g->generation;
        m->last_seen_ns = ts_ns;
        m->assignment_len = 0;
        outcome(env, ref, KAFKA_ERR_NONE, g->generation, m);
    }
}

static void rebalance_check(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns) {
    if (g->state != KGROUP_PREPARING) {
        return;
    }
    bool all = true; /* every member joined again (vacuously, when none is left) */
    for (uint32_t i = 0; i < g->member_count; i++) {
        all = all && g->members[i].join_ref != 0;
    }
    if (all || ts_ns >= g->rebalance_deadline_ns) {
        rebalance_complete(g, env, ts_ns);
    }
}

/* Time passes to ts_ns: members whose session ran out leave, a rebalance past its deadline ends. */
static void advance(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns) {
    bool removed = false;
    for (uint32_t i = g->member_count; i-- > 0;) {
        const struct kgroup_member *m = &g->members[i];
        if (!member_waits(g, m) && ts_ns >= member_expiry(m)) {
            member_remove(g, i);
            removed = true;
        }
    }
    if (removed && (g->state == KGROUP_STABLE || g->state == KGROUP_COMPLETING)) {
        rebalance_start(g, ts_ns);
    }
    rebalance_check(g, env, ts_ns);
}

/* --- records ---------------------------------------------------------------------------------- */

/* One parsed line and where its quoted values were unescaped. */
struct rec {
    struct strom_ssim_record r;
};

static strom_err rec_parse(struct rec *rec, const struct msgset_msg *m, char *scratch) {
    return strom_ssim_parse(&rec->r, (const char *)m->payload, m->payload_len, scratch, HALF, NULL);
}

static struct kafka_str rec_str(const struct rec *rec, const char *key, strom_err *err) {
    const char *p = NULL;
    uint32_t len = 0;
    strom_err e = strom_ssim_get_str(&rec->r, key, &p, &len, NULL);
    if (e == STROM_ERR_NOT_FOUND) {
        return (struct kafka_str){"", 0}; /* an empty value may be left out */
    }
    *err = *err ? *err : e;
    return (struct kafka_str){p, (int32_t)len};
}

static int64_t rec_i64(const struct rec *rec, const char *key, strom_err *err) {
    int64_t v = 0;
    strom_err e = strom_ssim_get_i64(&rec->r, key, &v, NULL);
    *err = *err ? *err : e;
    return v;
}

static uint64_t rec_u64(const struct rec *rec, const char *key, strom_err *err) {
    uint64_t v = 0;
    strom_err e = strom_ssim_get_u64(&rec->r, key, &v, NULL);
    *err = *err ? *err : e;
    return v;
}

/* The items of a batch after its head. */
struct items {
    struct msgset_iter it;
    char *scratch;
};

static strom_err item_next(struct items *items, const char *type, struct rec *rec) {
    struct msgset_msg m;
    strom_err err = msgset_next(&items->it, &m);
    if (!err) {
        err = rec_parse(rec, &m, items->scratch);
    }
    if (!err && !strom_ssim_is(&rec->r, type)) {
        err = STROM_ERR_CORRUPT;
    }
    return err ? STROM_ERR_CORRUPT : STROM_OK;
}

/* A join's protocols, copied out of their items. */
struct join_in {
    uint64_t ref;
    struct kafka_str member, client, protocol_type;
    int32_t session_ms, rebalance_ms;
    bool new_ok;
    uint32_t count;
    uint16_t name_off[KGROUP_PROTOCOLS_MAX], name_len[KGROUP_PROTOCOLS_MAX];
    uint16_t meta_off[KGROUP_PROTOCOLS_MAX], meta_len[KGROUP_PROTOCOLS_MAX];
    uint16_t blob_used;
    uint8_t blob[KGROUP_METADATA_BYTES_MAX];
};

static bool blob_put(struct join_in *j, struct kafka_str v, uint16_t *off, uint16_t *len) {
    if (v.len < 0 || (size_t)j->blob_used + (size_t)v.len > sizeof j->blob) {
        return false;
    }
    memcpy(j->blob + j->blob_used, v.ptr, (size_t)v.len);
    *off = j->blob_used;
    *len = (uint16_t)v.len;
    j->blob_used += (uint16_t)v.len;
    return true;
}

static strom_err join_read(const struct rec *head, struct items *items, struct join_in *j) {
    strom_err err = STROM_OK;
    j->ref = rec_u64(head, "ref", &err);
    j->member = rec_str(head, "member", &err);
    j->client = rec_str(head, "client", &err);
    j->protocol_type = rec_str(head, "protocol_type", &err);
    j->session_ms = (int32_t)rec_i64(head, "session_ms", &err);
    j->rebalance_ms = (int32_t)rec_i64(head, "rebalance_ms", &err);
    j->new_ok = rec_i64(head, "new_ok", &err) != 0;
    uint64_t count = rec_u64(head, "count", &err);
    if (err || count < 1 || count > KGROUP_PROTOCOLS_MAX ||
        j->member.len >= KGROUP_MEMBER_ID_BYTES_MAX ||
        j->protocol_type.len >= KGROUP_NAME_BYTES_MAX || j->rebalance_ms < 0) {
        return STROM_ERR_CORRUPT;
    }
    j->count = (uint32_t)count;
    j->blob_used = 0;
    for (uint32_t i = 0; i < j->count && !err; i++) {
        struct rec item;
        err = item_next(items, "kafka.protocol", &item);
        struct kafka_str name = err ? (struct kafka_str){"", 0} : rec_str(&item, "name", &err);
        struct kafka_str meta = err ? (struct kafka_str){"", 0} : rec_str(&item, "metadata", &err);
        if (!err && (name.len == 0 || name.len >= KGROUP_NAME_BYTES_MAX ||
                     !blob_put(j, name, &j->name_off[i], &j->name_len[i]) ||
                     !blob_put(j, meta, &j->meta_off[i], &j->meta_len[i]))) {
            err = STROM_ERR_CORRUPT;
        }
    }
    return err ? STROM_ERR_CORRUPT : STROM_OK;
}

/* True when the joiner shares a protocol that every other member offers. */
static bool join_compatible(const struct kgroup *g, const struct join_in *j, int self) {
    for (uint32_t p = 0; p < j->count; p++) {
        bool all = true;
        for (uint32_t i = 0; i < g->member_count && all; i++) {
            all = (int)i == self ||
                  member_protocol(&g->members[i], (const char *)j->blob + j->name_off[p],
                                  j->name_len[p]) >= 0;
        }
        if (all) {
            return true;
        }
    }
    return false;
}

/* The error a join gets before it changes anything, or NONE. */
static int16_t join_check(const struct kgroup *g, const struct join_in *j, int self) {
    if (j->session_ms < KGROUP_SESSION_MS_MIN || j->session_ms > KGROUP_SESSION_MS_MAX) {
        return KAFKA_ERR_INVALID_SESSION_TIMEOUT;
    }
    bool typed = g->member_count > 0 &&
                 (g->protocol_type_len != j->protocol_type.len ||
                  memcmp(g->protocol_type, j->protocol_type.ptr, g->protocol_type_len) != 0);
    if (typed || !join_compatible(g, j, self)) {
        return KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    }
    if (self < 0 && j->member.len > 0 && !j->new_ok) {
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    }
    if (self < 0 && g->member_count == KGROUP_MEMBERS_MAX) {
        return KGROUP_ERR_GROUP_MAX_SIZE;
    }
    return KAFKA_ERR_NONE;
}

/* A new member's id: the client id, '-', and the offset of the join record (unique here). */
static void member_id_make(struct kgroup_member *m, struct kafka_str client, uint64_t offset) {
    size_t n = client.len > 0 ? (size_t)client.len : 0;
    n = n < KGROUP_CLIENT_ID_BYTES_MAX ? n : KGROUP_CLIENT_ID_BYTES_MAX;
    char tail[32];
    int t =
        snprintf(tail, sizeof tail, "%s%llu", n > 0 ? "-" : "member-", (unsigned long long)offset);
    memcpy(m->id, client.ptr, n);
    memcpy(m->id + n, tail, (size_t)t);
    m->id_len = (uint16_t)(n + (size_t)t);
}

static void fold_join(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                      uint64_t offset, const struct join_in *j) {
    int self = member_index(g, j->member.ptr, (size_t)j->member.len);
    int16_t error = join_check(g, j, self);
    if (error != KAFKA_ERR_NONE) {
        outcome(env, j->ref, error, -1, NULL);
        return;
    }
    if (g->member_count == 0) {
        memcpy(g->protocol_type, j->protocol_type.ptr, (size_t)j->protocol_type.len);
        g->protocol_type_len = (uint16_t)j->protocol_type.len;
    }
    if (self < 0) {
        struct kgroup_member *n = &g->members[g->member_count++];
        n->generation = -1;
        n->assignment_len = 0;
        if (j->member.len > 0) {
            memcpy(n->id, j->member.ptr, (size_t)j->member.len);
            n->id_len = (uint16_t)j->member.len;
        } else {
            member_id_make(n, j->client, offset);
        }
        self = (int)g->member_count - 1;
    }
    struct kgroup_member *m = &g->members[self];
    m->session_ms = j->session_ms;
    m->rebalance_ms = j->rebalance_ms;
    m->last_seen_ns = ts_ns;
    m->protocol_count = (uint8_t)j->count;
    memcpy(m->name_off, j->name_off, sizeof m->name_off);
    memcpy(m->name_len, j->name_len, sizeof m->name_len);
    memcpy(m->meta_off, j->meta_off, sizeof m->meta_off);
    memcpy(m->meta_len, j->meta_len, sizeof m->meta_len);
    memcpy(m->blob, j->blob, j->blob_used);
    m->blob_used = j->blob_used;
    if (g->state != KGROUP_PREPARING) {
        rebalance_start(g, ts_ns);
    }
    m->join_ref = j->ref;
    rebalance_check(g, env, ts_ns);
}

/* The error of a request by member (generation) in the current state, or NONE; *index the
 * member's. */
static int16_t member_check(const struct kgroup *g, struct kafka_str member, int32_t generation,
                            int *index) {
    *index = member_index(g, member.ptr, (size_t)member.len);
    if (*index < 0) {
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    }
    return generation != g->generation ? KAFKA_ERR_ILLEGAL_GENERATION : KAFKA_ERR_NONE;
}

static strom_err fold_sync(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                           const struct rec *head, struct items *items) {
    strom_err err = STROM_OK;
    uint64_t ref = rec_u64(head, "ref", &err);
    struct kafka_str member = rec_str(head, "member", &err);
    int32_t generation = (int32_t)rec_i64(head, "generation", &err);
    uint64_t count = rec_u64(head, "count", &err);
    if (err || count > KGROUP_MEMBERS_MAX) {
        return STROM_ERR_CORRUPT;
    }
    int self = -1;
    int16_t error = member_check(g, member, generation, &self);
    error = error == KAFKA_ERR_NONE && g->state == KGROUP_PREPARING
                ? (int16_t)KAFKA_ERR_REBALANCE_IN_PROGRESS
                : error;
    bool leader = self >= 0 && member.len == g->leader_len &&
                  memcmp(member.ptr, g->leader, g->leader_len) == 0;
    if (error == KAFKA_ERR_NONE && leader && g->state == KGROUP_COMPLETING) {
        for (uint64_t i = 0; i < count && !err; i++) {
            struct rec item;
            err = item_next(items, "kafka.assignment", &item);
            struct kafka_str id = err ? (struct kafka_str){"", 0} : rec_str(&item, "member", &err);
            struct kafka_str a =
                err ? (struct kafka_str){"", 0} : rec_str(&item, "assignment", &err);
            int k = err ? -1 : member_index(g, id.ptr, (size_t)id.len);
            if (k >= 0 && a.len <= KGROUP_ASSIGNMENT_BYTES_MAX) {
                memcpy(g->members[k].assignment, a.ptr, (size_t)a.len);
                g->members[k].assignment_len = (uint16_t)a.len;
            }
        }
        g->state = err ? g->state : KGROUP_STABLE;
    }
    if (self >= 0 && error == KAFKA_ERR_NONE) {
        g->members[self].last_seen_ns = ts_ns;
    }
    outcome(env, ref, error, g->generation, NULL);
    return err;
}

static strom_err fold_heartbeat(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                                const struct rec *head) {
    strom_err err = STROM_OK;
    uint64_t ref = rec_u64(head, "ref", &err);
    struct kafka_str member = rec_str(head, "member", &err);
    int32_t generation = (int32_t)rec_i64(head, "generation", &err);
    if (err) {
        return STROM_ERR_CORRUPT;
    }
    int self = -1;
    int16_t error = member_check(g, member, generation, &self);
    if (self >= 0) {
        g->members[self].last_seen_ns = ts_ns; /* a sign of life, whatever the answer */
    }
    if (error == KAFKA_ERR_NONE && g->state == KGROUP_PREPARING) {
        error = KAFKA_ERR_REBALANCE_IN_PROGRESS;
    }
    outcome(env, ref, error, g->generation, NULL);
    return STROM_OK;
}

static strom_err fold_leave(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                            const struct rec *head) {
    strom_err err = STROM_OK;
    uint64_t ref = rec_u64(head, "ref", &err);
    struct kafka_str member = rec_str(head, "member", &err);
    if (err) {
        return STROM_ERR_CORRUPT;
    }
    int self = member_index(g, member.ptr, (size_t)member.len);
    if (self < 0) {
        outcome(env, ref, KAFKA_ERR_UNKNOWN_MEMBER_ID, g->generation, NULL);
        return STROM_OK;
    }
    member_remove(g, (uint32_t)self);
    if (g->member_count == 0) {
        become_empty(g);
    } else if (g->state == KGROUP_PREPARING) {
        rebalance_check(g, env, ts_ns);
    } else {
        rebalance_start(g, ts_ns);
    }
    outcome(env, ref, KAFKA_ERR_NONE, g->generation, NULL);
    return STROM_OK;
}

/* One committed offset item: its stream (found), or false. */
struct offset_in {
    uint64_t stream_id;
    int64_t offset;
    int32_t leader_epoch;
    struct kafka_str metadata;
};

static strom_err offset_read(const struct kgroup_env *env, struct items *items, struct offset_in *o,
                             bool *found) {
    struct rec item;
    strom_err err = item_next(items, "kafka.offset", &item);
    struct kafka_str topic = err ? (struct kafka_str){"", 0} : rec_str(&item, "topic", &err);
    int64_t partition = err ? 0 : rec_i64(&item, "partition", &err);
    o->offset = err ? 0 : rec_i64(&item, "offset", &err);
    o->leader_epoch = err ? 0 : (int32_t)rec_i64(&item, "leader_epoch", &err);
    o->metadata = err ? (struct kafka_str){"", 0} : rec_str(&item, "metadata", &err);
    if (err || partition < 0 || partition > INT32_MAX ||
        o->metadata.len > KGROUP_OFFSET_METADATA_MAX) {
        return STROM_ERR_CORRUPT;
    }
    *found =
        env->resolve(env->arg, topic.ptr, (size_t)topic.len, (int32_t)partition, &o->stream_id);
    return STROM_OK;
}

static int16_t commit_check(const struct kgroup *g, struct kafka_str member, int32_t generation) {
    if (generation < 0 && member.len == 0) {
        return g->member_count == 0 ? KAFKA_ERR_NONE : KAFKA_ERR_UNKNOWN_MEMBER_ID;
    }
    if (g->state == KGROUP_COMPLETING) {
        return KAFKA_ERR_REBALANCE_IN_PROGRESS;
    }
    int self = -1;
    return member_check(g, member, generation, &self);
}

/* Applies the offsets of a commit; the items are read twice: room is checked first. */
static strom_err commit_apply(struct kgroup *g, const struct kgroup_env *env, struct items *items,
                              uint64_t count, int16_t *error) {
    struct items again = *items;
    uint32_t fresh = 0;
    strom_err err = STROM_OK;
    for (uint64_t i = 0; i < count && !err; i++) {
        struct offset_in o;
        bool found = false;
        err = offset_read(env, items, &o, &found);
        fresh += !err && found && kgroup_offset_find(g, o.stream_id) == NULL ? 1 : 0;
    }
    if (err || g->offset_count + fresh > KGROUP_OFFSETS_MAX) {
        *error = err ? *error : (int16_t)KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        return err;
    }
    for (uint64_t i = 0; i < count; i++) {
        struct offset_in o;
        bool found = false;
        (void)offset_read(env, &again, &o, &found);
        struct kgroup_offset *slot = (struct kgroup_offset *)kgroup_offset_find(g, o.stream_id);
        if (found && slot == NULL) {
            slot = &g->offsets[g->offset_count++];
            slot->stream_id = o.stream_id;
        }
        if (found) {
            slot->offset = o.offset;
            slot->leader_epoch = o.leader_epoch;
            memcpy(slot->metadata, o.metadata.ptr, (size_t)o.metadata.len);
            slot->metadata_len = (uint16_t)o.metadata.len;
        }
    }
    return STROM_OK;
}

static strom_err fold_commit(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                             const struct rec *head, struct items *items) {
    strom_err err = STROM_OK;
    uint64_t ref = rec_u64(head, "ref", &err);
    struct kafka_str member = rec_str(head, "member", &err);
    int32_t generation = (int32_t)rec_i64(head, "generation", &err);
    uint64_t count = rec_u64(head, "count", &err);
    if (err || count > KGROUP_RECORD_ITEMS_MAX) {
        return STROM_ERR_CORRUPT;
    }
    int16_t error = commit_check(g, member, generation);
    if (error == KAFKA_ERR_NONE) {
        err = commit_apply(g, env, items, count, &error);
        int self = member_index(g, member.ptr, (size_t)member.len);
        if (self >= 0) {
            g->members[self].last_seen_ns = ts_ns;
        }
    }
    if (!err) {
        outcome(env, ref, error, g->generation, NULL);
    }
    return err;
}

/* Applies one batch whose head record is parsed. */
static strom_err fold_record(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                             uint64_t offset, const struct rec *head, struct items *items) {
    if (strom_ssim_is(&head->r, "kafka.join")) {
        struct join_in j; /* about 2 KiB: the protocols' metadata */
        strom_err err = join_read(head, items, &j);
        if (!err) {
            fold_join(g, env, ts_ns, offset, &j);
        }
        return err;
    }
    if (strom_ssim_is(&head->r, "kafka.sync")) {
        return fold_sync(g, env, ts_ns, head, items);
    }
    if (strom_ssim_is(&head->r, "kafka.heartbeat")) {
        return fold_heartbeat(g, env, ts_ns, head);
    }
    if (strom_ssim_is(&head->r, "kafka.leave")) {
        return fold_leave(g, env, ts_ns, head);
    }
    if (strom_ssim_is(&head->r, "kafka.commit")) {
        return fold_commit(g, env, ts_ns, head, items);
    }
    return strom_ssim_is(&head->r, "kafka.tick") ? STROM_OK : STROM_ERR_CORRUPT;
}

strom_err kgroup_fold(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                      uint64_t base_offset, const uint8_t *set, uint32_t bytes, uint32_t count) {
    strom_assert(env != NULL && env->outcome != NULL && env->scratch != NULL);
    struct items items = {.scratch = env->scratch + HALF};
    msgset_iter_init(&items.it, set, bytes, count);
    struct rec head;
    struct msgset_msg m;
    strom_err err = msgset_next(&items.it, &m);
    if (!err) {
        err = rec_parse(&head, &m, env->scratch);
    }
    advance(g, env, ts_ns);
    if (!err) {
        err = fold_record(g, env, ts_ns, base_offset, &head, &items);
    }
    g->folded++;
    g->bad_records += err ? 1 : 0;
    return err ? STROM_ERR_CORRUPT : STROM_OK;
}

/* --- writing records -------------------------------------------------------------------------- */

void kgroup_writer_init(struct kgroup_writer *w, uint8_t *buf, size_t cap) {
    *w = (struct kgroup_writer){.buf = buf, .cap = cap};
}

/* The ssim writer of the next message: its line goes after the message's 20-byte head. */
static bool msg_begin(struct kgroup_writer *w, struct strom_ssim_writer *sw, const char *type) {
    if (w->overflow || w->cap - w->used < MSGSET_ONE_OVERHEAD + 2) {
        w->overflow = true;
        return false;
    }
    strom_ssim_writer_init(sw, (char *)w->buf + w->used + MSGSET_ONE_OVERHEAD,
                           w->cap - w->used - MSGSET_ONE_OVERHEAD);
    strom_ssim_write_type(sw, type);
    return true;
}

/* Ends the line and the message (the payload is the line without its '\n'). */
static void msg_end(struct kgroup_writer *w, struct strom_ssim_writer *sw) {
    if (strom_ssim_writer_end(sw) != STROM_OK) {
        w->overflow = true;
        return;
    }
    uint8_t *p = w->buf + w->used;
    uint32_t len = (uint32_t)sw->bytes_used - 1;
    memset(p, 0, 16); /* client timestamp, no key, no headers (msgset.h) */
    memcpy(p + 16, &len, 4);
    w->used += MSGSET_ONE_OVERHEAD + len;
    w->count++;
}

/* A string or bytes value; a null or empty one is written as "". */
static void put_str(struct strom_ssim_writer *sw, const char *key, struct kafka_str s) {
    strom_ssim_write_bytes(sw, key, s.len > 0 ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
}

static void put_bytes(struct strom_ssim_writer *sw, const char *key, struct kafka_bytes b) {
    strom_ssim_write_bytes(sw, key, b.len > 0 ? (const void *)b.ptr : "",
                           b.len > 0 ? (size_t)b.len : 0);
}

void kgroup_write_join(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                       struct kafka_str client, int32_t session_ms, int32_t rebalance_ms,
                       struct kafka_str protocol_type, bool new_ok,
                       const struct kgroup_protocol_in *protocols, uint32_t count) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.join")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        put_str(&sw, "member", member);
        put_str(&sw, "client", client);
        strom_ssim_write_i64(&sw, "session_ms", session_ms);
        strom_ssim_write_i64(&sw, "rebalance_ms", rebalance_ms);
        put_str(&sw, "protocol_type", protocol_type);
        strom_ssim_write_i64(&sw, "new_ok", new_ok ? 1 : 0);
        strom_ssim_write_u64(&sw, "count", count);
        msg_end(w, &sw);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (msg_begin(w, &sw, "kafka.protocol")) {
            put_str(&sw, "name", protocols[i].name);
            put_bytes(&sw, "metadata", protocols[i].metadata);
            msg_end(w, &sw);
        }
    }
}

void kgroup_write_sync(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                       int32_t generation, const struct kgroup_assignment_in *assignments,
                       uint32_t count) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.sync")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        put_str(&sw, "member", member);
        strom_ssim_write_i64(&sw, "generation", generation);
        strom_ssim_write_u64(&sw, "count", count);
        msg_end(w, &sw);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (msg_begin(w, &sw, "kafka.assignment")) {
            put_str(&sw, "member", assignments[i].member);
            put_bytes(&sw, "assignment", assignments[i].assignment);
            msg_end(w, &sw);
        }
    }
}

void kgroup_write_heartbeat(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                            int32_t generation) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.heartbeat")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        put_str(&sw, "member", member);
        strom_ssim_write_i64(&sw, "generation", generation);
        msg_end(w, &sw);
    }
}

void kgroup_write_leave(struct kgroup_writer *w, uint64_t ref, struct kafka_str member) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.leave")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        put_str(&sw, "member", member);
        msg_end(w, &sw);
    }
}

void kgroup_write_tick(struct kgroup_writer *w, uint64_t ref) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.tick")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        msg_end(w, &sw);
    }
}

void kgroup_write_commit(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                         int32_t generation, uint32_t count) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.commit")) {
        strom_ssim_write_u64(&sw, "ref", ref);
        put_str(&sw, "member", member);
        strom_ssim_write_i64(&sw, "generation", generation);
        strom_ssim_write_u64(&sw, "count", count);
        msg_end(w, &sw);
    }
}

void kgroup_write_offset(struct kgroup_writer *w, const struct kgroup_offset_in *o) {
    struct strom_ssim_writer sw;
    if (msg_begin(w, &sw, "kafka.offset")) {
        put_str(&sw, "topic", o->topic);
        strom_ssim_write_i64(&sw, "partition", o->partition);
        strom_ssim_write_i64(&sw, "offset", o->offset);
        strom_ssim_write_i64(&sw, "leader_epoch", o->leader_epoch);
        put_str(&sw, "metadata", o->metadata);
        msg_end(w, &sw);
    }
}
