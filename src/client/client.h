/*
 * client.h: the inside of libstrom (the public side is include/strom.h).
 *
 * One struct strom_client holds all of a client's state; its modules each own a part:
 *   client.c     the connection: state, reconnect, the send and receive buffers, strom_step
 *   request.c    the table of requests in flight, appends and the blocking calls
 *   streams.c    the table of streams appended to (producer id and sequence per stream)
 *   sub.c        subscriptions: reads, deliveries, credit, pull queues
 * Frames are encoded and decoded by src/proto/frame.h (the native protocol, docs/protocol.md).
 *
 * Requests (every frame that has an answer, except reads) get increasing request ids; the id
 * picks the slot in the request table (id & mask), so at most `req_slots` ids separate the oldest
 * unanswered request from the newest. Each request's frame stays in the send buffer until its
 * answer arrives, so that it can be sent again after a reconnect. Frames sit in the send buffer in
 * the order of their ids; positions in it are absolute byte counts (they survive compaction).
 *
 * Reads have ids of their own: CLIENT_READ_ID_BIT | generation << 32 | slot of the subscription.
 * A read is not kept in the send buffer: after a reconnect it is encoded again from the
 * subscription's next offset.
 */
#ifndef STROM_CLIENT_CLIENT_H
#define STROM_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "proto/frame.h"
#include "strom.h"

#define CLIENT_READ_ID_BIT (UINT64_C(1) << 63)

enum {
    CLIENT_SUBS_MAX = 1024,                    /* subscriptions per client */
    CLIENT_RECV_BYTES_MIN = 256 * 1024,        /* receive buffer to start with */
    CLIENT_RECV_ROUND_BYTES_MAX = 8 << 20,     /* bytes received per step before yielding */
    CLIENT_BACKOFF_MIN_NS = 5 * 1000 * 1000,   /* first reconnect back-off */
    CLIENT_BACKOFF_MAX_NS = 500 * 1000 * 1000, /* longest reconnect back-off */
    CLIENT_HELLO_FRAME_BYTES_MAX = 256,
};

enum client_state {
    CLIENT_DOWN = 0, /* no connection; reconnect at next_attempt_ns */
    CLIENT_HELLO,    /* connected, hello sent (or being sent), waiting for hello_answer */
    CLIENT_READY,    /* requests flow */
};

/* What a request is, to dispatch its answer. */
enum client_req_kind {
    CLIENT_REQ_APPEND = 1,
    CLIENT_REQ_CREATE,
    CLIENT_REQ_LIST,
    CLIENT_REQ_STAT,
    CLIENT_REQ_PING,
};

/* One request in flight. Owner: request.c. */
struct client_req {
    uint64_t request_id; /* 0: the slot is free */
    enum client_req_kind kind;
    uint64_t frame_pos; /* absolute position of its frame in the send buffer */
    uint32_t frame_bytes;
    struct client_stream *stream; /* append: its stream */
    uint64_t producer_id;         /* append: as sent */
    uint64_t sequence;            /* append: as sent */
    uint64_t sent_ns;             /* ping: when queued */
    strom_append_fn fn;           /* append: the caller's completion */
    void *arg;
    bool waited; /* a blocking call waits for it in client->wait */
};

/* One stream this client appends to: its producer id and next sequence. Allocated once per
 * stream and never moved (requests point at it). Owner: streams.c. */
struct client_stream {
    uint64_t hash;        /* of the path */
    uint64_t producer_id; /* 0 without idempotence; changes when an answer leaves the sequence
                             in doubt */
    uint64_t next_sequence;
    uint32_t inflight; /* appends to it in flight */
    uint16_t path_len;
    char path[]; /* NUL-terminated */
};

/* What a blocking call waits for. Owner: request.c. */
struct client_wait {
    uint64_t request_id; /* the request waited for; 0: none */
    bool done;
    strom_err err;
    struct strom_append_result append;
    uint64_t stream_id;
    bool created;
    bool more;        /* list: more pages */
    uint64_t last_id; /* list: id of the last stream of the page */
    strom_stream_fn list_fn;
    void *list_arg;
    char *stat_buf;
    size_t stat_bytes_max;
    size_t stat_len;
    uint64_t rtt_ns;
};

struct strom_sub {
    strom_client *client;
    uint32_t slot;
    uint64_t read_id; /* the read's request id */
    char path[STROM_PATH_BYTES_MAX + 1];
    struct strom_read_options ro;
    strom_sub_fn fn; /* NULL: pull mode */
    void *arg;
    uint64_t next_offset; /* the first offset not yet delivered to the application */
    bool open;            /* the read is on the current connection (sent, not ended) */
    bool ended;           /* the node ended it (or the client gave up) */
    bool closing;         /* strom_sub_close was called (inside a callback: freed after it) */
    strom_err end_err;
    int64_t credit_unsent; /* bytes consumed by the application not yet granted again */
    /* Pull mode: delivers received and not yet consumed, as copied deliver bodies. */
    uint8_t *queue;
    size_t queue_head, queue_tail, queue_cap;
    struct proto_msgs_iter cur; /* the deliver being consumed */
    uint64_t cur_base, cur_ts, cur_stream, cur_index;
    uint32_t cur_bytes; /* message-set bytes of the deliver being consumed */
    bool cur_valid;
    struct strom_header headers[STROM_HEADERS_MAX]; /* headers of the last message pulled */
};

