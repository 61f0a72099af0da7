/*
 * fake_node.h: a small stand-in for a strom node, for the unit tests of libstrom. It speaks the
 * native protocol (docs/protocol.md) from one forked process on 127.0.0.1 with streams in memory:
 * hello, append with bounded idempotence, read with credit and follow, cancel, create, list,
 * stat, ping. It can break connections on purpose to test reconnects and retries.
 */
#ifndef STROM_TESTS_FAKE_NODE_H
#define STROM_TESTS_FAKE_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fake_node_config {
    uint32_t window;       /* idempotence window W; 0: 5 */
    uint32_t inflight_max; /* announced in hello_answer; 0: 64 */
    /* Close the connection after applying the n-th append (1-based, counted over the node's
     * life) without answering it; 0: never. Every drop_every-th after that as well (0: once). */
    uint32_t drop_after_append;
    uint32_t drop_every;
    uint32_t list_page_max; /* streams per list answer at most; 0: 1024 */
    bool forget_producers;  /* answer every append marked retry SEQUENCE_TOO_OLD, as a node that
                               forgot its producer does */
};

/* Starts the fake node; *port gets its port. Returns its pid (the caller kills it). The child
 * dies with its parent. */
pid_t fake_node_start(const struct fake_node_config *cfg, uint16_t *port);

/* Kills and reaps it. */
void fake_node_stop(pid_t pid);

#endif
