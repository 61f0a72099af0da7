/* sequencer.c: the sequencer role (see sequencer.h). */
#include "node/sequencer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "io/io.h"
#include "node/log.h"
#include "node/msgset.h"
#include "node/nodelog.h"
#include "node/path.h"
#include "node/commit.h"
#include "node/supervisor.h"
#include "kafka/record_batch.h"
#include "store/store.h"
#ifdef STROM_SIM_PLANTS
#include "sim/plant.h"
#endif

#define SYS_PREFIX    "/sys/"
#define GROUPS_PREFIX "/sys/groups/" /* Kafka groups: written by gateways (NODE_FLAG_SYSTEM) */

strom_err sequencer_open(struct sequencer *s, struct io *io, const struct node_config *c,
                         const struct node_shm *shm) {
    memset(s, 0, sizeof *s);
    s->io = io;
    s->config = c;
    s->shm = shm;
    s->counters = &shm->header->sequencer;
    s->registry = shm->registry;
    s->gateways = c->gateways;
    strom_err err = producers_attach(&s->producers, shm->producers_region, shm->producers_bytes);
    if (!err) {
        err = ring_writer_open(&s->log, shm->log_region, shm->log_bytes, io);
    }
    for (uint32_t k = 0; !err && k < c->commits; k++) {
        ring_writer_set_wake_fd(&s->log, NODE_LOG_SLOT_COMMIT(k), shm->commit_events[k]);
    }
    for (uint32_t g = 0; !err && g < c->gateways; g++) {
        ring_writer_set_wake_fd(&s->log, NODE_LOG_SLOT_GATEWAY(g), shm->gateway_events[g]);
        err = ring_reader_open(&s->requests[g], shm->request_regions[g], shm->request_bytes, io,
                               NODE_REQUEST_SLOT_SEQUENCER);
        if (!err) {
            /* When the gateway waits for room in its ring, our commits wake it by its event. */
            ring_set_writer_wake_fd(&s->requests[g].ring, shm->gateway_events[g]);
        }
    }
    return err;
}

/* --- applying published entries (live and in recovery) -------------------------------------- */

/* Folds a /sys/cmd record (one message of a /sys/cmd batch) into the registry. */
static strom_err seq_fold_record(struct sequencer *s, const struct node_batch *b,
                                 const uint8_t *msgs) {
    static struct strom_ssim_record rec; /* large; records are rare */
    char scratch[2 * PATH_BYTES_MAX + 64];
    struct msgset_iter it;
    struct msgset_msg m;
    msgset_iter_init(&it, msgs, b->messages_bytes, b->count);
    strom_err err = STROM_OK;
    while (!err && (err = msgset_next(&it, &m)) == STROM_OK) {
        uint64_t id = 0;
        const char *path = NULL;
        uint32_t path_len = 0;
        err = strom_ssim_parse(&rec, (const char *)m.payload, m.payload_len, scratch,
                               sizeof scratch, NULL);
        if (!err && !strom_ssim_is(&rec, "strom.stream_created")) {
            continue; /* other records (nodes, users) are not the registry's */
        }
        if (!err) {
            err = strom_ssim_get_u64(&rec, "id", &id, NULL);
        }
        if (!err) {
            err = strom_ssim_get_str(&rec, "path", &path, &path_len, NULL);
        }
        if (!err) {
            err = path_check(path, path_len) ? STROM_ERR_CORRUPT : STROM_OK;
        }
        uint64_t got = 0;
        if (!err) {
            err = registry_insert(&s->registry, path, path_len, id, &got);
            err = err == STROM_ERR_EXISTS ? STROM_OK : err;
        }
    }
    return err == STROM_ERR_END ? STROM_OK : err;
}

/* Applies a published entry to the shared state. Idempotent: the restarted sequencer applies the
 * last entry of the node log again. */
