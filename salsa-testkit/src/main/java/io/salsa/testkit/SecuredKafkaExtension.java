package io.salsa.testkit;

import io.salsa.broker.BrokerSecurity;
import io.salsa.broker.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives tests a {@link SecuredTestKafka} parameter: a single-node KRaft broker in this JVM whose only client
 * listener is SASL_PLAINTEXT (SCRAM-SHA-512) with KRaft's StandardAuthorizer, one for every test class of a run.
 * Always in-process (an external cluster's or a container's users and ACLs are not ours to change); the plain
 * {@link KafkaExtension} is unaffected.
 */
public final class SecuredKafkaExtension implements ParameterResolver {

    private static final Logger LOG = LoggerFactory.getLogger(SecuredKafkaExtension.class);
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SecuredKafkaExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == SecuredTestKafka.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return extensionContext.getRoot().getStore(NS)
                .getOrComputeIfAbsent("secured-kafka", k -> start(), Secured.class);
    }

    private static Secured start() {
        try {
            Path dir = Files.createTempDirectory("salsa-test-secured-kafka");
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir, 0, Map.of(),
                    new BrokerSecurity(Map.of(), List.of()));
            LOG.info("Tests use an in-process SASL/SCRAM + ACL broker at {}", broker.bootstrapServers());
            return new Secured(broker, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Closed by JUnit at the end of the test run. */
    private static final class Secured implements SecuredTestKafka, ExtensionContext.Store.CloseableResource {
        private final EmbeddedKafkaBroker broker;
        private final Path dir;

        Secured(EmbeddedKafkaBroker broker, Path dir) {
            this.broker = broker;
            this.dir = dir;
        }

        @Override
        public String bootstrapServers() {
            return broker.bootstrapServers();
        }

        @Override
        public Kind kind() {
            return Kind.IN_PROCESS;
        }

        @Override
        public synchronized Map<String, String> user(String name, String password, String prefix) {
            broker.addUser(name, password);
            if (prefix != null) {
                broker.grant(new BrokerSecurity.Grant(name, prefix));
            }
            return login(name, password);
        }

        @Override
        public Map<String, String> login(String name, String password) {
            return BrokerSecurity.clientProperties(name, password);
        }

        @Override
        public void close() {
            broker.close();
            KafkaExtension.deleteRecursively(dir);
        }
    }
}
