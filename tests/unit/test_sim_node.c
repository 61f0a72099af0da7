/*
 * test_sim_node.c: a whole strom node in the simulator (src/sim/simnode.h): it starts in the
 * supervisor's order, restarts a crashed role, and comes back after a node crash.
 */
#include <criterion/criterion.h>

#include "node_fixture.h"
#include "sim/simnode.h"

static struct simnode *exit_node;

static void on_exit_route(struct sim_world *w, void *arg, struct sim_proc *p, bool crashed,
                          int code) {
    (void)w;
    (void)arg;
    simnode_on_exit(exit_node, p, crashed, code);
}

static void small_config(struct node_config *c) {
    node_fixture_small(c);
    c->connections_max = 8;
    c->inflight_max = 16;
    c->reads_max = 4;
    node_fixture_check(c);
}

Test(sim_node, starts_restarts_a_role_and_survives_a_node_crash) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(11, &w), STROM_OK);
    struct node_config c;
    small_config(&c);
    c.commits = 2;
    c.gateways = 2;
    struct simnode *n;
    cr_assert_eq(simnode_create(w, &c, 11, &n), STROM_OK);
    exit_node = n;
    sim_set_exit_callback(w, on_exit_route, NULL);
    simnode_start(n);
    sim_run(w, 50000000);
    cr_assert(simnode_ready(n), "ready after 50 ms");
    cr_assert_eq(simnode_role_count(n), 5);
    simnode_crash_role(n, 0, 0);
    cr_assert(!simnode_ready(n));
    sim_run(w, 100000000);
    cr_assert(simnode_ready(n), "the commit is back");
    simnode_crash(n, IO_MEMFS_CRASH_PREFIX);
    cr_assert(!simnode_up(n));
    sim_run(w, 200000000);
    cr_assert(simnode_ready(n), "the node is back");
    struct simnode_stats st;
    simnode_get_stats(n, &st);
    cr_assert_eq(st.node_starts, 2);
    cr_assert_eq(st.role_crashes, 1);
    cr_assert_eq(st.role_starts, 5 + 1 + 5);
    cr_assert_eq(simnode_generation(n), 2);
    sim_world_destroy(w);
    simnode_destroy(n);
}
