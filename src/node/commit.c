/* commit.c: the commit role (see commit.h). */
#include "node/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/log.h"
#include "node/nodelog.h"
#include "node/supervisor.h"
#include "store/store.h"
#ifdef STROM_SIM_PLANTS
#include "sim/plant.h"
#endif

void commit_dir(const struct node_config *c, uint32_t index, char *buf, size_t buf_bytes) {
    int n = snprintf(buf, buf_bytes, "%s/commit-%u", c->data_dir, index);
    strom_assert(n > 0 && (size_t)n < buf_bytes);
}

/* Publishes the durable offsets the store holds, for every stream it has. */
static strom_err commit_publish_stream(void *arg, const struct store_stream_info *info) {
    struct commit *k = arg;
    if (info->stream_id >= k->registry.header->streams_max) {
        return STROM_ERR_LIMIT; /* a store from a node with a larger --streams-max */
    }
    struct node_stream *st = registry_stream(&k->registry, info->stream_id);
    __atomic_store_n(&st->first_offset, info->first_offset, __ATOMIC_RELAXED);
    __atomic_store_n(&st->durable_next, info->next_offset, __ATOMIC_RELEASE);
    return STROM_OK;
}

/* Counting each stream's message bytes when the node starts on fresh shared memory. */
struct commit_count {
    struct commit *k;
    uint8_t *buf; /* one stored batch */
    size_t buf_bytes;
    struct store_cursor cur;
};

/* Adds to a stream's bytes (registry) the message sets of the stored batches it does not count
 * yet. bytes counts the batches below durable_next (commit_publish moves both): on new shared
 * memory (a start of the whole node) both are 0 and every batch is read once; a restarted commit
 * reads only what its predecessor stored but did not publish. Runs before commit_publish_stream
 * moves durable_next to what the store holds. */
static strom_err commit_count_stream(void *arg, const struct store_stream_info *info) {
    struct commit_count *n = arg;
    if (info->stream_id >= n->k->registry.header->streams_max) {
        return STROM_OK; /* commit_publish_stream refuses it */
    }
    struct node_stream *st = registry_stream(&n->k->registry, info->stream_id);
    uint64_t counted = __atomic_load_n(&st->durable_next, __ATOMIC_RELAXED);
    uint64_t from = counted > info->first_offset ? counted : info->first_offset;
    if (info->next_offset <= from) {
        return STROM_OK;
    }
    uint64_t bytes = __atomic_load_n(&st->bytes, __ATOMIC_RELAXED);
    store_cursor_init(&n->cur, info->stream_id, from);
    strom_err err = STROM_OK;
    while (!err) {
        struct store_batch sb;
        err = store_cursor_next(n->k->store, &n->cur, &sb, n->buf, n->buf_bytes);
        const struct node_batch *b = (const struct node_batch *)(const void *)n->buf;
        if (!err && sb.payload_bytes >= sizeof *b) {
            bytes += b->messages_bytes;
        }
    }
    strom_assert(err != STROM_ERR_OVERFLOW); /* the buffer holds the largest batch */
    __atomic_store_n(&st->bytes, bytes, __ATOMIC_RELAXED);
    /* END: counted; a damaged or reclaimed range is the readers' to report, not a reason not to
     * start. */
    return err == STROM_ERR_IO || err == STROM_ERR_NO_MEMORY ? err : STROM_OK;
}

static strom_err commit_count_bytes(struct commit *k) {
    struct commit_count *n = malloc(sizeof *n); /* start-up only */
    size_t buf_bytes = (size_t)k->config->frame_bytes_max + 4096;
    uint8_t *buf = n != NULL ? malloc(buf_bytes) : NULL;
    strom_err err = buf == NULL ? STROM_ERR_NO_MEMORY : STROM_OK;
    if (!err) {
        *n = (struct commit_count){.k = k, .buf = buf, .buf_bytes = buf_bytes};
        err = store_streams_list(k->store, commit_count_stream, n);
    }
    free(buf);
    free(n);
    return err;
}

/* Reads len bytes at pos into buf until two reads in a row agree (again is scratch of len
 * bytes): what is written back must be what the file holds, and a read can return a flipped bit
 * (a transient error that the store's CRCs catch on a read, but not on this copy). *got gets the
 * bytes read. Errors: IO when no two of COMMIT_RESYNC_READS reads agree, errors of pread. */
