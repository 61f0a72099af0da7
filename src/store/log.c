/*
 * log.c: the store file as an append-only log with a write buffer (see internal.h).
 *
 * Invariants: written <= end, durable <= written, skew + end - written <= buf_cap, positions
 * aligned to STORE_ALIGN; while writing through the O_DIRECT descriptor (direct, which needs dfd),
 * skew = written % IO_DIRECT_ALIGN and buf starts with the bytes [written - skew, written) as the
 * file holds them, so that a flush writes whole blocks from written - skew (the partial last block
 * again, zeros after the end); while buffered, skew = 0. dropped_pos <= writeback_pos <= written
 * once a buffered write passed them (both start at the end found at open or at a switch to
 * buffered writes), and both are multiples of LOG_PAGE_BYTES or such a position. While write_busy,
 * the file holds [.., written) only once write_op is done: whatever reads the file, writes it
 * otherwise or syncs it waits for that first (log_write_wait); buf2 is the kernel's until then.
 * Only this file writes the fields of struct store_log.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "sim/plant.h"
#include "store/internal.h"

/* A payload this large is not copied into the buffer: it goes out with the buffer in one
 * gathered write (a copy of it would cost as much as the write itself). */
enum { LOG_GATHER_BYTES_MIN = 256 << 10 };

/* The page the write-back and the cache drops count in; a drop waits until this many bytes more
 * than cache_bytes are behind (one call per step, not per write). */
enum { LOG_PAGE_BYTES = 4096, LOG_DROP_STEP_BYTES = 4 << 20 };

/* A write buffer of cap bytes, aligned, with a block more for the zeros after the end of an
 * O_DIRECT write; NULL when there is no memory. */
static uint8_t *log_buf_alloc(size_t cap) {
    void *buf = NULL;
    size_t bytes = (cap + 2 * IO_DIRECT_ALIGN - 1) / IO_DIRECT_ALIGN * IO_DIRECT_ALIGN;
    return posix_memalign(&buf, IO_DIRECT_ALIGN, bytes) == 0 ? buf : NULL;
}

strom_err log_init(struct store_log *log, struct io *io, int fd, uint64_t file_id, bool writable,
                   uint64_t end, size_t buf_cap, uint64_t reserve_bytes) {
    strom_assert(end % STORE_ALIGN == 0 && end >= STORE_DATA_START);
    memset(log, 0, sizeof *log);
    log->io = io;
    log->fd = fd;
    log->file_id = file_id;
    log->writable = writable;
    log->end = end;
    log->written = end;
    log->durable = end;
    log->reserved_end = end;
    log->reserve_bytes = reserve_bytes;
    log->size_end = end;
    log->writeback_pos = end;
    log->dropped_pos = end;
    log->dfd = -1;
    if (writable) {
        log->buf = log_buf_alloc(buf_cap);
        log->buf_cap = buf_cap;
    }
    return writable && log->buf == NULL ? STROM_ERR_NO_MEMORY : STROM_OK;
}

/* Waits for the asynchronous write in flight, if any: the file then holds [.., written). A write
 * that failed, or whose wait failed, fails the log: what it left in the file is unknown, as after a
 * failed sync. */
static strom_err log_write_wait(struct store_log *log) {
    strom_err err = STROM_OK;
    while (log->write_busy && err == STROM_OK) {
        err = io_file_datasync_wait(log->io, &log->write_op, IO_TIMEOUT_INFINITE);
        if (err == STROM_OK && log->write_op.done) {
            log->write_busy = false;
            err = log->write_op.result;
        }
    }
    log->failed |= err != STROM_OK;
    return err ? STROM_ERR_STORE_FAILED : STROM_OK;
}

/* Reads the partial block before written into buf until two reads agree (commit.c's resync does
 * the same for its tail). */
