package io.salsa.learner;

import io.salsa.events.OffsetRange;
import io.salsa.events.ScoredRollout;
import io.salsa.learner.ppo.TrainingSample;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.kafka.common.TopicPartition;

/**
 * Cuts the stream of consumed scored rollouts into PPO batches: takes records in arrival order until
 * {@code batch_size} usable ones are in hand, drops rollouts older than {@code max_staleness} policy versions
 * (and ones from another run's policy), and records exactly which offsets the batch covered. Because a batch is
 * a prefix of each partition's pending records, its coverage is one contiguous range per partition, which is
 * what a {@code BatchManifest} stores and what a replay re-reads. Pure: no Kafka, no model.
 *
 * <p>With prompt groups of n ({@code group_batches}, GRPO/RLOO) the usable rollouts of one group (one generator's
 * responses to one prompt at one policy version) count in chunks of n, in (partition, offset) order: a step trains only complete chunks, so a group's n responses are
 * trained together. The cut is the shortest prefix holding exactly {@code batch_size} samples in complete chunks in
 * which every incomplete chunk may be dropped: its oldest member has waited {@code group_wait_s} on the injected
 * clock, or its group was dropped before (a straggler). Those records stay in the step's ranges, skipped
 * and counted. Because the cut never includes an incomplete chunk that may still complete, a replay re-reading the
 * ranges finds exactly the dropped groups incomplete: it takes the same decision from the records, never from the
 * clock.
 */
public final class BatchAssembler {

    /** Why a consumed record did not become a training sample. */
    public enum Skip { STALE, UNDECODABLE, INVALID }

    /** A formed batch: samples in (partition, offset) order, the ranges they came from and what was skipped. */
    public record Batch(List<TrainingSample> samples, List<ScoredRollout> rollouts, List<OffsetRange> ranges,
            int recordCount, int droppedStale, List<Rejected> rejected, int droppedGroups) {

        /** What the trainer needs of this batch: its samples and what its manifest and metrics record. */
        public TrainingBatch forTrainer() {
            return new TrainingBatch(samples, ranges, recordCount, droppedStale, rejected.size(), droppedGroups);
        }
    }

    /** A queued record and when it arrived (the injected clock, milliseconds). */
    private record Pending(ConsumedRollout record, long arrivedMs) {}

    /** Groups that were dropped, remembered so its stragglers are dropped without another wait. */
    private static final int DROPPED_REMEMBERED = 4096;

    /** A record that was skipped as undecodable or invalid, with the reason (for the dead-letter topic). */
    public record Rejected(ConsumedRollout record, Skip reason, String detail) {}

    /** The run id generators stamp on rollouts of their starting weights when they follow no particular run. */
    public static final String INITIAL_RUN = "initial";

