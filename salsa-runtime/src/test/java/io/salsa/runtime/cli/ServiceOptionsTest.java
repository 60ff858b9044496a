package io.salsa.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.schemas.KafkaSettings;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class ServiceOptionsTest {

    @Command(name = "svc")
    static final class ServiceCommand {
        @Mixin
        ServiceOptions options;
    }

    @Command(name = "kafka-only")
    static final class KafkaCommand {
        @Mixin
        KafkaOptions options;
    }

    private static final Map<String, String> ENV = Map.of(
            "SALSA_KAFKA_BOOTSTRAP", "env-host:9092",
            "SALSA_TOPIC_PREFIX", "env.",
            "SALSA_SCHEMA_REGISTRY", "http://env-registry:8081",
            "SALSA_BLOB_STORE", "file:///env/blobs",
            "SALSA_GENERATOR_SEED", "7");

    private static ServiceOptions parse(String... args) {
        ServiceCommand c = new ServiceCommand();
        new CommandLine(c).parseArgs(args);
        return c.options;
    }

    @Test
    void shouldLetEveryFlagOverrideItsEnvironmentVariable() {
        ServiceOptions o = parse("--bootstrap", "flag-host:1234", "--topic-prefix", "flag.",
                "--schema-registry", "https://flag-registry:8443", "--blob-store", "s3://flag-bucket/p",
                "--cache-dir", "/flag/cache");
        KafkaSettings kafka = o.kafka(ENV);
        assertEquals("flag-host:1234", kafka.bootstrapServers());
        assertEquals("flag.", kafka.topicPrefix());
        assertEquals("https://flag-registry:8443", kafka.registrySpec());
        assertEquals("s3://flag-bucket/p", o.blobStoreUri(ENV));
        assertEquals(Path.of("/flag/cache"), o.cacheDir(Path.of("fallback")));

        Map<String, String> merged = o.applyTo(ENV);
        assertEquals("flag-host:1234", merged.get("SALSA_KAFKA_BOOTSTRAP"));
        assertEquals("flag.", merged.get("SALSA_TOPIC_PREFIX"));
        assertEquals("https://flag-registry:8443", merged.get("SALSA_SCHEMA_REGISTRY"));
        assertEquals("s3://flag-bucket/p", merged.get("SALSA_BLOB_STORE"));
        assertEquals("7", merged.get("SALSA_GENERATOR_SEED"), "other variables pass through");
        assertEquals("env-host:9092", ENV.get("SALSA_KAFKA_BOOTSTRAP"), "the given environment is not changed");
    }

    @Test
    void shouldFallBackToTheEnvironmentWhenNoFlagIsGiven() {
        ServiceOptions o = parse();
        KafkaSettings kafka = o.kafka(ENV);
        assertEquals("env-host:9092", kafka.bootstrapServers());
        assertEquals("env.", kafka.topicPrefix());
        assertEquals("http://env-registry:8081", kafka.registrySpec());
        assertEquals("file:///env/blobs", o.blobStoreUri(ENV));
        assertEquals(ENV, o.applyTo(ENV));
        assertEquals(Path.of("fallback"), o.cacheDir(Path.of("fallback")));
    }

    @Test
    void shouldApplyTheDefaultsWhenNeitherFlagNorVariableIsSet() {
        ServiceOptions o = parse("--bootstrap", "h:1");
        Map<String, String> env = Map.of("SALSA_BLOB_STORE", "  ");
        KafkaSettings kafka = o.kafka(env);
        assertEquals("", kafka.topicPrefix());
        assertTrue(kafka.embeddedRegistry());
        assertNull(o.blobStoreUri(env), "blank counts as unset");
        assertEquals(ServiceOptions.DEFAULT_BLOB_STORE_DIR.toAbsolutePath().toUri().toString(),
                o.blobStoreUriOrDefault(env));
        assertNull(o.cacheDir(null));
    }

    @Test
    void shouldNameTheVariableWhenKafkaIsNotConfigured() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> parse().kafka(Map.of()));
        assertTrue(missing.getMessage().contains("SALSA_KAFKA_BOOTSTRAP"), missing.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> parse("--schema-registry", "ftp://x").kafka(ENV));
        assertTrue(bad.getMessage().contains("SALSA_SCHEMA_REGISTRY"), bad.getMessage());
    }

    @Test
    void shouldOfferOnlyTheKafkaFlagsToAKafkaOnlyCommand() {
        KafkaCommand c = new KafkaCommand();
        CommandLine cl = new CommandLine(c);
        cl.parseArgs("--bootstrap", "flag-host:1", "--schema-registry", "embedded");
        KafkaSettings kafka = c.options.kafka(ENV);
        assertEquals("flag-host:1", kafka.bootstrapServers());
        assertEquals("env.", kafka.topicPrefix());
        assertTrue(kafka.embeddedRegistry());
        assertThrows(CommandLine.UnmatchedArgumentException.class,
                () -> new CommandLine(new KafkaCommand()).parseArgs("--blob-store", "file:///x"));
    }

    @Test
    void shouldReadKafkaClientPropertiesFromTheKafkaConfigFlagOverTheVariable(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path flagFile = java.nio.file.Files.writeString(dir.resolve("flag.properties"),
                "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n");
        Path envFile = java.nio.file.Files.writeString(dir.resolve("env.properties"), "security.protocol=SSL\n");
        Map<String, String> env = new java.util.HashMap<>(ENV);
        env.put("SALSA_KAFKA_CONFIG", envFile.toString());
        env.put("SALSA_KAFKA_SASL_MECHANISM", "PLAIN");

        KafkaSettings fromEnv = parse().kafka(env);
        assertEquals("SSL", fromEnv.adminProps().getProperty("security.protocol"));

        KafkaCommand c = new KafkaCommand();
        new CommandLine(c).parseArgs("--kafka-config", flagFile.toString());
        assertEquals(flagFile.toString(), c.options.applyTo(env).get("SALSA_KAFKA_CONFIG"));
        KafkaSettings fromFlag = c.options.kafka(env);
        assertEquals("SASL_SSL", fromFlag.producerProps().getProperty("security.protocol"), "the flag names the file");
        assertEquals("PLAIN", fromFlag.producerProps().getProperty("sasl.mechanism"), "a variable still wins");

        new CommandLine(c).parseArgs("--kafka-config", dir.resolve("missing.properties").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.options.kafka(env));
        assertTrue(e.getMessage().contains("missing.properties") && e.getMessage().contains("no such file"),
                e.getMessage());
    }
}
