/*
 * commit.h: the commit role: makes the node log durable for the streams it owns.
 *
 * Commit c reads every entry of the node log as a mandatory reader (the sequencer never
 * overwrites what it has not released) and appends the batches of its streams (those with
 * node_commit_of(stream) == c) to its store, one file under <data>/commit-<c>/; the stored payload
 * of a batch is its node log entry body unchanged (struct node_batch, then the message set), so
 * a batch read back from the store carries its timestamp, producer id and sequence.
 *
 * It syncs by policy (config.h): `always` after every group of entries it could read at once
 * (group commit), `interval` once fsync_bytes are unsynced or fsync_us passed since the first
 * unsynced append, `never` leaves the watermark at what it appended and syncs only to release
 * node log space.
 *
 * Pipelined syncs (`always`, `interval`): a sync is started (store_sync_start) and the commit
 * goes on reading and appending the next group while the disk works; up to COMMIT_SYNCS_MAX
 * syncs are in flight, each remembering the node log position and the dirty batches it covers.
 * They are collected oldest first (store_sync_collect), and each one collected publishes exactly
 * what it covers, so a batch is published durable only after an fdatasync that started after it
 * was written returned. A commit with nothing to read sleeps on its event (shm.h), which the
 * sequencer signals for new node log entries and, on Linux, the kernel for each finished sync
 * (io_file_datasync_notify): whichever comes first wakes it. Where syncs cannot signal it (an io
 * whose syncs finish at once), a commit with a sync in flight waits for the sync instead, at most
 * COMMIT_SYNC_POLL_NS, then looks at the node log again. After a
 * sync it publishes, in this order: each synced stream's durable_next in the registry, then its
 * durable position in the counters page (every batch of its streams before that node log position
 * is on disk), then it releases the node log up to there and rings the doorbell of every gateway
 * that sleeps. The node log is released only up to what is synced, so a commit that dies (or whose
 * fdatasync fails: it exits and its store is reopened) reads the unsynced entries again after its
 * restart; batches its store already holds are skipped (their offsets are below the stream's next
 * offset in the store).
 *
 * A restarted commit (the node's shared memory lived on) first makes the bytes of its store file
 * past the position its last successful sync made durable (file_durable_pos in its counters
 * block) dirty again and syncs them: it reads them and writes them back unchanged. After a failed
 * fdatasync the kernel marks the pages clean without writing them (fsyncgate): the store opened
 * next would take them for stored batches (an fdatasync at open does not write clean pages), the
 * commit would publish them as durable, and a crash of the node would take them back. Each piece
 * is read until two reads in a row agree before it is written back: a read that returned a
 * flipped bit would otherwise be written to the file for good, under records that later ones
 * call synced (strom-sim seed 695: durable batches unreadable, a subscriber stuck there).
 *
 * Lazy syncs under `always`: a group of batches that nobody waits for (no sync append among them,
 * no /sys/cmd record, no gateway with durable_wanted: sync subscribers, sync answers, parked Kafka
 * requests) is synced COMMIT_LAZY_SYNC_NS after the first of them was appended (or once
 * COMMIT_LAZY_SYNC_BYTES are pending, or the sequencer waits for node log room), in one group,
 * and while such a group waits the commit sleeps without asking to be woken for entries
 * (node_commit_counters.lazy): at ack 1 without sync readers it was woken for every message, to
 * sync one or two messages nobody waited for, on the cores the message's own path needs. A sync
 * batch or a /sys/cmd record (the sequencer) and a gateway that starts to wait for a durable
 * position wake a lazy commit at once (node_commits_wake), and from then on it syncs every group
 * as soon as it can, as before.
 *
 * Write last, read first: a commit that does not own /sys/cmd appends no batch that follows a
 * /sys/cmd record in the node log until the record is durable at its own commit, so that after a
 * crash no store holds data of a stream whose creation record was lost.
 */
#ifndef STROM_NODE_COMMIT_H
#define STROM_NODE_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/registry.h"
#include "node/shm.h"
#include "ring/ring.h"

struct io;
struct store;

#define COMMIT_DIRTY_MAX    4096       /* batches appended between two syncs, at most */
#define COMMIT_READ_MAX     4096       /* node log entries read per turn */
#define COMMIT_IDLE_WAIT_NS 100000000u /* longest sleep without news (then checks signals) */
#define COMMIT_NEVER_SYNC_NS                                                                       \
    1000000000u /* fsync never: store sync (and release) at least this often */
#define COMMIT_CMD_WAIT_NS      100000u     /* poll interval while waiting for a /sys/cmd record */
#define COMMIT_NO_SPACE_WAIT_NS 100000000u  /* pause before trying again on a full disk */
#define COMMIT_RESYNC_BYTES     (64u << 10) /* a restarted commit rewrites its unsynced tail by */
#define COMMIT_RESYNC_READS     4u /* reads of a tail piece, at most, to get two that agree */
#define COMMIT_SYNCS_MAX        2u /* store syncs in flight at once (<= STORE_SYNCS_INFLIGHT_MAX) */
#define COMMIT_SYNC_POLL_NS     200000u /* while a sync runs and nothing is read: look this often */
/* ... unless finished syncs signal the commit's event (io_file_datasync_notify): then the wait
 * for a sync and for the node log is one, and this only bounds it. */
