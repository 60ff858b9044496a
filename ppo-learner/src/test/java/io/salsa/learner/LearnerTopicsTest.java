package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class LearnerTopicsTest {

    @Test
    void shouldWaitOutASlowBrokerRestartUnlessTheClientPropertiesSayOtherwise() {
        Properties defaults = LearnerTopics.producerProps(new KafkaSettings("h:1", "", "embedded"));
        assertEquals("600000", defaults.getProperty("delivery.timeout.ms"));
        assertEquals("all", defaults.getProperty("acks"), "the services' settings underneath");
        assertEquals("true", defaults.getProperty("enable.idempotence"));

        KafkaClientConfig client = KafkaClientConfig.fromEnv(Map.of("SALSA_KAFKA_DELIVERY_TIMEOUT_MS", "45000"));
        Properties overridden = LearnerTopics.producerProps(new KafkaSettings("h:1", "", "embedded", client));
        assertEquals("45000", overridden.getProperty("delivery.timeout.ms"));
    }
}