static strom_err commit_resync_read(struct commit *k, int fd, uint8_t *buf, uint8_t *again,
                                    size_t len, uint64_t pos, size_t *got) {
    strom_err err = io_file_pread(k->io, fd, buf, len, pos, got);
    bool same = false;
    for (uint32_t t = 1; !err && !same && t < COMMIT_RESYNC_READS; t++) {
        size_t got_again = 0;
        err = io_file_pread(k->io, fd, again, len, pos, &got_again);
        same = !err && got_again == *got && memcmp(buf, again, *got) == 0;
        if (!err && !same) {
            memcpy(buf, again, got_again); /* the newer read is the one compared next */
            *got = got_again;
        }
    }
    return err ? err : (same ? STROM_OK : STROM_ERR_IO);
}

/* Makes what lies past the last successful sync of a restarted commit dirty again, and syncs it
 * (commit.h): reads those bytes and writes them back unchanged, so readers see the same file. */
static strom_err commit_resync_tail(struct commit *k, const char *dir) {
    const struct node_commit_counters *kc = k->counters;
    uint64_t pos = __atomic_load_n(&kc->file_durable_pos, __ATOMIC_ACQUIRE);
    if (pos == 0) {
        return STROM_OK; /* the first start on this shared memory: the file is as the disk has it */
    }
    char path[NODE_DIR_BYTES_MAX + 64];
    int n = snprintf(path, sizeof path, "%s/%s", dir, STORE_DATA_FILE_NAME);
    strom_assert(n > 0 && (size_t)n < sizeof path);
    int fd = -1;
    strom_err err = io_file_open(k->io, path, IO_OPEN_WRITE, &fd);
    if (err == STROM_ERR_NOT_FOUND) {
        return STROM_OK;
    }
    uint64_t size = 0;
    uint8_t *buf = err ? NULL : malloc(2 * COMMIT_RESYNC_BYTES); /* start-up only */
    err = err ? err : (buf ? io_file_size(k->io, fd, &size) : STROM_ERR_NO_MEMORY);
    bool dirty = false;
    while (!err && pos < size) {
        size_t len = size - pos < COMMIT_RESYNC_BYTES ? (size_t)(size - pos) : COMMIT_RESYNC_BYTES;
        size_t got = 0;
        err = commit_resync_read(k, fd, buf, buf + COMMIT_RESYNC_BYTES, len, pos, &got);
        err =
            err ? err : (got == 0 ? STROM_ERR_TRUNCATED : io_file_pwrite(k->io, fd, buf, got, pos));
        pos += got;
        dirty = true;
    }
    if (!err && dirty) {
        err = io_file_datasync(k->io, fd);
    }
    free(buf);
    if (fd >= 0) {
        strom_err close_err = io_file_close(k->io, fd);
        err = err ? err : close_err;
    }
    return err;
}

