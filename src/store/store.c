/*
 * store.c: opening and creating a store, appends, syncs, checkpoints, reclaim (see store.h).
 *
 * The write path of an append: check the offset against the stream's next offset, gather the
 * batch record into the log's buffer, add it to the stream's spine, and write an index record
 * for every level of the spine that now holds F entries (store_stream_cascade). Nothing is read
 * from disk on that path once the stream's state is in memory.
 *
 * A checkpoint is written only right after an fdatasync, so that everything before it is
 * durable: a STREAM record for every stream changed since the last one, the trie nodes above
 * them (copy-on-write), then the CHECKPOINT record, whose CRC of the nodes makes the whole group
 * valid or not at once. Owner of struct store_ckpt and of the store's counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "store/internal.h"
#ifdef STROM_SIM_PLANTS
#include "sim/plant.h"
#endif

void store_options_default(struct store_options *o) {
    memset(o, 0, sizeof *o);
    o->index_fanout = STORE_FANOUT_DEFAULT;
    o->checkpoint_bytes = STORE_CHECKPOINT_BYTES_DEFAULT;
    o->checkpoint_interval_ns = STORE_CHECKPOINT_INTERVAL_NS_DEFAULT;
    o->write_buffer_bytes = STORE_WRITE_BUFFER_BYTES_DEFAULT;
    o->reserve_bytes = STORE_RESERVE_BYTES_DEFAULT;
    o->batch_bytes_max = STORE_BATCH_BYTES_MAX_DEFAULT;
    o->streams_max = STORE_STREAMS_MAX_DEFAULT;
    o->memory_bytes_max = STORE_MEMORY_BYTES_MAX_DEFAULT;
    o->create = true;
}

static bool options_valid(const struct store_options *o) {
    return o->index_fanout >= STORE_FANOUT_MIN && o->index_fanout <= STORE_FANOUT_MAX &&
           o->checkpoint_bytes >= 4096 && o->write_buffer_bytes >= 4096 &&
           (o->size_ahead_bytes == 0 || o->size_ahead_bytes >= 4096) &&
           (o->writeback_bytes == 0 || o->writeback_bytes >= 4096) &&
           (o->cache_bytes == 0 || o->cache_bytes >= 4096) &&
           (!o->direct_writes || (o->size_ahead_bytes > 0 && !o->read_only &&
                                  o->write_buffer_bytes >= 2 * IO_DIRECT_ALIGN)) &&
           o->write_buffer_bytes <= (1u << 30) && o->batch_bytes_max >= 1 &&
           o->batch_bytes_max <= STORE_BODY_BYTES_MAX - STORE_BATCH_HEAD_BYTES &&
           o->streams_max >= 1 && o->memory_bytes_max >= (1u << 20);
}

strom_err store_corrupt(struct store *s, uint64_t pos) {
    s->error_pos = pos;
    return STROM_ERR_CORRUPT;
}

/* --- the file header ------------------------------------------------------------------------ */

static strom_err head_write(struct store *s, int fd) {
    uint8_t *page = calloc(1, STORE_DATA_START);
    if (page == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    struct store_file_head fh = {.version = STORE_FORMAT_VERSION,
                                 .index_fanout = s->opt.index_fanout,
                                 .data_start = STORE_DATA_START,
                                 .created_ns = io_clock_realtime_ns(s->io)};
    strom_err err = STROM_OK;
    while (err == STROM_OK && fh.file_id == 0) {
        err = io_entropy(s->io, &fh.file_id, sizeof fh.file_id);
    }
    store_file_head_encode(page + STORE_HEADER_BYTES, &fh);
    struct store_rec_header h = {.type = STORE_REC_HEAD,
                                 .body_bytes = STORE_HEAD_BODY_BYTES,
                                 .body_crc =
                                     crc32c(0, page + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES)};
    store_header_encode(page, &h, 0, 0);
    if (err == STROM_OK) {
        err = io_file_truncate(s->io, fd, 0);
    }
    if (err == STROM_OK) {
        err = io_file_pwrite(s->io, fd, page, STORE_DATA_START, 0);
    }
    if (err == STROM_OK) {
        err = io_file_datasync(s->io, fd);
    }
    free(page);
    return err;
}

static strom_err head_read(struct store *s, int fd, struct store_file_head *fh) {
    uint8_t buf[STORE_HEADER_BYTES + STORE_HEAD_BODY_BYTES];
    size_t got = 0;
    struct store_rec_header h;
    strom_err err = io_file_pread(s->io, fd, buf, sizeof buf, 0, &got);
    if (err) {
        return err;
    }
    if (got < sizeof buf || store_header_decode(buf, 0, 0, &h) != STROM_OK ||
        h.type != STORE_REC_HEAD || h.body_bytes != STORE_HEAD_BODY_BYTES ||
        crc32c(0, buf + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES) != h.body_crc) {
        return store_corrupt(s, 0);
    }
    err = store_file_head_decode(buf + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES, fh);
    return err ? store_corrupt(s, 0) : STROM_OK;
}

/* The directory that holds the store file, for the sync that makes its creation durable. */
static void parent_dir(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, cap, ".");
    } else if (slash == path) {
        snprintf(out, cap, "/");
    } else {
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
    }
}

