package io.salsa.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.SampleEvents;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The read-only Confluent REST view of the embedded registry, asked over plain HTTP as a third-party tool would:
 * Confluent's paths, JSON shapes and error codes, and a record our producer wrote to Kafka decoded with nothing
 * but the bytes, the schema the view serves for the record's id, and Avro's generic reader.
 */
@ExtendWith(KafkaExtension.class)
class ConfluentRestViewTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void shouldServeTheEmbeddedRegistryWithConfluentShapesAndErrorCodes(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "view-" + UUID.randomUUID() + ".");
        Schema v1 = Things.V1;
        Schema v2 = Things.V2;
        try (KafkaTopicSchemaRegistry registry = KafkaTopicSchemaRegistry.open(s);
             ConfluentRestView view = ConfluentRestView.start(registry, new InetSocketAddress("127.0.0.1", 0))) {
            int id1 = registry.register("things-value", v1);
            int id2 = registry.register("things-value", v2);
            int other = registry.register("a b/c-value", v1);
            assertEquals(id1, other, "one schema, one id, in two subjects");

            assertEquals("[\"a b/c-value\",\"things-value\"]", get(view, "/subjects").body);
            assertEquals("[1,2]", get(view, "/subjects/things-value/versions").body);
            JsonNode latest = get(view, "/subjects/things-value/versions/latest").json();
            assertEquals("things-value", latest.get("subject").asText());
            assertEquals(2, latest.get("version").asInt());
            assertEquals(id2, latest.get("id").asInt());
            assertEquals(v2, new Schema.Parser().parse(latest.get("schema").asText()));
            assertEquals(id1, get(view, "/subjects/a%20b%2Fc-value/versions/1").json().get("id").asInt());
            assertEquals(v1, new Schema.Parser().parse(get(view, "/schemas/ids/" + id1).json().get("schema").asText()));
            assertEquals(v2, new Schema.Parser().parse(get(view, "/schemas/ids/" + id2 + "/schema").body));
            assertEquals(v1, new Schema.Parser().parse(get(view, "/subjects/things-value/versions/1/schema").body));

            assertError(get(view, "/subjects/nothing-value/versions"), 404, 40401);
            assertError(get(view, "/subjects/nothing-value/versions/1"), 404, 40401);
            assertError(get(view, "/subjects/things-value/versions/3"), 404, 40402);
            assertError(get(view, "/subjects/things-value/versions/first"), 422, 42202);
            assertError(get(view, "/schemas/ids/" + (id2 + 100)), 404, 40403);
            assertError(get(view, "/no/such/endpoint"), 404, 404);
            Reply post = send(view, HttpRequest.newBuilder(view.url().resolve("/subjects/x-value/versions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"schema\":\"\\\"string\\\"\"}")));
            assertError(post, 405, 405);
            assertEquals(List.of("a b/c-value", "things-value"), registry.subjects(), "nothing was registered");

            // our own REST client, pointed at the view, reads what the topic holds
            try (ConfluentRestSchemaRegistry client = new ConfluentRestSchemaRegistry(view.url())) {
                assertEquals(v2, client.getById(id2));
                assertEquals(id2, client.latest("things-value").orElseThrow().id());
            }
        }
    }

    @Test
    void shouldLetAThirdPartyDecodeWhatOurProducerWrote(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "view-" + UUID.randomUUID() + ".");
        String topic = s.topic(Topics.ROLLOUTS);
        Rollout rollout = SampleEvents.rollout(64);
        TopicAdmin.ensureTopics(s, List.of(Topics.ROLLOUTS));
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(s.producerProps(),
                s.keySerde().serializer(), s.valueSerde(Topics.ROLLOUTS).serializer())) {
            producer.send(new ProducerRecord<>(topic, "k", rollout)).get();
        }
        byte[] bytes = readOne(s, topic);
        try (ConfluentRestView view = ConfluentRestView.start((SchemaCatalog) s.registry(),
                new InetSocketAddress("127.0.0.1", 0))) {
            assertEquals(0, bytes[0], "Confluent's magic byte");
            int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
            Schema writer = new Schema.Parser().parse(get(view, "/schemas/ids/" + id).json().get("schema").asText());
            BinaryDecoder in = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);
            GenericRecord decoded = new GenericDatumReader<GenericRecord>(writer).read(null, in);
            assertTrue(in.isEnd(), "nothing left over after the record");
            assertEquals(rollout.toString(), decoded.toString(), "the generic decoding shows the same record");
            assertEquals(List.of(1), JSON.readValue(get(view, "/subjects/" + topic + "-value/versions").body,
                    List.class), "the topic's subject is served");
        } finally {
            s.closeRegistry();
        }
    }

    private static byte[] readOne(KafkaSettings s, String topic) {
        Properties p = s.consumerProps("view-test-" + UUID.randomUUID());
        p.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    return r.value();
                }
            }
        }
        throw new AssertionError("no record on " + topic + " within 60 s");
    }

    private record Reply(int status, String body) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    private Reply get(ConfluentRestView view, String path) throws Exception {
        return send(view, HttpRequest.newBuilder(view.url().resolve(path)).GET());
    }

    private Reply send(ConfluentRestView view, HttpRequest.Builder request) throws Exception {
        HttpResponse<String> r = http.send(request.header("Accept", ConfluentRestSchemaRegistry.CONTENT_TYPE).build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body());
    }

    private static void assertError(Reply reply, int status, int code) throws IOException {
        assertEquals(status, reply.status(), reply.body());
        assertEquals(code, reply.json().get("error_code").asInt(), reply.body());
        assertTrue(reply.json().get("message").asText().length() > 0);
    }
}
