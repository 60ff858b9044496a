package io.salsa.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apicurio.registry.resolver.client.RegistryArtifactReference;
import io.apicurio.registry.resolver.client.RegistryClientFacade;
import io.apicurio.registry.resolver.client.RegistryVersionCoordinates;
import io.apicurio.registry.resolver.strategy.ArtifactReference;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.SampleEvents;
import io.salsa.schemas.registry.ConfluentRestSchemaRegistry;
import io.salsa.schemas.registry.ConfluentRestView;
import io.salsa.schemas.registry.KafkaTopicSchemaRegistry;
import io.salsa.schemas.registry.RegisteredSchema;
import io.salsa.schemas.registry.SchemaRegistry;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.avro.Schema;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Interoperability with a registry serde nobody here wrote: Apicurio's Avro serde, in its Confluent-compatible
 * mode (magic byte + 4-byte content id in the payload, TopicIdStrategy = our subject naming), backed by our
 * Kafka-topic registry, decodes our bytes, and we decode its bytes.
 */
@ExtendWith(KafkaExtension.class)
class ApicurioInteropTest {

    private static Map<String, Object> confluentCompatibleConfig() {
        return Map.of(
                // register one self-contained schema (as Confluent's serde does), not one artifact per named type
                "apicurio.registry.dereference-schema", "true",
                // required by Apicurio's config even with a facade; never contacted
                "apicurio.registry.url", "http://apicurio.invalid/apis/registry/v3",
                "apicurio.registry.auto-register", "true",
                "apicurio.registry.artifact-resolver-strategy", "io.apicurio.registry.serde.strategy.TopicIdStrategy",
                "apicurio.registry.id-handler", "io.apicurio.registry.serde.Default4ByteIdHandler",
                "apicurio.registry.use-id", "contentId",
                "apicurio.registry.headers.enabled", "false",
                "apicurio.registry.use-specific-avro-reader", "true");
    }