static strom_err log_direct_load(struct store_log *log) {
    uint32_t skew = (uint32_t)(log->written % IO_DIRECT_ALIGN);
    uint8_t again[IO_DIRECT_ALIGN];
    strom_err err = STROM_OK;
    bool same = skew == 0;
    for (uint32_t t = 0; !err && !same && t < STORE_READ_TRIES + 1; t++) {
        size_t got = 0;
        uint8_t *into = t == 0 ? log->buf : again;
        err = io_file_pread(log->io, log->fd, into, skew, log->written - skew, &got);
        err = err ? err : (got < skew ? STROM_ERR_TRUNCATED : STROM_OK);
        same = !err && t > 0 && memcmp(log->buf, again, skew) == 0;
        if (!err && t > 0 && !same) {
            memcpy(log->buf, again, skew); /* the newer read is the one compared next */
        }
    }
    err = err ? err : (same ? STROM_OK : STROM_ERR_IO);
    log->skew = err ? 0 : skew;
    return err;
}

strom_err log_direct_open(struct store_log *log, const char *path) {
    strom_assert(log->writable && log->dfd < 0);
    strom_err err = log_flush(log);
    int dfd = -1;
    if (!err) {
        err = io_file_open(log->io, path, IO_OPEN_WRITE | IO_OPEN_DIRECT, &dfd);
    }
    /* O_DIRECT refused by the file system: buffered writes, as without the option. */
    bool refused = err == STROM_ERR_UNSUPPORTED || err == STROM_ERR_INVALID_ARGUMENT;
    if (!err) {
        err = log_direct_load(log);
    }
    if (!err) {
        log->dfd = dfd;
        log->direct = true;
        log->buf2 = log_buf_alloc(log->buf_cap); /* NULL: every O_DIRECT write waits */
    } else if (dfd >= 0) {
        (void)io_file_close(log->io, dfd);
    }
    return refused ? STROM_OK : err;
}

strom_err log_set_direct(struct store_log *log, bool on) {
    strom_assert(log->writable && log->dfd >= 0);
    strom_err err = on == log->direct ? STROM_OK : log_flush(log);
    if (!err && on && !log->direct) {
        strom_assert(log->written == log->end && log->skew == 0); /* log_flush emptied buf */
        err = log_direct_load(log);
        log->direct = err == STROM_OK;
    } else if (!err && !on && log->direct) {
        log->skew = 0; /* the partial block is in the file; buffered writes append to it */
        uint64_t page = log->written - log->written % LOG_PAGE_BYTES;
        log->writeback_pos = page > log->writeback_pos ? page : log->writeback_pos;
        log->direct = false;
    }
    strom_assert(err || log->direct == on);
    return err;
}

void log_free(struct store_log *log) {
    (void)log_write_wait(log);
    if (!log->write_busy) {
        free(log->buf2); /* else the kernel may still read it: kept (a failed wait, for ever) */
    }
    log->buf2 = NULL;
    if (log->dfd >= 0) {
        (void)io_file_close(log->io, log->dfd);
        log->dfd = -1;
        log->direct = false;
    }
    free(log->buf);
    log->buf = NULL;
    log->buf_cap = 0;
}

void log_set_cache(struct store_log *log, uint64_t writeback_bytes, uint64_t cache_bytes) {
    strom_assert(writeback_bytes == 0 || writeback_bytes >= LOG_PAGE_BYTES);
    strom_assert(cache_bytes == 0 || cache_bytes >= LOG_PAGE_BYTES);
    log->writeback_bytes = writeback_bytes;
    log->cache_bytes = cache_bytes - cache_bytes % LOG_PAGE_BYTES;
}

/*
 * After a buffered write: starts the write-back of the whole pages written since the last start,
 * once writeback_bytes gathered (so that dirty pages do not pile up until a sync or the kernel's
 * flusher: with fsync never nothing else writes them), and drops the pages more than cache_bytes
 * behind, after waiting for their write-back (so that new writes take pages freed a moment ago:
 * docs/storage.md, "The page cache", says why that matters). A failed write-back is final, as a
 * failed fdatasync (the kernel reports its error once, maybe to this call and not to the next
 * fdatasync): the log fails. A drop is a hint; its failure changes nothing.
 */
