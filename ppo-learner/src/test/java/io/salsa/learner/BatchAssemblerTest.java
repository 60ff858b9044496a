package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /** A member of prompt {@code prompt}'s group (generator g, run-a, version 0) at {@code offset}. */
    private static ConsumedRollout member(int partition, long offset, String prompt) {
        ConsumedRollout c = rollout(partition, offset, "run-a", 0);
        Rollout r = Rollout.newBuilder(c.value().getRollout()).setPromptId(prompt).build();
        return new ConsumedRollout(T, partition, offset, new ScoredRollout(r, 1f, 1f, "rm", 1L, "s", 0L));
    }

    /** Groups of two, a batch of four, a 1000 ms wait, on a clock the test moves. */
    private static BatchAssembler grouped(long[] clock) {
        return new BatchAssembler("run-a", 4, 4, 10, 64, 2, 1000, () -> clock[0]);
    }

    private static List<String> prompts(BatchAssembler.Batch b) {
        return b.samples().stream().map(TrainingSample::groupKey).toList();
    }

    @Test
    void shouldTrainCompleteGroupsTogether() {
        long[] clock = {0};
        BatchAssembler a = grouped(clock);
        for (String p : List.of("a", "a", "b", "b", "c")) {
            a.add(member(0, a.pendingCount(), p));
        }
        BatchAssembler.Batch b = a.tryForm(0);
        assertNotNull(b);
        assertEquals(List.of("a", "a", "b", "b"), prompts(b));
        assertEquals(0, b.droppedGroups());
        assertEquals(4, b.ranges().get(0).getUntilOffset(), "c's first member waits for the next batch");
        assertEquals(1, a.pendingCount());
    }

    @Test
    void shouldWaitForAGroupSplitAcrossPolls() {
        long[] clock = {0};
        BatchAssembler a = grouped(clock);
        a.add(member(0, 0, "a"));
        a.add(member(0, 1, "b"));
        a.add(member(0, 2, "a"));
        assertNull(a.tryForm(0), "b's second member has not come");
        clock[0] = 999;
        assertNull(a.tryForm(0), "still within group_wait_s");
        a.add(member(0, 3, "b")); // the next poll brings it
        BatchAssembler.Batch b = a.tryForm(0);
        assertNotNull(b);
        assertEquals(List.of("a", "b", "a", "b"), prompts(b), "samples stay in log order");
        assertEquals(0, b.droppedGroups());
    }

    @Test
    void shouldDropAndCountAGroupWhoseMemberNeverComesAfterTheWait() {
        long[] clock = {0};
        BatchAssembler a = grouped(clock);
        a.add(member(0, 0, "lost"));
        clock[0] = 500;
        for (String p : List.of("a", "a", "b", "b")) {
            a.add(member(0, a.pendingCount(), p));
        }
        clock[0] = 999;
        assertNull(a.tryForm(0), "the incomplete group holds the batch up to group_wait_s");
        clock[0] = 1000;
        BatchAssembler.Batch b = a.tryForm(0);
        assertNotNull(b);
        assertEquals(List.of("a", "a", "b", "b"), prompts(b));
        assertEquals(1, b.droppedGroups());
        assertEquals(5, b.recordCount(), "the dropped member stays inside the step's range");
        assertEquals(1, b.forTrainer().droppedGroups());

        // the straggler arrives after its group was dropped: dropped at once, no second wait
        a.add(member(0, 5, "lost"));
        for (String p : List.of("c", "c", "d", "d")) {
            a.add(member(0, 6 + a.pendingCount() - 1, p));
        }
        BatchAssembler.Batch next = a.tryForm(0);
        assertNotNull(next);
        assertEquals(List.of("c", "c", "d", "d"), prompts(next));
        assertEquals(1, next.droppedGroups());
    }

    @Test
    void shouldTakeTheSameDecisionFromTheRecordsAloneWhenReplaying() {
        long[] clock = {0};
        BatchAssembler live = grouped(clock);
        List<ConsumedRollout> records = List.of(member(0, 0, "a"), member(0, 1, "lost"), member(0, 2, "a"),
                member(0, 3, "b"), member(0, 4, "b"));
        records.forEach(live::add);
        clock[0] = 5000;
        BatchAssembler.Batch original = live.tryForm(0);
        BatchAssembler replay = new BatchAssembler("run-a", 4, 4, 10, 64, 2, 1000, () -> {
            throw new AssertionError("a replay must not read the clock");
        });
        BatchAssembler.Batch again = replay.form(records, 0);
        assertEquals(original.rollouts(), again.rollouts());
        assertEquals(1, again.droppedGroups());
        assertEquals(original.ranges(), again.ranges());
    }

    @Test
    void shouldTreatEveryRolloutAsAGroupOfOneWhenGroupsAreOfOne() {
        long[] clock = {0};
        BatchAssembler a = new BatchAssembler("run-a", 2, 4, 10, 64, 1, 1000, () -> clock[0]);
        a.add(member(0, 0, "a"));
        a.add(member(0, 1, "b"));
        BatchAssembler.Batch b = a.tryForm(0);
        assertNotNull(b, "a group of one is complete at once, no wait");
        assertEquals(List.of("a", "b"), prompts(b));
        assertEquals(0, b.droppedGroups());
    }

    @Test
    void shouldCountOneGeneratorsResponsesAtOneVersionAsTheGroup() {
        long[] clock = {0};
        BatchAssembler a = grouped(clock);
        a.add(member(0, 0, "a"));
        ConsumedRollout other = member(0, 1, "a");
        Rollout later = Rollout.newBuilder(other.value().getRollout()).setPolicyVersion(1).build();
        a.add(new ConsumedRollout(T, 0, 1, new ScoredRollout(later, 1f, 1f, "rm", 1L, "s", 0L)));
        a.add(member(0, 2, "b"));
        a.add(member(0, 3, "b"));
        assertNull(a.tryForm(1), "prompt a at versions 0 and 1 is two groups, each one member short");
    }

    @Test
    void shouldRefuseABatchSizeThatIsNotAMultipleOfTheGroupSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BatchAssembler("run-a", 6, 4, 10, 64, 4, 1000, () -> 0L));
        assertTrue(e.getMessage().contains("batch_size (6)") && e.getMessage().contains("group_size (4)"),
                e.getMessage());
    }

    @Test
    void shouldReportProgressThatLeavesOnlyUsableRecordsInTheLag() {
        BatchAssembler a = new BatchAssembler("run-a", 4, 1, 10, 64);
        a.add(rollout(0, 10, "sft-1", 0));
        a.add(rollout(0, 11, "sft-2", 0));
        a.add(rollout(1, 5, "sft-1", 0));
        a.add(rollout(1, 6, "run-a", 2));      // usable at version 2
        a.add(rollout(1, 7, "sft-1", 0));      // skipped, behind a usable one: still not counted as waiting
        a.add(rollout(2, 0, "run-a", 0));      // stale at version 2 (older than 2 - 1)
        // lag = end - committed: partition 0 none, partition 1 exactly its one usable record, partition 2 none
        assertEquals(Map.of(new TopicPartition(T, 0), 12L, new TopicPartition(T, 1), 7L, new TopicPartition(T, 2), 1L),
                a.progressOffsets(2));
        // at version 0 the partition-2 record is usable, so it stays in the lag
        assertEquals(0L, a.progressOffsets(0).get(new TopicPartition(T, 2)));
    }

    @Test
    void shouldLetTheLagShrinkAsPendingRecordsGoStaleWhileTheLearnerWaits() {
        // the soak's deadlock: 12 usable records pending, too few for a batch of 16; the learner's version moves
        // on, they go stale; the lag must drop to 0 so generators resume and the learner gets fresh rollouts
        BatchAssembler a = new BatchAssembler("run-a", 16, 2, 10, 64);
        for (int i = 0; i < 12; i++) {
            a.add(rollout(i % 2, i, "run-a", 5));
        }
        assertNull(a.tryForm(5));
        TopicPartition p0 = new TopicPartition(T, 0);
        TopicPartition p1 = new TopicPartition(T, 1);
        // ends 11 and 12 (offsets 0, 2, ..., 10 and 1, 3, ..., 11): all 12 usable, all 12 in the lag
        assertEquals(Map.of(p0, 5L, p1, 6L), a.progressOffsets(5));
        assertNull(a.tryForm(8));
        // version 8 with max staleness 2: all stale; the lag is 0 although none was trained
        assertEquals(Map.of(p0, 11L, p1, 12L), a.progressOffsets(8));
    }
}
