/*
 * ring.h: shared-memory streams ("rings") with one writer and many readers.
 *
 * A ring is one region of memory shared between processes (io_shm_create, made by the supervisor
 * before it forks): a header page, a counters area of reader slots, then the data area. The
 * writer appends entries (a type and a body of bytes) at 64-bit byte positions that only grow and
 * never wrap; the data area holds the last capacity_bytes of them. Readers follow at their own
 * positions, which they publish in their slot. docs/ring.md describes the layout byte by byte, the
 * memory-ordering argument and the wait/wake protocol; this header says what each call does.
 *
 * The design follows Aeron (real-logic/aeron): the entry length written last with release order
 * and a padding entry at the end of the buffer as in its term appender (aeron_term_appender.c);
 * the writer's limit taken from the slowest mandatory reader's position as an IPC publication's
 * limit is taken from its subscribers' positions (aeron_ipc_publication.c); a lapped reader
 * detected by comparing its cursor with the writer's intent, as a broadcast receiver does
 * (aeron_broadcast_receiver.h); positions in 128-byte slots of a counters area as Aeron's
 * counters are (aeron_counters_manager.h). The code is strom's own.
 *
 * Invariants (each shared field has one writer, named on the field in struct ring_header):
 * - The writer never writes a byte at position p while an active mandatory reader's slot
 *   position is <= p - capacity_bytes: a mandatory reader is never overrun; the writer gets
 *   STROM_ERR_AGAIN and may wait.
 * - An entry is visible once its 8-byte header word (length, type, lap) is stored with release
 *   order; the word at the writer's tail is always zero until then (the writer zeroes the next
 *   header word before it publishes an entry), so a reader never takes stale bytes for an entry.
 * - Entries never straddle the end of the data area: a padding entry (type 0) fills the rest.
 * - The writer publishes its intent (the end of the bytes it may be writing) before it writes
 *   them; an optional reader that finds intent > its entry's position + capacity_bytes was lapped.
 *
 * The library is plain memory plus the io calls futex_wait/futex_wake/event_signal/clock: the
 * simulator runs rings in one process over ordinary memory.
 */
#ifndef STROM_RING_RING_H
#define STROM_RING_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/io.h"

#define RING_MAGIC              UINT64_C(0x474e524d4f525453) /* "STROMRNG" little-endian */
#define RING_VERSION            1u
#define RING_READERS_MAX        64u              /* slots per ring (one bit each in a mask) */
#define RING_CAPACITY_MIN       ((uint64_t)4096) /* data area bytes, a power of two */
#define RING_CAPACITY_MAX       ((uint64_t)1 << 30)
#define RING_ALIGN              8u    /* entries start at multiples of this */
#define RING_ENTRY_HEADER_BYTES 8u    /* the header word before each body */
#define RING_HEADER_BYTES       4096u /* the header page */
#define RING_SLOT_BYTES         128u  /* one reader slot: two cache lines */
#define RING_SLOTS_OFFSET       RING_HEADER_BYTES
#define RING_DATA_OFFSET        (RING_SLOTS_OFFSET + RING_READERS_MAX * RING_SLOT_BYTES)
#define RING_TYPE_PADDING       0u /* entry type of padding; user types are 1..65535 */
#define RING_POSITION_NONE      UINT64_MAX
/* Polls before a wait sleeps. Short: on two cores, longer spins cost latency (bench_ring). */
#define RING_SPIN_DEFAULT 8u
#define RING_SPIN_MAX     100000u

/* Kinds of reader. */
enum ring_reader_kind {
    RING_READER_MANDATORY = 1, /* the writer waits for it (a commit, a replication sender) */
    RING_READER_OPTIONAL = 2,  /* the writer ignores it; lapped, it falls back to data files */
};

/* States of a slot. */
enum ring_slot_state {
    RING_SLOT_FREE = 0,     /* no reader */
    RING_SLOT_CLAIMING = 1, /* ring_slot_claim in progress (or its caller died there) */
    RING_SLOT_ACTIVE = 2,   /* a reader's position lives here, whether its process runs or not */
};

/*
 * The header page at offset 0 of a ring region. Fields in groups of 128 bytes so that fields of
 * different writers never share a cache line (nor the adjacent line the CPU prefetches).
 */
