/*
 * strom.h: libstrom, the C client of a strom node (the native protocol, docs/protocol.md).
 *
 * A program opens a client (one TCP connection to one gateway), then appends batches of messages
 * to streams, reads and subscribes to streams, creates and lists streams and reads the node's
 * counters. docs/client.md walks through it with examples.
 *
 * Driving the client. Everything happens in the calling thread; the library starts no thread and
 * installs no signal handler. Work on the connection (sending, receiving, calling callbacks,
 * reconnecting) is done by strom_step() and by the blocking calls, which step internally:
 *   - a simple program uses the blocking calls only (strom_append, strom_read, strom_list, ...);
 *   - a pipelining program queues work with the _async calls and calls strom_step() in a loop;
 *   - a program with its own poll/epoll loop waits on strom_fd() for strom_events(), calls
 *     strom_step(c, 0) when the descriptor is ready, and at the latest strom_timeout_ns() later.
 * A client is not thread-safe: use it from one thread (several clients in several threads are
 * fine). Callbacks run inside strom_step() or a blocking call; a callback may queue more work
 * with the _async calls but must not call a blocking function or strom_close().
 *
 * Which calls block: strom_open (connects, at most connect_timeout_ns per attempt), strom_append,
 * strom_create, strom_list, strom_stat, strom_ping, strom_read, strom_drain, strom_sub_next (up
 * to its timeout) and strom_step (up to its timeout). Every blocking call is bounded by the
 * client's request_timeout_ns. The _async calls, strom_subscribe, strom_sub_close,
 * strom_close, strom_fd, strom_events, strom_timeout_ns, strom_inflight, strom_server_info and
 * strom_strerror never block.
 *
 * Reconnect and retries. When the connection breaks (a gateway restarted, a network error), the
 * client reconnects with back-off for up to reconnect_timeout_ns, then sends again every request
 * that had no answer, with the same request id; appends carry (producer id, sequence) so the node
 * applies a retried batch once and answers it with its original offsets (bounded idempotence, see
 * docs/protocol.md). Subscriptions resume from the next offset they had not delivered. When the
 * node cannot be reached in time, pending work fails with STROM_ERR_NOT_CONNECTED and the next
 * call tries to connect again.
 *
 * Errors are strom_err codes (the one enum of strom, base/error.h: 0 is STROM_OK);
 * strom_strerror() gives a short text. Compile with -Iinclude -Isrc of strom's tree and link
 * build/libstrom.a (and -lzstd -llz4 -lsnappy -lz -luring -lm, which the library's other
 * modules need).
 */
#ifndef STROM_H
#define STROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct io;

/* A client: one connection to a node, opened by strom_open. */
typedef struct strom_client strom_client;
/* One read or subscription of a client, opened by strom_subscribe. */
typedef struct strom_sub strom_sub;

/* Offsets: dense from 0 per stream. STROM_OFFSET_END as `to` means no end; as `from` it means
 * the stream's next offset when the subscription starts (new messages only). */
#define STROM_OFFSET_END UINT64_MAX

/* Ack levels, for the `ack` argument of appends and reads: the number of nodes (1 on a single
 * node), optionally or-ed with STROM_NO_SYNC. 0 means the default: 1 node, on disk (sync). */
#define STROM_ACK_DEFAULT 0u
#define STROM_NO_SYNC     0x100u /* acknowledge or read once published, before the disk sync */

/* Limits of the native protocol (docs/protocol.md). */
#define STROM_PATH_BYTES_MAX         255u
#define STROM_MSGS_PER_BATCH_MAX     65536u
#define STROM_KEY_BYTES_MAX          65535u
#define STROM_HEADERS_MAX            32u
#define STROM_HEADER_NAME_BYTES_MAX  255u
#define STROM_HEADER_VALUE_BYTES_MAX 65535u
#define STROM_DEFAULT_SERVER         "127.0.0.1:7420"

/* One header of a message (Kafka's record headers). name is not NUL-terminated. */
struct strom_header {
    const char *name;
    uint32_t name_bytes;
    const void *value;
    uint32_t value_bytes;
};

/*
 * A message. For an append, fill payload (and key, headers, client_ts_ns when wanted; zero the
 * rest); the library copies it before the call returns. For a delivered message every field is
 * set; the pointers are valid until the callback returns (callback subscriptions) or until the
 * next strom_sub_next or strom_sub_close on that subscription (pull subscriptions).
 */
struct strom_msg {
    const void *payload;
    uint32_t payload_bytes;
    uint32_t key_bytes;
    const void *key; /* NULL or key_bytes bytes */
    const struct strom_header *headers;
    uint32_t header_count; /* at most STROM_HEADERS_MAX */
    uint64_t client_ts_ns; /* the producer's time for the message, 0 when none */
    /* Set on delivery only: */
    uint64_t stream_id;
    uint64_t offset; /* the message's offset in its stream */
    uint64_t ts_ns;  /* the node's timestamp (ns since the Unix epoch) of the message's batch */
};

