package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class KafkaSettingsTest {

    @Test
    void shouldReadTheEnvironmentWithDefaults() {
        KafkaSettings s = KafkaSettings.fromEnv(Map.of("SALSA_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
        assertEquals("127.0.0.1:9092", s.bootstrapServers());
        assertEquals("", s.topicPrefix());
        assertEquals("embedded", s.registrySpec());
        assertTrue(s.embeddedRegistry());
        assertEquals("rollouts", s.topic(Topics.ROLLOUTS));
    }

    @Test
    void shouldAcceptAPrefixAndARegistryUrl() {
        KafkaSettings s = KafkaSettings.fromEnv(Map.of("SALSA_KAFKA_BOOTSTRAP", "kafka-1:9092, kafka-2:9092",
                "SALSA_TOPIC_PREFIX", "exp1.", "SALSA_SCHEMA_REGISTRY", "http://schema-registry:8081"));
        assertEquals("exp1.policy", s.topic(Topics.POLICY));
        assertEquals("http://schema-registry:8081", s.registrySpec());
    }

    @Test
    void shouldNameTheVariableInEveryError() {
        assertMessage("SALSA_KAFKA_BOOTSTRAP is not set", Map.of());
        assertMessage("SALSA_KAFKA_BOOTSTRAP='localhost'", Map.of("SALSA_KAFKA_BOOTSTRAP", "localhost"));
        assertMessage("port of 1-65535", Map.of("SALSA_KAFKA_BOOTSTRAP", "localhost:70000"));
        assertMessage("SALSA_TOPIC_PREFIX='a b'", Map.of("SALSA_KAFKA_BOOTSTRAP", "h:1", "SALSA_TOPIC_PREFIX", "a b"));
        assertMessage("scheme must be http or https",
                Map.of("SALSA_KAFKA_BOOTSTRAP", "h:1", "SALSA_SCHEMA_REGISTRY", "ftp://x"));
        assertMessage("SALSA_SCHEMA_REGISTRY='registry'",
                Map.of("SALSA_KAFKA_BOOTSTRAP", "h:1", "SALSA_SCHEMA_REGISTRY", "registry"));
    }

    private static void assertMessage(String expected, Map<String, String> env) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaSettings.fromEnv(env));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void shouldConfigureSafeClients() {
        KafkaSettings s = KafkaSettings.embedded("h:1", "");
        Properties p = s.producerProps();
        assertEquals("all", p.getProperty("acks"));
        assertEquals("true", p.getProperty("enable.idempotence"));
        Properties c = s.consumerProps("scorer");
        assertEquals("read_committed", c.getProperty("isolation.level"));
        assertEquals("false", c.getProperty("enable.auto.commit"));
        assertEquals("scorer", c.getProperty("group.id"));
        assertEquals("earliest", c.getProperty("auto.offset.reset"));
        assertThrows(IllegalArgumentException.class, () -> s.consumerProps(" "));
    }

    @Test
    void shouldShareOneRegistryPerSettingsUntilClosed() {
        KafkaSettings s = new KafkaSettings("h:1", "", "http://registry.invalid:8081");
        var first = s.registry();
        assertTrue(first instanceof io.salsa.schemas.registry.ConfluentRestSchemaRegistry, first.toString());
        assertTrue(first == new KafkaSettings("h:1", "", "http://registry.invalid:8081").registry(),
                "equal settings share the registry and its cache");
        s.closeRegistry();
        assertTrue(first != s.registry(), "a closed registry is replaced by a fresh one");
        s.closeRegistry();
    }
}
