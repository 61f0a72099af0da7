/*
 * gateway.h: the gateway role: client connections, protocols, answers and deliveries.
 *
 * A gateway is one epoll loop (io poller) over its listeners, its connections and one event that
 * every other process of the node signals when it has news for it (the node log's writer for new
 * entries, the sequencer for room in the request ring, a commit for a durable position that
 * moved). G gateways listen on the same port (SO_REUSEPORT) and share nothing but the node's
 * shared memory.
 *
 * Requests go into the gateway's request ring (nodelog.h); each gets exactly one entry in the
 * node log, which the gateway finds with its head cursor and matches, first in first out, to its
 * pending table. An append at ack level 1 is answered then; one at `sync` waits in its commit's
 * queue until that commit's durable position passes the entry. Reads and subscriptions are served
 * from the node log (live) or from the commits' stores opened read-only (catch-up), never beyond
 * the watermark of their ack level; see gateway_read.c.
 *
 * Everything is preallocated at start and bounded: connections (connections_max), requests in
 * flight per connection (inflight_max) and in the pending table (GW_PENDING_MAX), open reads per
 * connection (reads_max) and in all (gateway_reads_max), input and output buffers per connection,
 * and a few large buffers for frames above the per-connection size. A limit reached is an error
 * frame or backpressure (the gateway stops reading that socket), never unbounded memory.
 *
 * Protocols: a listener has a protocol handler table (struct gw_protocol); the native protocol is
 * gateway_native.c, the Kafka protocol (port 9092) gateway_kafka.c with its own table.
 */
#ifndef STROM_NODE_GATEWAY_H
#define STROM_NODE_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/nodelog.h"
#include "node/registry.h"
#include "node/shm.h"
#include "ring/ring.h"

struct io;
struct store;
struct kgw;
struct gateway;
struct gw_conn;
struct gw_pending;

#define GW_LISTENERS_MAX     2             /* native, Kafka */
#define GW_CONN_IN_BYTES     (256u * 1024) /* input buffer of a connection */
#define GW_CONN_OUT_BYTES    (256u * 1024) /* output buffer of a connection */
#define GW_BIG_BUFFERS       8             /* buffers of frame_bytes_max for larger frames */
#define GW_PENDING_MAX       (1u << 16)    /* requests in the request ring not yet answered */
#define GW_SYNC_WAIT_MAX     (1u << 16)    /* answers waiting for a durable position, per commit */
#define GW_CURSORS           256           /* store cursors lent to reads in catch-up */
#define GW_EVENTS_MAX        256           /* poller events per wait */
#define GW_LOG_TURN_MAX      4096          /* node log entries per cursor per turn */
#define GW_CATCHUP_TURN_MAX  1024          /* batches read from stores per turn, in all */
#define GW_CATCHUP_READ_MAX  64            /* ... and for one read */
#define GW_IDLE_WAIT_NS      100000000u    /* longest sleep without news */
#define GW_CATCHUP_RETRY_NS  1000000u      /* a read waiting for its commit to write: retry */
#define GW_FILE_READ_HOLD_NS 1000000000u   /* a commit's file counts as read this long after */
#define GW_STOP_DRAIN_NS     1000000000u   /* at a stop, answers still awaited this long */
#define GW_ANSWER_BYTES      64            /* output kept per request in flight for its answer */
#define GW_DIRECT_MIN_BYTES  16384u        /* least rest of an append taken by recv_direct */
#define GW_RECV_HEAD_BYTES   1024u         /* a recv into a conn's input when in_heads */
#define GW_CLOSING_NS        1000000000u   /* a connection closing after an error: at most */
#define GW_SWEEP_NS          100000000u    /* how often closing connections are looked at */
#define GW_TOKEN_LISTENER    (1ull << 62)  /* poller tokens: listener index | this */
#define GW_TOKEN_EVENT       (1ull << 61)  /* the gateway's event */
/* The wait for an ack-1 answer (gw_spin in gateway.c): after posting, the gateway polls the node
 * log for at most GW_SPIN_NS (and GW_SPIN_POLLS_MAX polls: the simulator's clock stands still while
 * a process runs) before it sleeps. A wait that saw nothing makes the next sleeps skip it, 1, 3,
 * 7 ... up to GW_SPIN_SKIP_MAX of them. */
