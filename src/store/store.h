/*
 * store.h: the storage engine of a commit: every stream it owns in one append-only file.
 *
 * The file is a log of records (format.h; docs/storage.md describes it byte by byte): batches of
 * messages, index records written after the batches they index (after F batches of a stream one
 * record indexes them, after F such records one at the next level, and so on), and every few
 * megabytes a checkpoint whose trie of stream roots is written copy-on-write. All pointers point
 * backwards. Opening finds the last valid checkpoint from the end of the file and replays what
 * follows it, so its cost is bounded by the checkpoint interval, not by the size of the file.
 *
 * Positions are byte offsets in the file. A position returned by store_append is where the batch's
 * record starts; store_sync returns the durable position: every record that starts below it is on
 * disk. Offsets are per stream, dense from 0 (DESIGN.md section 1).
 *
 * One writer: a store opened for writing is owned by one process (the commit) and is not
 * thread-safe. Any number of read-only stores may open the same file at the same time (gateways):
 * a read-only store sees the file as of its last store_refresh, which replays the records the
 * writer added since; the writer publishes its durable position (for instance in the counters
 * page) and readers refresh up to it, so they never see what a crash could take back.
 *
 * Space is given back by store_reclaim(pos), which drops every record before pos and punches a
 * hole there (FALLOC_FL_PUNCH_HOLE): positions never move, the file stays one file, and its size
 * on disk is what is live. File systems without hole punching keep the space (reads still refuse
 * the range).
 *
 * Errors common to all calls: STROM_ERR_IO (the io failed), STROM_ERR_NO_MEMORY. A store whose
 * fdatasync failed refuses every write with STROM_ERR_STORE_FAILED until it is closed and opened
 * again (fsync errors are not retried: the kernel may have dropped the unsynced pages, the
 * PostgreSQL "fsyncgate" of 2018). STROM_ERR_CORRUPT means a record failed its CRC or its checks;
 * store_error_pos() then names the position of the damaged record. Nothing corrupt is ever
 * returned as data.
 */
#ifndef STROM_STORE_STORE_H
#define STROM_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/io.h"

struct store;

/* Defaults of store_options_default, chosen by bench/bench_store.c (see docs/storage.md). */
enum {
    STORE_FANOUT_DEFAULT = 16,                  /* F */
    STORE_CHECKPOINT_BYTES_DEFAULT = 8 << 20,   /* a checkpoint after this much data */
    STORE_WRITE_BUFFER_BYTES_DEFAULT = 1 << 20, /* records gathered before one pwrite */
    STORE_BATCH_BYTES_MAX_DEFAULT = 16 << 20,   /* payload of one batch */
    STORE_PATH_BYTES_MAX = 4096,                /* a file path, with its NUL */
    STORE_DATA_FILE_NAME_BYTES_MAX = 32,        /* the file name inside a directory */
    STORE_SYNCS_INFLIGHT_MAX = 2,               /* store_sync_start: syncs in flight at once */
};
#define STORE_DATA_FILE_NAME                 "strom.store" /* the file store_open uses inside a directory */
#define STORE_CHECKPOINT_INTERVAL_NS_DEFAULT UINT64_C(1000000000)
#define STORE_RESERVE_BYTES_DEFAULT          (UINT64_C(64) << 20)
#define STORE_STREAMS_MAX_DEFAULT            (UINT64_C(1) << 26)
#define STORE_MEMORY_BYTES_MAX_DEFAULT       (UINT64_C(16) << 30)

struct store_options {
    uint32_t index_fanout;           /* F for a new file, [4, 64]; an existing file keeps its own */
    uint64_t checkpoint_bytes;       /* a checkpoint once this many bytes follow the last one */
    uint64_t checkpoint_interval_ns; /* or once this long passed with changes (at a sync) */
    uint32_t write_buffer_bytes;     /* records are gathered into one pwrite of this many bytes */
    uint64_t reserve_bytes;          /* file space is reserved (fallocate) this far ahead, so a
                                        full disk fails the append that needs the space; 0: off */
    uint64_t size_ahead_bytes;       /* the file's size is kept this far ahead of its end (zeros,
                                        >= 4096), so that a sync of an append need not commit a
                                        new size (ext4: a journal commit or an inode write); 0: off */
    bool direct_writes;              /* write through a second descriptor opened with O_DIRECT
                                        (io IO_OPEN_DIRECT), from an aligned buffer that keeps the
                                        partial last 4 KiB block and writes it again with the next
                                        group: no page-cache copy, no delayed allocation. Needs
                                        size_ahead_bytes (the zeros after the end lie inside the
                                        size, which a clean close cuts) and a write buffer of two
                                        blocks at least. Where the file system
                                        refuses O_DIRECT the store writes buffered:
                                        store_direct_writes says which. Recovery is unchanged */
    uint64_t writeback_bytes;        /* start the write-back of the written pages every this
                                        many bytes (io_file_writeback, Linux sync_file_range), so
                                        that dirty pages do not pile up until a sync; 0: off (the
                                        default) */
    uint64_t cache_bytes;            /* keep about this many bytes behind the end in the page
                                        cache: older pages are written back (waited for) and
                                        dropped (io_file_cache_drop), so that new writes reuse
                                        pages freed a moment ago instead of taking fresh ones
                                        (docs/storage.md, "The page cache"); readers further
                                        behind read from the disk. >= 4096; 0: off (the default).
                                        Neither option changes what is durable when; both apply
                                        to buffered writes only */
    uint32_t batch_bytes_max;        /* largest payload an append takes */
    uint64_t streams_max;            /* streams the store holds at most */
    uint64_t memory_bytes_max;       /* bound of the per-stream memory (spines, trie nodes) */
    bool read_only;                  /* open for reading only (never writes, never truncates) */
    bool create;                     /* create the file when it is missing (not read-only) */
};