/* A directory (existing, or named with a final '/' and then created) holds
 * STORE_DATA_FILE_NAME; any other path is the file itself. */
static strom_err path_resolve(struct store *s, const char *path) {
    bool exists = false;
    bool is_dir = false;
    size_t len = strlen(path);
    strom_err err = io_path_exists(s->io, path, &exists, &is_dir);
    if (err == STROM_OK && !exists && len > 1 && path[len - 1] == '/' && s->opt.create &&
        !s->opt.read_only) {
        char dir[STORE_PATH_BYTES_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 1), path);
        err = io_dir_create(s->io, dir);
        is_dir = true;
    }
    if (err) {
        return err;
    }
    if (is_dir && path[len - 1] == '/') {
        len--; /* no double slash in the file's path */
    }
    int n = is_dir
                ? snprintf(s->path, sizeof s->path, "%.*s/%s", (int)len, path, STORE_DATA_FILE_NAME)
                : snprintf(s->path, sizeof s->path, "%s", path);
    return (n <= 0 || (size_t)n >= sizeof s->path) ? STROM_ERR_INVALID_ARGUMENT : STROM_OK;
}

/* Opens (and creates, when asked and needed) the file; *fh gets its header. */
static strom_err file_open(struct store *s, int *fd_out, uint64_t *size_out,
                           struct store_file_head *fh) {
    bool ro = s->opt.read_only;
    uint32_t flags = ro ? IO_OPEN_READ : IO_OPEN_WRITE | (s->opt.create ? IO_OPEN_CREATE : 0);
    strom_err err = io_file_open(s->io, s->path, flags, fd_out);
    if (err) {
        return err;
    }
    err = io_file_size(s->io, *fd_out, size_out);
    if (err == STROM_OK && !ro && *size_out <= STORE_DATA_START &&
        head_read(s, *fd_out, fh) != STROM_OK) {
        /* New, or a creation that crashed before its header was synced: (re)initialize. */
        char dir[STORE_PATH_BYTES_MAX];
        parent_dir(s->path, dir, sizeof dir);
        err = head_write(s, *fd_out);
        if (err == STROM_OK) {
            err = io_dir_sync(s->io, dir);
        }
        *size_out = STORE_DATA_START;
        s->error_pos = 0;
    }
    if (err == STROM_OK) {
        err = head_read(s, *fd_out, fh);
    }
    if (err) {
        io_file_close(s->io, *fd_out);
    }
    return err;
}

static void store_free(struct store *s) {
    slab_free_all(&s->slab);
    table_free(&s->table);
    log_free(&s->log);
    free(s->scratch);
    free(s->window);
    free(s);
}