static void seq_apply(struct sequencer *s, uint16_t type, const struct node_batch *b,
                      const uint8_t *msgs) {
    if (b->gateway != NODE_GATEWAY_NONE) {
        strom_assert(b->gateway < s->gateways);
        uint64_t *published = &s->counters->published_request[b->gateway];
        if (b->request_id + 1 > *published) {
            __atomic_store_n(published, b->request_id + 1, __ATOMIC_RELEASE);
        }
    }
    if (type != NODE_ENTRY_BATCH) {
        return;
    }
    if (b->stream_id == 0) {
        strom_err err = seq_fold_record(s, b, msgs);
        strom_assert(err == STROM_OK); /* records in the node log were made by us */
    }
    strom_assert(b->stream_id < registry_count(&s->registry));
    struct node_stream *st = registry_stream(&s->registry, b->stream_id);
    if (b->base_offset + b->count > st->next_offset) {
        __atomic_store_n(&st->last_timestamp_ns, b->timestamp_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&st->next_offset, b->base_offset + b->count, __ATOMIC_RELEASE);
    }
    if (b->producer_id != 0) {
        struct producer_batch pb = {.sequence = b->sequence,
                                    .base_offset = b->base_offset,
                                    .timestamp_ns = b->timestamp_ns,
                                    .count = b->count,
                                    .span = b->span};
        producers_record(&s->producers, b->stream_id, b->producer_id, &pb);
    }
}

/* Publishes an entry (header b, then msgs_bytes of msgs) and applies it. AGAIN: no room. */
static strom_err seq_publish(struct sequencer *s, uint16_t type, struct node_batch *b,
                             const void *msgs) {
    void *dst = NULL;
    uint32_t body_bytes = (uint32_t)sizeof *b + b->messages_bytes;
    strom_err err = ring_claim(&s->log, body_bytes, &dst);
    if (err) {
        strom_assert(err == STROM_ERR_AGAIN); /* sizes are bounded by node_config_check */
        s->log_full_bytes = body_bytes;
        return err;
    }
    memcpy(dst, b, sizeof *b);
    if (b->messages_bytes > 0) {
        memcpy((uint8_t *)dst + sizeof *b, msgs, b->messages_bytes);
    }
    if (type == NODE_ENTRY_BATCH && (b->flags & NODE_FLAG_KAFKA)) {
        /* A Kafka batch gets its offsets in place (outside its CRC); the gateway checked it. */
        kafka_batch_assign((uint8_t *)dst + sizeof *b, b->messages_bytes, (int64_t)b->base_offset,
                           (int32_t)b->epoch);
    }
    ring_publish(&s->log, type, NULL);
    if (type == NODE_ENTRY_BATCH && ((b->flags & NODE_FLAG_SYNC) || b->stream_id == 0)) {
        /* A sync append, or a /sys/cmd record (other commits wait for it to be durable): a
         * commit that sleeps lazily syncs it now (commit.h, COMMIT_LAZY_SYNC_NS). */
        node_commits_wake(s->shm, s->io, s->config->commits);
    }
    seq_apply(s, type, (const struct node_batch *)dst, (const uint8_t *)dst + sizeof *b);
    return STROM_OK;
}

/* --- requests ------------------------------------------------------------------------------ */

/* A view of a request entry. */
struct seq_request {
    const struct node_request *req;
    const char *path;
    const uint8_t *msgs;
    uint32_t gateway;
    uint64_t request_id;
};

static struct seq_request seq_parse(uint32_t g, const struct ring_entry *e) {
    struct seq_request r = {.req = (const struct node_request *)(const void *)e->body,
                            .gateway = g,
                            .request_id = e->position};
    strom_assert(e->body_bytes >= sizeof *r.req);
    uint32_t path_bytes = node_request_path_bytes(r.req->path_len);
    strom_assert(e->body_bytes == sizeof *r.req + path_bytes + r.req->messages_bytes);
    r.path = (const char *)(e->body + sizeof *r.req);
    r.msgs = e->body + sizeof *r.req + path_bytes;
    return r;
}