strom_err commit_open(struct commit *k, struct io *io, const struct node_config *c,
                      const struct node_shm *shm, uint32_t index) {
    memset(k, 0, sizeof *k);
    k->io = io;
    k->config = c;
    k->shm = shm;
    k->index = index;
    k->cmd_owner = node_commit_of(0, c->commits);
    k->counters = &shm->header->commits_c[index];
    k->registry = shm->registry;
    char dir[NODE_DIR_BYTES_MAX + 32];
    commit_dir(c, index, dir, sizeof dir);
    strom_err err = io_dir_create(io, dir);
    struct store_options o;
    store_options_default(&o);
    o.batch_bytes_max = c->frame_bytes_max + 4096; /* a node log entry holds at most a frame */
    o.streams_max = c->streams_max;
    o.checkpoint_bytes = c->checkpoint_bytes;
    o.write_buffer_bytes = (uint32_t)c->write_buffer_bytes;
    uint64_t stream_ahead = COMMIT_SIZE_AHEAD_STREAM_BUFFERS * c->write_buffer_bytes;
    o.size_ahead_bytes = c->fsync == NODE_FSYNC_ALWAYS || stream_ahead < COMMIT_SIZE_AHEAD_BYTES
                             ? COMMIT_SIZE_AHEAD_BYTES
                             : stream_ahead;
    /* docs/node.md, "Throughput: where the time goes": O_DIRECT where every group waits for its
     * fdatasync anyway, and under the other policies while nobody reads the file; the page
     * cache, recycled, while readers catch up from it (commit_write_mode). */
    o.direct_writes = true;
    o.writeback_bytes = COMMIT_WRITEBACK_BYTES;
    o.cache_bytes = COMMIT_CACHE_BYTES;
    if (!err) {
        err = commit_resync_tail(k, dir);
    }
    if (!err) {
        err = store_open(io, dir, &o, &k->store);
    }
    if (!err) {
        /* What a crashed process wrote may still be only in the page cache: make it durable
         * before calling it durable (a forced checkpoint always ends in fdatasync). */
        err = store_checkpoint(k->store, true);
    }
    if (!err) {
        __atomic_store_n(&k->counters->file_durable_pos, store_durable_pos(k->store),
                         __ATOMIC_RELEASE);
        k->mode_switches = c->fsync != NODE_FSYNC_ALWAYS && store_direct_writes(k->store);
        k->counters->direct_writes = store_direct_writes(k->store);
    }
    if (!err) {
        err = commit_count_bytes(k);
    }
    if (!err) {
        err = store_streams_list(k->store, commit_publish_stream, k);
    }
    if (!err) {
        err = ring_reader_open(&k->log, shm->log_region, shm->log_bytes, io,
                               NODE_LOG_SLOT_COMMIT(index));
    }
    if (!err) {
        /* When the sequencer waits for room in the node log, we wake it through its event. */
        ring_set_writer_wake_fd(&k->log.ring, shm->sequencer_event);
        /* Not an error when it cannot: then a sync in flight is polled (COMMIT_SYNC_POLL_NS). */
        k->syncs_notify = io_file_datasync_notify(io, shm->commit_events[index]) == STROM_OK;
        uint64_t pos = k->log.cursor;
        __atomic_store_n(&k->counters->read_position, pos, __ATOMIC_RELAXED);
        if (__atomic_load_n(&k->counters->durable_position, __ATOMIC_RELAXED) < pos) {
            __atomic_store_n(&k->counters->durable_position, pos, __ATOMIC_RELEASE);
        }
    }
    return err;
}

/* Rings the doorbell of every gateway that sleeps: a durable position moved. */
static void commit_ring_gateways(struct commit *k) {
    for (uint32_t g = 0; g < k->config->gateways; g++) {
        uint32_t *armed = &k->shm->header->gateways_c[g].armed;
        if (__atomic_load_n(armed, __ATOMIC_SEQ_CST) != 0 &&
            __atomic_exchange_n(armed, 0, __ATOMIC_SEQ_CST) != 0) {
            (void)io_event_signal(k->io, k->shm->gateway_events[g]);
        }
    }
}

_Static_assert(COMMIT_SYNCS_MAX >= 1 && COMMIT_SYNCS_MAX <= STORE_SYNCS_INFLIGHT_MAX,
               "the store takes that many syncs in flight");

/* Publishes dirty[0, count) and the node log up to position as durable: streams first, then the
 * position; releases the node log up to there when release. */
static void commit_publish_upto(struct commit *k, uint32_t count, uint64_t position, bool release) {
    strom_assert(count <= k->dirty_count && position <= k->log.cursor);
    for (uint32_t i = 0; i < count; i++) {
        const struct commit_dirty *d = &k->dirty[i];
        struct node_stream *st = registry_stream(&k->registry, d->stream_id);
        __atomic_store_n(&st->durable_timestamp_ns, d->timestamp_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&st->bytes, st->bytes + d->bytes, __ATOMIC_RELAXED);
        if (d->next_offset > st->durable_next) {
            __atomic_store_n(&st->durable_next, d->next_offset, __ATOMIC_RELEASE);
        }
    }
    /* The batches of the syncs still in flight move down (bounded: COMMIT_DIRTY_MAX). */
    memmove(k->dirty, k->dirty + count, (k->dirty_count - count) * sizeof k->dirty[0]);
    k->dirty_count -= count;
    for (uint32_t i = 0; i < k->sync_count; i++) {
        k->syncs[i].dirty_end -= count;
    }
    if (position > __atomic_load_n(&k->counters->durable_position, __ATOMIC_RELAXED)) {
        __atomic_store_n(&k->counters->durable_position, position, __ATOMIC_SEQ_CST);
        commit_ring_gateways(k);
    }
    if (release && position > k->log.committed) {
        strom_err err = ring_reader_commit_at(&k->log, position);
        strom_assert(err == STROM_OK); /* the supervisor never takes a commit's slot away */
    }
}

