package io.salsa.cli.soak;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.salsa.events.BatchManifest;
import io.salsa.events.OffsetRange;
import io.salsa.events.Preference;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The chaos run's proof, counted from the topics after the loop drained: the loop recovered from every event,
 * every acknowledged preference exactly once,
 * every scored rollout trained at most once, every prompt with exactly its n rollouts and none twice, and a replay
 * that reproduces every checkpoint bit for bit.
 */
final class ChaosVerdicts {

    private static final Duration READ_TIMEOUT = Duration.ofMinutes(2);

    private ChaosVerdicts() {
    }

    /** What {@code salsa replay} said. */
    record Replayed(boolean identical, Integer exitCode, List<String> lines) {
    }

    /** One verdict: a name, whether it holds, and the numbers behind it. */
    record Verdict(String name, boolean holds, String detail) {
    }

    /** All verdicts of a run. */
    record Verdicts(List<Verdict> verdicts, Map<String, Object> counts) {

        boolean allHold() {
            return !verdicts.isEmpty() && verdicts.stream().allMatch(Verdict::holds);
        }

        String text() {
            StringBuilder b = new StringBuilder("chaos verdicts:\n");
            for (Verdict v : verdicts) {
                b.append(String.format(Locale.ROOT, "  %-4s %-34s %s%n", v.holds() ? "OK" : "FAIL", v.name(),
                        v.detail()));
            }
            b.append(allHold() ? "all verdicts hold\n" : "SOME VERDICTS FAIL\n");
            return b.toString();
        }