#define COMMIT_SYNC_WAIT_NS 10000000u
/* fsync always, nothing waits for a durable position (see the top of this file): sync a group
 * this long after its first batch, or once this many bytes are pending. */
#define COMMIT_LAZY_SYNC_NS    1000000u
#define COMMIT_LAZY_SYNC_BYTES (UINT64_C(1) << 20)
/* The store file's size runs this far ahead of its end (store_options.size_ahead_bytes): a sync
 * of a small append then makes no new size durable (a metadata write) (docs/node.md, Durability).
 */
#define COMMIT_SIZE_AHEAD_BYTES (UINT64_C(1) << 20)
/* ... and this many write buffers ahead (--write-buffer-bytes; 64 MiB by default), at least the
 * above, under interval and never, where O_DIRECT writes of full buffers go on while the commit
 * fills the next (store: log_flush_full) and a change of size waits for the write in flight (Linux
 * ext4: truncate waits for direct I/O), so the size moves in large steps; a sync there is not on
 * an append's path. In buffers, not bytes: whatever opens the store (a restart, a gateway's
 * read-only open) scans the zeros ahead for records, and small buffers (the simulator's) need no
 * large steps. */
#define COMMIT_SIZE_AHEAD_STREAM_BUFFERS 64u
/* With fsync always the store writes with O_DIRECT. With interval and never it writes with
 * O_DIRECT while no gateway reads its file, and through the page cache while one does
 * (node_gateway_counters.file_readers, looked at every turn; store_set_direct_writes): then it
 * starts the write-back of every COMMIT_WRITEBACK_BYTES and keeps COMMIT_CACHE_BYTES behind its
 * end cached for the gateways' catch-up reads, dropping older pages so that new writes reuse them
 * (store_options.writeback_bytes, cache_bytes; docs/node.md, "Throughput"). */
#define COMMIT_WRITEBACK_BYTES (UINT64_C(4) << 20)
#define COMMIT_CACHE_BYTES     (UINT64_C(512) << 20)

/* A store sync in flight and what it makes durable once collected. */
struct commit_sync {
    uint64_t log_position; /* node log: the cursor when it started (entries before it) */
    uint64_t store_end;    /* the store's end position then: durable once the store is past it */
    uint32_t dirty_end;    /* dirty[0, dirty_end) are the batches it covers */
    uint64_t started_ns;   /* monotonic, for the counters */
};

/* A batch appended and not yet published as durable. */
struct commit_dirty {
    uint64_t stream_id;
    uint64_t next_offset;  /* the stream's next offset after the batch */
    uint64_t timestamp_ns; /* the batch's timestamp */
    uint64_t bytes;        /* its message set bytes */
};

/* The commit's root struct. */
struct commit {
    struct io *io;
    const struct node_config *config;
    const struct node_shm *shm;
    uint32_t index;
    uint32_t cmd_owner; /* the commit that owns /sys/cmd */
    struct node_commit_counters *counters;
    struct registry registry;
    struct ring_reader log;
    struct store *store;
    uint64_t pending_bytes;    /* appended since the last sync */
    uint64_t pending_since_ns; /* monotonic time of the first of those; 0 when none */
    uint64_t last_sync_ns;     /* monotonic time of the last store sync */
    uint64_t cmd_position;     /* node log position of the last /sys/cmd batch + 1; 0: none */
    bool cmd_blocked;          /* the last turn stopped to wait for a /sys/cmd record */
    bool failed;               /* the store failed: exit so that it is reopened */
    bool no_space;             /* the disk is full: pause, then try the same again */
    bool no_space_logged;      /* said so in the log */
    bool syncs_notify;         /* finished syncs signal our event (io_file_datasync_notify) */
    bool mode_switches;        /* its store may switch between O_DIRECT and buffered writes */
    bool sync_wanted;          /* a batch appended since the last sync start waits for it */
    uint32_t sync_count;       /* syncs in flight, oldest first in syncs */
    struct commit_sync syncs[COMMIT_SYNCS_MAX];
    uint32_t dirty_count;
    struct commit_dirty dirty[COMMIT_DIRTY_MAX];
};

/* Opens the store of commit index (creating its directory), publishes its streams' durable
 * offsets, and opens the node log reader. Errors: those of store_open, ring_reader_open. */
strom_err commit_open(struct commit *k, struct io *io, const struct node_config *c,
                      const struct node_shm *shm, uint32_t index);

/* One turn at monotonic time now_ns: reads what the node log holds, appends, syncs by policy.
 * Returns the entries read. Errors: those of store_append and store_sync (fatal for the
 * process). */
strom_err commit_turn(struct commit *k, uint64_t now_ns, uint32_t *read_out);

/* Waits up to timeout_ns for the oldest store sync in flight, and publishes what the syncs that
 * finished cover (commit_turn only collects those that finished already). OK at once when none
 * is in flight. Errors: STORE_FAILED (a sync failed: fatal for the process). */
strom_err commit_wait_sync(struct commit *k, uint64_t timeout_ns);

/* Syncs whatever is pending and publishes it (at a stop, or when forced). */
strom_err commit_flush(struct commit *k, uint64_t now_ns);

/* Closes the store (syncs and checkpoints). */
strom_err commit_close(struct commit *k);

/* The store directory of commit index: "<data>/commit-<index>" into buf. */
void commit_dir(const struct node_config *c, uint32_t index, char *buf, size_t buf_bytes);

#endif
