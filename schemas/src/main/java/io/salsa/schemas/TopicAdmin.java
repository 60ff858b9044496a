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
import org.apache.kafka.clients.admin.AlterConfigOp;
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
 *
 * <p>Retention of an existing deleting topic: a retention <em>shorter</em> than the catalog's (in time or bytes)
 * is raised to the catalog's, because it would delete records the system relies on (a replay, a soup builder's
 * restart); raising deletes nothing. A <em>longer</em> one is left as it is and reported: an operator chose to keep
 * more, and shortening it would delete records nobody asked to delete.
 */
public final class TopicAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
    private static final int DESCRIBE_ATTEMPTS = 20;

    private TopicAdmin() {
    }

    /**
     * What {@link #ensure} did, by full topic name.
     *
     * @param created   topics it created
     * @param raised    existing topics whose shorter retention it raised to the catalog's, with old and new values
     * @param longer    existing topics left with a retention longer than the catalog's, with both values
     */
    public record Result(List<String> created, Map<String, String> raised, Map<String, String> longer) {
        public Result {
            created = List.copyOf(created);
            raised = Map.copyOf(raised);
            longer = Map.copyOf(longer);
        }
    }

    /** Ensures every event topic of the catalog ({@link Topics#all()}). */
    public static List<String> ensureAll(KafkaSettings settings) {
        return ensureTopics(settings, Topics.all());
    }

    /**
     * Creates the missing topics (partitions from the catalog, the broker's default replication factor, the
     * catalog's configs), verifies that existing ones have the catalog's cleanup policy and raises a retention
     * shorter than the catalog's (see {@link #ensure}).
     *
     * @return the full names of the topics this call created
     * @throws IllegalStateException if an existing topic has another cleanup policy, its retention cannot be
     *                               raised, or Kafka cannot be reached
     */
    public static List<String> ensureTopics(KafkaSettings settings, Collection<? extends Topic<?, ?>> topics) {
        return ensure(settings, topics).created();
    }

    /**
     * {@link #ensureTopics}, also reconciling the retention of existing deleting topics (see the class comment).
     *
     * @throws IllegalStateException if an existing topic has another cleanup policy, its retention cannot be
     *                               raised, or Kafka cannot be reached
     */
    public static Result ensure(KafkaSettings settings, Collection<? extends Topic<?, ?>> topics) {
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
                        KafkaErrors.throwIfAccessDenied(ex.getCause(), settings, List.of(e.getKey()));
                        if (!(ex.getCause() instanceof TopicExistsException)) {
                            throw ex; // another service creating it at the same moment is fine
                        }
                    }
                }
                LOG.info("created topics {}", created);
            }
            Map<String, String> raised = new LinkedHashMap<>();
            Map<String, String> longer = new LinkedHashMap<>();
            verify(admin, wanted, raised, longer);
            return new Result(created, raised, longer);
        } catch (ExecutionException e) {
            KafkaErrors.throwIfAccessDenied(e.getCause(), settings, wanted.keySet());
            throw new IllegalStateException("cannot ensure topics " + wanted.keySet() + " at "
                    + settings.bootstrapServers() + ": " + e.getCause() + KafkaErrors.timeoutHint(e, settings),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while ensuring topics", e);
        }
    }

    private static void verify(Admin admin, Map<String, Topic<?, ?>> wanted, Map<String, String> raised,
            Map<String, String> longer) throws ExecutionException, InterruptedException {
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
        Map<ConfigResource, Collection<AlterConfigOp>> raises = new LinkedHashMap<>();
        for (Map.Entry<String, Topic<?, ?>> e : wanted.entrySet()) {
            String name = e.getKey();
            Topic<?, ?> topic = e.getValue();
            Config config = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name));
            String policy = value(config, "cleanup.policy");
            boolean policyOk = policy.replace(" ", "").equalsIgnoreCase(topic.cleanup().kafkaValue());
            if (!policyOk) {
                problems.add("topic " + name + " has cleanup.policy=" + policy + " but the catalog needs "
                        + topic.cleanup().kafkaValue()
                        + " (fix it with kafka-configs --alter, or delete the topic so it is re-created)");
            }
            if (topic.cleanup() == CleanupPolicy.DELETE && policyOk) {
                reconcileRetention(name, topic, config, raised, longer, raises);
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
        if (!raises.isEmpty()) {
            admin.incrementalAlterConfigs(raises).all().get();
            raised.forEach((name, change) -> LOG.warn("topic {}: raised retention to the catalog's ({}); records "
                    + "already deleted are gone", name, change));
        }
        longer.forEach((name, diff) -> LOG.info("topic {} keeps records longer than the catalog asks ({}); left "
                + "as it is", name, diff));
    }

    /**
     * Compares an existing deleting topic's effective retention (its own setting, else the broker's default) with
     * the catalog's, limit by limit: a shorter one is queued to be raised, a longer one is reported.
     */
    private static void reconcileRetention(String name, Topic<?, ?> topic, Config config,
            Map<String, String> raised, Map<String, String> longer,
            Map<ConfigResource, Collection<AlterConfigOp>> raises) {
        Retention want = topic.retention();
        List<AlterConfigOp> ops = new ArrayList<>();
        List<String> raisedHere = new ArrayList<>();
        List<String> longerHere = new ArrayList<>();
        for (Map.Entry<String, Long> limit : Map.of("retention.ms", want.ms(), "retention.bytes", want.bytes())
                .entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
            String key = limit.getKey();
            long wanted = limit.getValue();
            long have = parseLimit(value(config, key));
            if (have == wanted) {
                continue;
            }
            if (Retention.covers(have, wanted)) {
                longerHere.add(key + "=" + have + ", catalog " + wanted);
            } else {
                ops.add(new AlterConfigOp(new ConfigEntry(key, Long.toString(wanted)), AlterConfigOp.OpType.SET));
                raisedHere.add(key + " " + have + " -> " + wanted);
            }
        }
        if (!ops.isEmpty()) {
            raises.put(new ConfigResource(ConfigResource.Type.TOPIC, name), ops);
            raised.put(name, String.join(", ", raisedHere));
        }
        if (!longerHere.isEmpty()) {
            longer.put(name, String.join(", ", longerHere));
        }
    }

    /** A {@code retention.*} value; a missing one reads as -1, Kafka's "no limit". */
    private static long parseLimit(String value) {
        if (value.isEmpty()) {
            return -1;
        }
        long v = Long.parseLong(value.trim());
        return v < 0 ? -1 : v;
    }

    private static String value(Config config, String name) {
        ConfigEntry entry = config == null ? null : config.get(name);
        return entry == null || entry.value() == null ? "" : entry.value();
    }
}
