package io.salsa.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecuredBrokerTest {

    @TempDir
    Path dir;

    private static Admin admin(EmbeddedKafkaBroker broker, Map<String, String> login) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", broker.bootstrapServers());
        p.setProperty("request.timeout.ms", "5000");
        p.setProperty("default.api.timeout.ms", "20000");
        p.putAll(login);
        return Admin.create(p);
    }

    @Test
    void shouldAuthenticateScramUsersAndEnforceTheirGrants() throws Exception {
        BrokerSecurity security = BrokerSecurity.parse(List.of("alice:alice-secret", "bob:bob-secret"),
                List.of("alice:team-a."));
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir, 0, Map.of(), security)) {
            assertTrue(broker.secured());
            try (Admin alice = admin(broker, BrokerSecurity.clientProperties("alice", "alice-secret"))) {
                alice.createTopics(List.of(new NewTopic("team-a.events", 1, (short) 1))).all().get();
                assertEquals(Set.of("team-a.events"), alice.listTopics().names().get());
                ExecutionException e = assertThrows(ExecutionException.class, () -> alice.createTopics(
                        List.of(new NewTopic("team-b.events", 1, (short) 1))).all().get());
                assertInstanceOf(TopicAuthorizationException.class, e.getCause());
            }
            try (Admin bob = admin(broker, BrokerSecurity.clientProperties("bob", "bob-secret"))) {
                assertEquals(Set.of(), bob.listTopics().names().get(), "bob may not even see alice's topic");
            }
            try (Admin wrong = admin(broker, BrokerSecurity.clientProperties("alice", "guess"))) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> wrong.listTopics().names().get());
                assertInstanceOf(SaslAuthenticationException.class, e.getCause());
            }
            try (Admin anonymous = admin(broker, Map.of("request.timeout.ms", "3000",
                    "default.api.timeout.ms", "5000"))) {
                assertThrows(ExecutionException.class, () -> anonymous.listTopics().names().get(),
                        "a plaintext client gets nowhere");
            }
        }
    }

    @Test
    void shouldRefuseBadSpecsNamingTheFlag() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BrokerSecurity.parse(List.of("alice"), List.of()));
        assertTrue(e.getMessage().contains("--sasl-user") && e.getMessage().contains("NAME:PASSWORD"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BrokerSecurity.parse(List.of("alice:pw"), List.of("carol:x.")));
        assertTrue(e.getMessage().contains("--acl") && e.getMessage().contains("carol"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BrokerSecurity.parse(List.of("alice:pw"), List.of("alice")));
        assertTrue(e.getMessage().contains("USER:PREFIX"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BrokerSecurity.parse(List.of("salsa-broker:pw"), List.of()));
        assertTrue(e.getMessage().contains("broker's own user"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BrokerSecurity.parse(List.of("alice:p\"w"), List.of()));
        assertTrue(e.getMessage().contains("alice"), e.getMessage());
    }
}