strom_err store_open(struct io *io, const char *path, const struct store_options *o,
                     struct store **out) {
    if (!options_valid(o) || path == NULL || path[0] == '\0') {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    s->io = io;
    s->opt = *o;
    s->log.dfd = -1; /* log_free may run before log_init */
    slab_init(&s->slab, o->memory_bytes_max);
    s->scratch = malloc(STORE_SCRATCH_BYTES);
    s->window = malloc(STORE_WINDOW_BYTES);
    strom_err err =
        (s->scratch && s->window) ? table_init(&s->table, o->streams_max) : STROM_ERR_NO_MEMORY;
    if (err == STROM_OK) {
        err = path_resolve(s, path);
    }
    int fd = -1;
    uint64_t size = 0;
    struct store_file_head fh;
    if (err == STROM_OK) {
        err = file_open(s, &fd, &size, &fh);
    }
    if (err == STROM_OK) {
        s->fanout = fh.index_fanout;
        uint64_t end = size < STORE_DATA_START ? STORE_DATA_START : size & ~(uint64_t)7;
        err = log_init(&s->log, io, fd, fh.file_id, !o->read_only, end, o->write_buffer_bytes,
                       o->reserve_bytes);
        log_set_size_ahead(&s->log, o->read_only ? 0 : o->size_ahead_bytes);
        if (!o->read_only) {
            log_set_cache(&s->log, o->writeback_bytes, o->cache_bytes);
        }
        if (err == STROM_OK) {
            err = store_recover(s, size);
        }
        if (err == STROM_OK && o->direct_writes) {
            err = log_direct_open(&s->log, s->path);
        }
        if (err) {
            io_file_close(io, fd);
        }
    }
    if (err) {
        store_free(s);
        return err;
    }
    *out = s;
    return STROM_OK;
}

/* --- streams --------------------------------------------------------------------------------- */

/* Checks a spine read from the STREAM record at pos. */
static bool spine_valid(const struct store_entry *e, uint32_t count,
                        const struct store_stream_head *head, uint64_t pos) {
    uint64_t next_offset = head->next_offset;
    /* Reads rely on it: the spine covers every offset from the first one on. */
    if (count == 0 ? head->first_offset != next_offset || head->first_pos != 0
                   : e[0].base_offset > head->first_offset) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        bool ok = e[i].pos >= STORE_DATA_START && e[i].pos < pos && e[i].pos % STORE_ALIGN == 0 &&
                  e[i].span >= STORE_HEADER_BYTES && e[i].span % STORE_ALIGN == 0 &&
                  e[i].level <= STORE_LEVELS_MAX && e[i].base_offset < next_offset;
        if (!ok ||
            (i > 0 && (e[i].level > e[i - 1].level || e[i].base_offset <= e[i - 1].base_offset))) {
            return false;
        }
    }
    return true;
}

/* Reads the STREAM record at pos into scratch once; *head and the entries at scratch + offset. */
static strom_err stream_record_read_once(struct store *s, uint64_t pos,
                                         struct store_stream_head *head) {
    uint8_t *buf = s->scratch;
    size_t got = 0;
    struct store_rec_header h;
    strom_err err = pos < s->ckpt.reclaim_pos ? STROM_ERR_CORRUPT : STROM_OK;
    if (err == STROM_OK) {
        err = log_read(&s->log, pos, buf, 4096, &got);
    }
    if (err == STROM_OK) {
        err = got >= STORE_HEADER_BYTES ? store_header_decode(buf, s->log.file_id, pos, &h)
                                        : STROM_ERR_CORRUPT;
    }
    uint64_t span = err == STROM_OK ? store_record_span(h.body_bytes) : 0;
    if (err == STROM_OK && (h.type != STORE_REC_STREAM || span > STORE_SCRATCH_BYTES / 2)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK && span > got) {
        size_t more = 0;
        err = log_read(&s->log, pos + got, buf + got, (size_t)span - got, &more);
        err = err == STROM_OK && got + more < span ? STROM_ERR_CORRUPT : err;
        got += more;
    }
    if (err == STROM_OK && crc32c(0, buf + STORE_HEADER_BYTES, h.body_bytes) != h.body_crc) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = store_stream_head_decode(buf + STORE_HEADER_BYTES, h.body_bytes, head);
    }
    return err;
}

/* stream_record_read_once, read again while it finds damage (STORE_READ_TRIES). */
static strom_err stream_record_read(struct store *s, uint64_t pos, struct store_stream_head *head) {
    strom_err err = STROM_OK;
    int t = 0;
    do {
        err = stream_record_read_once(s, pos, head);
    } while ((err == STROM_ERR_CORRUPT || err == STROM_ERR_TRUNCATED) && ++t < STORE_READ_TRIES);
    return err;
}

