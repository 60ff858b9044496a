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
    void shouldCreateEveryTopicWithItsCatalogRetentionAndCleanup(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "ret-" + UUID.randomUUID() + ".");
        TopicAdmin.Result result = TopicAdmin.ensure(s, Topics.all());
        assertEquals(Topics.all().size(), result.created().size());
        assertEquals(Map.of(), result.raised(), "created topics already have the catalog's retention");
        assertEquals(Map.of(), result.longer());
        try (Admin admin = Admin.create(s.adminProps())) {
            for (Topic<?, ?> t : Topics.all()) {
                Config config = topicConfig(admin, s.topic(t));
                assertEquals(t.cleanup().kafkaValue(), config.get("cleanup.policy").value(), t.baseName());
                if (!t.compacted()) {
                    assertEquals(Long.toString(t.retention().ms()), config.get("retention.ms").value(),
                            t.baseName());
                    assertEquals(Long.toString(t.retention().bytes()), config.get("retention.bytes").value(),
                            t.baseName());
                }
            }
        }
    }

    @Test
    void shouldRaiseAShorterRetentionOfAnExistingTopicAndReportALongerOne(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "ret-" + UUID.randomUUID() + ".");
        String rollouts = s.topic(Topics.ROLLOUTS);
        String metrics = s.topic(Topics.METRICS);
        String deadLetters = s.topic(Topics.DEAD_LETTERS);
        try (Admin admin = Admin.create(s.adminProps())) {
            admin.createTopics(List.of(
                    new NewTopic(rollouts, Optional.of(4), Optional.empty()).configs(Map.of("cleanup.policy",
                            "delete", "retention.ms", "3600000")),
                    new NewTopic(metrics, Optional.of(1), Optional.empty()).configs(Map.of("cleanup.policy",
                            "delete", "retention.ms", "-1", "retention.bytes", "-1")),
                    // longer in time, shorter in bytes: the bytes are raised, the time is left
                    new NewTopic(deadLetters, Optional.of(1), Optional.empty()).configs(Map.of("cleanup.policy",
                            "delete", "retention.ms", "-1", "retention.bytes", "1048576")))).all().get();
        }
        TopicAdmin.Result result = TopicAdmin.ensure(s,
                List.of(Topics.ROLLOUTS, Topics.METRICS, Topics.DEAD_LETTERS, Topics.PROMPTS));

        assertEquals(List.of(s.topic(Topics.PROMPTS)), result.created());
        assertEquals(Map.of(rollouts, "retention.ms 3600000 -> -1",
                deadLetters, "retention.bytes 1048576 -> 1073741824"), result.raised());
        assertEquals(Map.of(metrics, "retention.ms=-1, catalog " + Retention.days(90).ms(),
                deadLetters, "retention.ms=-1, catalog " + Retention.days(30).ms()), result.longer());
        try (Admin admin = Admin.create(s.adminProps())) {
            assertEquals("-1", topicConfig(admin, rollouts).get("retention.ms").value(), "raised to forever");
            assertEquals("-1", topicConfig(admin, metrics).get("retention.ms").value(), "a longer one is kept");
            assertEquals("1073741824", topicConfig(admin, deadLetters).get("retention.bytes").value());
            assertEquals("-1", topicConfig(admin, deadLetters).get("retention.ms").value());
        }
        TopicAdmin.Result again = TopicAdmin.ensure(s, List.of(Topics.ROLLOUTS, Topics.DEAD_LETTERS));
        assertEquals(Map.of(), again.raised(), "once raised, nothing is left to raise");
    }

    private static Config topicConfig(Admin admin, String topic) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(List.of(r)).all().get().get(r);
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
