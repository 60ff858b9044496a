package io.salsa.cli;

import io.salsa.broker.BrokerSecurity;
import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.registry.ConfluentRestView;
import io.salsa.schemas.registry.KafkaTopicSchemaRegistry;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.runtime.service.ServiceRunner;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa broker}: a real single-node Kafka broker for one machine, until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Start a single-node KRaft Kafka broker (no Docker); its data survives restarts.")
public final class BrokerCommand extends SalsaCommand {

    @Option(names = "--dir", defaultValue = "salsa-data/kafka",
            description = "Data folder; formatted on first start, reused after (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--port", defaultValue = "0",
            description = "Client port; 0 = a free port on first start, the same one afterwards.")
    int port;

    @Option(names = "--schema-registry-port", paramLabel = "PORT", description = "Also serve the embedded schema "
            + "registry (of $" + KafkaSettings.PREFIX_ENV + "'s topics) read-only over the Confluent REST API on this "
            + "port of 127.0.0.1, so other tools can decode the topics; 0 = a free port (default: off).")
    Integer schemaRegistryPort;

    @Option(names = "--set", description = "Extra broker property, e.g. --set log.retention.hours=-1 (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--sasl-user", paramLabel = "NAME:PASSWORD", description = "Secure the client listener: "
            + "SASL_PLAINTEXT with this SCRAM-SHA-512 user (repeatable); ACLs are then enforced, so give each user "
            + "an --acl. Writes <dir>/client-NAME.properties for SALSA_KAFKA_CONFIG / --kafka-config.")
    List<String> saslUsers = new ArrayList<>();

    @Option(names = "--acl", paramLabel = "USER:PREFIX", description = "Allow USER every operation on the topics, "
            + "consumer groups and transactional ids whose names start with PREFIX (a deployment's "
            + "--topic-prefix; '*' = all) (repeatable; needs --sasl-user).")
    List<String> acls = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            return refuse("--port must be between 0 and 65535, got " + port);
        }
        if (schemaRegistryPort != null && (schemaRegistryPort < 0 || schemaRegistryPort > 65535)) {
            return refuse("--schema-registry-port must be between 0 and 65535, got "
                    + schemaRegistryPort);
        }
        BrokerSecurity security = null;
        try {
            if (!acls.isEmpty() && saslUsers.isEmpty()) {
                throw new IllegalArgumentException("--acl needs --sasl-user: ACLs are enforced only on the SASL "
                        + "listener");
            }
            if (!saslUsers.isEmpty()) {
                security = BrokerSecurity.parse(saslUsers, acls);
            }
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        long t0 = System.nanoTime();
        BrokerService broker = new BrokerService(EmbeddedKafkaBroker.start(dir, port, overrides, security));
        if (schemaRegistryPort != null) {
            try {
                broker.serveRegistry(System.getenv().getOrDefault(KafkaSettings.PREFIX_ENV, ""), schemaRegistryPort);
            } catch (Exception e) {
                broker.close();
                throw e;
            }
        }
        System.out.printf("Kafka broker ready in %.1f s%nbootstrap.servers=%s%n%sdata: %s%n",
                (System.nanoTime() - t0) / 1e9, broker.broker.bootstrapServers(), broker.view == null ? ""
                        : "schema.registry.url=" + broker.view.url() + System.lineSeparator(), dir.toAbsolutePath());
        if (security != null) {
            for (Path file : writeClientConfigs(dir, broker.broker.bootstrapServers(), security)) {
                System.out.printf("client config: %s%n", file.toAbsolutePath());
            }
            System.out.printf("SASL_PLAINTEXT (%s) with ACLs %s; e.g. SALSA_KAFKA_CONFIG=<a client config above>%n",
                    BrokerSecurity.MECHANISM, security.grants());
        }
        System.out.printf("Press Ctrl-C to stop.%n");
        System.out.flush();
        ServiceRunner.runUntilStopped(broker);
        return 0;
    }

    /**
     * Writes {@code client-<user>.properties} (owner-readable only: it holds the password) for every user into
     * {@code dir}, the file a service takes as {@code SALSA_KAFKA_CONFIG}.
     */
    static List<Path> writeClientConfigs(Path dir, String bootstrapServers, BrokerSecurity security)
            throws IOException {
        List<Path> files = new ArrayList<>();
        for (Map.Entry<String, String> user : new TreeMap<>(security.users()).entrySet()) {
            Path file = dir.resolve("client-" + user.getKey() + ".properties");
            StringBuilder text = new StringBuilder("# written by salsa broker: log in as " + user.getKey()
                    + "\nbootstrap.servers=" + bootstrapServers + "\n");
            BrokerSecurity.clientProperties(user.getKey(), user.getValue())
                    .forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, text.toString(), StandardCharsets.UTF_8);
            files.add(file);
        }
        return files;
    }

    /** The started broker as a service, so Ctrl-C stops it through the one shutdown hook like every other command. */
    static final class BrokerService implements Service {
        private final EmbeddedKafkaBroker broker;
        private final CountDownLatch stopped = new CountDownLatch(1);
        private KafkaTopicSchemaRegistry registry;
        private ConfluentRestView view;

        BrokerService(EmbeddedKafkaBroker broker) {
            this.broker = broker;
        }

        /** Serves the embedded registry of the deployment with {@code topicPrefix} read-only on {@code port}. */
        void serveRegistry(String topicPrefix, int port) throws java.io.IOException {
            registry = KafkaTopicSchemaRegistry.open(KafkaSettings.embedded(broker.bootstrapServers(), topicPrefix));
            view = ConfluentRestView.start(registry, new InetSocketAddress("127.0.0.1", port));
        }

        /** The registry view's URL, or null when it is not served. */
        java.net.URI registryUrl() {
            return view == null ? null : view.url();
        }

        @Override
        public String name() {
            return "salsa-broker";
        }

        /** The broker serves on its own threads; this only waits for the stop. */
        @Override
        public void run() throws InterruptedException {
            stopped.await();
        }

        @Override
        public void stop() {
            stopped.countDown();
        }

        @Override
        public Health health() {
            return stopped.getCount() == 0 ? Health.down("stopped")
                    : Health.up("bootstrap.servers=" + broker.bootstrapServers());
        }

        /** Shuts the broker down cleanly (its log is flushed, so the next start reuses the data). */
        @Override
        public void close() {
            stop();
            if (view != null) {
                view.close();
            }
            if (registry != null) {
                registry.close();
            }
            broker.close();
        }
    }
}
