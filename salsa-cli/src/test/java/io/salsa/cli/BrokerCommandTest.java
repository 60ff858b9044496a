package io.salsa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.BrokerSecurity;
import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.schemas.KafkaSettings;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerCommandTest {

    @Test
    void shouldServeUntilStoppedThenShutTheBrokerDown(@TempDir Path dir) throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"));
        String[] hostPort = broker.bootstrapServers().split(":");
        BrokerCommand.BrokerService service = new BrokerCommand.BrokerService(broker);
        ServiceRunner.Background running = ServiceRunner.start(service);
        try {
            Health health = service.health();
            assertTrue(health.isUp(), health.toString());
            assertTrue(health.detail().contains(broker.bootstrapServers()), health.detail());
            new Socket(hostPort[0], Integer.parseInt(hostPort[1])).close();
            running.checkHealthy();
        } finally {
            running.close();
        }
        assertFalse(running.running());
        assertNull(running.failure());
        assertEquals(Health.Status.DOWN, service.health().status());
        assertThrows(IOException.class, () -> new Socket(hostPort[0], Integer.parseInt(hostPort[1])).close(),
                "the broker's port is closed");
    }

    @Test
    void shouldRefuseAclsWithoutUsersAndBadSpecsWithExitCode2(@TempDir Path dir) {
        for (String[] args : new String[][] {{"--acl", "alice:demo."}, {"--sasl-user", "alice"},
                {"--sasl-user", "alice:pw", "--acl", "bob:demo."}}) {
            String[] full = java.util.stream.Stream.concat(java.util.stream.Stream.of("--dir", dir.toString()),
                    java.util.Arrays.stream(args)).toArray(String[]::new);
            assertEquals(2, new picocli.CommandLine(new BrokerCommand()).execute(full), String.join(" ", args));
        }
        assertFalse(java.nio.file.Files.exists(dir.resolve("server.properties")), "no broker was started");
    }

    @Test
    void shouldWriteAClientConfigPerUserThatTheServicesRead(@TempDir Path dir) throws Exception {
        BrokerSecurity security = BrokerSecurity.parse(java.util.List.of("alice:alice-pw"),
                java.util.List.of("alice:demo."));
        java.util.List<Path> files = BrokerCommand.writeClientConfigs(dir, "127.0.0.1:19092", security);
        assertEquals(java.util.List.of(dir.resolve("client-alice.properties")), files);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                java.nio.file.Files.getPosixFilePermissions(files.get(0))), "it holds a password");
        KafkaSettings settings = KafkaSettings.fromEnv(java.util.Map.of("SALSA_KAFKA_CONFIG", files.get(0).toString()));
        assertEquals("127.0.0.1:19092", settings.bootstrapServers());
        assertEquals("User:alice", settings.client().principal());
        assertEquals("SASL_PLAINTEXT", settings.producerProps().getProperty("security.protocol"));
        assertEquals("SCRAM-SHA-512", settings.consumerProps("g").getProperty("sasl.mechanism"));
    }

    @Test
    void shouldServeTheEmbeddedRegistryReadOnlyWhenAsked(@TempDir Path dir) throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"));
        BrokerCommand.BrokerService service = new BrokerCommand.BrokerService(broker);
        java.net.URI url;
        try (service) {
            service.serveRegistry("", 0);
            url = service.registryUrl();
            var settings = io.salsa.schemas.KafkaSettings.embedded(broker.bootstrapServers(), "");
            org.apache.avro.Schema schema = org.apache.avro.SchemaBuilder.record("T").fields().requiredString("a")
                    .endRecord();
            int id;
            try (var registry = io.salsa.schemas.registry.KafkaTopicSchemaRegistry.open(settings)) {
                id = registry.register("t-value", schema);
            }
            try (var client = new io.salsa.schemas.registry.ConfluentRestSchemaRegistry(url)) {
                assertEquals(schema, client.getById(id), "a schema registered by a service is served");
            }
        }
        java.net.URI closed = url;
        assertThrows(IOException.class, () -> new Socket(closed.getHost(), closed.getPort()).close(),
                "the view's port is closed with the broker");
    }
}
