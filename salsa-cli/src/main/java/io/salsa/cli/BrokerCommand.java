package io.salsa.cli;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.registry.ConfluentRestView;
import io.salsa.schemas.registry.KafkaTopicSchemaRegistry;
import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.runtime.service.ServiceRunner;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa broker}: a real single-node Kafka broker for one machine, until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Start a single-node KRaft Kafka broker (no Docker); its data survives restarts.")
public final class BrokerCommand implements Callable<Integer>, SalsaSubcommand {

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

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            System.err.println("salsa broker: --port must be between 0 and 65535, got " + port);
            return 2;
        }
        if (schemaRegistryPort != null && (schemaRegistryPort < 0 || schemaRegistryPort > 65535)) {
            System.err.println("salsa broker: --schema-registry-port must be between 0 and 65535, got "
                    + schemaRegistryPort);
            return 2;
        }
        long t0 = System.nanoTime();
        BrokerService broker = new BrokerService(EmbeddedKafkaBroker.start(dir, port, overrides));
        if (schemaRegistryPort != null) {
            try {
                broker.serveRegistry(System.getenv().getOrDefault(KafkaSettings.PREFIX_ENV, ""), schemaRegistryPort);
            } catch (Exception e) {
                broker.close();
                throw e;
            }
        }
        System.out.printf("Kafka broker ready in %.1f s%nbootstrap.servers=%s%n%sdata: %s%nPress Ctrl-C to stop.%n",
                (System.nanoTime() - t0) / 1e9, broker.broker.bootstrapServers(), broker.view == null ? ""
                        : "schema.registry.url=" + broker.view.url() + System.lineSeparator(), dir.toAbsolutePath());
        System.out.flush();
        ServiceRunner.runUntilStopped(broker);
        return 0;
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
