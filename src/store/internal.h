/*
 * internal.h: the parts of a store and how its modules call each other (not for users; see
 * store.h for the API).
 *
 * struct store is the root of all of a store's state. Each member struct has one owner module
 * that writes its fields:
 *   log      log.c     the file: write buffer, end, durable position, reads through the buffer
 *   slab     slab.c    variable-size blocks in 16-byte units (spines, trie nodes)
 *   table    table.c   the stream table: fixed 48-byte entries, open addressing, no per-stream
 *                      malloc; spines live in the slab
 *   trie     trie.c    the trie of stream roots: nodes loaded on demand, written copy-on-write
 *   ckpt     store.c   checkpoint and reclaim state
 *   open     recover.c what recovery found
 * plus counters each module bumps for itself.
 */
#ifndef STROM_STORE_INTERNAL_H
#define STROM_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/io.h"
#include "store/format.h"
#include "store/store.h"

/* --- log.c: the file and its write buffer ----------------------------------------------------
 * Records are appended at end; [written, end) is still in buf, [0, written) was handed to
 * pwrite, [0, durable) is on disk. A record never straddles written: the buffer is written out
 * whole before a record that does not fit, and a record larger than the buffer is written
 * directly.
 * Asynchronous syncs (log_sync_start): up to STORE_SYNCS_MAX fdatasyncs in flight, each with the
 * end it covers (the written position when it started), collected oldest first: durable moves
 * to a sync's end only once it and every sync started before it succeeded, so a failure that
 * the kernel reports to one of two overlapping syncs is never passed over. */
#define STORE_SYNCS_MAX STORE_SYNCS_INFLIGHT_MAX
struct store_log {
    struct io *io;
    int fd;                   /* the store file */
    uint64_t file_id;         /* salt of every header */
    bool writable;            /* opened for writing */
    bool failed;              /* an fdatasync (or a write of unknown outcome) failed: no writes */
    uint64_t end;             /* position of the next record */
    uint64_t written;         /* bytes below are in the file (page cache at least) */
    uint64_t durable;         /* bytes below are on disk */
    uint64_t reserved_end;    /* space is reserved (fallocate) up to here */
    uint64_t reserve_bytes;   /* reserve this far ahead; 0: never reserve */
    uint64_t size_end;        /* the file's size as this log set it (>= end when size_ahead) */
    uint64_t size_ahead;      /* extend the file's size this far ahead of end; 0: never */
    uint8_t *buf;             /* [written - skew, end), aligned to IO_DIRECT_ALIGN */
    int dfd;                  /* O_DIRECT descriptor of the file (log_direct_open); -1: none */
    bool direct;              /* writes go through dfd now (log_set_direct); false without dfd */
    uint8_t *buf2;            /* with dfd: the other aligned buffer; in flight while write_busy */
    bool write_busy;          /* an asynchronous O_DIRECT write of buf2 is in flight: the file
                                 holds [.., written) once it is done */
    struct io_sync write_op;  /* its io state (stays in place) */
    uint32_t skew;            /* when direct: the bytes of written's partial block, at buf */
    size_t buf_cap;           /* bytes at buf */
    uint64_t writeback_bytes; /* start the write-back of every this many bytes; 0: never */
    uint64_t cache_bytes;     /* keep about this many bytes behind written cached; 0: all */
    uint64_t writeback_pos;   /* the write-back of [.., writeback_pos) was started */
    uint64_t dropped_pos;     /* the cached pages of [.., dropped_pos) were dropped */
    bool range_on;            /* records appended now extend range_crc (checkpoint nodes) */
    uint32_t range_crc;       /* crc32c of the bytes appended while range_on */
    uint64_t preads;          /* counters */
    uint64_t pwrites;
    uint64_t pwrites_async;
    uint64_t syncs;
    uint32_t sync_head;                      /* the oldest sync in flight */
    uint32_t sync_count;                     /* syncs in flight */
    uint64_t sync_end[STORE_SYNCS_MAX];      /* the end each covers */
    struct io_sync sync_op[STORE_SYNCS_MAX]; /* their io state (stays in place) */
};

strom_err log_init(struct store_log *log, struct io *io, int fd, uint64_t file_id, bool writable,
                   uint64_t end, size_t buf_cap, uint64_t reserve_bytes);
void log_free(struct store_log *log);
/* Makes the log keep the file's size up to bytes ahead of its end (store_options.size_ahead_bytes;
 * 0: off). */
void log_set_size_ahead(struct store_log *log, uint64_t bytes);
/* Makes the log start the write-back of what it wrote every writeback_bytes (0: off) and drop
 * the cached pages more than cache_bytes behind what it wrote (0: off), once written back
 * (store_options.writeback_bytes, cache_bytes). Only writes through the buffered descriptor. */
