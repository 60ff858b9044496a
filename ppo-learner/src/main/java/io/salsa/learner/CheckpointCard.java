package io.salsa.learner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.events.BlobRef;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.model.lm.ModelFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A checkpoint's {@code card.json}: how the policy was made, the run config and the full learner state, plus the
 * optimiser blob. Generators ignore it; restarts and replays read it. Its format is part of every published
 * checkpoint, so it changes only with a migration.
 */
final class CheckpointCard {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointCard.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TRAINER = "ppo-learner";
    /**
     * The settings a resumed run takes from its command, not its card: they do not change the maths (checkpoint
     * retention only decides which blobs stay).
     */
    private static final List<String> OPERATIONAL_KEYS = List.of("max_steps", "metrics_port", "poll_timeout_ms",
            "device", "checkpoint_keep_every", "checkpoint_keep_last");

    private final JsonNode root;

    private CheckpointCard(JsonNode root) {
        this.root = root;
    }

    /** Writes the card of checkpoint {@code version} into {@code policyDir}; {@code state} is what it records. */
    static void write(Path policyDir, LearnerConfig config, LearnerState state, BlobRef optimizer, long version)
            throws IOException {
        ObjectNode card = JSON.createObjectNode();
        card.put("trainer", TRAINER);
        card.put("runId", config.runId());
        card.put("version", version);
        card.put("step", state.step());
        ObjectNode cfg = card.putObject("config");
        config.toMap().forEach(cfg::put);
        card.set("state", state.toJson());
        card.set("optimizer", LearnerState.blob(optimizer));
        JSON.writerWithDefaultPrettyPrinter().writeValue(policyDir.resolve(ModelFolder.CARD).toFile(), card);
    }

    /** Reads the card of the policy folder {@code policyDir}; refuses a folder the learner did not write. */
    static CheckpointCard read(Path policyDir) throws IOException {
        Path file = policyDir.resolve(ModelFolder.CARD);
        if (!Files.isRegularFile(file)) {
            throw new IOException(policyDir + " has no " + ModelFolder.CARD + ": not a learner checkpoint");
        }
        JsonNode root = JSON.readTree(file.toFile());
        if (!TRAINER.equals(root.path("trainer").asText())) {
            throw new IOException(file + " was not written by the PPO learner");
        }
        return new CheckpointCard(root);
    }

    /** The recorded run config. */
    LearnerConfig config() {
        Map<String, String> m = new LinkedHashMap<>();
        root.get("config").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return LearnerConfig.fromMap(m);
    }

    /** The recorded run config, with the keys that do not change the maths taken from {@code requested}. */
    LearnerConfig configWithOperationalOverrides(LearnerConfig requested) {
        Map<String, String> m = new LinkedHashMap<>();
        root.get("config").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        for (String key : OPERATIONAL_KEYS) {
            m.put(key, requested.toMap().get(key));
        }
        // the device is typed end to end: take the requested one itself, not its name
        LearnerConfig recorded = LearnerConfig.fromMap(m).toBuilder().device(requested.device()).build();
        if (!recorded.ppo().equals(requested.ppo())) {
            LOG.warn("run {} resumes with its recorded PPO settings; the ones given now differ and are ignored",
                    recorded.runId());
        }
        return recorded;
    }

    /** The optimiser state's blob. */
    BlobRef optimizer() {
        return LearnerState.blob(root.get("optimizer"));
    }

    /** The state the card records, with this checkpoint itself appended to its checkpoint list. */
    LearnerState stateWithSelf(KlHackGuard.Config guard, BlobRef self, Path policyDir) throws IOException {
        LearnerState s = LearnerState.fromJson(root.get("state"), guard);
        List<LearnerState.CheckpointRef> cps = new ArrayList<>(s.checkpoints());
        cps.add(new LearnerState.CheckpointRef(root.get("version").asLong(), s.step(), self,
                CheckpointPublisher.weightsSha256(policyDir)));
        return s.withCheckpoints(cps);
    }
}
