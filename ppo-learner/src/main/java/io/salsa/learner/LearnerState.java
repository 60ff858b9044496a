package io.salsa.learner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.OffsetRange;
import io.salsa.learner.ppo.KlController;
import io.salsa.learner.ppo.KlHackGuard;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything besides the weights and optimiser moments that the next step depends on: step and policy version,
 * the KL controller and guard, the consumer positions, the soup in force and the run's history (every soup and
 * checkpoint so far). It travels in each checkpoint's card so a restart resumes exactly and a replay can rebuild
 * the run from the latest checkpoint alone, even after the compacted topics dropped older records. Immutable: the
 * transitions below (a step, a recorded manifest, a soup, a checkpoint) are the only way to derive a changed state.
 *
 * @param step PPO steps completed
 * @param policyVersion version of the policy after them (the number of checkpoints published before)
 * @param kl the KL controller for the next step
 * @param guard the KL-hack guard with its history
 * @param positions next offset to read per {@code topic:partition}
 * @param soup the soup in force for the next step
 * @param soupHistory every soup version the run used, by version
 * @param initFrom {@code soup:<recipe>@<version>} or {@code sft:<modelId>}
 * @param initBlob the weights the policy started from
 * @param checkpoints every checkpoint before this one
 * @param lastManifest the manifest of step {@code step}, or null at step 0
 */