void log_set_cache(struct store_log *log, uint64_t writeback_bytes, uint64_t cache_bytes);
/* Appends one record: header, head[0, head_len), payload[0, payload_len), padding. *pos_out gets
 * its position, *span_out (may be NULL) its bytes. Errors: NO_SPACE and IO with nothing
 * appended; STORE_FAILED. */
strom_err log_append(struct store_log *log, uint8_t type, uint8_t level, const void *head,
                     size_t head_len, const void *payload, size_t payload_len, uint64_t *pos_out,
                     uint32_t *span_out);
/* Opens path (the log's file) a second time with IO_OPEN_DIRECT; the log then writes through it
 * (store_options.direct_writes). Keeps the partial block before end in the buffer: it is read
 * until two reads agree (a read may flip a bit; what is written again must be what the file
 * holds). A file system that refuses O_DIRECT (UNSUPPORTED, INVALID_ARGUMENT) leaves the log
 * buffered, with STROM_OK. Errors: IO (no two reads agreed), those of open and pread. */
strom_err log_direct_open(struct store_log *log, const char *path);
/* Switches the writes of a log that has its O_DIRECT descriptor between it (on) and the buffered
 * one, at a flush: what the buffer holds is written in the old mode first. Into O_DIRECT it reads
 * the partial block before end back, as log_direct_open does (from the page cache, which the
 * buffered write just filled); out of it the block kept is dropped (the file has it) and the
 * write-back of the buffered writes starts at the switch. Errors: those of log_flush and of the
 * read back (the log stays in its old mode). */
strom_err log_set_direct(struct store_log *log, bool on);
/* Writes the buffer out (pwrite). */
strom_err log_flush(struct store_log *log);
/* Flushes and fdatasyncs; durable becomes end. Collects the syncs in flight first. A failed
 * fdatasync fails the log for good. */
strom_err log_sync(struct store_log *log);
/* Flushes and starts an fdatasync of everything appended (nothing when that is durable or
 * covered by a sync in flight already). Errors: LIMIT (STORE_SYNCS_MAX in flight), those of
 * log_flush, STORE_FAILED. */
strom_err log_sync_start(struct store_log *log);
/* Waits up to timeout_ns (0: not at all) for the oldest sync in flight and collects, oldest
 * first, those that are done: durable moves to the end of each that succeeded. Errors:
 * STORE_FAILED (one failed: the log fails for good). */
strom_err log_sync_collect(struct store_log *log, uint64_t timeout_ns);
/* Reads [pos, pos + len) from the file or the buffer; *got < len only at the end. */
strom_err log_read(struct store_log *log, uint64_t pos, void *buf, size_t len, size_t *got);
/* Reads the whole record at pos whose span is known, into buf (span bytes), and checks its
 * header, type and body CRC. h gets the header. Errors: CORRUPT, TRUNCATED (past the end). */
strom_err log_read_record(struct store_log *log, uint64_t pos, uint32_t span, uint8_t type,
                          uint8_t *buf, struct store_rec_header *h);
/* Cuts the file at end (recovery) and syncs the cut. */
strom_err log_cut(struct store_log *log, uint64_t end);
/* Starts and ends the CRC of a checkpoint's nodes (the log must be empty of buffered
 * overlap: it covers exactly the records appended in between). */
void log_range_begin(struct store_log *log);
uint32_t log_range_end(struct store_log *log);
/* Read-only stores: the log ends at end (after recovery or a refresh). */
void log_reset_end(struct store_log *log, uint64_t end);
/* Reads [pos, pos + len) from the file itself, past the log's end too (recovery, refresh). */
strom_err log_read_file(struct store_log *log, uint64_t pos, void *buf, size_t len, size_t *got);
/* crc32c of the file's bytes [from, to), read through buf (cap bytes). TRUNCATED when the file
 * ends first. */
strom_err log_crc_range(struct store_log *log, uint64_t from, uint64_t to, uint8_t *buf, size_t cap,
                        uint32_t *crc_out);

/* --- slab.c: blocks of 16-byte units in 1 MiB chunks --------------------------------------- */
enum {
    SLAB_UNIT_BYTES = 16,
    SLAB_CHUNK_UNITS = 1 << 16, /* 1 MiB chunks */
    SLAB_CLASS_COUNT = 22,
    SLAB_BLOCK_UNITS_MAX = 2048, /* 32 KiB: the largest block */
};

struct store_slab {
    uint8_t **chunks; /* chunk_count chunks of SLAB_CHUNK_UNITS units */
    uint32_t chunk_count;
    uint32_t chunk_cap;                   /* entries at chunks */
    uint32_t bump_unit;                   /* next free unit of the last chunk */
    uint32_t free_head[SLAB_CLASS_COUNT]; /* free list per class (ref; 0: empty) */
    uint64_t bytes_max;                   /* chunks may not pass this */
    uint64_t units_in_use;                /* for stats */
};

