package io.salsa.schemas;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "ensure topics" step every service runs at start-up: creates the catalog's topics that are missing and
 * verifies the cleanup policy of those that exist, so a compacted topic can never silently be a deleting one.
 * Idempotent and safe when several services race to create the same topic.
 */
public final class TopicAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
    private static final int DESCRIBE_ATTEMPTS = 20;

    private TopicAdmin() {
    }

    /** Ensures every event topic of the catalog ({@link Topics#all()}). */
    public static List<String> ensureAll(KafkaSettings settings) {
        return ensureTopics(settings, Topics.all());
    }

    /**
     * Creates the missing topics (partitions from the catalog, the broker's default replication factor, the
     * catalog's configs) and verifies that existing ones have the catalog's cleanup policy.
     *
     * @return the full names of the topics this call created
     * @throws IllegalStateException if an existing topic has another cleanup policy, or Kafka cannot be reached
     */
    public static List<String> ensureTopics(KafkaSettings settings, Collection<? extends Topic<?, ?>> topics) {
        Map<String, Topic<?, ?>> wanted = new LinkedHashMap<>();
        topics.forEach(t -> wanted.put(settings.topic(t), t));
        List<String> created = new ArrayList<>();
        try (Admin admin = Admin.create(settings.adminProps())) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> missing = new ArrayList<>();
            wanted.forEach((name, t) -> {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, Optional.of(t.partitions()), Optional.empty())
                            .configs(t.configs()));
                }
            });
            if (!missing.isEmpty()) {
                for (Map.Entry<String, KafkaFuture<Void>> e : admin.createTopics(missing).values().entrySet()) {
                    try {
                        e.getValue().get();
                        created.add(e.getKey());
                    } catch (ExecutionException ex) {
                        if (!(ex.getCause() instanceof TopicExistsException)) {
                            throw ex; // another service creating it at the same moment is fine
                        }
                    }
                }
                LOG.info("created topics {}", created);
            }
            verify(admin, wanted);
            return created;
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot ensure topics " + wanted.keySet() + " at "
                    + settings.bootstrapServers() + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while ensuring topics", e);
        }
    }

    private static void verify(Admin admin, Map<String, Topic<?, ?>> wanted)
            throws ExecutionException, InterruptedException {
        List<ConfigResource> resources = wanted.keySet().stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        Map<ConfigResource, Config> configs = null;
        Map<String, TopicDescription> descriptions = null;
        for (int attempt = 1; configs == null; attempt++) {
            try {
                configs = admin.describeConfigs(resources).all().get();
                descriptions = admin.describeTopics(wanted.keySet()).allTopicNames().get();
            } catch (ExecutionException e) {
                // a just-created topic may not be visible to every request yet
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || attempt >= DESCRIBE_ATTEMPTS) {
                    throw e;
                }
                configs = null;
                Thread.sleep(100);
            }
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Topic<?, ?>> e : wanted.entrySet()) {
            String name = e.getKey();
            Topic<?, ?> topic = e.getValue();
            Config config = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name));
            String policy = value(config, "cleanup.policy");
            if (!policy.replace(" ", "").equalsIgnoreCase(topic.cleanup().kafkaValue())) {
                problems.add("topic " + name + " has cleanup.policy=" + policy + " but the catalog needs "
                        + topic.cleanup().kafkaValue()
                        + " (fix it with kafka-configs --alter, or delete the topic so it is re-created)");
            }
            if (topic.replayable() && !"-1".equals(value(config, "retention.ms"))) {
                LOG.warn("topic {} is replayable but has retention.ms={}: old records will be deleted and replay "
                        + "of them will fail", name, value(config, "retention.ms"));
            }
            int partitions = descriptions.get(name).partitions().size();
            if (partitions < topic.partitions()) {
                LOG.warn("topic {} has {} partitions, fewer than the catalog's {}: fewer instances can share it",
                        name, partitions, topic.partitions());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException(String.join("; ", problems));
        }
    }

    private static String value(Config config, String name) {
        ConfigEntry entry = config == null ? null : config.get(name);
        return entry == null || entry.value() == null ? "" : entry.value();
    }
}