#define GW_SPIN_NS        100000u
#define GW_SPIN_POLLS_MAX 10000u
#define GW_SPIN_SKIP_MAX  255u

/* What a protocol's recv_direct did. */
enum gw_direct {
    GW_DIRECT_NONE = 0, /* nothing: receive into c->in as usual */
    GW_DIRECT_TAKEN,    /* took a frame (or failed the connection on it): read on */
    GW_DIRECT_EMPTY,    /* the socket has nothing more now; what came is in c->in */
    GW_DIRECT_CLOSED,   /* the socket failed or the peer closed: close the connection */
};

/* A protocol: how a listener's connections turn bytes into work and answers into bytes. */
struct gw_protocol {
    const char *name;
    /* Bytes arrived: consume whole frames from c->in[0, c->in_len) and return the bytes used;
     * sets c->read_blocked when it stopped for lack of room (request ring, output, pending).
     * A protocol violation sets c->closing (after queueing an error frame). */
    uint32_t (*on_input)(struct gateway *gw, struct gw_conn *c);
    /* The node log answered one of the connection's requests: write the answer. b is the entry's
     * header (an answer, or a batch), already at the request's ack level. */
    void (*on_answer)(struct gateway *gw, struct gw_conn *c, const struct gw_pending *p,
                      const struct node_batch *b);
    /* A new connection: the greeting or nothing. */
    void (*on_open)(struct gateway *gw, struct gw_conn *c);
    /* The rest is optional (NULL: not used; the native protocol uses none of it). */
    /* The connection closes: the protocol forgets what it kept for it. */
    void (*on_close)(struct gateway *gw, struct gw_conn *c);
    /* Bytes of the whole frame at the start of in[0, len) once its length prefix is there, else 0
     * (NULL: the native protocol's little-endian u32 frame length). Moves large frames to a big
     * buffer. */
    uint32_t (*frame_bytes)(const uint8_t *in, uint32_t len);
    /* Once per gateway turn, after the node log's cursors: the protocol's timers and the
     * connections it resumes. Returns the ns until it needs a turn again (UINT64_MAX: none). */
    uint64_t (*on_turn)(struct gateway *gw);
    /* A batch entry passed a cursor of the node log (the sync cursor: once durable). */
    void (*on_log)(struct gateway *gw, const struct ring_entry *e, bool sync_cursor);
    /* Before a recv into c->in: may receive the rest of the frame begun in c->in straight from
     * the socket into a request entry (the native protocol's large appends: one copy of the
     * message set less). Returns what it did (enum gw_direct). */
    enum gw_direct (*recv_direct)(struct gateway *gw, struct gw_conn *c);
};

struct gw_listener {
    int fd;
    uint16_t port;
    const struct gw_protocol *proto;
};

enum gw_conn_state {
    GW_CONN_FREE = 0,
    GW_CONN_OPEN = 1,
    GW_CONN_CLOSING = 2, /* an error was queued: send it, then close */
};