struct ring_header {
    /* Set once by ring_format (written last: magic), read-only afterwards. */
    uint64_t magic;          /* RING_MAGIC */
    uint32_t version;        /* RING_VERSION */
    uint32_t entry_align;    /* RING_ALIGN */
    uint64_t capacity_bytes; /* data area bytes: a power of two in [CAPACITY_MIN, CAPACITY_MAX] */
    uint32_t readers_max;    /* RING_READERS_MAX */
    uint32_t slot_bytes;     /* RING_SLOT_BYTES */
    uint64_t slots_offset;   /* RING_SLOTS_OFFSET: byte offset of slot 0 in the region */
    uint64_t data_offset;    /* RING_DATA_OFFSET: byte offset of the data area */
    uint8_t pad0[80];
    /* Writer: positions in bytes since the ring was formatted. */
    uint64_t tail;          /* end of the last published entry */
    uint64_t intent;        /* end of the bytes the writer may be writing; only grows */
    uint64_t last_position; /* start of the last published non-padding entry, or NONE */
    uint64_t writer_opens;  /* ring_writer_open calls, for diagnostics */
    uint8_t pad1[96];
    /* Readers set their bit, the writer clears the bits it wakes. */
    uint64_t waiting_mask; /* bit i: the reader of slot i asked to be woken */
    uint32_t data_seq;     /* futex word: the writer adds 1 when it wakes readers */
    uint32_t pad_seq;
    /* Readers that sleep on the futex (ring_reader_wait) set their bit while they do: the
     * writer makes the futex call only for them (readers with an event are signalled). */
    uint64_t futex_mask;
    uint8_t pad2[104];
    /* The writer sets writer_waiting, the reader that wakes it clears it. */
    uint32_t writer_waiting; /* 1: the writer waits for space */
    uint32_t space_seq;      /* futex word: a reader adds 1 when it wakes the writer */
    uint8_t pad3[120];
    /* ring_slot_claim and ring_slot_release (the slot's owner). */
    uint64_t mandatory_mask; /* bit i: slot i is active and mandatory */
    uint8_t pad4[RING_HEADER_BYTES - 520];
};

/* A reader slot in the counters area. */
struct ring_slot {
    uint64_t position; /* the reader's committed position; only grows (the reader) */
    uint32_t state;    /* enum ring_slot_state (claim and release) */
    uint32_t kind;     /* enum ring_reader_kind (claim) */
    uint64_t owner;    /* free-form id of who claimed it (a pid), for diagnostics (claim) */
    uint32_t claims;   /* times the slot was claimed: a reader's generation (claim) */
    uint8_t pad[RING_SLOT_BYTES - 28];
};

_Static_assert(sizeof(struct ring_header) == RING_HEADER_BYTES, "header is one page");
_Static_assert(sizeof(struct ring_slot) == RING_SLOT_BYTES, "slot is two cache lines");
_Static_assert(RING_READERS_MAX <= 64, "slots are bits of a uint64_t mask");
_Static_assert(RING_DATA_OFFSET % 4096 == 0, "data area starts on a page");

/* A process's handle on a ring region (process-local; many may exist for one region). */
struct ring {
    struct ring_header *header;
    struct ring_slot *slots; /* RING_READERS_MAX of them */
    uint8_t *data;           /* the data area, capacity_bytes */
    uint64_t capacity_bytes; /* copied from the header once validated */
    uint64_t mask;           /* capacity_bytes - 1 */
    uint32_t capacity_log2;
    int writer_wake_fd; /* an event to signal when this process wakes the writer, or -1 */
    struct io *io;
};

/* One entry as a reader sees it. */
struct ring_entry {
    const uint8_t *body;    /* in the data area (ring_read) or the caller's buffer (copy) */
    uint64_t position;      /* where the entry starts: its log position */
    uint64_t next_position; /* where the next entry starts (commit reports this as consumed) */
    uint32_t body_bytes;
    uint16_t type; /* 1..65535 */
};

/* The writer's process-local state. */
struct ring_writer {
    struct ring ring;
    uint64_t tail;                  /* where the next entry goes (header->tail between calls) */
    uint64_t limit;                 /* may write below this without looking at the readers again */
    uint64_t claim_position;        /* the claimed entry's position, or NONE */
    uint32_t claim_bytes;           /* its body bytes */
    uint32_t spin_max;              /* polls before ring_writer_wait sleeps */
    uint64_t wake_fd_mask;          /* bit i: wake_fds[i] is set */
    int wake_fds[RING_READERS_MAX]; /* events to signal for waiting readers, by slot, or -1 */
    uint64_t full_count;            /* claims refused with AGAIN */
    uint64_t wake_count;            /* times the writer woke readers */
    uint64_t futex_wake_count;      /* of which with a futex call (a reader slept on it) */
};

/* A reader's process-local state. */
struct ring_reader {
    struct ring ring;
    uint32_t slot;
    uint32_t kind;      /* enum ring_reader_kind */
    uint32_t claims;    /* the slot's claims when opened: detects a slot taken away */
    uint32_t spin_max;  /* polls before ring_reader_wait sleeps */
    uint64_t cursor;    /* next position to read */
    uint64_t committed; /* last position stored in the slot */
    uint64_t lap_count; /* times found lapped (optional readers) */
};