/* Publishes everything read so far as durable. */
static void commit_publish(struct commit *k, bool release) {
    commit_publish_upto(k, k->dirty_count, k->log.cursor, release);
}

/* Counts a sync that took took_ns in the counters page. */
static void commit_count_sync(struct commit *k, uint64_t took_ns) {
    k->counters->syncs++;
    k->counters->sync_ns_total += took_ns;
    k->counters->sync_ns_max =
        took_ns > k->counters->sync_ns_max ? took_ns : k->counters->sync_ns_max;
}

/* Takes the outcome of a store sync, blocking or started (err): NO_SPACE pauses the commit and
 * is no error for the caller (nothing was lost: the same sync is tried again once there is
 * room); any other error fails the commit (the process exits and the store is opened again);
 * success ends a pause. Returns what the caller passes on. */
static strom_err commit_sync_outcome(struct commit *k, strom_err err) {
    if (err == STROM_ERR_NO_SPACE) {
        k->no_space = true;
    } else if (err) {
        k->failed = true;
    } else {
        k->no_space = false;
    }
    return err == STROM_ERR_NO_SPACE ? STROM_OK : err;
}

/* Store sync of everything, then publish and release the node log (the syncs in flight are
 * collected by store_sync on the way). */
static strom_err commit_sync(struct commit *k, uint64_t now_ns) {
    uint64_t t0 = io_clock_monotonic_ns(k->io);
    uint64_t file_durable_pos = 0;
#ifdef STROM_SIM_PLANTS
    if (SIM_PLANT(ACK_BEFORE_SYNC)) {
        commit_publish(k, false); /* planted bug: durable before the fdatasync (sim/plant.h) */
    }
#endif
    strom_err err = store_sync(k->store, &file_durable_pos);
    bool synced = err == STROM_OK;
    err = commit_sync_outcome(k, err);
    if (synced) {
        commit_count_sync(k, io_clock_monotonic_ns(k->io) - t0);
        k->sync_count = 0;
        k->pending_bytes = 0;
        k->pending_since_ns = 0;
        k->sync_wanted = false;
        k->last_sync_ns = now_ns;
        /* Before the node log position: a gateway that sees a batch durable finds it in the
         * file. */
        __atomic_store_n(&k->counters->file_durable_pos, file_durable_pos, __ATOMIC_RELEASE);
        commit_publish(k, true);
    }
    return err;
}

/* Collects the syncs that finished (waiting up to timeout_ns for the oldest) and publishes what
 * each covers. */
static strom_err commit_collect(struct commit *k, uint64_t timeout_ns) {
    if (k->sync_count == 0) {
        return STROM_OK;
    }
    uint64_t durable = 0;
    strom_err err = store_sync_collect(k->store, timeout_ns, &durable);
    if (err) {
        k->failed = true;
        return err;
    }
    uint32_t done = 0;
    uint64_t now = io_clock_monotonic_ns(k->io);
    while (done < k->sync_count && k->syncs[done].store_end <= durable) {
        commit_count_sync(k, now - k->syncs[done].started_ns);
        done++;
    }
    if (done == 0) {
        return STROM_OK;
    }
    uint64_t position = k->syncs[done - 1].log_position;
    uint32_t dirty_end = k->syncs[done - 1].dirty_end;
    k->sync_count -= done;
    memmove(k->syncs, k->syncs + done, k->sync_count * sizeof k->syncs[0]);
    if (k->sync_count == 0 && k->pending_bytes == 0) {
        /* Nothing of ours was read since: what was read is durable as far as we are concerned. */
        position = k->log.cursor;
        dirty_end = k->dirty_count;
    }
    __atomic_store_n(&k->counters->file_durable_pos, durable, __ATOMIC_RELEASE);
    commit_publish_upto(k, dirty_end, position, true);
    return STROM_OK;
}