/* One client connection (preallocated; on a free list when unused). */
struct gw_conn {
    int fd;
    uint32_t generation; /* grows at each reuse: stale references are recognized */
    uint32_t index;
    uint32_t next_free;
    enum gw_conn_state state;
    const struct gw_protocol *proto;
    bool hello_done;    /* native: hello answered */
    bool read_blocked;  /* the last input turn stopped for lack of room */
    bool parked;        /* with read_blocked: the protocol waits for an event of its own (an
                           answer, data, a timer) and resumes c itself (gw_conn_resume); the
                           gateway does not retry it every turn */
    bool polled_out;    /* registered for writability */
    bool in_dirty;      /* unparsed input waits (blocked earlier) */
    bool out_listed;    /* on the list of connections with output to send */
    bool in_heads;      /* large frames come (the protocol says): a recv into an empty in
                           takes at most GW_RECV_HEAD_BYTES, so that recv_direct takes the rest */
    uint32_t inflight;  /* requests sent to the sequencer and not answered */
    uint32_t reads;     /* open reads */
    uint32_t read_head; /* first of its reads, or UINT32_MAX */
    uint8_t *in;        /* input buffer: own (GW_CONN_IN_BYTES) or a big one */
    uint32_t in_len;
    uint32_t in_cap;
    int in_big;        /* big buffer index holding the input, or -1 */
    uint8_t *out;      /* output buffer: own (GW_CONN_OUT_BYTES) or a big one */
    uint32_t out_len;  /* bytes queued */
    uint32_t out_sent; /* bytes of them sent */
    uint32_t out_cap;
    uint32_t out_reserved; /* output bytes kept free for the answers of requests in flight */
    int out_big;           /* big buffer index holding the output, or -1 */
    uint8_t *own_in;
    uint8_t *own_out;
    uint64_t closing_ns; /* monotonic time CLOSING began */
};

/* A request in the request ring, waiting for its node log entry (then, at sync, for its
 * commit). */
struct gw_pending {
    uint64_t request_id;     /* its position in the request ring */
    uint64_t client_request; /* the client's request id */
    uint64_t log_position;   /* where its node log entry is (once seen) */
    uint32_t conn;           /* connection index */
    uint32_t conn_generation;
    uint16_t frame_type; /* the protocol's request type (native: PROTO_APPEND, PROTO_CREATE) */
    uint8_t sync;        /* 1: answer once on disk */
    uint8_t reserved;
    struct node_batch entry; /* the node log entry's header, once seen */
};

/* A FIFO of pending requests. */
struct gw_queue {
    struct gw_pending *items;
    uint32_t cap; /* power of two */
    uint32_t head;
    uint32_t len;
};

enum gw_read_mode {
    GW_READ_FREE = 0,
    GW_READ_CATCHUP = 1, /* from a store, until it reaches the watermark */
    GW_READ_LIVE = 2,    /* from the node log, on its stream's list */
};

/* An open read or subscription. */
struct gw_read {
    enum gw_read_mode mode;
    uint32_t conn;
    uint32_t conn_generation;
    uint32_t next_free; /* free list */
    uint32_t live_next; /* next read on the stream's live list, or UINT32_MAX */
    uint32_t conn_next; /* the connection's reads: a doubly linked list */
    uint32_t conn_prev;
    uint32_t cursor;         /* store cursor lent to it (catch-up), or UINT32_MAX */
    uint32_t index;          /* its own index */
    uint64_t client_request; /* the read's request id */
    uint64_t stream_id;
    uint64_t next;     /* next offset to deliver */
    uint64_t to;       /* offset to stop before (UINT64_MAX: none) */
    int64_t credit;    /* bytes it may still be sent */
    uint64_t retry_ns; /* catch-up: do not try before this monotonic time */
    bool follow;
    bool sync; /* watermark: durable (sync) or published (ack 1) */
};