struct strom_client {
    /* Set at open, read-only after. */
    struct io io_own;
    struct io *io;
    struct strom_options opt;
    char host[64];
    uint16_t port;
    char client_name[65];

    /* The connection. Owner: client.c. */
    enum client_state state;
    int fd;
    bool given_up;          /* reconnect_timeout passed: pending work failed */
    uint64_t down_since_ns; /* when the connection broke (for reconnect_timeout) */
    uint64_t next_attempt_ns;
    uint64_t backoff_ns;
    uint64_t hello_since_ns;
    uint8_t hello_frame[CLIENT_HELLO_FRAME_BYTES_MAX];
    uint32_t hello_bytes, hello_sent;
    struct strom_server_info server;
    uint32_t inflight_max;   /* min of ours and the node's */
    uint64_t reconnects;     /* connections made after the first */
    bool reconnects_started; /* the first connection was READY once */
    strom_err last_error;    /* why the last hello failed (the node's error, or the break) */

    /* Send buffer: out[0] is absolute position out_base; [head, sent) sent and kept for
     * retries, [sent, tail) queued. Owner: client.c (positions), request.c (frames). */
    uint8_t *out;
    size_t out_cap;
    uint64_t out_base, out_sent, out_tail;

    /* Receive buffer: in[in_head, in_tail) received, not yet dispatched. Owner: client.c. */
    uint8_t *in;
    size_t in_cap, in_head, in_tail;

    /* Requests. Owner: request.c. */
    struct client_req *reqs;
    uint32_t req_mask; /* slots - 1 (slots a power of two >= inflight_max) */
    uint64_t next_request_id;
    uint64_t oldest_request_id; /* lowest id that may be unanswered */
    uint32_t inflight;          /* requests unanswered */
    uint32_t appends_inflight;
    struct client_wait wait;

    /* Streams appended to. Owner: streams.c. */
    struct client_stream **streams; /* open addressing by path hash; NULL: free */
    uint32_t streams_mask;
    uint32_t streams_used;
    uint64_t producer_id; /* the client's producer id (streams may have fresh ones) */

    /* Subscriptions. Owner: sub.c. */
    strom_sub *subs[CLIENT_SUBS_MAX];
    uint32_t sub_generation[CLIENT_SUBS_MAX];
    uint32_t subs_high;     /* slots [subs_high, CLIENT_SUBS_MAX) are free */
    bool credit_dirty;      /* some subscription has credit to grant */
    bool resume_needed;     /* some subscription may lack its read on this connection */
    strom_sub *dispatching; /* the subscription whose callback runs, or NULL */

    /* The headers of a delivered message (sub.c); the arena of list answers' stream arrays
     * (client.c). */
    struct strom_header headers[STROM_HEADERS_MAX];
    struct strom_arena arena;
    _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
    struct proto_msgs_iter deliver_iter; /* the deliver being handed to callbacks (sub.c) */
};

/* client.c */
uint64_t client_now_ns(strom_client *c);
/* Makes room for bytes at the tail of the send buffer (compacting); false when it cannot. */
bool client_out_reserve(strom_client *c, size_t bytes);
/* Wakes the reconnect machinery when the client had given up (a new call wants the node). */
void client_want_connection(strom_client *c);
/* Steps until *flag (a field of c) is true or the request timeout passes. */
strom_err client_wait_for(strom_client *c, const bool *flag);
/* Drops the connection (on an error or a protocol violation) and plans the reconnect. */
void client_disconnect(strom_client *c, strom_err why);

/* request.c */
strom_err request_init(strom_client *c);
void request_free(strom_client *c);
/* Reserves the next request id and its slot; AGAIN when the table or the in-flight limit is
 * full. */
strom_err request_begin(strom_client *c, struct client_req **req_out);
/* Dispatches an answer frame to its request. */
void request_answer(strom_client *c, const struct proto_frame *f);
/* After a reconnect: keeps the frames of unanswered requests, in order, at the front of the send
 * buffer; drops the rest. Appends sent before get PROTO_FLAG_RETRY in their header. */
void request_rewind(strom_client *c);
/* The lowest position of the send buffer still needed (unsent or kept for retry). */
uint64_t request_keep_pos(const strom_client *c);
/* Fails every unanswered request with err (the client gave up). */
void request_fail_all(strom_client *c, strom_err err);

/* streams.c */
strom_err streams_init(strom_client *c);
void streams_free(strom_client *c);
/* The entry of path (inserting it); LIMIT when streams_max streams are known. */
strom_err streams_get(strom_client *c, const char *path, size_t len, struct client_stream **out);
/* A fresh random producer id (never 0). */
uint64_t streams_new_producer_id(strom_client *c);

/* sub.c */
void sub_deliver(strom_client *c, const struct proto_frame *f);
void sub_end(strom_client *c, const struct proto_frame *f);
/* After hello_answer: (re)sends the reads of open subscriptions and pending credit. */
void sub_resume(strom_client *c);
/* The connection broke: subscriptions are to be sent again. */
void sub_connection_lost(strom_client *c);
/* The client gave up: every subscription ends with err. */
void sub_fail_all(strom_client *c, strom_err err);
/* Queues pending credit frames (after a step's deliveries). */
void sub_flush_credit(strom_client *c);
void sub_free_all(strom_client *c);

#endif
