/*
 * config.h: the configuration of a node (`strom node`): defaults, an ssim file, flags.
 *
 * Precedence: defaults, then the file given by --config, then the other flags, each overriding
 * the one before. The file holds `strom.node` records whose fields are the long flag names with
 * '_' for '-' (docs/node.md, "Configuration"): for example
 *     strom.node  data:/var/lib/strom  listen:0.0.0.0:7420  gateways:2  fsync:interval
 * Several records merge (a later field wins). Every value is checked against its bounds here;
 * a bad value is an operating error with a message naming the flag or the file line.
 */
#ifndef STROM_NODE_CONFIG_H
#define STROM_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct io;

#define NODE_GATEWAYS_MAX    16   /* gateway processes of one node */
#define NODE_COMMITS_MAX     16   /* commit processes of one node */
#define NODE_HOST_BYTES_MAX  64   /* a numeric host or "localhost", with its NUL */
#define NODE_DIR_BYTES_MAX   1024 /* the data directory path, with its NUL */
#define NODE_NAME_BYTES_MAX  64   /* the node's name, with its NUL */
#define NODE_ERROR_BYTES_MAX 256  /* a config error message, with its NUL */

/* When a commit calls fdatasync. */
enum node_fsync {
    NODE_FSYNC_ALWAYS = 1,   /* after every group of batches it read (group commit) */
    NODE_FSYNC_INTERVAL = 2, /* once fsync_bytes are unsynced or fsync_us passed since the first */
    NODE_FSYNC_NEVER = 3,    /* never (the sync watermark follows the writes: tests, benchmarks) */
};

/* host:port, or off (the Kafka listener). */
struct node_endpoint {
    bool enabled;
    char host[NODE_HOST_BYTES_MAX];
    uint16_t port;
};

struct node_config {
    char data_dir[NODE_DIR_BYTES_MAX]; /* --data, default ./strom-data */
    char name[NODE_NAME_BYTES_MAX];    /* --name, default "strom" */
    struct node_endpoint listen;       /* --listen, default 127.0.0.1:7420 */
    struct node_endpoint kafka;        /* --kafka HOST:PORT|off, default 127.0.0.1:9092 */
    uint32_t gateways;                 /* --gateways, 1..NODE_GATEWAYS_MAX, default 1 */
    uint32_t commits;                  /* --commits, 1..NODE_COMMITS_MAX, default 1 */
    enum node_fsync fsync;             /* --fsync always|interval|never, default always */
    uint64_t fsync_us;                 /* --fsync-us: interval bound, default 1000 */
    uint64_t fsync_bytes;              /* --fsync-bytes: interval bound, default 1 MiB */
    uint64_t checkpoint_bytes;         /* --checkpoint-bytes: a store checkpoint after this much
                                          written (or a second), default 8 MiB */
    uint64_t write_buffer_bytes;       /* --write-buffer-bytes: each commit's store write buffer
                                          (two with O_DIRECT), default 1 MiB */
    bool auto_create;                  /* --auto-create true|false, default true */
    uint32_t idempotence_window;       /* --idempotence-window W, 1..16, default 5 */
    uint32_t producers_max;            /* --producers-max, default 65536 */
    uint32_t streams_max;              /* --streams-max, default 1 Mi */
    uint64_t paths_bytes;              /* --paths-bytes: room for all paths, default 64 MiB */
    uint32_t frame_bytes_max;          /* --frame-bytes-max, default 16 MiB */
    uint32_t connections_max;          /* --connections-max per gateway, default 1024 */
    uint32_t inflight_max;             /* --inflight-max per connection, default 1024 */
    uint32_t reads_max;                /* --reads-max per connection, default 4096 */
    uint32_t gateway_reads_max;        /* --gateway-reads-max per gateway, default 262144 */
    uint64_t log_bytes;                /* --log-bytes: node log ring, default 256 MiB */
    uint64_t request_bytes;            /* --request-bytes: each request ring, default 128 MiB */
    uint64_t stop_timeout_ms;          /* --stop-timeout-ms, default 5000 */
    uint32_t pin_cpu; /* --pin-cpu N: the sequencer and the gateways run on CPU N only, so that
                         their wake-ups of each other stay on one CPU (docs/node.md, "Latency",
                         session 7); default NODE_PIN_CPU_OFF */
};

#define NODE_PIN_CPU_OFF UINT32_MAX
#define NODE_PIN_CPU_MAX 1023u /* the highest CPU number --pin-cpu takes */

/* Fills c with the defaults. */
void node_config_defaults(struct node_config *c);

/* Parses "HOST:PORT" ("[v6]:PORT" for an IPv6 host) or "off" (when allow_off) into e. Errors:
 * INVALID_ARGUMENT. */
strom_err node_endpoint_parse(const char *text, bool allow_off, struct node_endpoint *e);

/* Applies the flags of argv[1..argc) (argv[0] is the subcommand) over c: first --config FILE
 * when present, then every other flag. On an error, msg (msg_bytes) says what and where.
 * Errors: INVALID_ARGUMENT (unknown flag, missing or bad value), those of reading the file,
 * PARSE (a malformed file line). */
strom_err node_config_from_args(struct node_config *c, struct io *io, int argc, char **argv,
                                char *msg, size_t msg_bytes);

/* Applies the strom.node records of text (len bytes) over c. Errors as above. */
strom_err node_config_from_text(struct node_config *c, const char *text, size_t len, char *msg,
                                size_t msg_bytes);

/* Checks the relations between values (ring sizes against frame_bytes_max and so on) and
 * rounds ring sizes up to powers of two. Errors: INVALID_ARGUMENT with msg. */
strom_err node_config_check(struct node_config *c, char *msg, size_t msg_bytes);

/* The name of a fsync policy ("always"). */
const char *node_fsync_name(enum node_fsync f);

/* The usage text of `strom node`. */
extern const char node_config_usage[];

#endif
