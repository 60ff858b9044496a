package io.salsa.testkit;

/** A Kafka cluster a test can talk to, wherever it came from (see {@link KafkaExtension}). */
public interface TestKafka {

    /** Where it came from. */
    enum Kind { EXTERNAL, TESTCONTAINERS, IN_PROCESS }

    String bootstrapServers();

    Kind kind();
}
