package io.salsa.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Basic and bearer auth of the REST client, against the Confluent-API test server demanding the header. */
class RegistryAuthTest {

    @Test
    void shouldSendBasicAuthFromTheUserInfoVariableOrTheUrl() throws Exception {
        try (InMemorySchemaRegistry backend = new InMemorySchemaRegistry();
             ConfluentApiTestServer server = new ConfluentApiTestServer(backend)) {
            server.requiredAuthorization = ConfluentRestSchemaRegistry.basic("reader", "p:ss");
            try (var client = ConfluentRestSchemaRegistry.fromEnv(server.url(),
                    Map.of(ConfluentRestSchemaRegistry.USER_INFO_ENV, "reader:p:ss"))) {
                int id = client.register("things-value", Things.V1);
                assertEquals(Things.V1, client.getById(id));
                assertFalse(client.toString().contains("p:ss"), client.toString());
            }
            URI withUser = URI.create("http://reader:p%3Ass@" + server.url().getAuthority());
            try (var client = ConfluentRestSchemaRegistry.fromEnv(withUser, Map.of())) {
                assertTrue(client.latest("things-value").isPresent(), "user:password@ in the URL works too");
            }
            try (var wrong = ConfluentRestSchemaRegistry.fromEnv(server.url(),
                    Map.of(ConfluentRestSchemaRegistry.USER_INFO_ENV, "reader:nope"))) {
                SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                        () -> wrong.latest("things-value"));
                assertTrue(e.getMessage().contains("HTTP 401") && e.getMessage().contains(server.url().toString())
                        && e.getMessage().contains(ConfluentRestSchemaRegistry.USER_INFO_ENV), e.getMessage());
            }
        }
    }

    @Test
    void shouldSendABearerToken() throws Exception {
        try (InMemorySchemaRegistry backend = new InMemorySchemaRegistry();
             ConfluentApiTestServer server = new ConfluentApiTestServer(backend)) {
            server.requiredAuthorization = "Bearer tok-123";
            try (var client = ConfluentRestSchemaRegistry.fromEnv(server.url(),
                    Map.of(ConfluentRestSchemaRegistry.BEARER_TOKEN_ENV, "tok-123"))) {
                assertEquals(Things.V1, client.getById(client.register("things-value", Things.V1)));
            }
            try (var none = ConfluentRestSchemaRegistry.fromEnv(server.url(), Map.of())) {
                assertThrows(SchemaRegistryException.class, () -> none.latest("things-value"));
            }
        }
    }

    @Test
    void shouldRefuseAmbiguousOrMalformedCredentials() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConfluentRestSchemaRegistry.fromEnv(URI.create("http://r:8081"), Map.of(
                        ConfluentRestSchemaRegistry.USER_INFO_ENV, "a:b",
                        ConfluentRestSchemaRegistry.BEARER_TOKEN_ENV, "t")));
        assertTrue(e.getMessage().contains("more than once"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConfluentRestSchemaRegistry.fromEnv(
                URI.create("http://r:8081"), Map.of(ConfluentRestSchemaRegistry.USER_INFO_ENV, "just-a-user")));
        assertTrue(e.getMessage().contains(ConfluentRestSchemaRegistry.USER_INFO_ENV + " must be user:password"),
                e.getMessage());
    }
}