/* Starts a store sync of what was appended since the last one, without waiting for it. */
static strom_err commit_sync_start(struct commit *k, uint64_t now_ns) {
    strom_assert(k->sync_count < COMMIT_SYNCS_MAX);
#ifdef STROM_SIM_PLANTS
    if (SIM_PLANT(ACK_BEFORE_SYNC)) {
        commit_publish(k, false); /* planted bug: durable before the fdatasync (sim/plant.h) */
    }
#endif
    uint64_t t0 = io_clock_monotonic_ns(k->io);
    uint64_t covers = 0;
    strom_err err = store_sync_start(k->store, &covers);
    bool started = err == STROM_OK;
    err = commit_sync_outcome(k, err);
    if (started) {
        k->syncs[k->sync_count++] = (struct commit_sync){.log_position = k->log.cursor,
                                                         .store_end = covers,
                                                         .dirty_end = k->dirty_count,
                                                         .started_ns = t0};
        k->pending_bytes = 0;
        k->pending_since_ns = 0;
        k->sync_wanted = false;
        k->last_sync_ns = now_ns;
        /* A store that synced at once (a checkpoint was due, or an io without asynchronous
         * syncs) is collected here. */
        err = commit_collect(k, 0);
    }
    return err;
}

/* Appends one batch of ours. Already-stored batches (read again after a restart) are skipped. */
static strom_err commit_append(struct commit *k, const struct ring_entry *e, uint64_t now_ns) {
    const struct node_batch *b = (const struct node_batch *)(const void *)e->body;
    struct store_append a = {.stream_id = b->stream_id,
                             .base_offset = b->base_offset,
                             .message_count = b->count,
                             .flags = 0,
                             .first_ts_ns = b->timestamp_ns,
                             .last_ts_ns = b->timestamp_ns,
                             .payload = e->body,
                             .payload_bytes = e->body_bytes};
    strom_err err = store_append(k->store, &a, NULL);
    if (err == STROM_ERR_GAP) {
        struct store_stream_info info;
        err = store_stream_info(k->store, b->stream_id, &info);
        /* The store holds it already (we read it again after a restart): skip it. A batch
         * beyond the store's next offset would be a lost batch: never continue past that. */
        strom_assert(err != STROM_OK || b->base_offset + b->count <= info.next_offset);
        k->counters->skipped += err == STROM_OK ? 1 : 0;
        return err;
    }
    if (err == STROM_ERR_NO_SPACE) {
        k->no_space = true; /* nothing changed: the same append succeeds once there is room */
        return err;
    }
    if (err) {
        k->failed = true;
        return err;
    }
    k->no_space = false;
    k->no_space_logged = false;
    k->dirty[k->dirty_count++] = (struct commit_dirty){.stream_id = b->stream_id,
                                                       .next_offset = b->base_offset + b->count,
                                                       .timestamp_ns = b->timestamp_ns,
                                                       .bytes = b->messages_bytes};
    k->pending_bytes += e->body_bytes;
    k->pending_since_ns = k->pending_since_ns ? k->pending_since_ns : now_ns;
    k->sync_wanted |= (b->flags & NODE_FLAG_SYNC) != 0 || b->stream_id == 0;
    k->counters->batches++;
    k->counters->message_bytes += b->messages_bytes;
    return STROM_OK;
}

/* true when entry e must wait: it follows a /sys/cmd record that is not durable yet at the
 * commit that owns /sys/cmd (write last, read first). */
static bool commit_waits_for_cmd(const struct commit *k, const struct ring_entry *e) {
    if (k->cmd_position == 0 || k->index == k->cmd_owner || e->position < k->cmd_position) {
        return false;
    }
    const struct node_commit_counters *owner = &k->shm->header->commits_c[k->cmd_owner];
    return __atomic_load_n(&owner->durable_position, __ATOMIC_ACQUIRE) < k->cmd_position;
}

/* Reads and appends what the node log holds, up to COMMIT_READ_MAX entries or a full dirty
 * list. */
static strom_err commit_read(struct commit *k, uint64_t now_ns, uint32_t *read_out) {
    uint32_t read = 0;
    strom_err err = STROM_OK;
    k->cmd_blocked = false;
    while (!err && read < COMMIT_READ_MAX && k->dirty_count < COMMIT_DIRTY_MAX) {
        struct ring_entry e;
        err = ring_read(&k->log, &e);
        if (err == STROM_ERR_AGAIN) {
            err = STROM_OK;
            break;
        }
        strom_assert(err == STROM_OK); /* a mandatory reader is never lapped */
        const struct node_batch *b = (const struct node_batch *)(const void *)e.body;
        bool ours = e.type == NODE_ENTRY_BATCH &&
                    node_commit_of(b->stream_id, k->config->commits) == k->index;
        if (ours && commit_waits_for_cmd(k, &e)) {
            k->log.cursor = e.position; /* read it again once the record is durable */
            k->cmd_blocked = true;
            break;
        }
        if (e.type == NODE_ENTRY_BATCH && b->stream_id == 0) {
            k->cmd_position = e.position + 1;
        }
        if (ours) {
            err = commit_append(k, &e, now_ns);
            err = err == STROM_ERR_GAP ? STROM_OK : err;
        }
        if (err == STROM_ERR_NO_SPACE) {
            k->log.cursor = e.position; /* append it again after a pause */
            err = STROM_OK;
            break;
        }
        read++;
    }
    __atomic_store_n(&k->counters->read_position, k->log.cursor, __ATOMIC_RELAXED);
    *read_out = read;
    return err;
}