/* An answer entry for request r, to be completed by the caller. */
static struct node_batch seq_answer_for(const struct seq_request *r, strom_err err) {
    return (struct node_batch){.stream_id = r->req->stream_id,
                               .producer_id = r->req->producer_id,
                               .sequence = r->req->sequence,
                               .request_id = r->request_id,
                               .span = r->req->span,
                               .error = (uint32_t)err,
                               .gateway = (uint16_t)r->gateway,
                               .ack = r->req->ack,
                               .flags = (uint8_t)(r->req->flags & NODE_FLAGS_CARRIED)};
}

/* Creates the stream path (not registered yet) by publishing its /sys/cmd record. */
static strom_err seq_create(struct sequencer *s, const char *path, uint32_t len, uint64_t *id) {
    const struct registry_header *h = s->registry.header;
    uint64_t next_id = registry_count(&s->registry);
    if (next_id >= h->streams_max || h->arena_used + len > h->arena_bytes) {
        return STROM_ERR_LIMIT;
    }
    struct node_stream *cmd = registry_stream(&s->registry, 0);
    uint64_t ts = s->now_ns > cmd->last_timestamp_ns ? s->now_ns : cmd->last_timestamp_ns;
    char line[PATH_BYTES_MAX * 4 + 128];
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, line, sizeof line);
    strom_ssim_write_type(&w, "strom.stream_created");
    strom_ssim_write_u64(&w, "id", next_id);
    strom_ssim_write_bytes(&w, "path", path, len);
    strom_ssim_write_u64(&w, "ts", ts);
    strom_err err = strom_ssim_writer_end(&w);
    strom_assert(err == STROM_OK);
    /* The record is the line without its '\n'. */
    size_t set = msgset_write_one(s->record, sizeof s->record, line, (uint32_t)w.bytes_used - 1);
    strom_assert(set > 0);
    struct node_batch b = {.stream_id = 0,
                           .base_offset = cmd->next_offset,
                           .timestamp_ns = ts,
                           .count = 1,
                           .messages_bytes = (uint32_t)set,
                           .gateway = NODE_GATEWAY_NONE};
    err = seq_publish(s, NODE_ENTRY_BATCH, &b, s->record);
    if (!err) {
        bool found = registry_find(&s->registry, path, len, id);
        strom_assert(found && *id == next_id);
        s->counters->creates++;
    }
    return err;
}

/* Finds or (when allowed) creates the stream of r. Errors for the answer, or AGAIN. */
static strom_err seq_resolve(struct sequencer *s, const struct seq_request *r, bool create,
                             uint64_t *id, bool *created) {
    const struct node_request *req = r->req;
    *created = false;
    if (req->path_len == 0) {
        *id = req->stream_id;
        if (*id == 0) {
            return STROM_ERR_UNSUPPORTED; /* /sys/cmd takes records through create only */
        }
        return *id < registry_count(&s->registry) ? STROM_OK : STROM_ERR_NO_STREAM;
    }
    if (path_check(r->path, req->path_len) != STROM_OK) {
        return STROM_ERR_INVALID_PATH;
    }
    bool sys = req->path_len >= sizeof SYS_PREFIX - 1 &&
               memcmp(r->path, SYS_PREFIX, sizeof SYS_PREFIX - 1) == 0;
    if (sys && (req->flags & NODE_FLAG_SYSTEM) && req->path_len > sizeof GROUPS_PREFIX - 1 &&
        memcmp(r->path, GROUPS_PREFIX, sizeof GROUPS_PREFIX - 1) == 0) {
        sys = false; /* a gateway's group record: an ordinary stream, created on demand */
        create = true;
    }
    if (registry_find(&s->registry, r->path, req->path_len, id)) {
        return sys ? STROM_ERR_UNSUPPORTED : STROM_OK;
    }
    if (sys) {
        return STROM_ERR_INVALID_PATH; /* /sys/ is the node's own namespace */
    }
    if (!create) {
        return STROM_ERR_NO_STREAM;
    }
    strom_err err = seq_create(s, r->path, req->path_len, id);
    *created = err == STROM_OK;
    return err;
}

