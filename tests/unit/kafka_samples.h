/*
 * kafka_samples.h: a request and a response of every served Kafka API with every field set to a
 * value other than its default, for the round-trip tests of tests/unit/test_kafka_messages.c
 * (and to write seeds for fuzz/corpus/fuzz_kafka_request/).
 */
#ifndef STROM_TESTS_KAFKA_SAMPLES_H
#define STROM_TESTS_KAFKA_SAMPLES_H

#include "kafka/messages.h"

/* Fills *out with the sample body of api_key (any version) and the given header. */
void kafka_sample_request(int16_t api_key, int16_t version, struct kafka_request *out);
void kafka_sample_response(int16_t api_key, int16_t version, struct kafka_response *out);

#endif