/* The gateway's root struct. */
struct gateway {
    struct io *io;
    const struct node_config *config;
    const struct node_shm *shm;
    uint32_t index;
    struct node_gateway_counters *counters;
    struct registry registry;
    uint64_t now_ns; /* monotonic, read once per turn */
    int poller;
    int event;
    uint32_t listener_count;
    struct gw_listener listeners[GW_LISTENERS_MAX];
    struct ring_writer requests;
    struct ring_reader log_head;            /* ack-1 cursor: answers and live ack-1 deliveries */
    struct ring_reader log_sync;            /* sync cursor: live deliveries once durable */
    struct store *stores[NODE_COMMITS_MAX]; /* read-only, opened when first needed */
    struct gw_conn *conns;                  /* connections_max */
    uint32_t conn_free;                     /* free list head, UINT32_MAX when full */
    uint32_t *out_list;                     /* connections with output queued */
    uint32_t out_list_len;
    uint32_t *in_list; /* connections whose input waits for room */
    uint32_t in_list_len;
    uint8_t *big[GW_BIG_BUFFERS];
    bool big_used[GW_BIG_BUFFERS];
    struct gw_queue pending;                     /* in request order */
    struct gw_queue sync_wait[NODE_COMMITS_MAX]; /* per commit, in node log order */
    struct gw_read *reads;                       /* gateway_reads_max */
    uint32_t reads_cap;                          /* gateway_reads_max */
    struct store_cursor *cursors;                /* GW_CURSORS, lent to reads in catch-up */
    uint32_t cursor_free[GW_CURSORS];            /* free cursor indices */
    uint32_t cursor_free_len;
    struct store_cursor *scratch_cursor; /* for a read that got no cursor of its own */
    uint32_t read_free;
    uint32_t *catchup; /* indices of reads in catch-up mode */
    uint32_t catchup_len;
    bool catchup_more;        /* a read in catch-up could go on at once (the turn budget ran out) */
    bool catchup_waiting;     /* a read in catch-up waits for its commit to write */
    uint32_t live_sync_reads; /* live reads at level sync (they follow the sync cursor) */
    uint32_t *live_heads;     /* hash of stream id -> first live read (open addressing of ids) */
    uint64_t *live_keys;
    uint32_t live_slots;
    uint8_t *scratch;       /* frame_bytes_max + 4096: a batch read from a store */
    uint8_t *kafka_scratch; /* frame_bytes_max: a Kafka batch decompressed for a native reader */
    struct kgw *kafka;      /* the Kafka protocol's state (gateway_kafka.c); NULL when off */
    uint64_t proto_wait_ns; /* the protocols' next timer (on_turn), UINT64_MAX when none */
    bool requests_full;     /* the request ring was full: wait for the sequencer */
    bool stopping;
    uint64_t stop_ns;
    uint64_t swept_ns;                             /* last sweep of closing connections */
    uint64_t durable_seen[NODE_COMMITS_MAX];       /* durable positions at the last look */
    uint32_t reads_of[NODE_COMMITS_MAX];           /* open reads of the streams of each commit */
    uint64_t file_read_until_ns[NODE_COMMITS_MAX]; /* each commit's file counts as read until */
    uint32_t spin_skip;                            /* sleeps left before the next gw_spin */
    uint32_t spin_backoff;                         /* spin_skip after the next miss */
};

/* Sets up everything (listeners, rings, buffers). Errors: EXISTS (port in use), those of io. */
strom_err gateway_open(struct gateway *gw, struct io *io, const struct node_config *c,
                       const struct node_shm *shm, uint32_t index);

/* One turn: waits at most timeout_ns for events, then does all the work they brought. */
void gateway_turn(struct gateway *gw, uint64_t timeout_ns);

/* How long the next turn may sleep (ns): 0 when there is work now. Arms the wake-ups (node log,
 * doorbell, request ring room) when it returns more; first polls the node log for an ack-1 answer
 * when the oldest request waits for one (GW_SPIN_NS), and returns 0 when that saw it come. */
uint64_t gateway_next_timeout(struct gateway *gw);

/* --- for the protocol handlers and gateway_read.c ------------------------------------------ */

/* Room at the end of c's output for bytes beyond what is kept for answers in flight
 * (c->out_reserved); false when there is none now (the caller stops and is retried once output
 * drains). May switch c to a big buffer when bytes > GW_CONN_OUT_BYTES. With for_answer, the
 * room may come out of the reservation (the caller gives its share back first). */
bool gw_out_reserve(struct gateway *gw, struct gw_conn *c, uint32_t bytes, bool for_answer);
/* Marks bytes written at c->out + c->out_len as queued. */
void gw_out_commit(struct gateway *gw, struct gw_conn *c, uint32_t bytes);
/* Queues a protocol error for c and closes it once sent. */
void gw_conn_fail(struct gateway *gw, struct gw_conn *c);
/* Sends a request of the connection to the sequencer (type NODE_ENTRY_APPEND or _CREATE) and
 * remembers it for its answer: the protocol's on_answer gets frame_type and client_request back
 * (a protocol may use them as it likes), once the entry is in the node log, or also durable when
 * sync. Errors: AGAIN (no room now in the request ring, the pending table or the connection's
 * output: stop reading and try again later), TOO_LARGE (above what the ring takes). */
