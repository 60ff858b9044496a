package io.salsa.testkit;

import io.salsa.broker.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Gives tests a real Kafka broker as a {@link TestKafka} parameter: an external cluster when
 * {@code SALSA_KAFKA_BOOTSTRAP} is set, Testcontainers' Kafka when a Docker engine answers, otherwise a
 * single-node KRaft broker started in this JVM. One broker serves every test class of a test run. A
 * {@link SecuredTestKafka} parameter gets another one, always in this JVM, that requires SASL/SCRAM and enforces
 * ACLs (see {@link SecuredKafka}).
 *
 * <p>Tests must not depend on being alone on the broker: they use their own topic names or prefixes.
 */
public final class KafkaExtension implements ParameterResolver {

    public static final String BOOTSTRAP_ENV = "SALSA_KAFKA_BOOTSTRAP";
    static final String KAFKA_IMAGE = "apache/kafka:4.1.1";
    private static final Logger LOG = LoggerFactory.getLogger(KafkaExtension.class);
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(KafkaExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return type == TestKafka.class || type == SecuredTestKafka.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        ExtensionContext.Store store = extensionContext.getRoot().getStore(NS);
        if (parameterContext.getParameter().getType() == SecuredTestKafka.class) {
            return store.getOrComputeIfAbsent("secured-kafka", k -> SecuredKafka.start(), SecuredKafka.class);
        }
        return store.getOrComputeIfAbsent("kafka", k -> startKafka(), Holder.class).kafka;
    }

    private static Holder startKafka() {
        String external = System.getenv(BOOTSTRAP_ENV);
        if (external != null && !external.isBlank()) {
            LOG.info("Tests use the external Kafka at {}", external);
            return new Holder(new Fixed(external, TestKafka.Kind.EXTERNAL), () -> { });
        }
        if (dockerAvailable()) {
            KafkaContainer container = new KafkaContainer(KAFKA_IMAGE);
            container.start();
            LOG.info("Tests use Testcontainers' Kafka at {}", container.getBootstrapServers());
            return new Holder(new Fixed(container.getBootstrapServers(), TestKafka.Kind.TESTCONTAINERS),
                    container::stop);
        }
        try {
            Path dir = Files.createTempDirectory("salsa-test-kafka");
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir);
            LOG.info("Tests use an in-process KRaft broker at {}", broker.bootstrapServers());
            return new Holder(new Fixed(broker.bootstrapServers(), TestKafka.Kind.IN_PROCESS), () -> {
                broker.close();
                deleteRecursively(dir);
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", dir, e.toString());
        }
    }

    private record Fixed(String bootstrapServers, Kind kind) implements TestKafka { }

    /** Closed by JUnit when the root context closes, i.e. at the end of the test run. */
    private static final class Holder implements ExtensionContext.Store.CloseableResource {
        final TestKafka kafka;
        final Runnable stop;

        Holder(TestKafka kafka, Runnable stop) {
            this.kafka = kafka;
            this.stop = stop;
        }

        @Override
        public void close() {
            stop.run();
        }
    }
}