static strom_err log_cache_trim(struct store_log *log) {
    uint64_t page_end = log->written - log->written % LOG_PAGE_BYTES;
    strom_err err = STROM_OK;
    if (log->writeback_bytes && page_end >= log->writeback_pos + log->writeback_bytes) {
        err = io_file_writeback(log->io, log->fd, log->writeback_pos, page_end - log->writeback_pos,
                                false);
        log->writeback_pos = err ? log->writeback_pos : page_end;
    }
    uint64_t to = log->cache_bytes && page_end > log->cache_bytes ? page_end - log->cache_bytes : 0;
    if (!err && to >= log->dropped_pos + LOG_DROP_STEP_BYTES) {
        err = io_file_writeback(log->io, log->fd, log->dropped_pos, to - log->dropped_pos, true);
        if (!err) {
            (void)io_file_cache_drop(log->io, log->fd, log->dropped_pos, to - log->dropped_pos);
            log->dropped_pos = to;
            log->writeback_pos = to > log->writeback_pos ? to : log->writeback_pos;
        }
    }
    if (err) {
        log->failed = true;
        err = STROM_ERR_STORE_FAILED;
    }
    strom_assert(log->dropped_pos <= log->writeback_pos || err);
    return err;
}

void log_set_size_ahead(struct store_log *log, uint64_t bytes) {
    strom_assert(bytes == 0 || bytes >= 4096);
    log->size_ahead = bytes;
}

/*
 * Extends the file's size to at least want, a size_ahead step ahead. Why: an append that grows
 * the file changes its size, and on ext4 an fdatasync then also makes the new size durable (a
 * journal commit, or without a journal as on the development VM a write of the inode), which is
 * most of its time for a small write (0.5 ms against 0.2 ms for a write inside the file, measured
 * there). Inside the size, only the first write into each block converts it (metadata once per
 * block, not per sync). Recovery reads the zeros past the end as a torn
 * tail and cuts them; a clean close cuts them (store_close).
 */
static strom_err log_extend(struct store_log *log, uint64_t want) {
    if (log->size_ahead == 0 || want <= log->size_end) {
        return STROM_OK;
    }
    uint64_t to = want + log->size_ahead;
    to -= to % 4096;
    strom_assert(to > want);
    strom_err err = io_file_truncate(log->io, log->fd, to);
    if (err == STROM_OK) {
        log->size_end = to;
    }
    return err;
}

/* Reserves file space up to at least want, a reserve_bytes step ahead; then the size. */
static strom_err log_reserve(struct store_log *log, uint64_t want) {
    if (log->reserve_bytes == 0 || want <= log->reserved_end) {
        return log_extend(log, want);
    }
    uint64_t to = want + log->reserve_bytes;
    to -= to % 4096;
    strom_err err = io_file_allocate(log->io, log->fd, log->reserved_end, to - log->reserved_end);
    if (err == STROM_ERR_UNSUPPORTED || err == STROM_ERR_INVALID_ARGUMENT) {
        /* A file system without fallocate: appends then meet a full disk at pwrite. */
        log->reserve_bytes = 0;
        return STROM_OK;
    }
    if (err == STROM_OK) {
        log->reserved_end = to;
    }
    return err ? err : log_extend(log, want);
}

/* The O_DIRECT form of log_flush: whole blocks from written - skew, zeros after the end (inside
 * the size kept ahead); the new partial block moves to the front of the buffer. */