/* Options of strom_open. strom_options_init() fills the defaults given on each field. */
struct strom_options {
    const char *server;          /* "HOST:PORT"; STROM_DEFAULT_SERVER; host numeric or localhost */
    const char *client_name;     /* for the node's logs; "libstrom" */
    uint64_t connect_timeout_ns; /* one connection attempt, and then its hello answer; 2 s */
    uint64_t request_timeout_ns; /* bound of every blocking call; 60 s */
    uint64_t reconnect_timeout_ns; /* how long to keep trying after a break; 30 s; 0: never */
    uint64_t producer_id;  /* 0: a random id (idempotent appends); set one to resume a producer */
    bool no_idempotence;   /* true: appends carry producer id 0 and are not deduplicated */
    uint32_t inflight_max; /* unanswered requests; 4096 (lowered to the node's limit) */
    uint64_t send_buffer_bytes; /* queued and unanswered request bytes; 64 MiB */
    uint64_t credit_bytes;      /* default credit of a subscription; 1 MiB */
    uint32_t streams_max;       /* streams this client appends to (sequence table); 2^20 */
    struct io *io;              /* NULL: the Linux io; a simulator passes its own */
};

void strom_options_init(struct strom_options *opt);

/*
 * Connects to opt->server (opt NULL: defaults) and says hello; blocks until the node answers:
 * at most connect_timeout_ns for the connection, and connect_timeout_ns again for the hello
 * answer (TIMEOUT when a listener accepts and does not answer). *out gets the client.
 * Errors: INVALID_ARGUMENT (bad server string or option), NOT_CONNECTED (refused, unreachable),
 * TIMEOUT, UNSUPPORTED_VERSION, NO_MEMORY, PROTOCOL (what answered there is not a strom node),
 * CLOSED (it closed the connection before answering), LIMIT (the node's connection limit).
 */
strom_err strom_open(const struct strom_options *opt, strom_client **out);

/* Closes the connection and frees the client. Pending callbacks are not called. NULL is fine. */
void strom_close(strom_client *c);

/* The descriptor to poll (-1 while disconnected; it changes after a reconnect). */
int strom_fd(const strom_client *c);
/* The poll events to wait for on strom_fd(): POLLIN, plus POLLOUT while data waits to be sent. */
short strom_events(const strom_client *c);
/* Nanoseconds until the client needs strom_step() even without I/O (a reconnect back-off, or
 * the end of a hello's connect_timeout_ns); UINT64_MAX when it does not. */
uint64_t strom_timeout_ns(const strom_client *c);

/*
 * Does the client's work: waits up to timeout_ns for the connection (0: do not wait), sends what
 * is queued, receives and dispatches answers and deliveries (calling callbacks), reconnects.
 * Returns STROM_OK, or NOT_CONNECTED when the node could not be reached for reconnect_timeout_ns
 * (pending work has then failed through its callbacks).
 */
strom_err strom_step(strom_client *c, uint64_t timeout_ns);

/* What an append became. On error only err (and stream_id when known) is meaningful. */
struct strom_append_result {
    strom_err err;
    uint64_t stream_id;
    uint64_t base_offset; /* the first message's offset; the others follow densely */
    uint32_t count;       /* messages appended */
    uint64_t ts_ns;       /* the node's timestamp of the batch */
};

typedef void (*strom_append_fn)(void *arg, const struct strom_append_result *result);

/*
 * Queues an append of msgs[0, count) as one batch to the stream at path (created on first
 * append when the node auto-creates), acknowledged at level ack (STROM_ACK_DEFAULT, 1,
 * 1 | STROM_NO_SYNC). Copies the messages; fn(arg, result) is called exactly once from
 * strom_step or a blocking call (fn may be NULL). Never blocks.
 * Errors (fn is then not called): INVALID_PATH, INVALID_ARGUMENT (count 0 or a field over its
 * limit), TOO_LARGE (above the node's frame_bytes_max), AGAIN (the send buffer, the in-flight
 * limit or the stream's idempotence window is full: step and try again), LIMIT (streams_max
 * streams already), NOT_CONNECTED.
 */
strom_err strom_append_async(strom_client *c, const char *path, const struct strom_msg *msgs,
                             uint32_t count, uint32_t ack, strom_append_fn fn, void *arg);

/* strom_append_async, then steps until the answer (blocks). result may be NULL. Returns the
 * result's error (or the queueing error). */
strom_err strom_append(strom_client *c, const char *path, const struct strom_msg *msgs,
                       uint32_t count, uint32_t ack, struct strom_append_result *result);

/* Steps until every queued append has its answer (blocks, at most timeout_ns). TIMEOUT when
 * some are left. */
strom_err strom_drain(strom_client *c, uint64_t timeout_ns);

/* Appends in flight (queued or sent, not yet answered). */
uint32_t strom_inflight(const strom_client *c);

/*
 * Called for each delivered message (msg != NULL, err STROM_OK), in offset order, and once at
 * the end of the subscription (msg == NULL): err STROM_OK when it reached `to` or, without
 * follow, the end; otherwise why it ended (NO_STREAM, NOT_CONNECTED, ...).
 */