strom_err store_stream_load(struct store *s, uint64_t stream_id, uint64_t pos,
                            struct store_stream **out) {
    struct store_stream_head head;
    strom_err err = stream_record_read(s, pos, &head);
    /* The raw record takes at most half the scratch; the decoded spine goes in the other half. */
    _Static_assert(STORE_HEADER_BYTES + STORE_STREAM_HEAD_BYTES +
                           STORE_SPINE_MAX * STORE_ENTRY_BYTES <=
                       STORE_SCRATCH_BYTES / 2,
                   "a STREAM record fits in half the scratch");
    _Static_assert(STORE_SPINE_MAX * sizeof(struct store_entry) <= STORE_SCRATCH_BYTES / 2,
                   "its decoded spine in the other half");
    struct store_entry *e = (struct store_entry *)(s->scratch + STORE_SCRATCH_BYTES / 2);
    const uint8_t *raw = s->scratch + STORE_HEADER_BYTES + STORE_STREAM_HEAD_BYTES;
    if (err == STROM_OK && head.stream_id != stream_id) {
        err = STROM_ERR_CORRUPT;
    }
    for (uint32_t i = 0; err == STROM_OK && i < head.spine_count; i++) {
        store_entry_decode(raw + (size_t)i * STORE_ENTRY_BYTES, &e[i]);
    }
    if (err == STROM_OK && !spine_valid(e, head.spine_count, &head, pos)) {
        err = STROM_ERR_CORRUPT;
    }
#ifdef STROM_SIM_PLANTS
    if (SIM_PLANT(LOSE_BATCH) && err == STROM_OK && head.spine_count > 0 &&
        e[head.spine_count - 1].level == 0) {
        /* planted bug: the last batch before the checkpoint is lost on recovery (sim/plant.h) */
        head.next_offset = e[head.spine_count - 1].base_offset;
        head.spine_count--;
        head.batch_count--;
    }
#endif
    if (err == STROM_ERR_CORRUPT || err == STROM_ERR_TRUNCATED) {
        return store_corrupt(s, pos);
    }
    struct store_stream *st = NULL;
    if (err == STROM_OK) {
        err = table_insert(&s->table, stream_id, &st);
    }
    if (err == STROM_OK) {
        st->next_offset = head.next_offset;
        st->batch_count = head.batch_count;
        st->first_offset = head.first_offset;
        st->first_pos = head.first_pos;
        err = spine_reserve(&s->slab, st, head.spine_count);
    }
    for (uint32_t i = 0; err == STROM_OK && i < head.spine_count; i++) {
        spine_push(&s->slab, st, &e[i]);
    }
    *out = st;
    return err;
}

strom_err store_stream_get(struct store *s, uint64_t stream_id, bool create,
                           struct store_stream **out) {
    struct store_stream *st = table_find(&s->table, stream_id);
    if (st != NULL) {
        *out = st;
        return STROM_OK;
    }
    bool found = false;
    uint64_t pos = 0;
    strom_err err = s->all_in_table ? STROM_OK : trie_find(s, stream_id, &found, &pos);
    if (err == STROM_OK && found) {
        err = store_stream_load(s, stream_id, pos, out);
    } else if (err == STROM_OK && create) {
        err = table_insert(&s->table, stream_id, out);
        if (err == STROM_OK) {
            (*out)->flags |= STREAM_CREATED;
        }
    } else if (err == STROM_OK) {
        err = STROM_ERR_NO_STREAM;
    }
    return err;
}

strom_err store_stream_add_batch(struct store *s, struct store_stream *st, uint64_t base_offset,
                                 uint32_t message_count, uint64_t pos, uint32_t span) {
    strom_assert(base_offset == st->next_offset && message_count >= 1);
    strom_err err = spine_reserve(&s->slab, st, st->spine_count + 1u);
    if (err == STROM_OK) {
        err = table_mark_dirty(&s->table, st);
    }
    if (err == STROM_OK) {
        struct store_entry e = {.base_offset = base_offset, .pos = pos, .span = span, .level = 0};
        spine_push(&s->slab, st, &e);
        if (st->first_pos == 0 && st->first_offset == st->next_offset) {
            st->first_offset = base_offset;
            st->first_pos = pos;
        }
        st->next_offset += message_count;
        st->batch_count++;
    }
    return err;
}