static strom_err log_flush_direct(struct store_log *log) {
    strom_assert(log->direct);
    size_t len = log->skew + (size_t)(log->end - log->written);
    size_t padded = (len + IO_DIRECT_ALIGN - 1) / IO_DIRECT_ALIGN * IO_DIRECT_ALIGN;
    strom_assert(log->end <= log->size_end && padded <= log->buf_cap + IO_DIRECT_ALIGN);
    memset(log->buf + len, 0, padded - len);
    strom_err err = io_file_pwrite(log->io, log->dfd, log->buf, padded, log->written - log->skew);
    if (err == STROM_OK) {
        uint32_t skew = (uint32_t)(log->end % IO_DIRECT_ALIGN);
        memmove(log->buf, log->buf + (len - skew), skew);
        log->skew = skew;
        log->written = log->end;
    }
    return err;
}

/* The asynchronous form of log_flush_direct, for a full buffer while appending: waits for the
 * write in flight, starts this one from buf and goes on in buf2, which takes the new partial
 * block; written moves at once (readers and syncs wait for the write, log_write_wait). Without
 * buf2, or when the io cannot start it, the write waits. */
static strom_err log_flush_full(struct store_log *log) {
    strom_err err = log_write_wait(log);
    if (err || !log->direct || log->buf2 == NULL || log->end == log->written) {
        return err ? err : log_flush(log);
    }
    size_t len = log->skew + (size_t)(log->end - log->written);
    size_t padded = (len + IO_DIRECT_ALIGN - 1) / IO_DIRECT_ALIGN * IO_DIRECT_ALIGN;
    strom_assert(log->end <= log->size_end && padded <= log->buf_cap + IO_DIRECT_ALIGN);
    memset(log->buf + len, 0, padded - len);
    err = io_file_pwrite_start(log->io, log->dfd, log->buf, padded, log->written - log->skew,
                               &log->write_op);
    if (err) {
        return log_flush(log); /* nothing started (LIMIT, NO_MEMORY): write and wait */
    }
    log->pwrites++;
    log->pwrites_async++;
    log->write_busy = true;
    uint32_t skew = (uint32_t)(log->end % IO_DIRECT_ALIGN);
    uint8_t *next = log->buf2;
    memcpy(next, log->buf + (len - skew), skew);
    log->buf2 = log->buf;
    log->buf = next;
    log->skew = skew;
    log->written = log->end;
    return STROM_OK;
}

strom_err log_flush(struct store_log *log) {
#ifdef STROM_SIM_PLANTS
    /* planted bug: a sync starts while the write it must cover is in flight (sim/plant.h) */
    strom_err wait_err = SIM_PLANT(SYNC_BEFORE_WRITE) ? STROM_OK : log_write_wait(log);
#else
    strom_err wait_err = log_write_wait(log);
#endif
    if (log->failed) {
        return wait_err ? wait_err : STROM_ERR_STORE_FAILED;
    }
    if (log->end == log->written) {
        return STROM_OK;
    }
    strom_assert(log->skew + log->end - log->written <= log->buf_cap);
    log->pwrites++;
    if (log->direct) {
        return log_flush_direct(log);
    }
    strom_err err =
        io_file_pwrite(log->io, log->fd, log->buf, (size_t)(log->end - log->written), log->written);
    if (err == STROM_OK) {
        log->written = log->end;
        err = log_cache_trim(log);
    }
    return err;
}

static void range_add(struct store_log *log, const void *p, size_t len) {
    if (log->range_on) {
        log->range_crc = crc32c(log->range_crc, p, len);
    }
}

/* When direct: the partial block before the new written, from the end of what the gathered write
 * wrote: more than a block, since when direct only a record whose span passes the buffer less a
 * block goes gathered, and the buffer holds two blocks at least (options_valid). */
static void log_keep_tail(struct store_log *log, const struct io_iov *iov, int count) {
    uint32_t skew = log->direct ? (uint32_t)(log->written % IO_DIRECT_ALIGN) : 0;
    uint32_t left = skew;
    for (int i = count - 1; i >= 0 && left > 0; i--) {
        size_t take = iov[i].len < left ? iov[i].len : left;
        memcpy(log->buf + (left - take), (const uint8_t *)iov[i].base + (iov[i].len - take), take);
        left -= (uint32_t)take;
    }
    strom_assert(left == 0);
    log->skew = skew; /* 0 when buffered, as it always is there */
}