strom_err gw_request_submit(struct gateway *gw, struct gw_conn *c, uint16_t type,
                            const struct node_request *req, const char *path, const void *msgs,
                            uint64_t client_request, uint16_t frame_type, bool sync);
/* gw_request_submit in two steps, for a protocol that receives the messages straight into the
 * entry: the claim (room in the output, the pending table and the request ring; writes req and
 * path; *msgs_out gets where req->messages_bytes go; errors as gw_request_submit, and a claim
 * not published is dropped by the next one), then the publish of the claimed entry. */
strom_err gw_request_claim(struct gateway *gw, struct gw_conn *c, const struct node_request *req,
                           const char *path, uint8_t **msgs_out);
void gw_request_publish(struct gateway *gw, struct gw_conn *c, uint16_t type,
                        uint64_t client_request, uint16_t frame_type, bool sync);
/* Adds a request to the pending table; false when it is full. */
bool gw_pending_push(struct gateway *gw, const struct gw_pending *p);
/* The connection of index and generation, or NULL when it closed since. */
struct gw_conn *gw_conn_get(struct gateway *gw, uint32_t index, uint32_t generation);
/* A parked connection's protocol has news: parse its input again (and read on). */
void gw_conn_resume(struct gateway *gw, struct gw_conn *c);
/* The store (read-only) of the commit that owns stream_id, opened when first needed; NULL when it
 * cannot be opened now (its commit has not made it yet). */
struct store *gw_store_of(struct gateway *gw, uint64_t stream_id);
/* Brings the read-only store s of stream_id's commit up to that commit's published data file
 * durable position, never further (see node_commit_counters.file_durable_pos). Errors of
 * store_refresh. */
strom_err gw_store_refresh(struct gateway *gw, uint64_t stream_id, struct store *s);

/* Reads (gateway_read.c). */
void gw_reads_init(struct gateway *gw);
/* Opens a read for connection c. Errors for read_end: NO_STREAM, LIMIT. */
strom_err gw_read_open(struct gateway *gw, struct gw_conn *c, uint64_t client_request,
                       uint64_t stream_id, uint64_t from, uint64_t to, bool follow, bool sync,
                       uint64_t credit_bytes);
void gw_read_credit(struct gateway *gw, struct gw_conn *c, uint64_t client_request, uint64_t bytes);
void gw_read_cancel(struct gateway *gw, struct gw_conn *c, uint64_t client_request);
/* Drops every read of a closing connection. */
void gw_reads_close_conn(struct gateway *gw, struct gw_conn *c);
/* A batch entry seen by a cursor (ack-1 at the head, sync at the sync cursor). */
void gw_reads_live(struct gateway *gw, const struct ring_entry *e, bool sync_cursor);
/* Catch-up work from the stores; returns true when more is waiting. */
bool gw_reads_catchup(struct gateway *gw);
/* Publishes which commits' data files this gateway reads (node_gateway_counters.file_readers):
 * those with a read open on one of their streams, or whose store it refreshed (catch-up, Kafka
 * fetches) in the last GW_FILE_READ_HOLD_NS. Once per turn. */
void gw_file_readers_publish(struct gateway *gw);
/* A cursor was lapped: live readers of that level go back to catch-up. */
void gw_reads_lapped(struct gateway *gw, bool sync_cursor);

/* The native protocol. */
extern const struct gw_protocol gw_native_protocol;

/* The Kafka protocol (gateway_kafka.c): its state is made by kgw_open before it listens. Errors:
 * NO_MEMORY. */
extern const struct gw_protocol gw_kafka_protocol;
strom_err kgw_open(struct gateway *gw);

/* Whether a Kafka connection is parked (a long-polling Fetch or a group request: they wait for
 * durable positions); false when the protocol is off. */
bool kgw_parked(const struct gateway *gw);

#endif