static strom_err seq_append(struct sequencer *s, const struct seq_request *r) {
    const struct node_request *req = r->req;
    uint64_t id = 0;
    bool created = false;
    strom_err err = seq_resolve(s, r, s->config->auto_create, &id, &created);
    struct producer_batch orig = {0};
    if (!err && req->producer_id != 0) {
        /* A stream this request created has no batch of the producer: not a retry there. */
        bool retry = (req->flags & NODE_FLAG_RETRY) != 0 && !created;
        err = producers_check(&s->producers, id, req->producer_id, req->sequence, req->span, retry,
                              &orig);
    }
#ifdef STROM_SIM_PLANTS
    if (SIM_PLANT(APPLY_RETRY_TWICE) && err == STROM_ERR_EXISTS) {
        err = STROM_OK; /* planted bug: a retry inside the window applied again (sim/plant.h) */
    }
#endif
    struct node_batch b = seq_answer_for(r, err);
    b.stream_id = err == STROM_ERR_NO_STREAM || err == STROM_ERR_INVALID_PATH ? 0 : id;
    if (err == STROM_ERR_AGAIN) {
        return err;
    }
    if (err == STROM_ERR_EXISTS) {
        b.error = STROM_OK;
        b.flags |= NODE_FLAG_DUPLICATE;
        b.base_offset = orig.base_offset;
        b.count = orig.count;
        b.timestamp_ns = orig.timestamp_ns;
        s->counters->duplicates++;
    }
    if (err) {
        s->counters->rejected += err == STROM_ERR_EXISTS ? 0 : 1;
        return seq_publish(s, NODE_ENTRY_ANSWER, &b, NULL);
    }
    const struct node_stream *st = registry_stream(&s->registry, id);
    b.base_offset = st->next_offset;
    b.timestamp_ns = s->now_ns > st->last_timestamp_ns ? s->now_ns : st->last_timestamp_ns;
    b.count = req->count;
    b.epoch = st->epoch;
    b.messages_bytes = req->messages_bytes;
    err = seq_publish(s, NODE_ENTRY_BATCH, &b, r->msgs);
    if (!err) {
        s->counters->batches++;
        s->counters->messages += req->count;
        s->counters->message_bytes += req->messages_bytes;
    }
    return err;
}

static strom_err seq_create_request(struct sequencer *s, const struct seq_request *r) {
    uint64_t id = 0;
    bool created = false;
    strom_err err = seq_resolve(s, r, true, &id, &created);
    if (err == STROM_ERR_AGAIN) {
        return err;
    }
    struct node_batch b = seq_answer_for(r, err);
    b.stream_id = err ? 0 : id;
    b.flags |= created ? NODE_FLAG_CREATED : 0;
    s->counters->rejected += err ? 1 : 0;
    return seq_publish(s, NODE_ENTRY_ANSWER, &b, NULL);
}

/* Handles one request entry of gateway g. AGAIN: the node log has no room; nothing was taken. */
static strom_err seq_handle(struct sequencer *s, uint32_t g, const struct ring_entry *e) {
    if (e->position + 1 <= s->counters->published_request[g]) {
        s->counters->skipped_requests++; /* published before a restart */
        return STROM_OK;
    }
    struct seq_request r = seq_parse(g, e);
    s->counters->requests++;
    switch (e->type) {
    case NODE_ENTRY_APPEND:
        strom_assert(r.req->count >= 1 && r.req->span >= 1);
        return seq_append(s, &r);
    case NODE_ENTRY_CREATE:
        return seq_create_request(s, &r);
    default:
        strom_unreachable();
    }
}

