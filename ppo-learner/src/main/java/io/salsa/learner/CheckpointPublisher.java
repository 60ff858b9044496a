package io.salsa.learner;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.model.lm.ModelFolder;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a checkpoint durable: the policy folder (weights, the run's tokenizer, the {@link CheckpointCard}) and the
 * optimiser state go to the blob store, then a {@code PolicyCheckpoint} announces it on the policy topic, where
 * generators pick the policy up and a restart finds the whole learner state.
 */
final class CheckpointPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointPublisher.class);
    /** The optimiser state's file inside its blob folder. */
    static final String OPTIMIZER_FILE = "optimizer.safetensors";

    private final LearnerConfig config;
    private final ModelFolderStore store;
    private final LearnerTopics topics;

    CheckpointPublisher(LearnerConfig config, ModelFolderStore store, LearnerTopics topics) {
        this.config = config;
        this.store = store;
        this.topics = topics;
    }

    /**
     * Publishes checkpoint {@code version} of {@code trainer}'s policy, whose card records the state at that
     * version with {@code manifestOfStep} as the last step's manifest, and records it in the trainer's state.
     */
    void publish(PpoTrainer trainer, long version, BatchManifest manifestOfStep) throws IOException {
        LearnerState state = trainer.state();
        String runId = config.runId();
        Path dir = Files.createTempDirectory("salsa-ckpt-");
        try {
            Path policyDir = dir.resolve("policy");
            Path optDir = dir.resolve("optimizer");
            Files.createDirectories(optDir);
            trainer.policy().savePolicy(policyDir);
            // generators load checkpoints as model folders: they need the tokenizer the run started with
            ModelFolder.copyTokenizer(store.fetchFolder(state.initBlob()), policyDir);
            trainer.policy().saveOptimizer(optDir.resolve(OPTIMIZER_FILE));
            BlobRef optRef = store.putFolder(optDir, "runs/" + runId + "/optimizer-v" + version);
            LearnerState saved = state.toBuilder().policyVersion(version).lastManifest(manifestOfStep).build();
            String weightsSha = Sha256.of(policyDir.resolve(ModelFolder.WEIGHTS));
            CheckpointCard.write(policyDir, config, saved, optRef, version);
            BlobRef ref = store.putFolder(policyDir, "runs/" + runId + "/policy-v" + version);
            PolicyCheckpoint cp = new PolicyCheckpoint(runId, version, state.step(), ref, state.soup().recipe(),
                    state.soup().version(), state.initFrom(), null, System.currentTimeMillis());
            topics.send(Topics.POLICY, runId, cp);
            trainer.recordCheckpoint(new LearnerState.CheckpointRef(version, state.step(), ref, weightsSha));
            LOG.info("run {}: checkpoint v{} after step {} ({})", runId, version, state.step(), ref.getUri());
        } finally {
            FileOps.deleteTree(dir);
        }
    }
}