public record LearnerState(long step, long policyVersion, KlController kl, KlHackGuard guard,
        Map<String, Long> positions, SoupRef soup, Map<Long, BlobRef> soupHistory, String initFrom, BlobRef initBlob,
        List<CheckpointRef> checkpoints, BatchManifest lastManifest) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public LearnerState {
        // sorted and read-only: the first soup version of a run is the history's first key, and no holder of a
        // state can change another's
        positions = Collections.unmodifiableMap(new TreeMap<>(positions));
        soupHistory = Collections.unmodifiableSortedMap(new TreeMap<>(soupHistory));
        checkpoints = List.copyOf(checkpoints);
    }

    /**
     * The state of a run before its first step: nothing consumed, no checkpoint yet, {@code soup} in force and
     * recorded in the history.
     */
    public static LearnerState initial(KlController kl, KlHackGuard guard, SoupRef soup, Map<Long, BlobRef> soupHistory,
            String initFrom, BlobRef initBlob) {
        Map<Long, BlobRef> history = new TreeMap<>(soupHistory);
        history.put(soup.version(), soup.blob());
        return new LearnerState(0, 0, kl, guard, Map.of(), soup, history, initFrom, initBlob, List.of(), null);
    }

    /** The same state at policy version {@code version}. */
    public LearnerState withPolicyVersion(long version) {
        return new LearnerState(step, version, kl, guard, positions, soup, soupHistory, initFrom, initBlob, checkpoints,
                lastManifest);
    }

    /** The state a step's {@code manifest} records: the policy version after the step, and the manifest itself. */
    public LearnerState withRecorded(long version, BatchManifest manifest) {
        return new LearnerState(step, version, kl, guard, positions, soup, soupHistory, initFrom, initBlob, checkpoints,
                manifest);
    }

    /** The state after step {@code step}: its KL controller and guard, the positions read to, and its manifest. */
    public LearnerState afterStep(long step, KlController kl, KlHackGuard guard, Map<String, Long> positions,
            BatchManifest manifest) {
        return new LearnerState(step, policyVersion, kl, guard, positions, soup, soupHistory, initFrom, initBlob,
                checkpoints, manifest);
    }

    /** {@code soup} in force from the next step on, and recorded in the history. */
    public LearnerState withSoup(SoupRef soup) {
        Map<Long, BlobRef> history = new TreeMap<>(soupHistory);
        history.put(soup.version(), soup.blob());
        return new LearnerState(step, policyVersion, kl, guard, positions, soup, history, initFrom, initBlob,
                checkpoints, lastManifest);
    }

    /** The state once {@code checkpoint} is published: its version is the policy's, and it joins the list. */
    public LearnerState withCheckpoint(CheckpointRef checkpoint) {
        List<CheckpointRef> cps = new ArrayList<>(checkpoints);
        cps.add(checkpoint);
        return new LearnerState(step, checkpoint.version(), kl, guard, positions, soup, soupHistory, initFrom, initBlob,
                cps, lastManifest);
    }

    /** The same state with {@code checkpoints} as the run's checkpoint list. */
    public LearnerState withCheckpoints(List<CheckpointRef> checkpoints) {
        return new LearnerState(step, policyVersion, kl, guard, positions, soup, soupHistory, initFrom, initBlob,
                checkpoints, lastManifest);
    }

    /** A soup version of a recipe and where its weights are. */
    public record SoupRef(String recipe, long version, BlobRef blob) {}

    /**
     * A published checkpoint: version, the step it was taken after, its policy folder blob and the sha256 of the
     * policy's {@code model.safetensors} (what a replay must reproduce).
     */
    public record CheckpointRef(long version, long step, BlobRef blob, String weightsSha256) {}

    /** The key of a position: {@code topic:partition} (topic names cannot contain a colon). */
    public static String positionKey(String topic, int partition) {
        return topic + ":" + partition;
    }

    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step);
        n.put("policyVersion", policyVersion);
        ObjectNode k = n.putObject("kl");
        if (kl instanceof KlController.Adaptive a) {
            k.put("kind", "adaptive");
            k.put("value", a.value());
            k.put("target", a.target());
            k.put("horizon", a.horizon());
        } else {
            k.put("kind", "fixed");
            k.put("value", kl.value());
        }
        ObjectNode g = n.putObject("guard");
        ArrayNode lengths = g.putArray("warmupLengths");
        guard.warmupLengths().forEach(lengths::add);
        ArrayNode pg = g.putArray("proxyGold");
        for (double[] p : guard.proxyGold()) {
            pg.addArray().add(p[0]).add(p[1]);
        }
        ObjectNode pos = n.putObject("positions");
        new TreeMap<>(positions).forEach(pos::put);
        ObjectNode s = n.putObject("soup");
        s.put("recipe", soup.recipe());
        s.put("version", soup.version());
        s.set("blob", blob(soup.blob()));
        ObjectNode hist = n.putObject("soupHistory");
        new TreeMap<>(soupHistory).forEach((v, b) -> hist.set(Long.toString(v), blob(b)));
        n.put("initFrom", initFrom);
        n.set("initBlob", blob(initBlob));
        ArrayNode cps = n.putArray("checkpoints");
        for (CheckpointRef c : checkpoints) {
            ObjectNode o = cps.addObject();
            o.put("version", c.version());
            o.put("step", c.step());
            o.set("blob", blob(c.blob()));
            o.put("weightsSha256", c.weightsSha256());
        }
        if (lastManifest != null) {
            n.set("lastManifest", manifest(lastManifest));
        }
        return n;
    }

    public static LearnerState fromJson(JsonNode n, KlHackGuard.Config guardConfig) {
        JsonNode k = n.get("kl");
        KlController kl = k.get("kind").asText().equals("adaptive")
                ? new KlController.Adaptive(k.get("value").asDouble(), k.get("target").asDouble(),
                        k.get("horizon").asDouble())
                : new KlController.Fixed(k.get("value").asDouble());
        List<Double> lengths = new ArrayList<>();
        n.get("guard").get("warmupLengths").forEach(x -> lengths.add(x.asDouble()));
        List<double[]> pg = new ArrayList<>();
        n.get("guard").get("proxyGold").forEach(x -> pg.add(new double[] {x.get(0).asDouble(), x.get(1).asDouble()}));
        Map<String, Long> positions = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.get("positions").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            positions.put(e.getKey(), e.getValue().asLong());
        }
        JsonNode s = n.get("soup");
        SoupRef soup = new SoupRef(s.get("recipe").asText(), s.get("version").asLong(), blob(s.get("blob")));
        Map<Long, BlobRef> hist = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.get("soupHistory").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            hist.put(Long.parseLong(e.getKey()), blob(e.getValue()));
        }
        List<CheckpointRef> cps = new ArrayList<>();
        for (JsonNode c : n.get("checkpoints")) {
            cps.add(new CheckpointRef(c.get("version").asLong(), c.get("step").asLong(), blob(c.get("blob")),
                    c.get("weightsSha256").asText()));
        }
        BatchManifest last = n.hasNonNull("lastManifest") ? manifest(n.get("lastManifest")) : null;
        return new LearnerState(n.get("step").asLong(), n.get("policyVersion").asLong(), kl,
                new KlHackGuard(guardConfig, lengths, pg), positions, soup, hist, n.get("initFrom").asText(),
                blob(n.get("initBlob")), cps, last);
    }

    static ObjectNode blob(BlobRef b) {
        ObjectNode o = JSON.createObjectNode();
        o.put("uri", b.getUri());
        o.put("sha256", b.getSha256());
        o.put("sizeBytes", b.getSizeBytes());
        return o;
    }

    static BlobRef blob(JsonNode o) {
        return new BlobRef(o.get("uri").asText(), o.get("sha256").asText(), o.get("sizeBytes").asLong());
    }

    static ObjectNode manifest(BatchManifest m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("runId", m.getRunId());
        o.put("step", m.getStep());
        o.put("seed", m.getSeed());
        ArrayNode ranges = o.putArray("ranges");
        for (OffsetRange r : m.getRanges()) {
            ranges.addObject().put("topic", r.getTopic()).put("partition", r.getPartition())
                    .put("fromOffset", r.getFromOffset()).put("untilOffset", r.getUntilOffset());
        }
        o.put("recordCount", m.getRecordCount());
        o.put("droppedStale", m.getDroppedStale());
        o.put("soupRecipe", m.getSoupRecipe());
        o.put("soupVersion", m.getSoupVersion());
        o.put("policyVersionBefore", m.getPolicyVersionBefore());
        o.put("policyVersionAfter", m.getPolicyVersionAfter());
        o.put("createdAtMs", m.getCreatedAtMs());
        o.put("skippedNonFiniteSteps", m.getSkippedNonFiniteSteps());
        o.put("droppedIncompleteGroups", m.getDroppedIncompleteGroups());
        return o;
    }

    static BatchManifest manifest(JsonNode o) {
        List<OffsetRange> ranges = new ArrayList<>();
        for (JsonNode r : o.get("ranges")) {
            ranges.add(new OffsetRange(r.get("topic").asText(), r.get("partition").asInt(),
                    r.get("fromOffset").asLong(), r.get("untilOffset").asLong()));
        }
        return new BatchManifest(o.get("runId").asText(), o.get("step").asLong(), o.get("seed").asLong(), ranges,
                o.get("recordCount").asInt(), o.get("droppedStale").asInt(), o.get("soupRecipe").asText(),
                o.get("soupVersion").asLong(), o.get("policyVersionBefore").asLong(),
                o.get("policyVersionAfter").asLong(), o.get("createdAtMs").asLong(),
                // cards written before the field existed: no step of theirs skipped one
                o.path("skippedNonFiniteSteps").asInt(0), o.path("droppedIncompleteGroups").asInt(0));
    }
}