uint32_t sequencer_turn(struct sequencer *s, uint64_t now_ns) {
    s->now_ns = now_ns;
    s->log_full = false;
    uint32_t handled = 0;
    for (uint32_t k = 0; k < s->gateways && !s->log_full; k++) {
        uint32_t g = (s->turn + k) % s->gateways;
        struct ring_reader *rr = &s->requests[g];
        uint32_t taken = 0;
        while (taken < SEQUENCER_TURN_MAX) {
            struct ring_entry e;
            strom_err err = ring_read(rr, &e);
            if (err == STROM_ERR_AGAIN) {
                break;
            }
            strom_assert(err == STROM_OK); /* a mandatory reader is never lapped */
            if (seq_handle(s, g, &e) == STROM_ERR_AGAIN) {
                rr->cursor = e.position; /* take it again when the node log has room */
                s->log_full = true;
                s->counters->log_full_waits++;
                break;
            }
            taken++;
        }
        if (taken > 0) {
            strom_err err = ring_reader_commit(rr);
            strom_assert(err == STROM_OK);
        }
        handled += taken;
    }
    s->turn = s->gateways ? (s->turn + 1) % s->gateways : 0;
    return handled;
}

void sequencer_recover(struct sequencer *s) {
    struct ring_entry e;
    if (ring_writer_last(&s->log, &e) == STROM_OK &&
        (e.type == NODE_ENTRY_BATCH || e.type == NODE_ENTRY_ANSWER)) {
        const struct node_batch *b = (const struct node_batch *)(const void *)e.body;
        strom_assert(e.body_bytes == sizeof *b + b->messages_bytes);
        seq_apply(s, e.type, b, e.body + sizeof *b);
        s->counters->recovered_batches = 1;
    }
}

/* Folds the /sys/cmd batches of a store (opened read-only) into the registry. */
static strom_err seq_fold_store(struct sequencer *s, struct store *st, uint8_t *buf,
                                size_t buf_bytes, uint64_t *records) {
    static struct store_cursor cur; /* large; used once per start */
    store_cursor_init(&cur, 0, 0);
    strom_err err = STROM_OK;
    while (!err) {
        struct store_batch sb;
        err = store_cursor_next(st, &cur, &sb, buf, buf_bytes);
        const struct node_batch *b = (const struct node_batch *)(const void *)buf;
        if (!err &&
            (sb.payload_bytes < sizeof *b || sb.payload_bytes != sizeof *b + b->messages_bytes)) {
            err = STROM_ERR_CORRUPT;
        }
        if (!err) {
            err = seq_fold_record(s, b, buf + sizeof *b);
            struct node_stream *cmd = registry_stream(&s->registry, 0);
            cmd->next_offset = sb.base_offset + sb.message_count;
            cmd->last_timestamp_ns = b->timestamp_ns;
            *records += sb.message_count;
        }
    }
    return err == STROM_ERR_END || err == STROM_ERR_NO_STREAM ? STROM_OK : err;
}

/* Opens the store of commit k read-only; NULL when it has none (a new node). */
static strom_err seq_store_open(struct sequencer *s, uint32_t k, struct store **out) {
    const struct node_config *c = s->config;
    char dir[NODE_DIR_BYTES_MAX + 32];
    commit_dir(c, k, dir, sizeof dir);
    struct store_options o;
    store_options_default(&o);
    o.read_only = true;
    o.create = false;
    o.batch_bytes_max = c->frame_bytes_max + 4096;
    o.streams_max = c->streams_max;
    *out = NULL;
    strom_err err = store_open(s->io, dir, &o, out);
    return err == STROM_ERR_NOT_FOUND ? STROM_OK : err;
}

/* Reads the last batches of stream id (its last SEQUENCER_TAIL_MESSAGES messages) back into the
 * idempotence windows and its last timestamp. *budget counts down the bytes read. */