/* Writes what the buffer holds and the record after it in one gathered write, without copying
 * the payload: used for records with a large payload and for those larger than the buffer. */
static strom_err log_write_gathered(struct store_log *log, const uint8_t *header, const void *head,
                                    size_t head_len, const void *payload, size_t payload_len,
                                    uint64_t span) {
    static const uint8_t zeros[STORE_ALIGN];
    strom_err err = log_write_wait(log); /* its zeros after the end lie where this one writes */
    if (err) {
        return err;
    }
    struct io_iov iov[5] = {
        {log->buf + log->skew, (size_t)(log->end - log->written)},
        {header, STORE_HEADER_BYTES},
        {head, head_len},
        {payload, payload_len},
        {zeros, (size_t)(span - STORE_HEADER_BYTES - head_len - payload_len)},
    };
    log->pwrites++;
    err = io_file_pwritev(log->io, log->fd, iov, 5, log->written);
    if (err == STROM_OK) {
        for (int i = 1; i < 5; i++) {
            range_add(log, iov[i].base, iov[i].len);
        }
        log->written = log->end + span;
        log_keep_tail(log, iov, 5);
    }
    return err;
}

/* Where the next record goes in the write buffer. */
static uint8_t *at_end(const struct store_log *log) {
    return log->buf + log->skew + (log->end - log->written);
}

/* Writes the record of h (all but body_crc set) at at in the write buffer: the body is copied
 * first and its CRC computed from the copy, which the copy just brought into the cache (a
 * payload read from the node log is cold: the CRC alone read it at about half the speed of
 * memcpy; docs/node.md, "Throughput: where the time goes"). */
static void log_put_record(struct store_log *log, uint8_t *at, struct store_rec_header *h,
                           uint64_t pos, const void *head, size_t head_len, const void *payload,
                           size_t payload_len, uint64_t span) {
    uint8_t *body = at + STORE_HEADER_BYTES;
    memcpy(body, head, head_len);
    if (payload_len) {
        memcpy(body + head_len, payload, payload_len);
    }
    size_t used = STORE_HEADER_BYTES + head_len + payload_len;
    memset(at + used, 0, (size_t)span - used);
    h->body_crc = crc32c(0, body, head_len + payload_len);
    store_header_encode(at, h, log->file_id, pos);
    range_add(log, at, (size_t)span);
}

strom_err log_append(struct store_log *log, uint8_t type, uint8_t level, const void *head,
                     size_t head_len, const void *payload, size_t payload_len, uint64_t *pos_out,
                     uint32_t *span_out) {
    if (!log->writable) {
        return STROM_ERR_UNSUPPORTED;
    }
    if (log->failed) {
        return STROM_ERR_STORE_FAILED;
    }
    strom_assert(head_len + payload_len <= STORE_BODY_BYTES_MAX);
    uint64_t pos = log->end;
    uint64_t span = store_record_span(head_len + payload_len);
    strom_assert(pos + span < (UINT64_C(1) << STORE_POS_BITS));
    strom_err err = log_reserve(log, pos + span);
    if (err) {
        return err;
    }
    struct store_rec_header h = {
        .type = type,
        .level = level,
        .body_bytes = (uint32_t)(head_len + payload_len),
        .durable_pos = log->durable,
    };
    /* With O_DIRECT everything goes through the buffer that fits (the gathered write would be
     * buffered, and unaligned). */
    bool gather = log->direct ? span + IO_DIRECT_ALIGN > log->buf_cap
                              : payload_len >= LOG_GATHER_BYTES_MIN || span > log->buf_cap;
    if (!gather && log->skew + log->end - log->written + span > log->buf_cap) {
        err = log_flush_full(log);
    }
    if (gather) {
        uint8_t header[STORE_HEADER_BYTES];
        h.body_crc = crc32c(crc32c(0, head, head_len), payload, payload_len);
        store_header_encode(header, &h, log->file_id, pos);
        err = log_write_gathered(log, header, head, head_len, payload, payload_len, span);
    } else if (err == STROM_OK) {
        log_put_record(log, at_end(log), &h, pos, head, head_len, payload, payload_len, span);
    }
    if (err == STROM_OK) {
        log->end = pos + span;
        *pos_out = pos;
        if (span_out != NULL) {
            *span_out = (uint32_t)span;
        }
        /* A gathered write went through fd even when direct (records too large for the buffer). */
        err = gather ? log_cache_trim(log) : STROM_OK;
    }
    return err;
}

