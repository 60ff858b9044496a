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
        assertFalse(Topics.METRICS.configs().containsKey("retention.ms"));
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