/* Whether the commit may sync lazily (commit.h, COMMIT_LAZY_SYNC_NS): fsync always, and nothing
 * waits for a durable position of its batches. */
static bool commit_lazy(const struct commit *k) {
    if (k->config->fsync != NODE_FSYNC_ALWAYS || k->sync_wanted) {
        return false;
    }
    bool wanted = false;
    for (uint32_t g = 0; g < k->config->gateways && !wanted; g++) {
        wanted = __atomic_load_n(&k->shm->header->gateways_c[g].durable_wanted, __ATOMIC_SEQ_CST);
    }
    return !wanted;
}

/* fsync always: a sync is due for what is pending unless the commit may wait (commit_lazy), and
 * then once the lazy bounds are reached. Counts the syncs the bounds start. */
static bool commit_always_due(struct commit *k, uint64_t now_ns, bool writer_waits) {
    if (k->pending_bytes == 0) {
        return false;
    }
    if (!commit_lazy(k) || writer_waits) {
        return true;
    }
    bool due = k->pending_bytes >= COMMIT_LAZY_SYNC_BYTES ||
               now_ns - k->pending_since_ns >= COMMIT_LAZY_SYNC_NS;
    k->counters->lazy_syncs += due ? 1 : 0;
    return due;
}

/* Whether the policy asks for a store sync now. */
static bool commit_sync_due(struct commit *k, uint64_t now_ns) {
    const struct node_config *c = k->config;
    bool writer_waits = __atomic_load_n(&k->log.ring.header->writer_waiting, __ATOMIC_RELAXED);
    if (k->dirty_count >= COMMIT_DIRTY_MAX || (k->cmd_blocked && k->pending_bytes > 0)) {
        return true;
    }
    switch (c->fsync) {
    case NODE_FSYNC_ALWAYS:
        return commit_always_due(k, now_ns, writer_waits);
    case NODE_FSYNC_INTERVAL:
        return k->pending_bytes >= c->fsync_bytes ||
               (k->pending_bytes > 0 && now_ns - k->pending_since_ns >= c->fsync_us * 1000u) ||
               (k->pending_bytes > 0 && writer_waits);
    case NODE_FSYNC_NEVER:
        return k->log.cursor > k->log.committed &&
               (writer_waits || now_ns - k->last_sync_ns >= COMMIT_NEVER_SYNC_NS);
    }
    strom_unreachable();
}

/* Under fsync interval and never: O_DIRECT writes while no gateway reads this commit's file, the
 * page cache while one does (commit.h). A switch flushes the write buffer: when that meets a full
 * disk the store stays as it was and the next turn tries again (the appends pause on their own);
 * any other failure fails the commit, as a failed write does. */
static strom_err commit_write_mode(struct commit *k) {
    uint32_t readers = 0;
    for (uint32_t g = 0; g < k->config->gateways; g++) {
        readers |= __atomic_load_n(&k->shm->header->gateways_c[g].file_readers, __ATOMIC_RELAXED);
    }
    bool direct = (readers & (1u << k->index)) == 0;
    strom_err err = STROM_OK;
    if (direct != store_direct_writes(k->store)) {
        err = store_set_direct_writes(k->store, direct);
        k->counters->write_mode_switches += err == STROM_OK ? 1 : 0;
        k->counters->direct_writes = store_direct_writes(k->store);
        err = err == STROM_ERR_NO_SPACE ? STROM_OK : err;
        k->failed |= err != STROM_OK;
    }
    return err;
}

