/*
 * node_fixture.h: the small node configuration the unit tests of the node's roles start from
 * (64 streams, 64 producers, frames of 4 KiB, 64 KiB rings: rings that wrap and fill soon).
 * Tests change what they need, then call node_fixture_check.
 */
#ifndef STROM_TESTS_NODE_FIXTURE_H
#define STROM_TESTS_NODE_FIXTURE_H

#include <criterion/criterion.h>

#include "node/config.h"

static inline void node_fixture_small(struct node_config *c) {
    node_config_defaults(c);
    c->streams_max = 64;
    c->paths_bytes = 4096;
    c->producers_max = 64;
    c->frame_bytes_max = 4096;
    c->log_bytes = 64u << 10;
    c->request_bytes = 64u << 10;
}

/* Asserts that c is a configuration the node accepts. */
static inline void node_fixture_check(struct node_config *c) {
    char msg[256];
    cr_assert_eq(node_config_check(c, msg, sizeof msg), STROM_OK, "%s", msg);
}

#endif
