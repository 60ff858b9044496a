package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.SecuredTestKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rollout generator on a SASL/SCRAM + ACL broker, logged in through a {@code client.properties} as a user whose
 * only grant is its deployment's prefix: its prompt consumer group, its producer, the registry, the learner-lag
 * admin client and the background readers (weights, learner batches) all carry the credentials, and the group
 * names carry the prefix, or it could not run.
 */
@ExtendWith(KafkaExtension.class)
class SecuredGeneratorIT {

    @TempDir
    Path dir;

    @Test
    void shouldGenerateAsAUserGrantedOnlyItsDeploymentPrefix(SecuredTestKafka kafka) throws Exception {
        String prefix = GenHarness.uniquePrefix("secgen");
        String user = "gen" + System.nanoTime();
        StringBuilder text = new StringBuilder();
        kafka.user(user, "gen-pw", prefix).forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        Path config = Files.writeString(dir.resolve("client.properties"), text);
        KafkaSettings settings = KafkaSettings.fromEnv(Map.of(KafkaSettings.BOOTSTRAP_ENV, kafka.bootstrapServers(),
                KafkaSettings.PREFIX_ENV, prefix, KafkaClientConfig.CONFIG_ENV, config.toString()));
        try (GenHarness h = new GenHarness(settings, dir)) {
            ToySampler.writeFolder(dir.resolve("initial-weights"), 3);
            GeneratorConfig generator = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "4", "SALSA_GENERATOR_ID", "gen-secure");
            h.publishPrompts(GenHarness.prompts(6, "s"));
            try (GenHarness.Running g = h.start(generator, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS)) {
                GenHarness.await("12 rollouts", Duration.ofSeconds(90), () -> h.count(Topics.ROLLOUTS) >= 12);
                GenHarness.await("every prompt committed", Duration.ofSeconds(60), () -> h.committed(
                        generator.consumerGroup()).values().stream().mapToLong(OffsetAndMetadata::offset).sum() == 6);
            }
            assertEquals(12, h.rollouts().size());
        } finally {
            settings.closeRegistry();
        }
    }
}