/* The first run of entries, from the lowest level up, that holds F or more; false if none. */
static bool cascade_run(const struct store_entry *e, uint32_t count, uint32_t fanout,
                        uint32_t *at_out) {
    uint32_t end = count;
    while (end > 0) {
        uint32_t start = end;
        while (start > 0 && e[start - 1].level == e[end - 1].level) {
            start--;
        }
        if (end - start >= fanout) {
            *at_out = start;
            return true;
        }
        end = start;
    }
    return false;
}

strom_err store_stream_cascade(struct store *s, struct store_stream *st) {
    uint8_t body[STORE_INDEX_HEAD_BYTES + STORE_FANOUT_MAX * STORE_ENTRY_BYTES];
    strom_err err = STROM_OK;
    uint32_t at = 0;
    while (err == STROM_OK &&
           cascade_run(spine_entries(&s->slab, st), st->spine_count, s->fanout, &at)) {
        struct store_entry *e = spine_entries(&s->slab, st);
        uint32_t level = e[at].level; /* the children's spine level: the index's level is this */
        if (level >= STORE_LEVELS_MAX) {
            return STROM_ERR_LIMIT;
        }
        struct store_index_head x = {.stream_id = st->stream_id,
                                     .end_offset = at + s->fanout < st->spine_count
                                                       ? e[at + s->fanout].base_offset
                                                       : st->next_offset,
                                     .child_count = s->fanout};
        store_index_head_encode(body, &x);
        for (uint32_t i = 0; i < s->fanout; i++) {
            struct store_entry child = e[at + i];
            child.level = 0;
            store_entry_encode(body + STORE_INDEX_HEAD_BYTES + i * STORE_ENTRY_BYTES, &child);
        }
        uint64_t pos = 0;
        uint32_t span = 0;
        err = log_append(&s->log, STORE_REC_INDEX, (uint8_t)level, body,
                         STORE_INDEX_HEAD_BYTES + s->fanout * STORE_ENTRY_BYTES, NULL, 0, &pos,
                         &span);
        if (err == STROM_OK) {
            struct store_entry up = {e[at].base_offset, pos, span, level + 1};
            spine_collapse(&s->slab, st, at, s->fanout, &up);
            s->index_records++;
        }
    }
    return err;
}

/* --- checkpoints ----------------------------------------------------------------------------- */

static bool checkpoint_due(const struct store *s, bool at_sync) {
    uint64_t bytes = s->log.end - s->ckpt.mark_end;
    if (s->table.dirty_count == 0 || bytes < STORE_CKPT_OVERHEAD_FACTOR * s->ckpt.last_bytes) {
        return false;
    }
    if (bytes >= s->opt.checkpoint_bytes) {
        return true;
    }
    uint64_t now = io_clock_monotonic_ns(s->io);
    return at_sync && now - s->ckpt.time_ns >= s->opt.checkpoint_interval_ns;
}

/* Writes the STREAM record of st; *pos_out its position. */
static strom_err stream_record_write(struct store *s, const struct store_stream *st,
                                     uint64_t *pos_out) {
    uint8_t *body = s->scratch;
    struct store_stream_head head = {.stream_id = st->stream_id,
                                     .next_offset = st->next_offset,
                                     .batch_count = st->batch_count,
                                     .first_offset = st->first_offset,
                                     .first_pos = st->first_pos,
                                     .spine_count = st->spine_count};
    store_stream_head_encode(body, &head);
    const struct store_entry *e = spine_entries(&s->slab, st);
    for (uint32_t i = 0; i < st->spine_count; i++) {
        store_entry_encode(body + STORE_STREAM_HEAD_BYTES + i * STORE_ENTRY_BYTES, &e[i]);
    }
    return log_append(&s->log, STORE_REC_STREAM, 0, body,
                      STORE_STREAM_HEAD_BYTES + (size_t)st->spine_count * STORE_ENTRY_BYTES, NULL,
                      0, pos_out, NULL);
}

