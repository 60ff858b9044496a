package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class TopicAdminTest {

    @Test
    void shouldCreateEveryTopicOnceWithTheCatalogsSettings(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "admin-" + UUID.randomUUID() + ".");
        List<String> created = TopicAdmin.ensureAll(s);
        assertEquals(Topics.all().size(), created.size());
        assertEquals(List.of(), TopicAdmin.ensureAll(s), "a second run creates nothing and does not fail");

        try (Admin admin = Admin.create(s.adminProps())) {
            String soup = s.topic(Topics.SOUP);
            String rollouts = s.topic(Topics.ROLLOUTS);
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(
                    new ConfigResource(ConfigResource.Type.TOPIC, soup),
                    new ConfigResource(ConfigResource.Type.TOPIC, rollouts))).all().get();
            assertEquals("compact", configs.get(new ConfigResource(ConfigResource.Type.TOPIC, soup))
                    .get("cleanup.policy").value());
            assertEquals("-1", configs.get(new ConfigResource(ConfigResource.Type.TOPIC, rollouts))
                    .get("retention.ms").value());
            assertEquals(Topics.ROLLOUTS.partitions(),
                    admin.describeTopics(List.of(rollouts)).allTopicNames().get().get(rollouts).partitions().size());
        }
    }

    @Test
    void shouldRefuseAnExistingTopicWithTheWrongCleanupPolicy(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "admin-" + UUID.randomUUID() + ".");
        try (Admin admin = Admin.create(s.adminProps())) {
            admin.createTopics(List.of(new NewTopic(s.topic(Topics.POLICY), Optional.of(1), Optional.empty())
                    .configs(Map.of("cleanup.policy", "delete")))).all().get();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TopicAdmin.ensureTopics(s, List.of(Topics.POLICY, Topics.SOUP)));
        assertTrue(e.getMessage().contains(s.topic(Topics.POLICY) + " has cleanup.policy=delete")
                && e.getMessage().contains("needs compact"), e.getMessage());
    }
}
