/* log.c: ssim log lines on stderr (see log.h). */
#include "node/log.h"

#include "base/assert.h"
#include "io/io.h"

void node_log_begin(struct node_log *line, struct io *io, const char *type, const char *role) {
    strom_ssim_writer_init(&line->w, line->buf, sizeof line->buf);
    strom_ssim_write_type(&line->w, type);
    strom_ssim_write_str(&line->w, "role", role);
    strom_ssim_write_u64(&line->w, "pid", (uint64_t)io_proc_id(io));
    strom_assert(!line->w.overflow);
}

void node_log_end(struct node_log *line, struct io *io) {
    if (strom_ssim_writer_end(&line->w) != STROM_OK) {
        /* The fields did not fit: say so rather than lose the line. */
        strom_ssim_writer_init(&line->w, line->buf, sizeof line->buf);
        strom_ssim_write_type(&line->w, "strom.node.log_overflow");
        strom_err err = strom_ssim_writer_end(&line->w);
        strom_assert(err == STROM_OK);
    }
    io_log_write(io, line->buf, line->w.bytes_used);
}
