package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OffsetTrackerTest {

    private static final TopicPartition P0 = new TopicPartition("prompts", 0);
    private static final TopicPartition P1 = new TopicPartition("prompts", 1);

    @Test
    void shouldCommitAPromptOnlyAfterAllItsRolloutsAreAcknowledged() {
        OffsetTracker t = new OffsetTracker();
        t.register(P0, 10, 2);
        t.register(P0, 11, 2);
        assertEquals(Map.of(P0, new OffsetAndMetadata(10)), t.positions(List.of(P0)));
        t.acknowledge(P0, 10);
        assertEquals(Map.of(P0, new OffsetAndMetadata(10)), t.positions(List.of(P0)),
                "one of two rollouts is not a finished prompt");
        t.acknowledge(P0, 10);
        assertEquals(Map.of(P0, new OffsetAndMetadata(11)), t.positions(List.of(P0)));
        t.acknowledge(P0, 11);
        t.acknowledge(P0, 11);
        assertEquals(Map.of(P0, new OffsetAndMetadata(12)), t.positions(List.of(P0)));
        assertEquals(0, t.inFlightPrompts());
    }

    @Test
    void shouldNotCommitPastAnUnfinishedEarlierPrompt() {
        OffsetTracker t = new OffsetTracker();
        t.register(P0, 0, 1);
        t.register(P0, 1, 1);
        t.register(P0, 2, 1);
        t.acknowledge(P0, 2);
        t.acknowledge(P0, 1);
        assertEquals(Map.of(P0, new OffsetAndMetadata(0)), t.positions(List.of(P0)));
        t.acknowledge(P0, 0);
        assertEquals(Map.of(P0, new OffsetAndMetadata(3)), t.positions(List.of(P0)));
    }

    @Test
    void shouldOnlyReturnOwnedPartitions() {
        OffsetTracker t = new OffsetTracker();
        t.register(P0, 5, 1);
        t.register(P1, 7, 1);
        t.acknowledge(P0, 5);
        t.acknowledge(P1, 7);
        assertEquals(Map.of(P0, new OffsetAndMetadata(6)), t.positions(List.of(P0)));
        assertEquals(Map.of(P0, new OffsetAndMetadata(6), P1, new OffsetAndMetadata(8)),
                t.positions(List.of(P0, P1)));
    }

    @Test
    void shouldIgnoreAcknowledgementsOfForgottenPartitions() {
        OffsetTracker t = new OffsetTracker();
        t.register(P0, 0, 1);
        t.forget(List.of(P0));
        t.acknowledge(P0, 0);
        assertTrue(t.positions(List.of(P0)).isEmpty());
        assertEquals(0, t.inFlightPrompts());
    }
}
