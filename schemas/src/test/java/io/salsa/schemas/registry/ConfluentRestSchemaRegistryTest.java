package io.salsa.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.SampleEvents;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class ConfluentRestSchemaRegistryTest {

    @Test
    void shouldSpeakTheConfluentRestApi(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "rest-" + UUID.randomUUID() + ".");
        Schema v1 = Things.V1;
        Schema v2 = Things.V2;
        Schema broken = Things.INCOMPATIBLE;
        try (KafkaTopicSchemaRegistry backend = KafkaTopicSchemaRegistry.open(s);
             ConfluentApiTestServer server = new ConfluentApiTestServer(backend);
             ConfluentRestSchemaRegistry client = new ConfluentRestSchemaRegistry(server.url())) {
            String subject = "my topic/x-value"; // needs escaping in the path
            assertTrue(client.latest(subject).isEmpty());
            assertTrue(client.isCompatible(subject, v1), "a new subject accepts anything");

            int id1 = client.register(subject, v1);
            assertEquals(id1, client.register(subject, v1));
            assertTrue(client.isCompatible(subject, v2));
            assertFalse(client.isCompatible(subject, broken));
            int id2 = client.register(subject, v2);
            IncompatibleSchemaException e = assertThrows(IncompatibleSchemaException.class,
                    () -> client.register(subject, broken));
            assertTrue(e.getMessage().contains(subject), e.getMessage());

            RegisteredSchema latest = client.latest(subject).orElseThrow();
            assertEquals(2, latest.version());
            assertEquals(id2, latest.id());
            assertEquals(v2, latest.schema());
            assertEquals(v1, backend.getById(id1), "the ids are the backend's ids");
            try (ConfluentRestSchemaRegistry fresh = new ConfluentRestSchemaRegistry(server.url())) {
                assertEquals(v1, fresh.getById(id1));
                SchemaNotFoundException missing = assertThrows(SchemaNotFoundException.class,
                        () -> fresh.getById(id2 + 500));
                assertEquals(id2 + 500, missing.id());
            }
            assertTrue(server.requests.contains("POST /subjects/my%20topic%2Fx-value/versions"), server.requests.toString());
            assertTrue(server.requests.contains("POST /compatibility/subjects/my%20topic%2Fx-value/versions/latest"));
            assertTrue(server.requests.contains("GET /schemas/ids/" + id1));
        }
    }

    @Test
    void shouldServeTheSerdeThroughTheRestApi(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "rest-" + UUID.randomUUID() + ".");
        try (KafkaTopicSchemaRegistry backend = KafkaTopicSchemaRegistry.open(s);
             ConfluentApiTestServer server = new ConfluentApiTestServer(backend)) {
            KafkaSettings viaRest = new KafkaSettings(s.bootstrapServers(), s.topicPrefix(), server.url().toString());
            try {
                RegistryAvroSerde<Rollout> rest = viaRest.valueSerde(io.salsa.schemas.Topics.ROLLOUTS);
                RegistryAvroSerde<Rollout> direct = new RegistryAvroSerde<>(backend, Rollout.class);
                Rollout r = SampleEvents.rollout(32);
                byte[] bytes = rest.serialize("t", r);
                assertEquals(r, direct.deserialize("t", bytes), "written via REST, read from the topic registry");
                assertEquals(r, rest.deserialize("t", direct.serialize("t", r)));
            } finally {
                viaRest.closeRegistry();
            }
        }
    }

    @Test
    void shouldSayWhichRegistryItCannotReach() {
        ConfluentRestSchemaRegistry client =
                new ConfluentRestSchemaRegistry(URI.create("http://127.0.0.1:9"), Duration.ofMillis(500));
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.getById(1));
        assertTrue(e.getMessage().contains("cannot reach the schema registry at http://127.0.0.1:9/"), e.getMessage());
    }
}
