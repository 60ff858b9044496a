package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientConfigTest {

    @TempDir
    Path dir;

    private Path file(String... lines) throws IOException {
        Path f = dir.resolve("client.properties");
        Files.write(f, java.util.List.of(lines));
        return f;
    }

    private static Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put(KafkaSettings.BOOTSTRAP_ENV, "h:1");
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    @Test
    void shouldMapVariableNamesToPropertyNames() {
        assertEquals("security.protocol", KafkaClientConfig.propertyName("SALSA_KAFKA_SECURITY_PROTOCOL"));
        assertEquals("sasl.jaas.config", KafkaClientConfig.propertyName("SALSA_KAFKA_SASL_JAAS_CONFIG"));
        assertEquals("ssl.truststore.location", KafkaClientConfig.propertyName("SALSA_KAFKA_SSL_TRUSTSTORE_LOCATION"));
        assertEquals("my_plugin.some-key", KafkaClientConfig.propertyName("SALSA_KAFKA_MY__PLUGIN_SOME___KEY"));
        for (String p : new String[] {"sasl.mechanism", "my_plugin.some-key", "request.timeout.ms"}) {
            assertEquals(p, KafkaClientConfig.propertyName(KafkaClientConfig.variableName(p)), p);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KafkaClientConfig.propertyName("SALSA_KAFKA_A____B"));
        assertTrue(e.getMessage().contains("SALSA_KAFKA_A____B"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> KafkaClientConfig.fromEnv(env("SALSA_KAFKA_", "x")));
        assertTrue(e.getMessage().contains("SALSA_KAFKA_") && e.getMessage().contains("'-' as '___'"), e.getMessage());
    }

    @Test
    void shouldApplyDefaultsThenFileThenVariablesToEveryKindOfClient() throws IOException {
        Path f = file("security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", "linger.ms=50",
                "request.timeout.ms=7000", "isolation.level=read_committed", "my.plugin.setting=x");
        KafkaSettings s = KafkaSettings.fromEnv(env(KafkaClientConfig.CONFIG_ENV, f.toString(),
                "SALSA_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"));

        Properties producer = s.producerProps();
        assertEquals("SASL_PLAINTEXT", producer.getProperty("security.protocol"), "the file applies");
        assertEquals("SCRAM-SHA-512", producer.getProperty("sasl.mechanism"), "a variable wins over the file");
        assertEquals("50", producer.getProperty("linger.ms"), "the file wins over a built-in default");
        assertEquals("all", producer.getProperty("acks"), "what exactly-once needs is still set");
        assertEquals("true", producer.getProperty("enable.idempotence"));
        assertEquals("x", producer.getProperty("my.plugin.setting"), "a property no client knows is passed on");
        assertNull(producer.getProperty("isolation.level"), "a consumer-only property is not given to a producer");

        Properties consumer = s.consumerProps("g");
        assertEquals("SCRAM-SHA-512", consumer.getProperty("sasl.mechanism"));
        assertEquals("read_committed", consumer.getProperty("isolation.level"));
        assertNull(consumer.getProperty("linger.ms"));

        Properties admin = s.adminProps();
        assertEquals("SASL_PLAINTEXT", admin.getProperty("security.protocol"));
        assertEquals("7000", admin.getProperty("request.timeout.ms"), "the file wins over the admin's default");

        Properties streams = s.streamsProps("app");
        assertEquals("SCRAM-SHA-512", streams.getProperty("sasl.mechanism"));
        assertEquals("h:1", streams.getProperty("bootstrap.servers"));
        assertEquals(s.consumerProps("x").getProperty("security.protocol"),
                s.groupLessConsumerProps().getProperty("security.protocol"));
    }

    @Test
    void shouldRefuseAnOverrideThatWouldBreakExactlyOnceNamingThePropertyAndWhereItWasSet() throws IOException {
        Path f = file("enable.idempotence=false");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env(KafkaClientConfig.CONFIG_ENV, f.toString())));
        assertTrue(e.getMessage().contains("enable.idempotence=false") && e.getMessage().contains(f.toString())
                && e.getMessage().contains("enable.idempotence=true"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env("SALSA_KAFKA_ISOLATION_LEVEL", "read_uncommitted")));
        assertTrue(e.getMessage().contains("SALSA_KAFKA_ISOLATION_LEVEL")
                && e.getMessage().contains("isolation.level=read_committed"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env("SALSA_KAFKA_GROUP_ID", "shared")));
        assertTrue(e.getMessage().contains("group.id") && e.getMessage().contains("SALSA_TOPIC_PREFIX"),
                e.getMessage());
        for (String[] bad : new String[][] {{"acks", "1"}, {"enable.auto.commit", "true"},
                {"auto.offset.reset", "latest"}, {"processing.guarantee", "at_least_once"},
                {"transactional.id", "t"}, {"application.id", "a"}, {"value.deserializer", "x"}}) {
            e = assertThrows(IllegalArgumentException.class, () -> KafkaSettings.fromEnv(
                    env(KafkaClientConfig.variableName(bad[0]), bad[1])), bad[0]);
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
        // the value the code sets anyway is fine to repeat
        KafkaSettings ok = KafkaSettings.fromEnv(env("SALSA_KAFKA_ENABLE_IDEMPOTENCE", "true",
                "SALSA_KAFKA_ACKS", "-1"));
        assertEquals("all", ok.producerProps().getProperty("acks"));
    }

    @Test
    void shouldNameAMissingOrUnreadableConfigFile() throws IOException {
        Path missing = dir.resolve("nope.properties");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env(KafkaClientConfig.CONFIG_ENV, missing.toString())));
        assertTrue(e.getMessage().contains(KafkaClientConfig.CONFIG_ENV) && e.getMessage().contains(missing.toString()),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env(KafkaClientConfig.CONFIG_ENV, dir.toString())));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        Path bad = file("sasl.jaas.config=\\u12");
        e = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.fromEnv(env(KafkaClientConfig.CONFIG_ENV, bad.toString())));
        assertTrue(e.getMessage().contains("cannot read") && e.getMessage().contains(bad.toString()), e.getMessage());
    }

    @Test
    void shouldTakeTheBootstrapServersFromTheFileUnlessTheVariableIsSet() throws IOException {
        Path f = file("bootstrap.servers=file-host:9093");
        Map<String, String> env = new HashMap<>(Map.of(KafkaClientConfig.CONFIG_ENV, f.toString()));
        assertEquals("file-host:9093", KafkaSettings.fromEnv(env).bootstrapServers());
        env.put(KafkaSettings.BOOTSTRAP_ENV, "env-host:9092");
        KafkaSettings s = KafkaSettings.fromEnv(env);
        assertEquals("env-host:9092", s.bootstrapServers());
        assertEquals("env-host:9092", s.adminProps().getProperty("bootstrap.servers"));
        assertFalse(s.client().has("bootstrap.servers"));
    }

    @Test
    void shouldPickOnlyTheKafkaVariablesForABenchOfItsOwnTopics() {
        assertEquals(Map.of("SALSA_KAFKA_CONFIG", "/c", "SALSA_KAFKA_SASL_MECHANISM", "PLAIN"),
                KafkaClientConfig.variables(Map.of("SALSA_KAFKA_CONFIG", "/c", "SALSA_KAFKA_SASL_MECHANISM", "PLAIN",
                        "SALSA_TOPIC_PREFIX", "x.", "SALSA_SCHEMA_REGISTRY", "http://r:1", "HOME", "/root")));
    }

    @Test
    void shouldPrefixEveryConsumerGroupAndTheStreamsApplicationId() {
        KafkaSettings a = KafkaSettings.embedded("h:1", "team-a.");
        KafkaSettings b = KafkaSettings.embedded("h:1", "team-b.");
        assertEquals("team-a.generator", a.consumerProps("generator").getProperty("group.id"));
        assertEquals("team-a.salsa-reward-scorer", a.streamsProps("salsa-reward-scorer").getProperty("application.id"));
        assertNotEquals(a.consumerProps("generator").getProperty("group.id"),
                b.consumerProps("generator").getProperty("group.id"));
        assertNotEquals(a.streamsProps("s").getProperty("application.id"),
                b.streamsProps("s").getProperty("application.id"));
        assertEquals("generator", KafkaSettings.embedded("h:1", "").consumerProps("generator").getProperty("group.id"),
                "no prefix, the names as before");
        assertNull(a.groupLessConsumerProps().getProperty("group.id"));
        assertEquals("team-a.x", a.withTopicPrefix("team-a.").groupId("x"));
    }

    @Test
    void shouldNameThePrincipalAndNeverPrintSecrets() {
        KafkaSettings s = KafkaSettings.fromEnv(env("SALSA_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "SALSA_KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"alice\" password=\"s3cret\";"));
        assertEquals("User:alice", s.client().principal());
        assertEquals("SALSA_KAFKA_SASL_JAAS_CONFIG", s.client().sourceOf("sasl.jaas.config"));
        assertFalse(s.toString().contains("s3cret"), s.toString());
        assertEquals("User:ANONYMOUS", KafkaClientConfig.NONE.principal());
        assertEquals(s, KafkaSettings.fromEnv(env("SALSA_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "SALSA_KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"alice\" password=\"s3cret\";")), "equal settings share one registry");
    }
}