strom_err commit_turn(struct commit *k, uint64_t now_ns, uint32_t *read_out) {
    strom_err err = k->mode_switches ? commit_write_mode(k) : STROM_OK;
    *read_out = 0;
    if (!err) {
        err = commit_read(k, now_ns, read_out);
    }
    if (!err) {
        err = commit_collect(k, 0);
    }
    if (err) {
        return err;
    }
    if (k->config->fsync == NODE_FSYNC_NEVER) {
        /* The watermark follows the appends; a store sync only to release node log space. */
        if (commit_sync_due(k, now_ns)) {
            return commit_sync(k, now_ns);
        }
        commit_publish(k, false);
        return STROM_OK;
    }
    if (k->sync_count < COMMIT_SYNCS_MAX && commit_sync_due(k, now_ns)) {
        return commit_sync_start(k, now_ns);
    }
    if (k->pending_bytes == 0 && k->sync_count == 0) {
        /* Nothing pending: what was read was not ours, and is durable as far as this commit is
         * concerned. */
        commit_publish(k, true);
    }
    return STROM_OK;
}

strom_err commit_wait_sync(struct commit *k, uint64_t timeout_ns) {
    return commit_collect(k, timeout_ns);
}

strom_err commit_flush(struct commit *k, uint64_t now_ns) {
    return commit_sync(k, now_ns);
}

strom_err commit_close(struct commit *k) {
    strom_err err = store_close(k->store);
    k->store = NULL;
    return err;
}

/* --- the process --------------------------------------------------------------------------- */

static void commit_log(struct commit *k, const char *type, strom_err err) {
    struct node_log line;
    node_log_begin(&line, k->io, type, "commit");
    strom_ssim_write_u64(&line.w, "index", k->index);
    strom_ssim_write_u64(&line.w, "durable_position", k->counters->durable_position);
    strom_ssim_write_u64(&line.w, "batches", k->counters->batches);
    strom_ssim_write_u64(&line.w, "skipped", k->counters->skipped);
    if (err) {
        strom_ssim_write_str(&line.w, "error", strom_errname(err));
        strom_ssim_write_str(&line.w, "text", strom_strerror(err));
    }
    node_log_end(&line, k->io);
}

/* Says once per episode that the disk is full (the node holds back until it is not). */
static void commit_log_no_space(struct commit *k) {
    if (!k->no_space_logged) {
        k->no_space_logged = true;
        commit_log(k, "strom.node.commit_no_space", STROM_ERR_NO_SPACE);
    }
}

/* Whether the next sleep may leave out the node log's wake-up: a lazy group waits (pending or
 * syncing), so the commit wakes for its bound or the sync's end, not for each entry (commit.h). */
static bool commit_sleeps_lazily(const struct commit *k) {
    return (k->pending_bytes > 0 || k->sync_count > 0) && commit_lazy(k);
}

/* How long to sleep when there is nothing to read. */
static uint64_t commit_wait_ns(const struct commit *k, uint64_t now_ns) {
    if (k->cmd_blocked) {
        return COMMIT_CMD_WAIT_NS;
    }
    /* At most the idle wait: a SIGTERM does not end the wait, and --fsync-us may be 10 s. */
    uint64_t wait = k->sync_count > 0 ? COMMIT_SYNC_WAIT_NS : COMMIT_IDLE_WAIT_NS;
    if (commit_sleeps_lazily(k)) {
        uint64_t due = k->pending_since_ns + COMMIT_LAZY_SYNC_NS;
        uint64_t left = due > now_ns ? due - now_ns : 1;
        wait = k->pending_bytes > 0 && left < wait ? left : wait;
    }
    if (k->config->fsync == NODE_FSYNC_INTERVAL && k->pending_bytes > 0) {
        uint64_t due = k->pending_since_ns + k->config->fsync_us * 1000u;
        uint64_t left = due > now_ns ? due - now_ns : 1;
        wait = left < wait ? left : wait;
    }
    return wait;
}

/* Sleeps on the commit's event until the node log holds an entry past our cursor, a sync
 * finishes (syncs_notify), or timeout_ns pass. Waiting for the io_uring alone while a sync ran
 * left an entry that came meanwhile unread until the next look (COMMIT_SYNC_POLL_NS: up to
 * 200 us added to a sync append, since its own sync could not start). With COMMIT_SYNCS_MAX
 * syncs in flight no new one can start, so only a finished sync wakes us (the entries that came
 * meanwhile are read then, as one group). */