/* The outcome of the oldest sync in flight, once it is done. */
static strom_err log_sync_finish(struct store_log *log) {
    struct io_sync *op = &log->sync_op[log->sync_head];
    strom_assert(log->sync_count > 0 && op->done);
    uint64_t end = log->sync_end[log->sync_head];
    log->sync_head = (log->sync_head + 1) % STORE_SYNCS_MAX;
    log->sync_count--;
    if (op->result != STROM_OK) {
        log->failed = true; /* never retried, as in log_sync */
    }
    if (!log->failed && end > log->durable) {
        log->durable = end;
    }
    return log->failed ? STROM_ERR_STORE_FAILED : STROM_OK;
}

strom_err log_sync_collect(struct store_log *log, uint64_t timeout_ns) {
    strom_err err = STROM_OK;
    while (log->sync_count > 0) {
        struct io_sync *op = &log->sync_op[log->sync_head];
        err = io_file_datasync_wait(log->io, op, timeout_ns);
        if (err != STROM_OK || !op->done) {
            break; /* a wait that failed leaves the sync in flight: the caller exits */
        }
        timeout_ns = 0; /* only the oldest is waited for */
        strom_err sync_err = log_sync_finish(log);
        err = err ? err : sync_err;
    }
    return log->failed ? STROM_ERR_STORE_FAILED : err;
}

strom_err log_sync_start(struct store_log *log) {
    if (log->failed) {
        return STROM_ERR_STORE_FAILED;
    }
    uint64_t covered = log->durable;
    if (log->sync_count > 0) {
        covered = log->sync_end[(log->sync_head + log->sync_count - 1) % STORE_SYNCS_MAX];
    }
    if (covered == log->end) {
        return STROM_OK; /* nothing new */
    }
    if (log->sync_count == STORE_SYNCS_MAX) {
        return STROM_ERR_LIMIT;
    }
    strom_err err = log_flush(log);
    uint32_t at = (log->sync_head + log->sync_count) % STORE_SYNCS_MAX;
    if (err == STROM_OK) {
        err = io_file_datasync_start(log->io, log->fd, &log->sync_op[at]);
    }
    if (err == STROM_OK) {
        log->syncs++;
        log->sync_end[at] = log->end;
        log->sync_count++;
    }
    return err;
}

strom_err log_sync(struct store_log *log) {
    strom_err err = STROM_OK;
    while (err == STROM_OK && log->sync_count > 0) {
        err = log_sync_collect(log, IO_TIMEOUT_INFINITE); /* every one, not only the oldest */
    }
    if (err) {
        return log->failed ? STROM_ERR_STORE_FAILED : err;
    }
    if (log->durable == log->end) {
        return STROM_OK; /* nothing new: no fdatasync */
    }
    err = log_flush(log);
    if (err) {
        return err;
    }
    log->syncs++;
    err = io_file_datasync(log->io, log->fd);
    if (err) {
        /* Never retried: the kernel may already have dropped the pages it could not write. */
        log->failed = true;
        return STROM_ERR_STORE_FAILED;
    }
    log->durable = log->end;
    return STROM_OK;
}