/* Fills *o with the defaults above, create true, read_only false. */
void store_options_default(struct store_options *o);

/*
 * Opens the store at path: a file, or a directory that holds (or will hold) STORE_DATA_FILE_NAME
 * (a path ending in '/' names a directory, created when missing and o->create).
 * A new file is created (and its directory synced) when o->create. An existing file is recovered:
 * the last valid checkpoint is found from the end, the records after it are replayed, a torn tail
 * is cut off (writable stores truncate it and sync), index records the tail lost are written
 * again. After a crash at any point it holds every batch whose store_sync returned, possibly
 * later whole batches, and never a partial or corrupt one. Damage found before the tail is
 * skipped and counted (store_get_stats); reading it gives STROM_ERR_CORRUPT.
 * Records that fail their checks are read up to STORE_READ_TRIES times first (a transient read
 * error is not damage). Errors: NOT_FOUND (no file and !create), CORRUPT (the file header is
 * damaged, or not a store file, or a checkpoint record that replay needs is damaged: the open
 * refuses rather than drop that stream's later batches; store_error_pos names it), INVALID_ARGUMENT
 * (bad options or path), LIMIT (a bound of the options is exceeded).
 */
strom_err store_open(struct io *io, const char *path, const struct store_options *o,
                     struct store **out);

/* Closes the store. A writable, healthy store syncs, writes a checkpoint and syncs again first,
 * so that the next open replays nothing. Everything is freed even when that fails; the error is
 * returned. */
strom_err store_close(struct store *s);

/* Frees the store without writing anything, as if its process had died: what was not synced may
 * or may not be in the file, and the next open recovers. Its descriptor is closed (errors
 * ignored). For tests and the simulator, which crash a store and go on in the same process. */
void store_discard(struct store *s);

/* One batch to append. */
struct store_append {
    uint64_t stream_id;     /* any value */
    uint64_t base_offset;   /* must equal the stream's next offset (0 for a new stream) */
    uint32_t message_count; /* >= 1 */
    uint32_t flags;         /* the caller's: stored and returned unchanged */
    uint64_t first_ts_ns;   /* timestamps of the first and last message, ns since the epoch */
    uint64_t last_ts_ns;
    const void *payload;    /* payload_bytes bytes, opaque to the store */
    uint32_t payload_bytes; /* <= batch_bytes_max */
};

/*
 * Appends one batch; *pos_out (may be NULL) gets the position of its record. The batch is in
 * memory or in the page cache until a store_sync covers it, and readable at once.
 * Errors: GAP (base_offset is not the stream's next offset: no gap, no overlap, ever),
 * INVALID_ARGUMENT (message_count 0, payload NULL with bytes), TOO_LARGE (payload above
 * batch_bytes_max or the offsets would pass 2^64), NO_SPACE (the disk is full: nothing changed;
 * the same append succeeds once space is freed), STORE_FAILED, UNSUPPORTED (read-only), LIMIT
 * (streams_max or memory_bytes_max reached), CORRUPT (the stream's saved state is damaged).
 */
strom_err store_append(struct store *s, const struct store_append *a, uint64_t *pos_out);

/*
 * Makes every append before it durable: writes what is buffered, then one fdatasync (group
 * commit). *durable_pos_out (may be NULL) gets the durable position. Writes a checkpoint after it
 * when one is due (checkpoint_bytes, checkpoint_interval_ns); the checkpoint becomes durable with
 * the next sync. Errors: NO_SPACE (nothing lost; retry after freeing space), STORE_FAILED (the
 * fdatasync failed now or before: the store refuses every write from now on). A read-only store
 * returns its refreshed position.
 */
strom_err store_sync(struct store *s, uint64_t *durable_pos_out);

