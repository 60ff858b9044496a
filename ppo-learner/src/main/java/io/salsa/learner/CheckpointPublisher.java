package io.salsa.learner;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.PolicyKind;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.DeterministicTar;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a checkpoint durable: the policy folder (weights, the run's tokenizer, the {@link CheckpointCard}) and the
 * optimiser state go to the blob store, then a {@code PolicyCheckpoint} announces it on the policy topic, where
 * generators pick the policy up and a restart finds the whole learner state. Once the announcement is acknowledged
 * it applies the run's {@link CheckpointRetention}: the blobs of checkpoints the policy does not keep are deleted.
 */
final class CheckpointPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointPublisher.class);
    /** The optimiser state's file inside its blob folder. */
    static final String OPTIMIZER_FILE = "optimizer.safetensors";

    private final LearnerConfig config;
    private final ModelFolderStore store;
    private final LearnerTopics topics;
    private final long resumedFrom;
    /** Optimiser blobs of the checkpoints this process published, by version: their cards need not be read. */
    private final Map<Long, BlobRef> optimizers = new HashMap<>();
    /** Versions whose blobs this process deleted (or found gone), so each is deleted once. */
    private final Set<Long> deleted = new HashSet<>();

    /**
     * @param resumedFrom the checkpoint version this process resumed from (kept by retention), -1 for a fresh run
     */
    CheckpointPublisher(LearnerConfig config, ModelFolderStore store, LearnerTopics topics, long resumedFrom) {
        this.config = config;
        this.store = store;
        this.topics = topics;
        this.resumedFrom = resumedFrom;
    }

    /**
     * The sha256 a checkpoint's weights are recorded and replayed under: of {@code model.safetensors}, or for a
     * sharded save (a model past the shard size) of its index followed by every shard it names, in name order; of a
     * LoRA policy folder, of the tensors (name, float32 values) of {@code adapter_model.safetensors} then
     * {@code value_head.safetensors}, without the files' metadata: the base it applies to is recorded separately.
     */
    static String weightsSha256(Path policyDir) throws IOException {
        Path adapter = policyDir.resolve(LoraAdapter.WEIGHTS_FILE);
        if (Files.isRegularFile(adapter)) {
            // a LoRA policy: its trained tensors are the adapter's and the value head's; the file's metadata (the
            // base's sha256) is left out, as the base is recorded on its own and changes with a soup swap
            java.security.MessageDigest digest = Sha256.digest();
            tensorDigest(adapter, digest);
            tensorDigest(policyDir.resolve(LmPolicyTrainer.VALUE_HEAD_FILE), digest);
            return Sha256.hex(digest.digest());
        }
        return io.salsa.model.safetensors.Checkpoint.weightsSha256(policyDir);
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
            LearnerState saved = state.withRecorded(version, manifestOfStep);
            String weightsSha = weightsSha256(policyDir);
            CheckpointCard.write(policyDir, config, saved, optRef, version);
            BlobRef ref = store.putFolder(policyDir, "runs/" + runId + "/policy-v" + version);
            boolean adapterOnly = isAdapterFolder(policyDir);
            PolicyCheckpoint cp = new PolicyCheckpoint(runId, version, state.step(), ref, state.soup().recipe(),
                    state.soup().version(), state.initFrom(), null, System.currentTimeMillis(),
                    adapterOnly ? PolicyKind.LORA_ADAPTER : PolicyKind.FULL,
                    adapterOnly ? (config.loraBaseIsSft() ? state.initBlob() : state.soup().blob()) : null);
            topics.send(Topics.POLICY, runId, cp);
            trainer.recordCheckpoint(new LearnerState.CheckpointRef(version, state.step(), ref, weightsSha));
            optimizers.put(version, optRef);
            LOG.info("run {}: checkpoint v{} after step {} ({})", runId, version, state.step(), ref.getUri());
        } finally {
            FileOps.deleteTree(dir);
        }
        applyRetention(trainer.state());
    }

    /** Adds every tensor of {@code file} in name order: its name, then its values as float32 little-endian. */
    private static void tensorDigest(Path file, java.security.MessageDigest digest) throws IOException {
        try (io.salsa.model.safetensors.SafeTensors st = io.salsa.model.safetensors.SafeTensors.open(file)) {
            for (String name : new java.util.TreeSet<>(st.tensors().keySet())) {
                digest.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                float[] values = st.readFloats(name); // on the heap: a direct buffer per tensor would wait for GC
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(values.length * Float.BYTES)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(values);
                digest.update(bytes.array());
            }
        }
    }

    /** A LoRA policy folder (adapter + value head), whose base is the soup, rather than a whole model. */
    static boolean isAdapterFolder(Path policyDir) {
        return Files.isRegularFile(policyDir.resolve(LoraAdapter.WEIGHTS_FILE));
    }

    /**
     * Deletes the blobs of the checkpoints the retention policy does not keep. Runs only after the newest
     * checkpoint is announced, so a restart or a generator always finds it. A failed delete is logged and tried
     * again after the next checkpoint: disk is reclaimed later, training does not stop for it.
     */
    private void applyRetention(LearnerState state) {
        CheckpointRetention retention = config.checkpointRetention();
        if (!retention.enabled()) {
            return;
        }
        Set<Long> keep = retention.keep(state.checkpoints(), config.saveSteps(), resumedFrom);
        for (LearnerState.CheckpointRef c : state.checkpoints()) {
            if (keep.contains(c.version()) || deleted.contains(c.version())) {
                continue;
            }
            try {
                deleteBlobs(c);
                deleted.add(c.version());
                LOG.info("run {}: checkpoint v{} (step {}) not retained; its blobs are deleted", config.runId(),
                        c.version(), c.step());
            } catch (IOException | RuntimeException e) {
                LOG.warn("run {}: could not delete the blobs of checkpoint v{}; trying again after the next "
                        + "checkpoint: {}", config.runId(), c.version(), e.toString());
            }
        }
    }

    /** Deletes the optimiser blob, then the policy blob: a policy blob that is gone means both are. */
    private void deleteBlobs(LearnerState.CheckpointRef c) throws IOException {
        BlobStore blobs = store.blobStore();
        URI policy = URI.create(c.blob().getUri());
        BlobRef optimizer = optimizers.remove(c.version());
        if (optimizer == null && blobs.exists(policy)) {
            optimizer = optimizerOf(blobs, c.blob()); // published by an earlier process: its card names it
        }
        if (optimizer != null) {
            blobs.delete(URI.create(optimizer.getUri()));
        }
        blobs.delete(policy);
    }

    /**
     * The optimiser blob named in the card of an earlier process's checkpoint, read from a temporary unpacking
     * (not the folder cache, which holds the models in use).
     */
    private static BlobRef optimizerOf(BlobStore blobs, BlobRef policy) throws IOException {
        Path tmp = Files.createTempDirectory("salsa-card-");
        try {
            Path folder = tmp.resolve("policy");
            DeterministicTar.extract(blobs.get(URI.create(policy.getUri()), policy.getSha256()), folder,
                    policy.getSha256());
            return CheckpointCard.read(folder).optimizer();
        } finally {
            FileOps.deleteTree(tmp);
        }
    }
}
