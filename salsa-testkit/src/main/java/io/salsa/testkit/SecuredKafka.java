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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SecuredTestKafka} of {@link KafkaExtension}: a single-node KRaft broker in this JVM whose only client
 * listener is SASL_PLAINTEXT (SCRAM-SHA-512) with KRaft's StandardAuthorizer. Always in-process: an external
 * cluster's or a container's users and ACLs are not the tests' to change. Closed by JUnit at the end of the run.
 */
final class SecuredKafka implements SecuredTestKafka, ExtensionContext.Store.CloseableResource, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SecuredKafka.class);

    private final EmbeddedKafkaBroker broker;
    private final Path dir;

    private SecuredKafka(EmbeddedKafkaBroker broker, Path dir) {
        this.broker = broker;
        this.dir = dir;
    }

    static SecuredKafka start() {
        try {
            Path dir = Files.createTempDirectory("salsa-test-secured-kafka");
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir, 0, Map.of(),
                    new BrokerSecurity(Map.of(), List.of()));
            LOG.info("Tests use an in-process SASL/SCRAM + ACL broker at {}", broker.bootstrapServers());
            return new SecuredKafka(broker, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