        void write(Path file) throws IOException {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("all_hold", allHold());
            List<Map<String, Object>> list = new ArrayList<>();
            for (Verdict v : verdicts) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", v.name());
                m.put("holds", v.holds());
                m.put("detail", v.detail());
                list.add(m);
            }
            json.put("verdicts", list);
            json.put("counts", counts);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
        }
    }

    /** Rollout progress of the run's prompts, for the drain. */
    record Counts(long promptsComplete, long rolloutsDistinct, long scored) {
    }

    /** How far the loop got with {@code promptIds}: prompts with all n samples, distinct rollouts, scored ones. */
    static Counts counts(KafkaSettings kafka, String run, int n, Collection<String> promptIds) {
        List<Rollout> rollouts = runRollouts(kafka, run);
        Map<String, Set<Integer>> samples = new HashMap<>();
        for (Rollout r : rollouts) {
            samples.computeIfAbsent(r.getPromptId(), k -> new HashSet<>()).add(r.getSampleIndex());
        }
        long complete = promptIds.stream().distinct().filter(p -> samples.getOrDefault(p, Set.of()).size() == n)
                .count();
        Set<String> ids = new HashSet<>();
        rollouts.forEach(r -> ids.add(r.getRolloutId()));
        Set<String> scored = new HashSet<>();
        for (ScoredRollout s : KafkaLog.readValues(kafka, Topics.SCORED_ROLLOUTS, READ_TIMEOUT,
                KafkaLog::skipUndecodable)) {
            if (s.getRollout().getPolicyRunId().equals(run)) {
                scored.add(s.getRollout().getRolloutId());
            }
        }
        return new Counts(complete, ids.size(), scored.size());
    }

    /** Every verdict, counted from the topics. */
    static Verdicts check(KafkaSettings kafka, String run, int n, Collection<String> promptIds,
            Collection<String> ackedPreferenceIds, Replayed replay, Map<String, Double> recoveries,
            List<String> notRecovered) {
        List<Verdict> verdicts = new ArrayList<>();
        Map<String, Object> counts = new LinkedHashMap<>();

        // 0. the loop came back after every event: a new learner step and a new preference
        counts.put("recovery_seconds", recoveries);
        verdicts.add(new Verdict("loop_recovered_after_every_event", notRecovered.isEmpty() && !recoveries.isEmpty(),
                String.format(Locale.ROOT, "%d events recovered %s; not recovered: %s", recoveries.size(),
                        recoveries.entrySet().stream().map(e -> String.format(Locale.ROOT, "%s %.0f s", e.getKey(),
                                e.getValue())).toList(), notRecovered)));

        // 1. every acknowledged preference exactly once, by preferenceId
        Map<String, Integer> prefs = new HashMap<>();
        for (Preference p : KafkaLog.readValues(kafka, Topics.FEEDBACK, READ_TIMEOUT, KafkaLog::skipUndecodable)) {
            prefs.merge(p.getPreferenceId(), 1, Integer::sum);
        }
        long missing = ackedPreferenceIds.stream().filter(id -> !prefs.containsKey(id)).count();
        long twice = ackedPreferenceIds.stream().filter(id -> prefs.getOrDefault(id, 0) > 1).count();
        long anyTwice = prefs.values().stream().filter(c -> c > 1).count();
        counts.put("preferences_acknowledged", ackedPreferenceIds.size());
        counts.put("preferences_on_topic", prefs.values().stream().mapToInt(Integer::intValue).sum());
        counts.put("acknowledged_missing", missing);
        counts.put("acknowledged_twice", twice);
        verdicts.add(new Verdict("acked_preferences_exactly_once", !ackedPreferenceIds.isEmpty() && missing == 0
                && twice == 0, String.format(Locale.ROOT, "%d acknowledged: %d missing, %d twice (any preference "
                + "id twice on the topic: %d)", ackedPreferenceIds.size(), missing, twice, anyTwice)));

        // 2. every scored rollout trained at most once: the manifests' offset ranges, one step per record
        String scoredTopic = kafka.topic(Topics.SCORED_ROLLOUTS);
        Map<Long, List<BatchManifest>> byStep = new LinkedHashMap<>();
        for (BatchManifest m : KafkaLog.readValues(kafka, Topics.LEARNER_BATCHES, READ_TIMEOUT,
                KafkaLog::skipUndecodable)) {
            if (m.getRunId().equals(run)) {
                byStep.computeIfAbsent(m.getStep(), s -> new ArrayList<>()).add(m);
            }
        }
        long conflictingSteps = byStep.values().stream().filter(l -> l.stream().map(m -> m.getRanges().toString())
                .distinct().count() > 1).count();
        long repeatedManifests = byStep.values().stream().mapToLong(l -> l.size() - 1).sum();
        Map<String, Set<Long>> stepsOfOffset = new HashMap<>();
        for (Map.Entry<Long, List<BatchManifest>> e : byStep.entrySet()) {
            for (BatchManifest m : e.getValue()) {
                for (OffsetRange r : m.getRanges()) {
                    for (long o = r.getFromOffset(); o < r.getUntilOffset(); o++) {
                        stepsOfOffset.computeIfAbsent(r.getPartition() + "@" + o, k -> new HashSet<>())
                                .add(e.getKey());
                    }
                }
            }
        }
        RegistryAvroSerde<ScoredRollout> serde = kafka.valueSerde(Topics.SCORED_ROLLOUTS);
        Map<String, Set<Long>> stepsOfRollout = new HashMap<>();
        for (ConsumerRecord<String, byte[]> rec : KafkaLog.readAll(kafka, scoredTopic)) {
            Set<Long> steps = stepsOfOffset.get(rec.partition() + "@" + rec.offset());
            if (steps == null) {
                continue;
            }
            ScoredRollout s = KafkaLog.decode(serde, rec);
            if (s != null) {
                stepsOfRollout.computeIfAbsent(s.getRollout().getRolloutId(), k -> new HashSet<>()).addAll(steps);
            }
        }
        long offsetsTwice = stepsOfOffset.values().stream().filter(s -> s.size() > 1).count();
        long rolloutsTwice = stepsOfRollout.values().stream().filter(s -> s.size() > 1).count();
        counts.put("learner_steps", byStep.size());
        counts.put("manifest_records_repeated", repeatedManifests);
        counts.put("scored_offsets_in_manifests", stepsOfOffset.size()); // commit markers included
        counts.put("rollouts_trained", stepsOfRollout.size());
        verdicts.add(new Verdict("scored_rollouts_trained_at_most_once", !byStep.isEmpty() && conflictingSteps == 0
                && offsetsTwice == 0 && rolloutsTwice == 0, String.format(Locale.ROOT,
                "%d steps, %d rollouts trained: %d scored-rollouts offsets and %d rollout ids in two steps, %d steps with "
                        + "two different manifests (%d manifest records repeated)", byStep.size(),
                stepsOfRollout.size(), offsetsTwice, rolloutsTwice, conflictingSteps, repeatedManifests)));

        // 3. every prompt with exactly its n rollouts, none twice
        List<Rollout> rollouts = runRollouts(kafka, run);
        Map<String, Map<Integer, List<Rollout>>> byPrompt = new HashMap<>();
        for (Rollout r : rollouts) {
            byPrompt.computeIfAbsent(r.getPromptId(), k -> new HashMap<>())
                    .computeIfAbsent(r.getSampleIndex(), k -> new ArrayList<>()).add(r);
        }
        Set<String> prompts = new HashSet<>(promptIds);
        long incomplete = prompts.stream().filter(p -> byPrompt.getOrDefault(p, Map.of()).size() != n).count();
        long samplesTwice = byPrompt.values().stream().flatMap(m -> m.values().stream()).filter(l -> l.size() > 1)
                .count();
        long differentTwice = byPrompt.values().stream().flatMap(m -> m.values().stream()).filter(l -> l.size() > 1)
                .filter(l -> l.stream().map(r -> r.getRolloutId() + r.getResponseTokenIds()).distinct().count() > 1)
                .count();
        long unknown = byPrompt.keySet().stream().filter(p -> !prompts.contains(p)).count();
        counts.put("prompts_published", prompts.size());
        counts.put("prompt_ids_published_twice", promptIds.size() - prompts.size());
        counts.put("rollouts_of_run", rollouts.size());
        counts.put("prompts_incomplete", incomplete);
        counts.put("prompt_samples_twice", samplesTwice);
        counts.put("prompt_samples_twice_different", differentTwice);
        verdicts.add(new Verdict("every_prompt_n_rollouts_none_twice", !prompts.isEmpty() && incomplete == 0
                && samplesTwice == 0 && unknown == 0 && promptIds.size() == prompts.size(),
                String.format(Locale.ROOT, "%d prompts x %d: %d incomplete, %d samples twice (%d of them with a "
                        + "different rollout), %d rollouts of unknown prompts", prompts.size(), n, incomplete,
                        samplesTwice, differentTwice, unknown)));

        // 4. salsa replay bit-exact
        counts.put("replay_exit_code", replay.exitCode());
        verdicts.add(new Verdict("replay_bit_exact", replay.identical(), "salsa replay exit " + replay.exitCode()
                + ": " + String.join(" | ", replay.lines().stream().filter(l -> !l.startsWith("  checkpoint v"))
                .toList())));
        return new Verdicts(List.copyOf(verdicts), counts);
    }

    private static List<Rollout> runRollouts(KafkaSettings kafka, String run) {
        return KafkaLog.readValues(kafka, Topics.ROLLOUTS, READ_TIMEOUT, KafkaLog::skipUndecodable).stream()
                .filter(r -> r.getPolicyRunId().equals(run)).toList();
    }
}
