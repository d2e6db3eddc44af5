// Stands in for librdkafka's header on the include path of config/ and
// pipeline/ (host/CMakeLists.txt): those modules never talk to Kafka.
// Kafka I/O belongs in kafka/, behind the interfaces pipeline/ defines.
#error \
    "config/ and pipeline/ must not include librdkafka (host/README.md, Layering): move the Kafka code to host/kafka/"