/* Bytes of a region holding a ring of capacity_bytes (data) bytes. */
size_t ring_region_bytes(uint64_t capacity_bytes);

/* The largest body one entry may have: capacity_bytes / 4 - RING_ENTRY_HEADER_BYTES. */
uint32_t ring_body_bytes_max(const struct ring *ring);

/*
 * Formats mem (mem_bytes, 128-byte aligned) as an empty ring of capacity_bytes: zeroes the header
 * page, the reader slots and the first header word of the data area (the rest of the data area
 * may hold anything: nothing reads past the zero word the writer keeps at its tail), then writes
 * the header, magic last. Only the creator calls it, before any writer or reader attaches.
 * Errors: INVALID_ARGUMENT (capacity not a power of two in [CAPACITY_MIN, CAPACITY_MAX],
 * mem_bytes < ring_region_bytes(capacity_bytes), mem misaligned).
 */
strom_err ring_format(void *mem, size_t mem_bytes, uint64_t capacity_bytes);

/*
 * Attaches a handle to a formatted region after validating its header. Errors: INVALID_ARGUMENT
 * (mem misaligned or smaller than a header), CORRUPT (bad magic, geometry or size),
 * UNSUPPORTED_VERSION.
 */
strom_err ring_attach(struct ring *ring, void *mem, size_t mem_bytes, struct io *io);

/* Sets the event this process signals when it wakes a waiting writer (-1: futex only). */
void ring_set_writer_wake_fd(struct ring *ring, int fd);

/* The published tail (end of the last entry), loaded with acquire order. */
uint64_t ring_tail(const struct ring *ring);

/*
 * Claims a free slot for a reader of kind, starting at the current tail (a reader that joins
 * sees entries written after it joined). owner is recorded for diagnostics. A mandatory reader
 * holds the writer back from the moment this returns. Usually the supervisor claims the slots of
 * its children before it forks them. Errors: INVALID_ARGUMENT (slot or kind), EXISTS (not free).
 */
strom_err ring_slot_claim(struct ring *ring, uint32_t slot, enum ring_reader_kind kind,
                          uint64_t owner);

/* Claims the lowest free slot, as ring_slot_claim; *slot_out gets it. Errors: LIMIT (none free). */
strom_err ring_slot_claim_any(struct ring *ring, enum ring_reader_kind kind, uint64_t owner,
                              uint32_t *slot_out);

/*
 * Frees a slot so that the writer no longer waits for it, and wakes the writer. Called by a reader
 * that leaves for good, or by the supervisor for a reader that is gone for good (never for one
 * that still runs: its later commits would be refused, but reads it already made could be
 * overrun). Errors: INVALID_ARGUMENT (slot), NOT_FOUND (already free).
 */
strom_err ring_slot_release(struct ring *ring, uint32_t slot);

/* A copy of a slot's fields, for the supervisor and tests. */
struct ring_slot_info {
    uint32_t state; /* enum ring_slot_state */
    uint32_t kind;
    uint32_t claims;
    uint64_t position;
    uint64_t owner;
};
void ring_slot_get(const struct ring *ring, uint32_t slot, struct ring_slot_info *info);

/*
 * Opens the writer of the ring in mem, also after a crash of the previous writer: from the
 * published tail it walks forward over entries that were published but not yet counted in the
 * tail, so the new writer continues exactly after the last published entry; an entry that was
 * being written when the writer died was never published and is lost (its producer got no answer
 * for it). Wakes every waiting reader. Errors: those of ring_attach; CORRUPT when the entries
 * after the tail do not parse (the ring must be formatted again).
 */
strom_err ring_writer_open(struct ring_writer *w, void *mem, size_t mem_bytes, struct io *io);

/* Makes the writer signal event fd (-1: none, futex) when the reader of slot asks to be woken.
 * The events of several waiting readers are signalled from the highest slot down, so a user
 * puts the readers whose wake-up latency counts most in the highest slots. */
void ring_writer_set_wake_fd(struct ring_writer *w, uint32_t slot, int fd);

/*
 * Reserves space for an entry of body_bytes and stores in *body_out where to write the body
 * (8-byte aligned); nothing is visible to readers until ring_publish. A new claim replaces an
 * unpublished one, even when it fails. Errors: TOO_LARGE (body_bytes > ring_body_bytes_max), AGAIN
 * (a mandatory reader has not consumed the space yet: wait with ring_writer_wait, or push back).
 */
strom_err ring_claim(struct ring_writer *w, uint32_t body_bytes, void **body_out);

