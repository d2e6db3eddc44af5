// Compiled with the include path of a module that must not talk to Kafka
// (config/, pipeline/): the build has to refuse it (ctest build.layering.*).
#include <librdkafka/rdkafka.h>

rd_kafka_t* never_built();