/*
 * The pipelined form of store_sync, for a writer that appends on while the disk syncs: starts an
 * fdatasync of every append so far and returns without waiting (io_file_datasync_start; at most
 * STORE_SYNCS_INFLIGHT_MAX in flight). store_sync_collect then waits up to timeout_ns (0: not at
 * all) for the oldest and collects, oldest first, those that finished: the durable position moves
 * to the end each one covered, and only once every sync started before it succeeded. *covers_out
 * gets the position the started sync makes durable: once store_sync_collect reports a durable
 * position at or past it, every append before the call is on disk. When a checkpoint is due,
 * store_sync_start is store_sync (it waits, drains the syncs in flight and writes the
 * checkpoint, whose records follow *covers_out), since a checkpoint needs everything before it
 * durable.
 * store_sync, store_checkpoint and store_close collect the syncs in flight before their own.
 * Errors: store_sync_start: LIMIT (two in flight), NO_SPACE, STORE_FAILED, those of store_sync
 * when it checkpoints; store_sync_collect: STORE_FAILED (a sync failed: as for store_sync). A
 * read-only store does nothing.
 */
strom_err store_sync_start(struct store *s, uint64_t *covers_out);
strom_err store_sync_collect(struct store *s, uint64_t timeout_ns, uint64_t *durable_pos_out);
/* Whether the store writes with O_DIRECT now (store_options.direct_writes, the file system took
 * it, and store_set_direct_writes did not turn it off). */
bool store_direct_writes(const struct store *s);

/*
 * Switches a store opened with direct_writes (and O_DIRECT taken) between O_DIRECT writes (on)
 * and writes through the page cache (off, with the writeback_bytes and cache_bytes options), while
 * it runs: what the write buffer holds goes out in the old mode first. Either mode writes the same
 * bytes at the same positions, so what is durable when, recovery and the readers are unchanged.
 * Why: O_DIRECT costs the writer no page-cache copy, but a reader of what was just written (a
 * gateway's catch-up) then reads it from the disk into new pages; the commit switches by whether
 * anyone reads its file (docs/node.md, "Throughput: where the time goes"). Errors: UNSUPPORTED
 * (read-only, or opened without O_DIRECT), those of a flush (NO_SPACE, IO, STORE_FAILED) and of
 * reading the partial last block back (IO): the store then stays in its old mode.
 */
strom_err store_set_direct_writes(struct store *s, bool on);

/* Syncs started and not yet collected. */
uint32_t store_syncs_inflight(const struct store *s);

/* Syncs and writes a checkpoint now, if anything changed since the last one (or always when
 * force). Errors as store_sync. */
strom_err store_checkpoint(struct store *s, bool force);

/* The durable position (see store_sync) and the position the next record will take. */
uint64_t store_durable_pos(const struct store *s);
uint64_t store_end_pos(const struct store *s);

/* A batch as read back (the payload goes to the caller's buffer). */
struct store_batch {
    uint64_t stream_id;
    uint64_t base_offset;   /* offset of its first message */
    uint32_t message_count; /* messages [base_offset, base_offset + message_count) */
    uint32_t flags;         /* as appended */
    uint64_t first_ts_ns;
    uint64_t last_ts_ns;
    uint64_t pos;           /* position of its record */
    uint32_t payload_bytes; /* bytes of payload, copied to the caller's buffer */
};

/* A reader's position in one stream, and what it caches: the last index records of levels 0
 * and 1 it read, so that reading on costs about one pread per batch plus one per F batches.
 * Caller-owned, about 2.6 KiB; set it up with store_cursor_init. */
struct store_cursor_level {
    uint64_t pos;        /* position of the cached index record; 0: none */
    uint64_t end_offset; /* offset after the last message it covers */
    uint32_t count;      /* its children */
    uint32_t reserved;
    uint64_t base_offset[64]; /* STORE_FANOUT_MAX children: first offsets */
    uint64_t child_pos[64];   /* their positions */
    uint32_t span[64];        /* their record lengths */
};

struct store_cursor {
    uint64_t stream_id;
    uint64_t offset;    /* the next batch returned holds this offset */
    uint64_t error_pos; /* position named by the last CORRUPT */
    struct store_cursor_level level[2];
};

/* Points c at offset of stream_id; the next store_cursor_next returns the batch holding it. */
void store_cursor_init(struct store_cursor *c, uint64_t stream_id, uint64_t offset);

