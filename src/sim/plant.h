/*
 * plant.h: bugs planted on purpose, so that the simulator shows it can catch them.
 *
 * They exist only in a build with -DSTROM_SIM_PLANTS (`make sim-plants`: build/plants/, its own
 * objects); `strom` and the ordinary strom-sim are built without it, and then SIM_PLANT(x) is the
 * constant 0 and the code that plants is not compiled (role code puts it under
 * #ifdef STROM_SIM_PLANTS). In the plants build, `strom-sim --plant NAME` turns one on.
 *
 *   ack_before_sync      a commit publishes its durable position before fdatasync
 *   skip_offset          a restarted sequencer skips an offset of a stream
 *   apply_retry_twice    the sequencer applies a retry inside the window as a new batch
 *   deliver_past_mark    a gateway serves sync reads up to the ack-1 watermark
 *   lose_batch           store recovery loses the last batch before the checkpoint it starts from
 *   sync_before_write    a store flush (before a sync) does not wait for the O_DIRECT write in
 * flight
 */
#ifndef STROM_SIM_PLANT_H
#define STROM_SIM_PLANT_H

#include <stdbool.h>
#include <stdint.h>

enum sim_plant {
    SIM_PLANT_ACK_BEFORE_SYNC = 0,
    SIM_PLANT_SKIP_OFFSET = 1,
    SIM_PLANT_APPLY_RETRY_TWICE = 2,
    SIM_PLANT_DELIVER_PAST_MARK = 3,
    SIM_PLANT_LOSE_BATCH = 4,
    SIM_PLANT_SYNC_BEFORE_WRITE = 5,
    SIM_PLANT_COUNT_
};

#ifdef STROM_SIM_PLANTS
#define SIM_PLANTS_BUILT 1
/* The planted bugs turned on, a bit per enum sim_plant; set once by strom-sim's arguments. */
extern uint32_t sim_plants_on;
#define SIM_PLANT(name) ((sim_plants_on >> SIM_PLANT_##name) & 1u)
#else
#define SIM_PLANTS_BUILT 0
#define SIM_PLANT(name)  0
#endif

/* Turns the plant called name on; false when there is none of that name (or no plants built). */
bool sim_plant_enable(const char *name);

/* The names of the plants, separated by spaces ("" without plants). */
const char *sim_plant_names(void);

#endif
