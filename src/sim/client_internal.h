/*
 * client_internal.h: the simulated clients' structs, shared by client.c (connections, frames,
 * producers) and client_read.c (subscribers, readers, verifiers). Nothing else includes it.
 *
 * One writer per field: a client's connection fields are client.c's; a producer's are client.c's;
 * a read's are client_read.c's.
 */
#ifndef STROM_SIM_CLIENT_INTERNAL_H
#define STROM_SIM_CLIENT_INTERNAL_H

#include "proto/frame.h"
#include "sim/client.h"

enum cl_kind {
    CL_PRODUCER = 0,
    CL_SUBSCRIBER,
    CL_READER,
    CL_VERIFIER,
};

enum cl_state {
    CL_DOWN = 0, /* no connection; a connect is scheduled */
    CL_HELLO,    /* connected, hello sent */
    CL_READY,    /* hello answered */
    CL_IDLE,     /* nothing to do (a verifier before the end): no connection wanted */
};

enum cl_batch_state {
    B_NEW = 0,  /* to be sent (again) */
    B_INFLIGHT, /* sent on the current connection, not answered */
    B_ACKED,    /* answered with offsets */
    B_DONE,     /* applied, offsets unknown (refused as too old: a tolerated duplicate) */
};

struct cl_batch {
    uint64_t rid;   /* request id of the last send */
    uint64_t base;  /* offsets, once answered */
    uint64_t ts_ns; /* timestamp, once answered */
    uint32_t count;
    uint32_t sends;
    uint8_t sync;
    uint8_t ack;   /* the level it names: 0 or 1 */
    uint8_t state; /* enum cl_batch_state */
};

struct cl_producer {
    uint32_t model_index; /* its number in message ids */
    uint64_t producer_id;
    struct cl_batch *batches; /* by sequence */
    uint64_t count;           /* batches made: the next sequence */
    uint64_t cap;
    uint64_t acked_below; /* every sequence below is answered */
    uint64_t send_next;   /* next sequence to send on this connection */
    uint32_t depth;
    uint32_t inflight;
    bool rewind;        /* an error came: once nothing is in flight, send again from the start */
    uint64_t floor;     /* first sequence never sent before the last node crash */
    uint64_t probe_rid; /* a duplicated request in flight, 0: none */
    uint64_t probe_seq;
    bool probe_inside;
    uint8_t probe_ack;   /* above 1: the node must refuse the level */
    bool want_create;    /* create the stream before the first append */
    uint64_t create_rid; /* the create in flight, 0: none */
};

struct cl_read {
    bool follow;
    bool sync;
    uint8_t ack;   /* the level it names: 0 or 1, above 1 (a reader's: must be refused) */
    uint64_t from; /* of the read in flight */
    uint64_t to;
    uint64_t next;       /* next offset expected; UINT64_MAX: not known yet */
    uint64_t rid;        /* the read in flight, 0: none */
    uint64_t consumed;   /* message bytes since the last credit */
    uint64_t last_ts_ns; /* timestamp of the last batch delivered */
    bool done;           /* verifier: the final read ended */
    uint32_t attempts;   /* verifier: reads opened */
    uint64_t end_seen;   /* verifier: the stream's end it found */
};

struct sim_clients;

struct cl {
    struct sim_clients *all;
    uint32_t index;
    enum cl_kind kind;
    uint32_t stream; /* model stream (producer, subscriber, verifier; a reader's current one) */
    int fd;
    enum cl_state state;
    uint64_t backoff_ns;
    bool connect_pending; /* a connect timer is set */
    uint64_t next_rid;
    uint8_t *in;
    uint32_t in_len;
    uint8_t *out;
    uint32_t out_len;
    struct cl_producer p;
    struct cl_read r;
};

struct sim_clients {
    struct sim_world *w;
    struct simnode *node;
    struct sim_model *m;
    struct sim_workload wl;
    uint16_t port;
    uint32_t frame_bytes_max;
    bool quiet;
    uint64_t quiet_ns; /* simulated time the faults stopped */
    bool verifying;
    uint32_t count;
    struct cl cls[SIM_CLIENTS_MAX];
    struct sim_client_stats stats;
    uint8_t payload[SIM_PAYLOAD_BYTES_MAX];
};

/* client.c, for client_read.c */
/* Queues a frame on cl's output and sends what the connection takes. */
void cl_send_frame(struct cl *cl, enum proto_type type, uint64_t rid, const void *body);
/* The bytes of message id's payload into buf (SIM_PAYLOAD_BYTES_MAX); returns its length. */
uint32_t cl_payload(const struct sim_workload *wl, const struct sim_msg_id *id, uint8_t *buf);
/* Parses a payload into *id; false when it is not one the clients made (wrong bytes). */
bool cl_payload_parse(const struct sim_workload *wl, const uint8_t *p, uint32_t len,
                      struct sim_msg_id *id);
/* Calls cl_read_timer for cl after delay_ns. */
void cl_schedule_read(struct cl *cl, uint64_t delay_ns);
/* The stream's record in the node's registry, NULL when the node is down or does not know it. */
const struct node_stream *cl_registry_stream(struct sim_clients *c, uint32_t stream);

/* client_read.c */
void cl_read_ready(struct cl *cl);
void cl_read_broken(struct cl *cl);
void cl_read_deliver(struct cl *cl, const struct proto_frame *f);
void cl_read_end(struct cl *cl, const struct proto_frame *f);
/* An error frame for the read's request id. */
void cl_read_error(struct cl *cl, uint64_t rid, uint32_t code);
void cl_read_timer(struct cl *cl);
bool cl_read_settled(struct cl *cl, char *why, size_t why_bytes);
void cl_read_node_recovered(struct cl *cl, const uint64_t *next);

#endif
