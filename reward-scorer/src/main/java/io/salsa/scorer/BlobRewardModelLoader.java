package io.salsa.scorer;

import ai.djl.Device;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.model.lm.Precision;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Loads a published reward model: fetches its folder through the verified folder cache ({@link ModelFolderStore}:
 * the SHA-256 the checkpoint names is checked before anything is unpacked) and builds the reward model (any
 * supported family, or an ensemble of them: {@link RewardModelEnsemble}) in the scorer's precision: a frozen model,
 * holding float16 weights at fp16.
 */
public final class BlobRewardModelLoader implements RewardModelLoader {

    private final ModelFolderStore folders;
    private final Device device;
    private final Precision precision;

    /** @param cacheDir where fetched reward-model folders are unpacked, one per blob SHA-256 */
    public BlobRewardModelLoader(BlobStore store, Path cacheDir, Device device) {
        this(new ModelFolderStore(store, cacheDir), device);
    }

    /** {@link #BlobRewardModelLoader(BlobStore, Path, Device)} scoring in {@code precision}. */
    public BlobRewardModelLoader(BlobStore store, Path cacheDir, Device device, Precision precision) {
        this(new ModelFolderStore(store, cacheDir), device, precision);
    }

    /** @param folders the verified folder cache to fetch through (e.g. the one a process already shares) */
    public BlobRewardModelLoader(ModelFolderStore folders, Device device) {
        this(folders, device, Precision.FP32);
    }

    /** A loader whose reward models score in {@code precision} (float32, or fp16 with float16 weights). */
    public BlobRewardModelLoader(ModelFolderStore folders, Device device, Precision precision) {
        this.folders = folders;
        this.device = device;
        this.precision = java.util.Objects.requireNonNull(precision, "precision");
    }

    @Override
    public RewardScorerModel load(RewardModelCheckpoint checkpoint) throws IOException {
        Path folder = folders.fetchFolder(checkpoint.getBlob());
        return RewardModelEnsemble.load(folder, checkpoint.getName(), checkpoint.getVersion(), device, precision);
    }
}
