package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaErrors.KafkaAccessException;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.SecuredTestKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client side of a secured cluster against a real SASL/SCRAM + ACL broker: with the right credentials and
 * grants, producers, consumers, the admin client and the topic-backed schema registry all work through
 * {@link KafkaSettings}; a wrong password or a missing ACL fails at once with a message naming the principal
 * (and the topic), not a hang.
 */
@ExtendWith(KafkaExtension.class)
class SecuredKafkaTest {

    @TempDir
    Path dir;

    private static String unique(String name) {
        return name + System.nanoTime();
    }

    /** Settings as a service builds them: a client.properties file named by SALSA_KAFKA_CONFIG. */
    private KafkaSettings settings(SecuredTestKafka kafka, String prefix, Map<String, String> login)
            throws IOException {
        Path file = Files.createTempFile(dir, "client", ".properties");
        StringBuilder text = new StringBuilder();
        login.forEach((k, v) -> text.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        Files.writeString(file, text);
        return KafkaSettings.fromEnv(Map.of(KafkaSettings.BOOTSTRAP_ENV, kafka.bootstrapServers(),
                KafkaSettings.PREFIX_ENV, prefix, KafkaClientConfig.CONFIG_ENV, file.toString()));
    }

    @Test
    void shouldProduceConsumeAndRegisterSchemasWithTheRightCredentials(SecuredTestKafka kafka) throws Exception {
        String prefix = unique("sec") + ".";
        String user = unique("alice");
        KafkaSettings s = settings(kafka, prefix, kafka.user(user, "alice-pw", prefix));
        try {
            TopicAdmin.ensureTopics(s, List.of(Topics.ROLLOUTS));
            RegistryAvroSerde<Rollout> serde = s.valueSerde(Topics.ROLLOUTS); // the registry's topic and writer
            String topic = s.topic(Topics.ROLLOUTS);
            try (KafkaProducer<String, Rollout> p = new KafkaProducer<>(s.producerProps(), s.keySerde().serializer(),
                    serde.serializer())) {
                for (int i = 0; i < 3; i++) {
                    p.send(new ProducerRecord<>(topic, "k" + i, SampleEvents.rollout(4 + i))).get();
                }
            }
            List<Rollout> read = new ArrayList<>();
            try (KafkaConsumer<String, Rollout> c = new KafkaConsumer<>(s.consumerProps("reader"),
                    s.keySerde().deserializer(), serde.deserializer())) {
                c.subscribe(List.of(topic));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (read.size() < 3 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, Rollout> r : c.poll(Duration.ofMillis(200))) {
                        read.add(r.value());
                    }
                }
                c.commitSync();
            }
            assertEquals(List.of(4, 5, 6), read.stream().map(r -> r.getResponseTokenIds().size()).sorted().toList());
            try (Admin admin = Admin.create(s.adminProps())) {
                long committed = admin.listConsumerGroupOffsets(prefix + "reader").partitionsToOffsetAndMetadata()
                        .get().values().stream().mapToLong(o -> o.offset()).sum();
                assertEquals(3, committed, "the group, named with the deployment's prefix, committed its reads");
            }
        } finally {
            s.closeRegistry();
        }
    }

    @Test
    void shouldNameThePrincipalAtOnceWhenThePasswordIsWrong(SecuredTestKafka kafka) throws Exception {
        String prefix = unique("wrongpw") + ".";
        String user = unique("carol");
        kafka.user(user, "right-pw", prefix);
        Map<String, String> env = new HashMap<>(Map.of(KafkaSettings.BOOTSTRAP_ENV, kafka.bootstrapServers(),
                KafkaSettings.PREFIX_ENV, prefix));
        kafka.login(user, "wrong-pw").forEach((k, v) -> env.put(KafkaClientConfig.variableName(k), v));
        KafkaSettings s = KafkaSettings.fromEnv(env);

        KafkaAccessException e = assertThrows(KafkaAccessException.class,
                () -> TopicAdmin.ensureTopics(s, List.of(Topics.ROLLOUTS)));
        assertTrue(e.getMessage().contains("User:" + user) && e.getMessage().contains("refused to authenticate")
                && e.getMessage().contains("SALSA_KAFKA_SASL_JAAS_CONFIG"), e.getMessage());
        assertInstanceOf(SaslAuthenticationException.class, e.getCause());

        SaslAuthenticationException raw;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(s.groupLessConsumerProps(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            c.assign(List.of(new TopicPartition(s.topic(Topics.ROLLOUTS), 0)));
            raw = assertThrows(SaslAuthenticationException.class, () -> c.poll(Duration.ofSeconds(30)),
                    "a consumer fails instead of polling on");
        }
        assertTrue(KafkaErrors.explain(raw, s, List.of()).orElseThrow().contains("User:" + user));
    }

    @Test
    void shouldNameThePrincipalAndTheTopicWhenAnAclIsMissing(SecuredTestKafka kafka) throws Exception {
        String ownPrefix = unique("own") + ".";
        String otherPrefix = unique("other") + ".";
        String owner = unique("dave");
        String intruder = unique("erin");
        KafkaSettings ownerSettings = settings(kafka, otherPrefix, kafka.user(owner, "dave-pw", otherPrefix));
        TopicAdmin.ensureTopics(ownerSettings, List.of(Topics.ROLLOUTS));
        Map<String, String> intruderLogin = kafka.user(intruder, "erin-pw", ownPrefix);

        // a deployment whose prefix the user has no grant for: refused when the service ensures its topics
        KafkaSettings wrongPrefix = settings(kafka, otherPrefix, intruderLogin);
        KafkaAccessException e = assertThrows(KafkaAccessException.class,
                () -> TopicAdmin.ensureTopics(wrongPrefix, List.of(Topics.FEEDBACK)));
        assertTrue(e.getMessage().contains("User:" + intruder) && e.getMessage().contains(otherPrefix + "feedback")
                && e.getMessage().contains("--resource-pattern-type prefixed"), e.getMessage());

        // writing to an existing topic of another deployment: refused with the topic named
        String foreign = ownerSettings.topic(Topics.ROLLOUTS);
        KafkaSettings own = settings(kafka, ownPrefix, intruderLogin);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(own.producerProps(), own.keySerde().serializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            ExecutionException sent = assertThrows(ExecutionException.class,
                    () -> p.send(new ProducerRecord<>(foreign, "k", new byte[] {1})).get());
            assertInstanceOf(TopicAuthorizationException.class, sent.getCause());
            String why = KafkaErrors.explain(sent, own, List.of()).orElseThrow();
            assertTrue(why.contains("User:" + intruder) && why.contains(foreign), why);
        }
    }

    @Test
    void shouldHintAtTheSecurityProtocolWhenAPlaintextClientTimesOutOnASaslListener(SecuredTestKafka kafka) {
        KafkaSettings plain = KafkaSettings.fromEnv(Map.of(KafkaSettings.BOOTSTRAP_ENV, kafka.bootstrapServers(),
                KafkaSettings.PREFIX_ENV, unique("plain") + ".", "SALSA_KAFKA_DEFAULT_API_TIMEOUT_MS", "3000",
                "SALSA_KAFKA_REQUEST_TIMEOUT_MS", "2000"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TopicAdmin.ensureTopics(plain, List.of(Topics.ROLLOUTS)));
        assertTrue(e.getMessage().contains("connects with PLAINTEXT") && e.getMessage().contains("SALSA_KAFKA_CONFIG"),
                e.getMessage());
    }
}
