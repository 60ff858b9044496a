package io.salsa.testkit;

import java.util.Map;

/**
 * A Kafka cluster that requires SASL (SCRAM-SHA-512) and enforces ACLs, as production clusters do (see
 * a parameter of {@link KafkaExtension}); tests create their own users so they never depend on one another.
 */
public interface SecuredTestKafka extends TestKafka {

    /**
     * Creates (or updates) user {@code name} and grants it every operation on the topics, consumer groups and
     * transactional ids starting with {@code prefix} ({@code *}: all; null: no grant at all).
     *
     * @return the client properties that log in as the user ({@link #login})
     */
    Map<String, String> user(String name, String password, String prefix);

    /** Client properties ({@code security.protocol}, {@code sasl.mechanism}, {@code sasl.jaas.config}) for a login. */
    Map<String, String> login(String name, String password);
}