void slab_init(struct store_slab *slab, uint64_t bytes_max);
void slab_free_all(struct store_slab *slab);
/* The class whose blocks hold units (<= SLAB_BLOCK_UNITS_MAX), and its size in units. */
uint8_t slab_class_of(uint32_t units);
uint32_t slab_class_units(uint8_t cls);
/* A block of class cls; its ref (never 0). Errors: LIMIT (bytes_max), NO_MEMORY. */
strom_err slab_alloc(struct store_slab *slab, uint8_t cls, uint32_t *ref_out);
void slab_free(struct store_slab *slab, uint32_t ref, uint8_t cls);
void *slab_ptr(const struct store_slab *slab, uint32_t ref);
uint64_t slab_bytes(const struct store_slab *slab);

/* --- table.c: the streams in memory ----------------------------------------------------------
 * Open addressing with linear probing, keyed by store_trie_key(stream_id), load at most 3/4;
 * entries never leave (a stream, once known, stays known). A pointer to an entry is valid until
 * the next insert. */
enum {
    STREAM_USED = 1u << 0,    /* the slot holds a stream */
    STREAM_DIRTY = 1u << 1,   /* changed since the last checkpoint; its id is in dirty */
    STREAM_CREATED = 1u << 2, /* not in the trie of the last checkpoint */
};

struct store_stream {
    uint64_t stream_id;
    uint64_t next_offset;  /* offset the next batch must start at */
    uint64_t batch_count;  /* batches ever appended (placeholders for damaged ones included) */
    uint64_t first_offset; /* first offset not reclaimed, as of first_pos */
    uint64_t first_pos;    /* position of the batch holding first_offset; 0: the stream is empty */
    uint32_t spine_ref;    /* slab block of spine entries; 0: none */
    uint16_t spine_count;  /* entries in use */
    uint8_t spine_class;   /* slab class of the block */
    uint8_t flags;         /* STREAM_* */
};
_Static_assert(sizeof(struct store_stream) == 48, "48-byte table entries");

struct store_table {
    struct store_stream *slots; /* cap entries */
    uint64_t cap;               /* power of two */
    uint64_t count;             /* slots in use */
    uint64_t count_max;         /* streams_max */
    uint64_t *dirty;            /* ids of DIRTY streams, dirty_count of dirty_cap */
    uint64_t dirty_count;
    uint64_t dirty_cap;
};

strom_err table_init(struct store_table *t, uint64_t count_max);
void table_free(struct store_table *t);
/* The stream or NULL. */
struct store_stream *table_find(const struct store_table *t, uint64_t stream_id);
/* Adds an empty stream (not present). Errors: LIMIT, NO_MEMORY. */
strom_err table_insert(struct store_table *t, uint64_t stream_id, struct store_stream **out);
/* Marks st dirty (once) and lists it. Errors: NO_MEMORY. */
strom_err table_mark_dirty(struct store_table *t, struct store_stream *st);
/* Clears the flag of st, the last dirty id, and drops it from the list. */
void table_pop_dirty(struct store_table *t, struct store_stream *st);
uint64_t table_bytes(const struct store_table *t);

/* The spine of st (entries highest level first; see format.h) and its edits. */
struct store_entry *spine_entries(const struct store_slab *slab, const struct store_stream *st);
/* Makes room for count entries. Errors: LIMIT (STORE_SPINE_MAX or the slab bound). */
strom_err spine_reserve(struct store_slab *slab, struct store_stream *st, uint32_t count);
void spine_push(struct store_slab *slab, struct store_stream *st, const struct store_entry *e);
/* Replaces entries [at, at + n) by one entry e. */
void spine_collapse(struct store_slab *slab, struct store_stream *st, uint32_t at, uint32_t n,
                    const struct store_entry *e);
void spine_release(struct store_slab *slab, struct store_stream *st);

/* --- trie.c: the trie of stream roots ---------------------------------------------------------
 * In memory, a node is a slab block: a 32-byte head (struct trie_node) then count entries of
 * struct store_trie_entry in slot order. An entry's ptr, besides the disk forms of format.h,
 * may be (ref << 2) | 2: a child node in memory (its head holds its disk position). */
struct store_trie {
    uint32_t root_ref; /* root node in memory; 0: not loaded or empty */
    uint64_t root_pos; /* root TRIE record on disk when not loaded; 0: empty */
    uint64_t nodes;    /* nodes in memory */
};

