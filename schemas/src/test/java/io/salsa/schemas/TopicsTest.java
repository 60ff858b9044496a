package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class TopicsTest {

    @Test
    void shouldNameEveryTopicOfTheDesignOnce() {
        List<String> names = Topics.all().stream().map(Topic::baseName).toList();
        assertEquals(List.of("prompts", "rollouts", "feedback", "scored-rollouts", "sft-models", "soup", "policy",
                "reward-models", "learner-batches", "metrics", "dead-letters"), names);
    }

    @Test
    void shouldCompactOnlyTheLatestStateTopics() {
        Set<String> compacted = Topics.all().stream().filter(Topic::compacted).map(Topic::baseName)
                .collect(Collectors.toSet());
        assertEquals(Set.of("soup", "policy", "reward-models"), compacted);
        assertEquals(Map.of("cleanup.policy", "compact"), Topics.SOUP.configs());
    }

    @Test
    void shouldKeepReplayableTopicsForever() {
        Set<String> replayable = Topics.all().stream().filter(Topic::replayable).map(Topic::baseName)
                .collect(Collectors.toSet());
        assertEquals(Set.of("rollouts", "feedback", "scored-rollouts", "learner-batches"), replayable);
        assertEquals("-1", Topics.ROLLOUTS.configs().get("retention.ms"));
        assertEquals(Retention.days(90), Topics.METRICS.retention(), "metrics are not replayable: kept 90 days");
        assertEquals(Long.toString(Retention.days(90).ms()), Topics.METRICS.configs().get("retention.ms"));
    }

    @Test
    void shouldStateTheRetentionOfEveryDeletingTopicAndNoneForCompactedOnes() {
        Map<String, String> retention = new java.util.LinkedHashMap<>();
        for (Topic<?, ?> t : Topics.all()) {
            retention.put(t.baseName(), t.retention().toString());
            if (t.compacted()) {
                assertFalse(t.configs().containsKey("retention.ms"), t.baseName() + ": compact-only, no retention");
            } else {
                assertEquals(Long.toString(t.retention().ms()), t.configs().get("retention.ms"), t.baseName());
                assertEquals(Long.toString(t.retention().bytes()), t.configs().get("retention.bytes"), t.baseName());
            }
        }
        assertEquals(Map.ofEntries(Map.entry("prompts", "30 days"), Map.entry("rollouts", "forever"),
                Map.entry("feedback", "forever"), Map.entry("scored-rollouts", "forever"),
                Map.entry("sft-models", "forever"), Map.entry("soup", "forever"), Map.entry("policy", "forever"),
                Map.entry("reward-models", "forever"), Map.entry("learner-batches", "forever"),
                Map.entry("metrics", "90 days"),
                Map.entry("dead-letters", "30 days or 1073741824 bytes per partition")), retention);
    }

    @Test
    void shouldRefuseAFiniteRetentionOnAReplayableOrCompactedTopic() {
        assertThrows(IllegalArgumentException.class, () -> new Topic<>("t", String.class, String.class, 1,
                CleanupPolicy.DELETE, true, Retention.days(1)));
        assertThrows(IllegalArgumentException.class, () -> new Topic<>("t", String.class, String.class, 1,
                CleanupPolicy.COMPACT, false, Retention.days(1)));
        assertThrows(IllegalArgumentException.class, () -> new Retention(0, -1));
        assertTrue(Retention.covers(-1, 1000), "forever keeps what a limit keeps");
        assertFalse(Retention.covers(1000, -1));
        assertTrue(Retention.covers(2000, 1000));
        assertFalse(Retention.covers(1000, 2000));
    }

    @Test
    void shouldUseStringKeysAndGeneratedEventValues() {
        for (Topic<?, ?> t : Topics.all()) {
            assertEquals(String.class, t.keyType(), t.baseName());
            assertTrue(org.apache.avro.specific.SpecificRecord.class.isAssignableFrom(t.valueType()), t.baseName());
        }
    }

    @Test
    void shouldPrefixNames() {
        assertEquals("exp1.scored-rollouts", Topics.SCORED_ROLLOUTS.name("exp1."));
        assertEquals("rollouts", Topics.ROLLOUTS.name(""));
    }

    @Test
    void shouldRefuseIllegalTopics() {
        assertThrows(IllegalArgumentException.class,
                () -> new Topic<>("bad name", String.class, String.class, 1, CleanupPolicy.DELETE, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Topic<>("t", String.class, String.class, 0, CleanupPolicy.DELETE, false));
        assertTrue(e.getMessage().contains("partitions"), e.getMessage());
    }
}
