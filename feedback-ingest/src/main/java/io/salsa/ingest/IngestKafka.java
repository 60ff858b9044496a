package io.salsa.ingest;

import io.salsa.events.Preference;
import io.salsa.events.PreferenceResponse;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The Kafka side of feedback-ingest, all taken from the shared catalog and settings: topic names, the
 * registry-backed serdes, and producer settings tightened so that a dead broker is noticed in seconds rather
 * than minutes.
 */
public final class IngestKafka {

    private final KafkaSettings settings;
    private volatile RegistryAvroSerde<Preference> preferenceSerde;

    /** Touches nothing yet: the registry (a topic of this Kafka by default) is opened on first use. */
    public IngestKafka(KafkaSettings settings) {
        this.settings = settings;
    }

    private RegistryAvroSerde<Preference> preferenceSerde() {
        RegistryAvroSerde<Preference> serde = preferenceSerde;
        if (serde == null) {
            serde = settings.valueSerde(Topics.FEEDBACK);
            preferenceSerde = serde;
        }
        return serde;
    }

    /** The settings every reader of these topics opens its {@code KafkaLog} with. */
    public KafkaSettings settings() {
        return settings;
    }

    public String feedbackTopic() {
        return settings.topic(Topics.FEEDBACK);
    }

    public String rolloutsTopic() {
        return settings.topic(Topics.ROLLOUTS);
    }

    /**
     * Creates the two topics if missing and registers the Preference schema now, while Kafka is known to be up,
     * so the first answer does not pay for (or fail on) a registry write.
     */
    void ensureTopics() {
        TopicAdmin.ensureTopics(settings, List.of(Topics.FEEDBACK, Topics.ROLLOUTS, Topics.PROMPTS));
        preferenceSerde().serializer().serialize(feedbackTopic(), schemaProbe());
    }

    /** Whether a broker answers a metadata request within about a second (for the health re-check). */
    boolean brokerReachable() {
        Properties p = settings.adminProps();
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "1000");
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "1500");
        try (Admin admin = Admin.create(p)) {
            return !admin.describeCluster().nodes().get(1500, TimeUnit.MILLISECONDS).isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

    /** acks=all and idempotence come from the shared settings; the timeouts bound how long a send may hang. */
    Producer<String, Preference> newProducer(IngestConfig config) {
        Properties p = settings.producerProps();
        p.setProperty(ProducerConfig.CLIENT_ID_CONFIG, "feedback-ingest-" + UUID.randomUUID());
        p.setProperty(ProducerConfig.LINGER_MS_CONFIG, Integer.toString(config.lingerMs()));
        p.setProperty(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(IngestConfig.REQUEST_TIMEOUT_MS));
        p.setProperty(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(config.deliveryTimeout().toMillis()));
        p.setProperty(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(config.maxBlock().toMillis()));
        p.setProperty(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
        p.setProperty(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "500");
        return new KafkaProducer<>(p, settings.keySerde().serializer(), preferenceSerde().serializer());
    }

    private static Preference schemaProbe() {
        return Preference.newBuilder().setPreferenceId("-").setIdempotencyKey("-").setPromptId("-")
                .setPromptText("").setRaterId("-")
                .setResponseA(PreferenceResponse.newBuilder().setText("").build())
                .setSubmittedAtMs(0).build();
    }
}