/*
 * Publishes the claimed entry with type (1..65535) and wakes readers that wait; *position_out
 * (may be NULL) gets the entry's position. Requires a claim.
 */
void ring_publish(struct ring_writer *w, uint16_t type, uint64_t *position_out);

/* ring_claim, copy body, ring_publish. Errors: those of ring_claim. */
strom_err ring_write(struct ring_writer *w, uint16_t type, const void *body, uint32_t body_bytes,
                     uint64_t *position_out);

/*
 * For a writer that waits in a poller: asks the readers to wake it (writer_waiting, and the event
 * they were given by ring_set_writer_wake_fd) and returns true when body_bytes fit already (then
 * claim again at once instead of sleeping).
 */
bool ring_writer_arm(struct ring_writer *w, uint32_t body_bytes);

/*
 * Waits until an entry of body_bytes fits: spins spin_max polls, then sleeps on the space futex.
 * timeout_ns: 0 checks once, IO_TIMEOUT_INFINITE has no deadline. Errors: TIMEOUT, TOO_LARGE.
 */
strom_err ring_writer_wait(struct ring_writer *w, uint32_t body_bytes, uint64_t timeout_ns);

/* The last published entry (for a restarted writer: the sequencer recovers its state from it).
 * Errors: NOT_FOUND (nothing published yet). */
strom_err ring_writer_last(const struct ring_writer *w, struct ring_entry *entry);

/*
 * Opens a reader on slot of the ring in mem, which must have been claimed (ring_slot_claim): a
 * first reader starts where the slot was claimed, a restarted one resumes at the slot's committed
 * position, so that entries read but not committed before a crash are read again (at least once).
 * Errors: those of ring_attach; INVALID_ARGUMENT (slot); NOT_FOUND (slot not active).
 */
strom_err ring_reader_open(struct ring_reader *r, void *mem, size_t mem_bytes, struct io *io,
                           uint32_t slot);

/*
 * Reads the entry at the cursor without copying and moves the cursor past it (padding is skipped).
 * The view stays valid until the reader commits past it (mandatory) or until the writer laps it
 * (optional: call ring_reader_check after using the bytes, and discard them if it fails).
 * Errors: AGAIN (nothing new), OUT_OF_RANGE (lapped: fall back to the data files, then
 * ring_reader_rejoin), CORRUPT (the data area does not parse at the cursor).
 */
strom_err ring_read(struct ring_reader *r, struct ring_entry *entry);

/*
 * Reads the entry at the cursor into buf (buf_bytes) and moves past it; entry->body points into
 * buf. Validated for an optional reader: a lapped copy is never returned. Errors: those of
 * ring_read; OVERFLOW (entry->body_bytes is more than buf_bytes; the cursor stays).
 */
strom_err ring_read_copy(struct ring_reader *r, void *buf, size_t buf_bytes,
                         struct ring_entry *entry);

/* OK when the writer has not overwritten entry (read by r) since; OUT_OF_RANGE when it may have.
 * Mandatory readers need not call it: they are never overrun. */
strom_err ring_reader_check(struct ring_reader *r, const struct ring_entry *entry);

/*
 * Stores the cursor as the slot's position (everything before it is consumed: a mandatory reader
 * lets the writer reuse that space) and wakes the writer if it waits. Errors: NOT_FOUND (the slot
 * was released or claimed again under this reader; nothing was stored: stop reading).
 */
strom_err ring_reader_commit(struct ring_reader *r);

/* ring_reader_commit up to position (an entry boundary between the last commit and the cursor):
 * for a reader that is done with the entries before it but not yet with those after. */
strom_err ring_reader_commit_at(struct ring_reader *r, uint64_t position);

/* An optional reader after OUT_OF_RANGE: moves cursor and slot to the current tail. */
void ring_reader_rejoin(struct ring_reader *r);

/*
 * For a reader that waits in a poller: asks the writer to wake it (the writer signals the event
 * given to ring_writer_set_wake_fd for this slot) and returns true when an entry is there already
 * (then read again instead of sleeping).
 */
bool ring_reader_arm(struct ring_reader *r);

/*
 * Waits until an entry may be read: spins spin_max polls, then sleeps on the data futex.
 * timeout_ns: 0 checks once, IO_TIMEOUT_INFINITE has no deadline. OK means ring_read will not
 * return AGAIN (it may return OUT_OF_RANGE). Errors: TIMEOUT.
 * A mandatory reader commits before it waits (or arms): uncommitted reads hold the writer back,
 * and a writer waiting for space publishes nothing that would end the reader's wait.
 */
strom_err ring_reader_wait(struct ring_reader *r, uint64_t timeout_ns);

#endif