static strom_err seq_fold_tail(struct sequencer *s, struct store *st, uint64_t id, uint8_t *buf,
                               size_t buf_bytes, uint64_t *budget) {
    static struct store_cursor cur; /* large; used at start only */
    struct node_stream *t = registry_stream(&s->registry, id);
    uint64_t next = t->next_offset;
    uint64_t from = next > SEQUENCER_TAIL_MESSAGES ? next - SEQUENCER_TAIL_MESSAGES : 0;
    store_cursor_init(&cur, id, from);
    strom_err err = STROM_OK;
    while (!err && *budget > 0) {
        struct store_batch sb;
        err = store_cursor_next(st, &cur, &sb, buf, buf_bytes);
        const struct node_batch *b = (const struct node_batch *)(const void *)buf;
        if (!err && sb.payload_bytes < sizeof *b) {
            err = STROM_ERR_CORRUPT;
        }
        if (err) {
            break;
        }
        *budget -= sb.payload_bytes < *budget ? sb.payload_bytes : *budget;
        t->last_timestamp_ns =
            b->timestamp_ns > t->last_timestamp_ns ? b->timestamp_ns : t->last_timestamp_ns;
        if (b->producer_id != 0 && b->span >= 1 && b->count >= 1) {
            struct producer_batch pb = {.sequence = b->sequence,
                                        .base_offset = b->base_offset,
                                        .timestamp_ns = b->timestamp_ns,
                                        .count = b->count,
                                        .span = b->span};
            producers_record(&s->producers, id, b->producer_id, &pb);
        }
    }
    /* OUT_OF_RANGE: reclaimed; NO_STREAM: never written; CORRUPT: the store reports it to
     * readers. None of them is a reason not to start. */
    return err == STROM_ERR_IO || err == STROM_ERR_NO_MEMORY ? err : STROM_OK;
}

strom_err sequencer_rebuild(struct sequencer *s) {
    const struct node_config *c = s->config;
    struct store *stores[NODE_COMMITS_MAX] = {0};
    size_t buf_bytes = (size_t)c->frame_bytes_max + 4096;
    uint8_t *buf = malloc(buf_bytes); /* start-up only */
    strom_err err = buf == NULL ? STROM_ERR_NO_MEMORY : STROM_OK;
    for (uint32_t k = 0; !err && k < c->commits; k++) {
        err = seq_store_open(s, k, &stores[k]);
    }
    uint64_t records = 0;
    struct store *cmd_store = stores[node_commit_of(0, c->commits)];
    if (!err && cmd_store != NULL) {
        err = seq_fold_store(s, cmd_store, buf, buf_bytes, &records);
    }
    /* The commits published what their stores hold before we started (the supervisor starts
     * them first): no offset below that is given again. Then the tails: idempotence windows
     * and last timestamps. */
    uint64_t count = registry_count(&s->registry);
    uint64_t budget = SEQUENCER_TAIL_BYTES_MAX;
    for (uint64_t id = 1; !err && id < count; id++) {
        struct node_stream *t = registry_stream(&s->registry, id);
        uint64_t durable = __atomic_load_n(&t->durable_next, __ATOMIC_ACQUIRE);
        t->next_offset = durable > t->next_offset ? durable : t->next_offset;
        struct store *st = stores[node_commit_of(id, c->commits)];
        if (st != NULL && t->next_offset > 0 && budget > 0) {
            err = seq_fold_tail(s, st, id, buf, buf_bytes, &budget);
        }
    }
    for (uint32_t k = 0; k < c->commits; k++) {
        if (stores[k] != NULL) {
            store_close(stores[k]);
        }
    }
    /* The windows hold what was durable; ack-1 batches after it may be gone (producers.h). */
    producers_mark_recovered(&s->producers, records > 0);
    free(buf);
    s->counters->recovered_batches = records;
    return err;
}

/* --- the process --------------------------------------------------------------------------- */