typedef void (*strom_sub_fn)(void *arg, strom_sub *sub, const struct strom_msg *msg, strom_err err);

/* What to read. strom_read_options_init: from 0, to STROM_OFFSET_END, no follow, default ack,
 * the client's credit_bytes. */
struct strom_read_options {
    uint64_t from;         /* first offset (or STROM_OFFSET_END: new messages only) */
    uint64_t to;           /* offset to stop before, STROM_OFFSET_END: none */
    bool follow;           /* true: keep delivering new messages; false: stop at the end */
    uint32_t ack;          /* the watermark to stay below, as for appends */
    uint64_t credit_bytes; /* bytes the node may send ahead of the application */
};

void strom_read_options_init(struct strom_read_options *ro);

/*
 * Opens a subscription (a read that follows, or not) on the stream at path; never blocks.
 * With fn, messages are passed to fn from strom_step (callback mode); with fn NULL, the
 * application takes them with strom_sub_next (pull mode). *out gets the handle, which stays valid
 * until strom_sub_close, also after the end. ro NULL: the defaults.
 * Errors: INVALID_PATH, INVALID_ARGUMENT, LIMIT (too many subscriptions), NO_MEMORY. A stream
 * that does not exist ends the subscription with NO_STREAM, also with follow (to wait for it,
 * subscribe again later, as `strom read --follow` does every 150 ms).
 */
strom_err strom_subscribe(strom_client *c, const char *path, const struct strom_read_options *ro,
                          strom_sub_fn fn, void *arg, strom_sub **out);

/*
 * Pull mode: the next message of sub into *msg, stepping the client for at most timeout_ns.
 * STROM_OK with *msg; TIMEOUT when none came; END when the subscription ended normally;
 * otherwise the error that ended it. Blocks.
 */
strom_err strom_sub_next(strom_client *c, strom_sub *sub, struct strom_msg *msg,
                         uint64_t timeout_ns);

/* Where sub stands: the next offset it will deliver. */
uint64_t strom_sub_next_offset(const strom_sub *sub);

/* Ends sub (a cancel to the node when it is still open) and frees it. NULL is fine. */
void strom_sub_close(strom_client *c, strom_sub *sub);

/* Reads [ro->from, ro->to) of a stream up to its current end, calling fn for each message and
 * once at the end as a subscription does (blocks). ro->follow is ignored. Returns the end's err;
 * *next_out (may be NULL) gets the first offset not read. */
strom_err strom_read(strom_client *c, const char *path, const struct strom_read_options *ro,
                     strom_sub_fn fn, void *arg, uint64_t *next_out);

/* Creates a stream (blocks). *stream_id (may be NULL) gets its id, *created (may be NULL) false
 * when it existed. Errors: INVALID_PATH, and the node's. */
strom_err strom_create(strom_client *c, const char *path, uint64_t *stream_id, bool *created);

/* One stream, as strom_list gives it; path is NUL-terminated and valid during the callback. */
struct strom_stream_info {
    const char *path;
    uint64_t stream_id;
    uint64_t first;   /* first offset held */
    uint64_t next;    /* next offset to be given */
    uint64_t durable; /* offsets below it are on disk */
    uint64_t bytes;   /* bytes of the message sets held (payloads, keys, headers, framing) */
};

typedef void (*strom_stream_fn)(void *arg, const struct strom_stream_info *info);

/* Calls fn for every stream whose path starts with prefix (NULL or "": all), in id order
 * (blocks; asks the node page by page). The node's /sys/cmd (id 0) is not listed: its figures
 * are the strom.stat.stream line of strom_stat's text (strom streams prints it first). */
strom_err strom_list(strom_client *c, const char *prefix, strom_stream_fn fn, void *arg);

/* The node's counters as ssim text into buf (bytes_max bytes, NUL-terminated); *len_out (may be
 * NULL) gets the length. Blocks. OVERFLOW when buf is too small (the text is cut). */
strom_err strom_stat(strom_client *c, char *buf, size_t bytes_max, size_t *len_out);

/* Round trip to the node (blocks); *rtt_ns (may be NULL) gets its duration. */
strom_err strom_ping(strom_client *c, uint64_t *rtt_ns);

/* The node's limits and identity from its hello answer. */
struct strom_server_info {
    uint16_t version;
    char node_name[65];
    uint32_t frame_bytes_max;
    uint32_t inflight_max;
    uint32_t reads_max;
    uint32_t idempotence_window;
};
void strom_server_info(const strom_client *c, struct strom_server_info *out);

/* Checks a stream path: '/'-separated segments of [A-Za-z0-9._-], starting with '/', at most
 * STROM_PATH_BYTES_MAX bytes, no empty segment, no segment "." or "..". STROM_OK or
 * INVALID_PATH. */
strom_err strom_path_check(const char *path, size_t len);

#ifdef __cplusplus
}
#endif

#endif