/* The STREAM records of the dirty streams and the trie above them; *root_pos_out. */
static strom_err checkpoint_nodes(struct store *s, uint64_t *root_pos_out) {
    strom_err err = STROM_OK;
    while (err == STROM_OK && s->table.dirty_count > 0) {
        uint64_t id = s->table.dirty[s->table.dirty_count - 1];
        struct store_stream *st = table_find(&s->table, id);
        strom_assert(st != NULL);
        if (st->batch_count == 0 && (st->flags & STREAM_CREATED)) {
            table_pop_dirty(&s->table, st); /* an append that failed: nothing to save */
            continue;
        }
        uint64_t pos = 0;
        err = stream_record_write(s, st, &pos);
        if (err == STROM_OK) {
            err = trie_set(s, id, pos);
        }
        if (err == STROM_OK) {
            st->flags &= (uint8_t)~STREAM_CREATED;
            table_pop_dirty(&s->table, st);
        }
    }
    if (err == STROM_OK) {
        err = trie_write(s, root_pos_out);
    }
    return err;
}

/* Writes a checkpoint; everything before the log's end must be durable. */
static strom_err checkpoint_write(struct store *s) {
    strom_assert(s->log.durable == s->log.end);
    uint64_t nodes_pos = s->log.end;
    uint64_t root_pos = 0;
    log_range_begin(&s->log);
    strom_err err = checkpoint_nodes(s, &root_pos);
    uint32_t nodes_crc = log_range_end(&s->log);
    uint8_t body[STORE_CHECKPOINT_BODY_BYTES];
    struct store_checkpoint c = {.seq = s->ckpt.seq + 1,
                                 .trie_root_pos = root_pos,
                                 .nodes_pos = nodes_pos,
                                 .reclaim_pos = s->ckpt.reclaim_pos,
                                 .prev_pos = s->ckpt.pos,
                                 .stream_count = s->ckpt.stream_count,
                                 .written_ns = io_clock_realtime_ns(s->io),
                                 .nodes_crc = nodes_crc,
                                 .index_fanout = s->fanout};
    store_checkpoint_encode(body, &c);
    uint64_t pos = 0;
    if (err == STROM_OK) {
        err = log_append(&s->log, STORE_REC_CHECKPOINT, 0, body, sizeof body, NULL, 0, &pos, NULL);
    }
    if (err == STROM_OK) {
        s->ckpt.seq = c.seq;
        s->ckpt.pos = pos;
        s->ckpt.mark_end = s->log.end;
        s->ckpt.last_bytes = s->log.end - nodes_pos;
        s->ckpt.time_ns = io_clock_monotonic_ns(s->io);
        s->checkpoints++;
        s->checkpoint_bytes += s->log.end - nodes_pos;
    }
    return err;
}

strom_err store_checkpoint(struct store *s, bool force) {
    if (s->opt.read_only) {
        return STROM_OK;
    }
    strom_err err = log_sync(&s->log);
    if (err == STROM_OK && (force || s->table.dirty_count > 0)) {
        err = checkpoint_write(s);
    }
    return err;
}

strom_err store_sync(struct store *s, uint64_t *durable_pos_out) {
    strom_err err = STROM_OK;
    if (!s->opt.read_only) {
        err = log_sync(&s->log);
        if (err == STROM_OK && checkpoint_due(s, true)) {
            /* Best effort: the sync itself succeeded; a checkpoint that did not fit is retried at
             * the next sync. */
            strom_err ckpt_err = checkpoint_write(s);
            err = ckpt_err == STROM_ERR_STORE_FAILED ? ckpt_err : STROM_OK;
        }
    }
    if (durable_pos_out != NULL) {
        *durable_pos_out = s->log.durable;
    }
    return err;
}

strom_err store_sync_start(struct store *s, uint64_t *covers_out) {
    strom_err err = STROM_OK;
    if (s->opt.read_only) {
        *covers_out = s->log.durable;
    } else if (checkpoint_due(s, true)) {
        /* A checkpoint needs everything before it durable and nothing after: the one place where
         * the pipeline drains. The checkpoint's own records follow the durable position. */
        err = store_sync(s, covers_out);
    } else {
        err = log_sync_start(&s->log);
        *covers_out = s->log.end;
    }
    return err;
}