    @Test
    void shouldDecodeEachOthersBytesBothWays(TestKafka kafka) {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "apicurio-" + UUID.randomUUID() + ".");
        try (KafkaTopicSchemaRegistry registry = KafkaTopicSchemaRegistry.open(s)) {
            OurRegistry writerSide = new OurRegistry(registry);
            OurRegistry readerSide = new OurRegistry(registry);
            AvroKafkaSerializer<ScoredRollout> theirSerializer = new AvroKafkaSerializer<>(writerSide);
            AvroKafkaDeserializer<Rollout> theirRolloutReader = new AvroKafkaDeserializer<>(readerSide);
            theirSerializer.configure(confluentCompatibleConfig(), false);
            theirRolloutReader.configure(confluentCompatibleConfig(), false);

            // ours → Apicurio
            RegistryAvroSerde<Rollout> ourRollouts = new RegistryAvroSerde<>(registry, Rollout.class);
            Rollout rollout = SampleEvents.rollout(256);
            byte[] ours = ourRollouts.serialize("rollouts", rollout);
            Object decoded = theirRolloutReader.deserialize("rollouts", new RecordHeaders(), ours);
            assertEquals(rollout, decoded, "Apicurio reads our wire format into the generated class");
            assertEquals(List.of("getSchemaByContentId"), readerSide.calls, "it looked our id up as a content id");

            // Apicurio → ours
            ScoredRollout scored = (ScoredRollout) SampleEvents.everyTopic().get(io.salsa.schemas.Topics.SCORED_ROLLOUTS);
            byte[] theirs = theirSerializer.serialize("scored", new RecordHeaders(), scored);
            int id = registry.latest("scored-value").orElseThrow().id();
            assertEquals(0, theirs[0], "magic byte");
            assertEquals(id, java.nio.ByteBuffer.wrap(theirs, 1, 4).getInt(), "Apicurio wrote our registry's id");
            RegistryAvroSerde<ScoredRollout> ourScored = new RegistryAvroSerde<>(registry, ScoredRollout.class);
            assertEquals(scored, ourScored.deserialize("scored", theirs));
            // and the bytes are the same bytes we would have written
            assertEquals(java.util.Arrays.toString(ourScored.serialize("scored", scored)),
                    java.util.Arrays.toString(theirs));
            assertEquals(List.of("createSchema"), writerSide.calls);
            theirSerializer.close();
            theirRolloutReader.close();
        }
    }

    /**
     * Apicurio's deserializer finding our schemas over HTTP in the read-only Confluent REST view of the embedded
     * registry (what {@code salsa broker --schema-registry-port} serves). Apicurio's serde 3.1 speaks only Apicurio's
     * own REST API when given a URL, so it is given a {@link RegistryClientFacade} whose lookups are
     * {@code GET /schemas/ids/{id}} requests to the view's URL.
     */
    @Test
    void shouldDecodeOurRecordsWithSchemasFetchedFromTheRestView(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "apicurio-" + UUID.randomUUID() + ".");
        try (KafkaTopicSchemaRegistry registry = KafkaTopicSchemaRegistry.open(s);
             ConfluentRestView view = ConfluentRestView.start(registry, new InetSocketAddress("127.0.0.1", 0));
             ConfluentRestSchemaRegistry overHttp = new ConfluentRestSchemaRegistry(view.url())) {
            Rollout rollout = SampleEvents.rollout(128);
            byte[] ours = new RegistryAvroSerde<>(registry, Rollout.class).serialize("rollouts", rollout);
            OurRegistry facade = new OurRegistry(overHttp);
            try (AvroKafkaDeserializer<Rollout> theirs = new AvroKafkaDeserializer<>(facade)) {
                Map<String, Object> config = new java.util.HashMap<>(confluentCompatibleConfig());
                config.put("apicurio.registry.url", view.url().toString());
                theirs.configure(config, false);
                assertEquals(rollout, theirs.deserialize("rollouts", new RecordHeaders(), ours));
            }
            assertEquals(List.of("getSchemaByContentId"), facade.calls);
        }
    }

    /**
     * Apicurio's registry-client port, answered by our registry: content id = global id = our schema id (as in
     * Apicurio's Confluent-compatible API), artifact id = our subject.
     */
    static final class OurRegistry implements RegistryClientFacade {

        private final SchemaRegistry registry;
        final List<String> calls = new CopyOnWriteArrayList<>();

        OurRegistry(SchemaRegistry registry) {
            this.registry = registry;
        }

        @Override
        public String getSchemaByContentId(Long contentId) {
            calls.add("getSchemaByContentId");
            return registry.getById(Math.toIntExact(contentId)).toString();
        }

        @Override
        public String getSchemaByGlobalId(long globalId, boolean dereferenced) {
            calls.add("getSchemaByGlobalId");
            return registry.getById(Math.toIntExact(globalId)).toString();
        }

        @Override
        public String getSchemaByGAV(String groupId, String artifactId, String version) {
            calls.add("getSchemaByGAV");
            return latest(artifactId, version).schema().toString();
        }

        @Override
        public String getSchemaByContentHash(String contentHash) {
            throw new UnsupportedOperationException("our registry has no content hashes");
        }

        @Override
        public List<RegistryArtifactReference> getReferencesByContentId(long contentId) {
            return List.of(); // our schemas are self-contained
        }

        @Override
        public List<RegistryArtifactReference> getReferencesByGlobalId(long globalId) {
            return List.of();
        }

        @Override
        public List<RegistryArtifactReference> getReferencesByGAV(String groupId, String artifactId, String version) {
            return List.of();
        }

        @Override
        public List<RegistryArtifactReference> getReferencesByContentHash(String contentHash) {
            return List.of();
        }

        @Override
        public List<RegistryVersionCoordinates> searchVersionsByContent(String schemaString, String artifactType,
                                                                        ArtifactReference reference,
                                                                        boolean canonical) {
            throw new UnsupportedOperationException("search by content: our port registers instead");
        }

        @Override
        public RegistryVersionCoordinates createSchema(String artifactType, String groupId, String artifactId,
                                                       String version, String autoCreateBehavior, boolean canonical,
                                                       String schemaString, Set<RegistryArtifactReference> references) {
            calls.add("createSchema");
            assertEquals("AVRO", artifactType);
            assertTrue(references.isEmpty());
            int id = registry.register(artifactId, new Schema.Parser().parse(schemaString));
            RegisteredSchema latest = registry.latest(artifactId).orElseThrow();
            return RegistryVersionCoordinates.create((long) id, (long) id, groupId, artifactId,
                    latest.id() == id ? Integer.toString(latest.version()) : null);
        }

        @Override
        public RegistryVersionCoordinates getVersionCoordinatesByGAV(String groupId, String artifactId,
                                                                     String version) {
            calls.add("getVersionCoordinatesByGAV");
            RegisteredSchema r = latest(artifactId, version);
            return RegistryVersionCoordinates.create((long) r.id(), (long) r.id(), groupId, artifactId,
                    Integer.toString(r.version()));
        }

        private RegisteredSchema latest(String subject, String version) {
            if (version != null && !version.equals("latest")
                    && !version.equals(registry.latest(subject).map(r -> Integer.toString(r.version())).orElse(""))) {
                throw new UnsupportedOperationException("our port serves only the latest version of " + subject);
            }
            return registry.latest(subject).orElseThrow(() -> new IllegalArgumentException("no subject " + subject));
        }

        @Override
        public Object getClient() {
            return registry;
        }
    }
}