/*
 * Reads the batch holding c->offset into *b and its payload into buf (payload_cap bytes), then
 * moves c to the offset after it. Errors: NO_STREAM; OUT_OF_RANGE (c->offset is below the
 * stream's first offset: reclaimed); END (c->offset is the stream's next offset or past it:
 * nothing more yet, call again after more appends or a refresh); OVERFLOW (b is filled and
 * b->payload_bytes says how much room the payload needs; c does not move); CORRUPT (c->error_pos
 * and store_error_pos name the damaged record; c does not move; the caller may skip past it with
 * store_cursor_init). In a read-only store, CORRUPT may also mean that the writer reclaimed the
 * range since the last refresh: refresh (to the writer's durable position) and read again.
 */
strom_err store_cursor_next(struct store *s, struct store_cursor *c, struct store_batch *b,
                            void *buf, size_t payload_cap);

/* The state of one stream. */
struct store_stream_info {
    uint64_t stream_id;
    uint64_t first_offset; /* first offset that can be read (earlier ones were reclaimed) */
    uint64_t next_offset;  /* offset the next append must start at */
    uint64_t batch_count;  /* batches ever appended */
};

/* Fills *out for stream_id. Errors: NO_STREAM (never appended to), CORRUPT. May read the file. */
strom_err store_stream_info(struct store *s, uint64_t stream_id, struct store_stream_info *out);

/* Called once per stream by store_streams_list; a non-OK return stops the listing. */
typedef strom_err (*store_stream_fn)(void *arg, const struct store_stream_info *info);

/* Calls fn for every stream, in no particular order. Reads the whole trie of stream roots: use it
 * for tools and listings, not on a hot path. Errors: what fn returns, CORRUPT. */
strom_err store_streams_list(struct store *s, store_stream_fn fn, void *arg);

/*
 * Drops every record that starts before pos (retention) in every stream: reads there give
 * OUT_OF_RANGE and first offsets move up. The trie nodes and stream roots still needed that lie
 * before pos are written again first; then a checkpoint is written and synced; then the space
 * [start of data, pos rounded down to 4 KiB) is punched out of the file. pos must not pass the
 * durable position. Errors: INVALID_ARGUMENT (pos past the durable position), UNSUPPORTED
 * (read-only), errors of store_sync.
 */
strom_err store_reclaim(struct store *s, uint64_t pos);

/* Records before this position are reclaimed. */
uint64_t store_reclaim_pos(const struct store *s);

/*
 * Read-only stores: replays what the writer appended since the last refresh, up to
 * durable_pos (the writer's published durable position), or as far as whole valid records go
 * when durable_pos is 0. Adopts the writer's newer checkpoints on the way. A writable store
 * returns OK at once. Errors: IO, CORRUPT (damage inside the synced range; the rest is replayed).
 *
 * Pass the published durable position whenever the writer may be running: with 0 the reader may
 * replay records the writer has not synced yet, which the writer's recovery after a crash can cut
 * and overwrite, and this store would then hold state the file no longer has (reopen it to
 * recover). 0 is for tools and for files whose writer is gone.
 */
strom_err store_refresh(struct store *s, uint64_t durable_pos);

/* The position of the record named by the last STROM_ERR_CORRUPT, 0 when there was none. */
uint64_t store_error_pos(const struct store *s);

/* Counters and recovery facts, for logs, tests and benchmarks. */
struct store_stats {
    uint64_t appends;             /* batches appended by this process */
    uint64_t append_bytes;        /* payload bytes of those */
    uint64_t syncs;               /* fdatasyncs done */
    uint64_t checkpoints;         /* checkpoints written */
    uint64_t checkpoint_bytes;    /* bytes of records written for checkpoints */
    uint64_t index_records;       /* index records written */
    uint64_t preads;              /* preads issued (reads served from the write buffer excluded) */
    uint64_t pwrites;             /* pwrites issued */
    uint64_t streams;             /* streams in the store */
    uint64_t streams_loaded;      /* streams whose state is in memory */
    uint64_t trie_nodes_loaded;   /* trie nodes in memory */
    uint64_t memory_bytes;        /* bytes allocated for stream state, trie and buffers */
    uint64_t index_fanout;        /* F of the file */
    uint64_t open_checkpoint_pos; /* checkpoint open started from; 0 if none */
    uint64_t open_replayed_bytes; /* bytes replayed after it */
    uint64_t open_replayed_records; /* records replayed */
    uint64_t open_cut_pos;          /* where the torn tail was cut; file size if nothing was */
    uint64_t open_cut_bytes;        /* bytes cut off */
    uint64_t open_damaged_ranges;   /* damaged ranges skipped before the tail */
    uint64_t open_first_damage_pos; /* position of the first; 0 if none */
    uint64_t open_ignored_records;  /* valid records replay could not use (see docs) */
    uint64_t open_repaired_indexes; /* index records written again at open */
    uint64_t pwrites_async;         /* of pwrites: O_DIRECT writes of a full buffer started
                                       without waiting (the next one waits for it) */
};

void store_get_stats(const struct store *s, struct store_stats *out);

#endif
