/*
 * log.h: a node's log lines: ssim records on stderr, one write per line (io_log_write), so that
 * the lines of the node's processes never interleave. Every line carries the role and the pid:
 *     strom.node.child  role:gateway  index:0  pid:4242  event:exit  signal:9
 */
#ifndef STROM_NODE_LOG_H
#define STROM_NODE_LOG_H

#include "base/ssim.h"

struct io;

#define NODE_LOG_LINE_BYTES 1024 /* a longer line is cut to its type and role (ssim overflow) */

/* A line being built. Write fields with the strom_ssim_write_* calls on &line->w. */
struct node_log {
    struct strom_ssim_writer w;
    char buf[NODE_LOG_LINE_BYTES];
};

/* Starts a line of type, with role (e.g. "supervisor") and pid fields. */
void node_log_begin(struct node_log *line, struct io *io, const char *type, const char *role);

/* Ends the line and writes it. */
void node_log_end(struct node_log *line, struct io *io);

#endif