static void commit_sleep(struct commit *k, uint64_t timeout_ns) {
    int event = k->shm->commit_events[k->index];
    uint32_t *lazy = &k->counters->lazy;
    bool for_entries = k->sync_count < COMMIT_SYNCS_MAX || !k->syncs_notify;
    bool entry_there = false;
    if (for_entries && k->syncs_notify && commit_sleeps_lazily(k)) {
        /* Lazily: first say so, then look for what would have woken us had we armed (a sync
         * batch may be among new entries; a gateway may want a durable position since the turn
         * looked): the sequencer and the gateways publish first and read `lazy` after, and
         * signal our event when it is 1 (node_commits_wake: the no-lost-wake-up argument). We
         * are the flag's one writer: set here, cleared below once awake. */
        __atomic_store_n(lazy, 1, __ATOMIC_SEQ_CST);
        entry_there = ring_tail(&k->log.ring) > k->log.cursor || !commit_lazy(k);
    } else if (for_entries) {
        entry_there = ring_reader_arm(&k->log);
    }
    uint32_t ready = 0;
    if (!entry_there) {
        (void)io_fd_wait(k->io, event, IO_POLL_IN, timeout_ns, &ready);
    }
    /* Awake: wakers stop signalling. One that read 1 just before this store may still signal:
     * that leftover ends the next wait at once, and is drained then. */
    __atomic_store_n(lazy, 0, __ATOMIC_RELAXED);
    /* Drained only when it woke us, as the sequencer does: a signal left over (an entry found
     * without sleeping) makes the next wait return at once, and is drained then. */
    if (ready & IO_POLL_IN) {
        (void)io_event_drain(k->io, event);
    }
}

int commit_run(struct commit *k, struct io *io, const struct node_config *c,
               const struct node_shm *shm, uint32_t index) {
    struct node_commit_counters *counters = &shm->header->commits_c[index];
    __atomic_store_n(&counters->ready, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&counters->pid, (uint64_t)io_proc_id(io), __ATOMIC_RELEASE);
    counters->starts++;
    strom_err err = commit_open(k, io, c, shm, index);
    if (err) {
        k->index = index;
        k->io = io;
        k->counters = counters;
        commit_log(k, "strom.node.error", err);
        return 1;
    }
    __atomic_store_n(&counters->ready, 1, __ATOMIC_RELEASE);
    commit_log(k, "strom.node.commit_ready", STROM_OK);
    if (c->fsync == NODE_FSYNC_ALWAYS && !store_direct_writes(k->store)) {
        /* The file system refused O_DIRECT: the same data, through the page cache. */
        commit_log(k, "strom.node.commit_buffered_writes", STROM_ERR_UNSUPPORTED);
    }
    bool stopping = false;
    while (!err) {
        stopping |= io_signal_take(io, IO_SIGNAL_TERM);
        uint64_t now = io_clock_monotonic_ns(io);
        uint32_t read = 0;
        err = commit_turn(k, now, &read);
        if (!err && read == 0 && stopping) {
            break; /* the sequencer stopped first: the node log is complete */
        }
        if (!err && k->no_space) {
            commit_log_no_space(k);
            io_sleep_ns(io, COMMIT_NO_SPACE_WAIT_NS);
        } else if (!err && read == 0 && k->sync_count > 0 && !k->syncs_notify) {
            /* A sync runs and cannot signal our event: wait for it rather than for the node
             * log, looking at the node log again now and then to write the next group. */
            err = commit_wait_sync(k, COMMIT_SYNC_POLL_NS);
        } else if (!err && read == 0 && k->cmd_blocked) {
            /* The entry it waits at is in the ring already: ring_reader_wait would return at once
             * and the loop would spin until the /sys/cmd record is durable at its commit. */
            io_sleep_ns(io, COMMIT_CMD_WAIT_NS);
        } else if (!err && read == 0) {
            commit_sleep(k, commit_wait_ns(k, now)); /* the next turn collects finished syncs */
        }
    }
    if (!err) {
        err = commit_flush(k, io_clock_monotonic_ns(io));
    }
    strom_err close_err = commit_close(k);
    err = err ? err : close_err;
    commit_log(k, err ? "strom.node.error" : "strom.node.commit_stopped", err);
    return err ? 1 : 0;
}

int commit_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                uint32_t index) {
    static struct commit k; /* one per process */
    return commit_run(&k, io, c, shm, index);
}