void trie_init(struct store_trie *trie, uint64_t root_pos);
/* Frees the nodes in memory; the trie then starts again from root_pos. */
void trie_reset(struct store *s, uint64_t root_pos);
/* Finds the STREAM record of stream_id: *found, *pos_out. Errors: CORRUPT (error_pos set), IO. */
strom_err trie_find(struct store *s, uint64_t stream_id, bool *found, uint64_t *pos_out);
/* Points stream_id's leaf at the STREAM record at pos (inserting it), marking the path dirty;
 * nodes on the path come into memory as needed. */
strom_err trie_set(struct store *s, uint64_t stream_id, uint64_t pos);
/* Writes every dirty node, children first; *root_pos_out gets the root's position. */
strom_err trie_write(struct store *s, uint64_t *root_pos_out);
/* Marks dirty every node before pos, and calls fn for every leaf before pos. */
strom_err trie_mark_before(struct store *s, uint64_t pos,
                           strom_err (*fn)(struct store *s, uint64_t stream_id, uint64_t leaf_pos));
/* Calls fn for every leaf. */
strom_err trie_walk(struct store *s,
                    strom_err (*fn)(struct store *s, void *arg, uint64_t stream_id, uint64_t pos),
                    void *arg);

/* --- the store ---------------------------------------------------------------------------- */
enum {
    STORE_DAMAGE_MAX = 64,          /* damaged ranges recovery skips before it cuts */
    STORE_SCRATCH_BYTES = 64 << 10, /* reads of index, stream and trie records */
    STORE_WINDOW_BYTES = 1 << 20,   /* recovery's view of the file */
    STORE_CKPT_OVERHEAD_FACTOR = 4, /* data between checkpoints >= this x the last one */
    /* A record that fails its checks is read this many times in all before it is called
     * damaged: a bit flipped on the way from the disk must not pass for damage (at recovery, a
     * stream record misread as damaged would make every later batch of it a gap). */
    STORE_READ_TRIES = 3,
};

/* Checkpoint and reclaim state; owner store.c (recover.c sets it up at open). */
struct store_ckpt {
    uint64_t seq;          /* of the last checkpoint */
    uint64_t pos;          /* of the last checkpoint; 0: none */
    uint64_t mark_end;     /* log end right after it */
    uint64_t last_bytes;   /* bytes it took (nodes and record) */
    uint64_t time_ns;      /* monotonic time it was written (or the store opened) */
    uint64_t reclaim_pos;  /* records before are reclaimed */
    uint64_t punched_pos;  /* hole punched up to here since open */
    uint64_t stream_count; /* streams in the store */
};

/* What recovery found; owner recover.c. */
struct store_open_info {
    uint64_t checkpoint_pos;
    uint64_t replayed_bytes;
    uint64_t replayed_records;
    uint64_t cut_pos;
    uint64_t cut_bytes;
    uint64_t damaged_ranges;
    uint64_t first_damage_pos;
    uint64_t ignored_records;
    uint64_t repaired_indexes;
    uint64_t replay_pos; /* read-only: the next refresh replays from here */
};

struct store {
    struct io *io;
    struct store_options opt;
    uint32_t fanout; /* F of the file */
    char path[STORE_PATH_BYTES_MAX];
    struct store_log log;
    struct store_slab slab;
    struct store_table table;
    struct store_trie trie;
    struct store_ckpt ckpt;
    struct store_open_info open;
    uint64_t error_pos; /* of the last CORRUPT; written by whoever detects it */
    bool all_in_table;  /* every stream of the store is in the table, so a miss there is a new
                           stream (the file started without streams); written by recover.c */
    uint64_t appends;   /* counters, store.c */
    uint64_t append_bytes;
    uint64_t checkpoints;
    uint64_t checkpoint_bytes;
    uint64_t index_records;
    uint8_t *scratch; /* STORE_SCRATCH_BYTES for reading records */
    uint8_t *window;  /* STORE_WINDOW_BYTES through which recovery scans the file */
};

/* store.c */
strom_err store_stream_get(struct store *s, uint64_t stream_id, bool create,
                           struct store_stream **out);
/* Adds batch (pos, span) to st's spine and counters (append and replay). */
strom_err store_stream_add_batch(struct store *s, struct store_stream *st, uint64_t base_offset,
                                 uint32_t message_count, uint64_t pos, uint32_t span);
/* Writes index records for every level of st that holds F or more entries. */
strom_err store_stream_cascade(struct store *s, struct store_stream *st);
/* Reads the STREAM record at pos for stream_id into the table. */
strom_err store_stream_load(struct store *s, uint64_t stream_id, uint64_t pos,
                            struct store_stream **out);
strom_err store_corrupt(struct store *s, uint64_t pos);

/* recover.c */
strom_err store_recover(struct store *s, uint64_t file_size);
strom_err store_replay_to(struct store *s, uint64_t limit, bool cut_tail);

/* read.c */
strom_err store_first_offset(struct store *s, struct store_stream *st, uint64_t *first_out);

#endif