strom_err store_sync_collect(struct store *s, uint64_t timeout_ns, uint64_t *durable_pos_out) {
    strom_err err = s->opt.read_only ? STROM_OK : log_sync_collect(&s->log, timeout_ns);
    if (durable_pos_out != NULL) {
        *durable_pos_out = s->log.durable;
    }
    return err;
}

bool store_direct_writes(const struct store *s) {
    return s->log.direct;
}

strom_err store_set_direct_writes(struct store *s, bool on) {
    if (s->opt.read_only || s->log.dfd < 0) {
        return STROM_ERR_UNSUPPORTED;
    }
    return log_set_direct(&s->log, on);
}

uint32_t store_syncs_inflight(const struct store *s) {
    return s->log.sync_count;
}

uint64_t store_durable_pos(const struct store *s) {
    return s->log.durable;
}

uint64_t store_end_pos(const struct store *s) {
    return s->log.end;
}

/* --- appends --------------------------------------------------------------------------------- */

static strom_err append_check(const struct store *s, const struct store_append *a) {
    if (s->opt.read_only) {
        return STROM_ERR_UNSUPPORTED;
    }
    if (s->log.failed) {
        return STROM_ERR_STORE_FAILED;
    }
    if (a->message_count == 0 || (a->payload == NULL && a->payload_bytes > 0)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if (a->payload_bytes > s->opt.batch_bytes_max ||
        a->base_offset + a->message_count < a->base_offset) {
        return STROM_ERR_TOO_LARGE;
    }
    return STROM_OK;
}

strom_err store_append(struct store *s, const struct store_append *a, uint64_t *pos_out) {
    strom_err err = append_check(s, a);
    if (err == STROM_OK && checkpoint_due(s, false)) {
        err = store_checkpoint(s, false);
    }
    struct store_stream *st = NULL;
    if (err == STROM_OK) {
        err = store_stream_get(s, a->stream_id, true, &st);
    }
    if (err == STROM_OK && a->base_offset != st->next_offset) {
        err = STROM_ERR_GAP;
    }
    if (err == STROM_OK) {
        err = spine_reserve(&s->slab, st, st->spine_count + 1u);
    }
    uint8_t head[STORE_BATCH_HEAD_BYTES];
    struct store_batch_head bh = {.stream_id = a->stream_id,
                                  .base_offset = a->base_offset,
                                  .first_ts_ns = a->first_ts_ns,
                                  .last_ts_ns = a->last_ts_ns,
                                  .message_count = a->message_count,
                                  .flags = a->flags};
    store_batch_head_encode(head, &bh);
    uint64_t pos = 0;
    uint32_t span = 0;
    if (err == STROM_OK) {
        err = log_append(&s->log, STORE_REC_BATCH, 0, head, sizeof head, a->payload,
                         a->payload_bytes, &pos, &span);
    }
    if (err == STROM_OK) {
        bool first_ever = st->batch_count == 0 && (st->flags & STREAM_CREATED);
        err = store_stream_add_batch(s, st, a->base_offset, a->message_count, pos, span);
        strom_assert(err != STROM_ERR_LIMIT); /* room was reserved above */
        s->ckpt.stream_count += first_ever && err == STROM_OK;
    }
    if (err == STROM_OK) {
        /* An index record that does not fit now is written by a later append or at open. */
        (void)store_stream_cascade(s, st);
        s->appends++;
        s->append_bytes += a->payload_bytes;
        if (pos_out != NULL) {
            *pos_out = pos;
        }
    }
    return err;
}

/* --- reclaim ---------------------------------------------------------------------------------- */

static strom_err reclaim_leaf(struct store *s, uint64_t stream_id, uint64_t leaf_pos) {
    struct store_stream *st = table_find(&s->table, stream_id);
    strom_err err = st ? STROM_OK : store_stream_load(s, stream_id, leaf_pos, &st);
    if (err == STROM_ERR_CORRUPT) {
        return STROM_OK; /* lost already; its record goes with the range */
    }
    return err ? err : table_mark_dirty(&s->table, st);
}

strom_err store_reclaim(struct store *s, uint64_t pos) {
    if (s->opt.read_only) {
        return STROM_ERR_UNSUPPORTED;
    }
    if (s->log.failed) {
        return STROM_ERR_STORE_FAILED;
    }
    if (pos > s->log.durable) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    strom_err err = STROM_OK;
    if (pos > s->ckpt.reclaim_pos) {
        /* What the next checkpoint still needs from before pos is written again first. */
        err = trie_mark_before(s, pos, reclaim_leaf);
        if (err == STROM_OK) {
            s->ckpt.reclaim_pos = pos;
            err = store_checkpoint(s, true);
        }
        if (err == STROM_OK) {
            err = log_sync(&s->log);
        }
    }
    uint64_t punch_end = s->ckpt.reclaim_pos & ~(uint64_t)4095;
    if (err == STROM_OK && punch_end > s->ckpt.punched_pos) {
        strom_err punch_err =
            io_file_punch(s->io, s->log.fd, s->ckpt.punched_pos, punch_end - s->ckpt.punched_pos);
        if (punch_err == STROM_OK || punch_err == STROM_ERR_UNSUPPORTED) {
            s->ckpt.punched_pos = punch_end; /* unsupported: the space stays, reads refuse it */
        } else {
            err = punch_err;
        }
    }
    return err;
}

uint64_t store_reclaim_pos(const struct store *s) {
    return s->ckpt.reclaim_pos;
}

/* --- closing, counters ------------------------------------------------------------------------ */

strom_err store_close(struct store *s) {
    strom_err err = STROM_OK;
    if (!s->opt.read_only && !s->log.failed) {
        err = store_checkpoint(s, false);
        if (err == STROM_OK) {
            err = log_sync(&s->log);
        }
        if (err == STROM_OK && s->log.size_end > s->log.end) {
            err = log_cut(&s->log, s->log.end); /* no zero tail after a clean close */
        }
    }
    strom_err close_err = io_file_close(s->io, s->log.fd);
    store_free(s);
    return err ? err : close_err;
}

void store_discard(struct store *s) {
    /* The syncs in flight point into s: let them finish first (their outcome does not matter). */
    for (uint32_t i = 0; i < STORE_SYNCS_MAX && s->log.sync_count > 0; i++) {
        (void)log_sync_collect(&s->log, IO_TIMEOUT_INFINITE);
    }
    (void)io_file_close(s->io, s->log.fd);
    store_free(s);
}

uint64_t store_error_pos(const struct store *s) {
    return s->error_pos;
}

void store_get_stats(const struct store *s, struct store_stats *out) {
    memset(out, 0, sizeof *out);
    out->appends = s->appends;
    out->append_bytes = s->append_bytes;
    out->syncs = s->log.syncs;
    out->checkpoints = s->checkpoints;
    out->checkpoint_bytes = s->checkpoint_bytes;
    out->index_records = s->index_records;
    out->preads = s->log.preads;
    out->pwrites = s->log.pwrites;
    out->pwrites_async = s->log.pwrites_async;
    out->streams = s->ckpt.stream_count;
    out->streams_loaded = s->table.count;
    out->trie_nodes_loaded = s->trie.nodes;
    out->memory_bytes = slab_bytes(&s->slab) + table_bytes(&s->table) + s->log.buf_cap +
                        STORE_SCRATCH_BYTES + STORE_WINDOW_BYTES;
    out->index_fanout = s->fanout;
    out->open_checkpoint_pos = s->open.checkpoint_pos;
    out->open_replayed_bytes = s->open.replayed_bytes;
    out->open_replayed_records = s->open.replayed_records;
    out->open_cut_pos = s->open.cut_pos;
    out->open_cut_bytes = s->open.cut_bytes;
    out->open_damaged_ranges = s->open.damaged_ranges;
    out->open_first_damage_pos = s->open.first_damage_pos;
    out->open_ignored_records = s->open.ignored_records;
    out->open_repaired_indexes = s->open.repaired_indexes;
}