static void seq_log(struct sequencer *s, const char *type) {
    struct node_log line;
    node_log_begin(&line, s->io, type, "sequencer");
    strom_ssim_write_u64(&line.w, "streams", registry_count(&s->registry));
    strom_ssim_write_u64(&line.w, "log_tail", ring_tail(&s->log.ring));
    strom_ssim_write_u64(&line.w, "requests", s->counters->requests);
    strom_ssim_write_u64(&line.w, "skipped", s->counters->skipped_requests);
    node_log_end(&line, s->io);
}

/* Sleeps until a request arrives or SEQUENCER_IDLE_WAIT_NS pass. */
static void seq_idle(struct sequencer *s) {
    int ev = s->shm->sequencer_event;
    bool ready = false;
    for (uint32_t g = 0; g < s->gateways; g++) {
        ready |= ring_reader_arm(&s->requests[g]);
    }
    if (!ready) {
        uint32_t bits = 0;
        io_fd_wait(s->io, ev, IO_POLL_IN, SEQUENCER_IDLE_WAIT_NS, &bits);
        /* Drained only when it woke us: draining before every sleep cost a read that mostly
         * found nothing. A signal left over (we found a request without sleeping) makes the
         * next wait return at once, and is drained then. */
        if (bits & IO_POLL_IN) {
            io_event_drain(s->io, ev);
        }
    }
}

int sequencer_run(struct sequencer *s, struct io *io, const struct node_config *c,
                  const struct node_shm *shm, uint32_t index) {
    strom_assert(index == 0);
    struct node_sequencer_counters *k = &shm->header->sequencer;
    __atomic_store_n(&k->ready, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&k->pid, (uint64_t)io_proc_id(io), __ATOMIC_RELEASE);
    k->starts++;
    strom_err err = sequencer_open(s, io, c, shm);
    if (err) {
        struct node_log line;
        node_log_begin(&line, io, "strom.node.error", "sequencer");
        strom_ssim_write_str(&line.w, "what", "open");
        strom_ssim_write_str(&line.w, "error", strom_errname(err));
        node_log_end(&line, io);
        return 1;
    }
    if (!k->rebuilt) {
        err = sequencer_rebuild(s); /* new shared memory: the node (re)starts */
        k->rebuilt = err == STROM_OK;
    }
    if (err) {
        struct node_log line;
        node_log_begin(&line, io, "strom.node.error", "sequencer");
        strom_ssim_write_str(&line.w, "what", "rebuild from /sys/cmd");
        strom_ssim_write_str(&line.w, "error", strom_errname(err));
        node_log_end(&line, io);
        return 1;
    }
    sequencer_recover(s);
#ifdef STROM_SIM_PLANTS
    uint64_t planted = registry_count(&s->registry);
    if (SIM_PLANT(SKIP_OFFSET) && k->starts > 1 && planted > 1) {
        /* planted bug: a restarted sequencer skips an offset (sim/plant.h) */
        registry_stream(&s->registry, planted - 1)->next_offset++;
    }
#endif
    __atomic_store_n(&k->ready, 1, __ATOMIC_RELEASE);
    seq_log(s, "strom.node.sequencer_ready");
    bool stopping = false;
    for (;;) {
        stopping |= io_signal_take(io, IO_SIGNAL_TERM);
        uint32_t handled = sequencer_turn(s, io_clock_realtime_ns(io));
        if (s->log_full) {
            /* A commit is behind: wait for it (this is where backpressure starts). */
            ring_writer_wait(&s->log, s->log_full_bytes, 10000000u);
        } else if (handled == 0 && stopping) {
            break; /* the gateways are gone and their rings are empty */
        } else if (handled == 0) {
            seq_idle(s);
        }
    }
    seq_log(s, "strom.node.sequencer_stopped");
    return 0;
}

int sequencer_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                   uint32_t index) {
    static struct sequencer s; /* one per process */
    return sequencer_run(&s, io, c, shm, index);
}