strom_err log_read(struct store_log *log, uint64_t pos, void *buf, size_t len, size_t *got) {
    uint8_t *out = buf;
    size_t done = 0;
    strom_err err = pos < log->written ? log_write_wait(log) : STROM_OK;
    if (err == STROM_OK && pos < log->written) {
        size_t want = pos + len <= log->written ? len : (size_t)(log->written - pos);
        log->preads++;
        err = io_file_pread(log->io, log->fd, out, want, pos, &done);
        if (err == STROM_OK && done < want) {
            len = done; /* the file ends before written: stop there */
        }
    }
    if (err == STROM_OK && done < len && pos + done >= log->written && pos + done < log->end) {
        uint64_t from = pos + done - log->written + log->skew;
        size_t take = (size_t)(log->end - (pos + done));
        take = take < len - done ? take : len - done;
        memcpy(out + done, log->buf + from, take);
        done += take;
    }
    *got = done;
    return err;
}

strom_err log_read_record(struct store_log *log, uint64_t pos, uint32_t span, uint8_t type,
                          uint8_t *buf, struct store_rec_header *h) {
    if (span < STORE_HEADER_BYTES || span % STORE_ALIGN != 0 || pos % STORE_ALIGN != 0) {
        return STROM_ERR_CORRUPT;
    }
    size_t got = 0;
    strom_err err = log_read(log, pos, buf, span, &got);
    if (err) {
        return err;
    }
    if (got < span) {
        return STROM_ERR_TRUNCATED;
    }
    err = store_header_decode(buf, log->file_id, pos, h);
    if (err == STROM_OK && (h->type != type || store_record_span(h->body_bytes) != span)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK && crc32c(0, buf + STORE_HEADER_BYTES, h->body_bytes) != h->body_crc) {
        err = STROM_ERR_CORRUPT;
    }
    return err;
}

strom_err log_cut(struct store_log *log, uint64_t end) {
    strom_assert(log->writable && log->end == log->written && end % STORE_ALIGN == 0);
    strom_assert(!log->direct || end == log->end); /* direct: only a clean close's cut */
    strom_err err = log_write_wait(log);
    err = err ? err : io_file_truncate(log->io, log->fd, end);
    if (err == STROM_OK) {
        log->syncs++;
        err = io_file_datasync(log->io, log->fd);
        log->failed = err != STROM_OK;
    }
    if (err == STROM_OK) {
        log->end = end;
        log->written = end;
        log->durable = end;
        log->reserved_end = end;
        log->size_end = end;
        log->writeback_pos = log->writeback_pos < end ? log->writeback_pos : end;
        log->dropped_pos = log->dropped_pos < end ? log->dropped_pos : end;
    }
    return err;
}

void log_range_begin(struct store_log *log) {
    strom_assert(!log->range_on);
    log->range_on = true;
    log->range_crc = 0;
}

uint32_t log_range_end(struct store_log *log) {
    strom_assert(log->range_on);
    log->range_on = false;
    return log->range_crc;
}

void log_reset_end(struct store_log *log, uint64_t end) {
    strom_assert(!log->writable && end % STORE_ALIGN == 0);
    log->end = end;
    log->written = end;
    log->durable = end;
}

strom_err log_read_file(struct store_log *log, uint64_t pos, void *buf, size_t len, size_t *got) {
    strom_assert(log->end == log->written);
    strom_err err = log_write_wait(log);
    log->preads++;
    return err ? err : io_file_pread(log->io, log->fd, buf, len, pos, got);
}

strom_err log_crc_range(struct store_log *log, uint64_t from, uint64_t to, uint8_t *buf, size_t cap,
                        uint32_t *crc_out) {
    uint32_t crc = 0;
    strom_err err = STROM_OK;
    while (from < to && err == STROM_OK) {
        size_t want = to - from < cap ? (size_t)(to - from) : cap;
        size_t got = 0;
        err = log_read_file(log, from, buf, want, &got);
        if (err == STROM_OK && got < want) {
            err = STROM_ERR_TRUNCATED;
        }
        crc = crc32c(crc, buf, got);
        from += got;
    }
    *crc_out = crc;
    return err;
}
