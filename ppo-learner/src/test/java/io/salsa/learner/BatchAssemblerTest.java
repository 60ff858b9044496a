package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.learner.ppo.TrainingSample;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Which rollouts a run trains on, and how far its consumer-group progress may run ahead of its batches. */
class BatchAssemblerTest {

    private static final String T = "scored-rollouts";

    private static ConsumedRollout rollout(int partition, long offset, String run, long version) {
        Rollout r = Rollout.newBuilder().setRolloutId(run + "-" + offset).setPromptId("p" + offset)
                .setPromptTokenIds(List.of(1, 2)).setResponseTokenIds(List.of(3, 4)).setBehaviourLogProbs(
                        List.of(-1f, -2f)).setStoppedAtEos(false).setPolicyRunId(run).setPolicyVersion(version)
                .setGeneratorId("g").setSampleIndex(0).setSeed(offset).setTemperature(1f).setTopK(0).setTopP(1f)
                .setGenerationMs(0).setCreatedAtMs(0).build();
        return new ConsumedRollout(T, partition, offset, new ScoredRollout(r, 1f, 1f, "rm", 1L, "s", 0L));
    }

    private static ConsumedRollout sampled(long offset, float temperature, int topK, float topP) {
        ConsumedRollout c = rollout(0, offset, "run-a", 0);
        Rollout r = Rollout.newBuilder(c.value().getRollout()).setTemperature(temperature).setTopK(topK)
                .setTopP(topP).build();
        return new ConsumedRollout(T, 0, offset, new ScoredRollout(r, 1f, 1f, "rm", 1L, "s", 0L));
    }

    @Test
    void shouldCarryEachRolloutsSamplingSettingsAndRefuseImpossibleOnes() {
        BatchAssembler a = new BatchAssembler("run-a", 2, 4, 10, 64);
        BatchAssembler.Batch b = a.form(List.of(sampled(0, 0.7f, 40, 0.9f), sampled(1, 1f, 0, 1f),
                sampled(2, 0f, 0, 1f), sampled(3, 1f, -1, 1f), sampled(4, 1f, 0, 1.5f), sampled(5, Float.NaN, 0, 1f)), 0);
        assertEquals(List.of(new TrainingSample.Sampling(0.7f, 40, 0.9f), TrainingSample.Sampling.plain(1f)),
                b.samples().stream().map(TrainingSample::sampling).toList(),
                "the learner recomputes log-probs under the distribution the behaviour log-probs refer to");
        assertEquals(List.of("p0", "p1"), b.samples().stream().map(TrainingSample::groupKey).toList(),
                "GRPO and RLOO group the samples by the rollout's prompt id");
        assertEquals(4, b.rejected().size());
        for (BatchAssembler.Rejected r : b.rejected()) {
            assertEquals(BatchAssembler.Skip.INVALID, r.reason(), r.detail());
        }
        assertTrue(b.rejected().get(0).detail().contains("temperature 0.0"), b.rejected().get(0).detail());
        assertTrue(b.rejected().get(1).detail().contains("topK -1"), b.rejected().get(1).detail());
        assertTrue(b.rejected().get(2).detail().contains("topP 1.5"), b.rejected().get(2).detail());
    }

    @Test
    void shouldSkipOtherRunsRolloutsAtAnyVersionButAcceptTheInitialStamp() {
        BatchAssembler a = new BatchAssembler("run-a", 2, 4, 10, 64);
        a.add(rollout(0, 0, "sft-1", 0));      // the demo's SFT comparisons: another run, version 0
        a.add(rollout(0, 1, "run-b", 3));      // another learner's policy
        a.add(rollout(0, 2, BatchAssembler.INITIAL_RUN, 0)); // a generator following no run, starting weights
        assertNull(a.tryForm(0), "only one usable rollout so far");
        a.add(rollout(0, 3, "run-a", 0));
        BatchAssembler.Batch b = a.tryForm(0);
        assertNotNull(b);
        assertEquals(2, b.samples().size());
        assertEquals(4, b.recordCount());
        assertEquals(2, b.droppedStale());
        assertEquals(0, b.ranges().get(0).getFromOffset());
        assertEquals(4, b.ranges().get(0).getUntilOffset(), "the skipped records stay inside the step's range");
    }

    @Test
    void shouldReportProgressOnlyUpToTheFirstUsableRecordOfEachPartition() {
        BatchAssembler a = new BatchAssembler("run-a", 4, 1, 10, 64);
        a.add(rollout(0, 10, "sft-1", 0));
        a.add(rollout(0, 11, "sft-2", 0));
        a.add(rollout(1, 5, "sft-1", 0));
        a.add(rollout(1, 6, "run-a", 2));      // usable at version 2
        a.add(rollout(1, 7, "sft-1", 0));      // after a usable one: not committable yet
        a.add(rollout(2, 0, "run-a", 0));      // stale at version 2 (older than 2 - 1)
        assertEquals(Map.of(new TopicPartition(T, 0), 12L, new TopicPartition(T, 1), 6L, new TopicPartition(T, 2), 1L),
                a.skippedPrefixEnds(2));
        // at version 0 the partition-2 record is usable, so nothing of partition 2 may be committed ahead
        assertEquals(0L, a.skippedPrefixEnds(0).get(new TopicPartition(T, 2)));
    }
}
