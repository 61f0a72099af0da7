/* plant.c: the planted bugs' switch (see plant.h). */
#include "sim/plant.h"

#include <string.h>

#ifdef STROM_SIM_PLANTS

uint32_t sim_plants_on;

static const char *const plant_names[SIM_PLANT_COUNT_] = {
    [SIM_PLANT_ACK_BEFORE_SYNC] = "ack_before_sync",
    [SIM_PLANT_SKIP_OFFSET] = "skip_offset",
    [SIM_PLANT_APPLY_RETRY_TWICE] = "apply_retry_twice",
    [SIM_PLANT_DELIVER_PAST_MARK] = "deliver_past_mark",
    [SIM_PLANT_LOSE_BATCH] = "lose_batch",
    [SIM_PLANT_SYNC_BEFORE_WRITE] = "sync_before_write",
};

bool sim_plant_enable(const char *name) {
    for (int i = 0; i < SIM_PLANT_COUNT_; i++) {
        if (strcmp(name, plant_names[i]) == 0) {
            sim_plants_on |= 1u << i;
            return true;
        }
    }
    return false;
}

const char *sim_plant_names(void) {
    return "ack_before_sync skip_offset apply_retry_twice deliver_past_mark lose_batch "
           "sync_before_write";
}

#else

bool sim_plant_enable(const char *name) {
    (void)name;
    return false;
}

const char *sim_plant_names(void) {
    return "";
}

#endif