    private final String runId;
    private final int batchSize;
    private final int maxStaleness;
    private final int vocabSize;
    private final int maxLength;
    private final int groupSize;
    private final long groupWaitMs;
    private final LongSupplier clockMs;
    private final Deque<Pending> pending = new ArrayDeque<>();
    private final Set<String> droppedGroupKeys = Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > DROPPED_REMEMBERED;
        }
    });

    /**
     * An assembler that takes rollouts one by one, without prompt groups.
     *
     * @param vocabSize the policy's vocabulary; token ids outside it are refused
     * @param maxLength the policy's context (n_positions); longer prompt+response pairs are refused
     */
    public BatchAssembler(String runId, int batchSize, int maxStaleness, int vocabSize, int maxLength) {
        this(runId, batchSize, maxStaleness, vocabSize, maxLength, 1, 0, () -> 0L);
    }

    /**
     * An assembler that trains whole prompt groups of {@code groupSize} (1 = rollouts one by one).
     *
     * @param groupWaitMs how long an incomplete group may hold up a batch before it is dropped
     * @param clockMs the clock of that wait, milliseconds (monotonic in the learner; a test's own)
     */
    public BatchAssembler(String runId, int batchSize, int maxStaleness, int vocabSize, int maxLength, int groupSize,
            long groupWaitMs, LongSupplier clockMs) {
        if (groupSize < 1 || batchSize % groupSize != 0) {
            throw new IllegalArgumentException("batch_size (" + batchSize + ") must be a multiple of group_size ("
                    + groupSize + ")");
        }
        this.runId = runId;
        this.batchSize = batchSize;
        this.maxStaleness = maxStaleness;
        this.vocabSize = vocabSize;
        this.maxLength = maxLength;
        this.groupSize = groupSize;
        this.groupWaitMs = groupWaitMs;
        this.clockMs = clockMs;
    }

    /** An assembler for run {@code config} and a policy of {@code vocabSize} tokens and {@code maxLength} context. */
    static BatchAssembler of(LearnerConfig config, int vocabSize, int maxLength, LongSupplier clockMs) {
        return new BatchAssembler(config.runId(), config.ppo().batchSize(), config.ppo().maxStaleness(), vocabSize,
                maxLength, config.groupBatching().assemblySize(), config.groupBatching().waitMs(), clockMs);
    }

    /** Queues a consumed record, in the order the consumer returned it. */
    public void add(ConsumedRollout record) {
        pending.addLast(new Pending(record, clockMs.getAsLong()));
    }

    /** Records waiting for a batch. */
    public int pendingCount() {
        return pending.size();
    }

    /**
     * Per partition, the consumer-group offset to commit as progress so that the group's lag (log end − committed)
     * counts exactly the records this learner may still train: one past the last pending record minus the pending
     * records that are still usable at {@code policyVersion} (another run's, stale and invalid ones are not). The
     * learner's committed offsets are progress counters only — restart and replay take positions from manifests —
     * and generators gate on that lag: counting records the learner will skip (say stale ones queued behind a
     * usable one) would hold them paused while the learner waits for fresh rollouts, a deadlock a quiet one-hour
     * soak hit after 3 minutes. The records stay queued and are still covered by the next batch's ranges.
     */
    public Map<TopicPartition, Long> progressOffsets(long policyVersion) {
        Map<TopicPartition, Long> end = new LinkedHashMap<>();
        Map<TopicPartition, Long> usable = new HashMap<>();
        for (Pending p : pending) {
            ConsumedRollout r = p.record();
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            end.merge(tp, r.offset() + 1, Math::max);
            if (classify(r, policyVersion) == null) {
                usable.merge(tp, 1L, Long::sum);
            }
        }
        Map<TopicPartition, Long> progress = new LinkedHashMap<>();
        end.forEach((tp, e) -> progress.put(tp, e - usable.getOrDefault(tp, 0L)));
        return progress;
    }

    /**
     * Forms the next batch for a learner at {@code policyVersion}, or returns null (keeping everything queued)
     * when fewer than {@code batch_size} usable records are pending.
     */
    public Batch tryForm(long policyVersion) {
        int taken = groupSize == 1 ? firstUsable(policyVersion) : groupCut(policyVersion);
        if (taken < 0) {
            return null;
        }
        List<ConsumedRollout> records = new ArrayList<>(taken);
        Iterator<Pending> it = pending.iterator();
        for (int i = 0; i < taken; i++) {
            records.add(it.next().record());
            it.remove();
        }
        Batch batch = form(records, policyVersion);
        droppedGroupKeys.addAll(incompleteChunks(usableByGroup(records, policyVersion)).keySet());
        return batch;
    }

    /** How many pending records hold the first {@code batch_size} usable ones, or -1 when they do not yet. */
    private int firstUsable(long policyVersion) {
        int usable = 0;
        int taken = 0;
        for (Pending p : pending) {
            taken++;
            if (classify(p.record(), policyVersion) == null && ++usable == batchSize) {
                return taken;
            }
        }
        return -1;
    }

    /**
     * The shortest prefix of the pending records with exactly {@code batch_size} samples in complete groups and
     * only droppable incomplete ones, or -1 while there is none (a group is still within its wait). The complete
     * groups of a prefix only grow with it, so the search stops once they exceed the batch.
     */
    private int groupCut(long policyVersion) {
        long now = clockMs.getAsLong();
        Map<String, List<Pending>> byGroup = new LinkedHashMap<>();
        int complete = 0;
        int taken = 0;
        for (Pending p : pending) {
            taken++;
            if (classify(p.record(), policyVersion) != null) {
                continue;
            }
            List<Pending> members = byGroup.computeIfAbsent(groupOf(p.record()), k -> new ArrayList<>());
            members.add(p);
            if (members.size() % groupSize == 0) {
                complete += groupSize;
            }
            if (complete > batchSize) {
                return -1;
            }
            if (complete == batchSize && allDroppable(byGroup, now)) {
                return taken;
            }
        }
        return -1;
    }

    /** Whether every incomplete chunk among {@code byGroup} may be dropped at {@code now}. */
    private boolean allDroppable(Map<String, List<Pending>> byGroup, long now) {
        for (Map.Entry<String, List<Pending>> e : byGroup.entrySet()) {
            List<Pending> members = e.getValue();
            int missing = members.size() % groupSize;
            if (missing == 0 || droppedGroupKeys.contains(e.getKey())) {
                continue;
            }
            List<Pending> sorted = new ArrayList<>(members);
            sorted.sort(Comparator.comparing(Pending::record, IN_LOG_ORDER));
            long oldest = Long.MAX_VALUE;
            for (Pending p : sorted.subList(sorted.size() - missing, sorted.size())) {
                oldest = Math.min(oldest, p.arrivedMs());
            }
            if (now - oldest < groupWaitMs) {
                return false;
            }
        }
        return true;
    }

    private static final Comparator<ConsumedRollout> IN_LOG_ORDER =
            Comparator.comparingInt(ConsumedRollout::partition).thenComparingLong(ConsumedRollout::offset);

    /**
     * The group a rollout belongs to: one generator's responses to one prompt at one policy version (a prompt
     * sampled again later, or by another generator, is another group).
     */
    private static String groupOf(ConsumedRollout r) {
        var rollout = r.value().getRollout();
        return rollout.getPromptId() + "\u0000" + rollout.getGeneratorId() + "\u0000" + rollout.getPolicyRunId()
                + "\u0000" + rollout.getPolicyVersion();
    }

    /** The usable records of {@code records}, in log order, by group. */
    private Map<String, List<ConsumedRollout>> usableByGroup(List<ConsumedRollout> records, long policyVersion) {
        List<ConsumedRollout> ordered = new ArrayList<>(records);
        ordered.sort(IN_LOG_ORDER);
        Map<String, List<ConsumedRollout>> byGroup = new LinkedHashMap<>();
        for (ConsumedRollout r : ordered) {
            if (classify(r, policyVersion) == null) {
                byGroup.computeIfAbsent(groupOf(r), k -> new ArrayList<>()).add(r);
            }
        }
        return byGroup;
    }

    /** Per group, the members of its last chunk when that chunk is short of n (they are not trained). */
    private Map<String, List<ConsumedRollout>> incompleteChunks(Map<String, List<ConsumedRollout>> byGroup) {
        Map<String, List<ConsumedRollout>> out = new LinkedHashMap<>();
        byGroup.forEach((group, members) -> {
            int missing = members.size() % groupSize;
            if (missing != 0) {
                out.put(group, members.subList(members.size() - missing, members.size()));
            }
        });
        return out;
    }

    /**
     * Builds the batch of exactly {@code records} (a replay re-reading a manifest's ranges), with the same
     * filtering a live step applied; with prompt groups, the members of incomplete chunks are dropped and counted.
     */
    public Batch form(List<ConsumedRollout> records, long policyVersion) {
        List<ConsumedRollout> ordered = new ArrayList<>(records);
        ordered.sort(IN_LOG_ORDER);
        Map<String, List<ConsumedRollout>> incomplete = incompleteChunks(usableByGroup(ordered, policyVersion));
        Set<ConsumedRollout> untrained = Collections.newSetFromMap(new IdentityHashMap<>());
        incomplete.values().forEach(untrained::addAll);
        Map<String, long[]> ranges = new LinkedHashMap<>();
        List<TrainingSample> samples = new ArrayList<>();
        List<ScoredRollout> rollouts = new ArrayList<>();
        List<Rejected> rejected = new ArrayList<>();
        int stale = 0;
        for (ConsumedRollout r : ordered) {
            long[] range = ranges.computeIfAbsent(r.topic() + "\u0000" + r.partition(),
                    k -> new long[] {r.partition(), r.offset(), r.offset() + 1});
            range[1] = Math.min(range[1], r.offset());
            range[2] = Math.max(range[2], r.offset() + 1);
            Rejected why = classify(r, policyVersion);
            if (why == null && untrained.contains(r)) {
                continue; // counted below as part of a dropped group
            }
            if (why == null) {
                samples.add(toSample(r.value()));
                rollouts.add(r.value());
            } else if (why.reason() == Skip.STALE) {
                stale++;
            } else {
                rejected.add(why);
            }
        }
        List<OffsetRange> offsetRanges = new ArrayList<>();
        for (Map.Entry<String, long[]> e : ranges.entrySet()) {
            String topic = e.getKey().substring(0, e.getKey().indexOf('\u0000'));
            long[] v = e.getValue();
            offsetRanges.add(new OffsetRange(topic, (int) v[0], v[1], v[2]));
        }
        return new Batch(samples, rollouts, offsetRanges, ordered.size(), stale, rejected, incomplete.size());
    }

    private Rejected classify(ConsumedRollout r, long policyVersion) {
        ScoredRollout s = r.value();
        if (s == null) {
            return new Rejected(r, Skip.UNDECODABLE, "value could not be decoded");
        }
        long version = s.getRollout().getPolicyVersion();
        if (version < policyVersion - maxStaleness) {
            return new Rejected(r, Skip.STALE, "policy version " + version + " < " + policyVersion + " - "
                    + maxStaleness);
        }
        String run = s.getRollout().getPolicyRunId();
        // a generator that follows no particular run stamps its starting weights "initial" at version 0; any
        // other run's rollouts (another learner, the demo's SFT comparisons) were not sampled from this policy
        if (!runId.equals(run) && !(version == 0 && INITIAL_RUN.equals(run))) {
            return new Rejected(r, Skip.STALE, "produced by run " + s.getRollout().getPolicyRunId());
        }
        String problem = validate(s);
        return problem == null ? null : new Rejected(r, Skip.INVALID, problem);
    }

    private String validate(ScoredRollout s) {
        var rollout = s.getRollout();
        if (rollout.getPromptTokenIds().isEmpty()) {
            return "rollout " + rollout.getRolloutId() + " has no prompt tokens";
        }
        if (rollout.getResponseTokenIds().isEmpty()) {
            return "rollout " + rollout.getRolloutId() + " has no response tokens";
        }
        if (rollout.getBehaviourLogProbs().size() != rollout.getResponseTokenIds().size()) {
            return "rollout " + rollout.getRolloutId() + " has " + rollout.getBehaviourLogProbs().size()
                    + " behaviour log-probs for " + rollout.getResponseTokenIds().size() + " response tokens";
        }
        int length = rollout.getPromptTokenIds().size() + rollout.getResponseTokenIds().size();
        if (length > maxLength) {
            return "rollout " + rollout.getRolloutId() + " has " + length + " tokens, the policy's context is "
                    + maxLength;
        }
        for (List<Integer> ids : List.of(rollout.getPromptTokenIds(), rollout.getResponseTokenIds())) {
            for (int id : ids) {
                if (id < 0 || id >= vocabSize) {
                    return "rollout " + rollout.getRolloutId() + " has token id " + id + " outside the vocabulary [0, "
                            + vocabSize + ")";
                }
            }
        }
        String sampling = checkSampling(rollout.getTemperature(), rollout.getTopK(), rollout.getTopP());
        if (sampling != null) {
            return "rollout " + rollout.getRolloutId() + " has " + sampling;
        }
        if (!Float.isFinite(s.getScore())) {
            return "rollout " + rollout.getRolloutId() + " has a non-finite score " + s.getScore();
        }
        return null;
    }

    static TrainingSample toSample(ScoredRollout s) {
        var r = s.getRollout();
        int[] query = r.getPromptTokenIds().stream().mapToInt(Integer::intValue).toArray();
        int[] response = r.getResponseTokenIds().stream().mapToInt(Integer::intValue).toArray();
        float[] logprobs = new float[response.length];
        for (int i = 0; i < logprobs.length; i++) {
            logprobs[i] = r.getBehaviourLogProbs().get(i);
        }
        // the behaviour log-probs refer to this distribution, so the learner recomputes its own under it
        return new TrainingSample(query, response, logprobs, r.getStoppedAtEos(), s.getScore(),
                new TrainingSample.Sampling(r.getTemperature(), r.getTopK(), r.getTopP()),
                r.getPromptId().toString());
    }

    /** Why these sampling settings cannot describe a distribution, or null when they can. */
    private static String checkSampling(float temperature, int topK, float topP) {
        if (!(temperature > 0) || !Float.isFinite(temperature)) {
            return "temperature " + temperature + " (must be finite and > 0)";
        }
        if (topK < 0) {
            return "topK " + topK + " (must be >= 0)";
        }
        if (!(topP > 0 && topP <= 1)) {
            return "topP " + topP + " (must be in (0, 1])";
        }
        return null;
    }
}
