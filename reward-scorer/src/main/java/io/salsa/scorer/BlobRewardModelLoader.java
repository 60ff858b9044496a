package io.salsa.scorer;

import ai.djl.Device;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Loads a published reward model: fetches its folder through the verified folder cache ({@link ModelFolderStore}:
 * the SHA-256 the checkpoint names is checked before anything is unpacked) and builds the GPT-2 reward model.
 */
public final class BlobRewardModelLoader implements RewardModelLoader {

    private final ModelFolderStore folders;
    private final Device device;

    /** @param cacheDir where fetched reward-model folders are unpacked, one per blob SHA-256 */
    public BlobRewardModelLoader(BlobStore store, Path cacheDir, Device device) {
        this(new ModelFolderStore(store, cacheDir), device);
    }

    /** @param folders the verified folder cache to fetch through (e.g. the one a process already shares) */
    public BlobRewardModelLoader(ModelFolderStore folders, Device device) {
        this.folders = folders;
        this.device = device;
    }

    @Override
    public RewardScorerModel load(RewardModelCheckpoint checkpoint) throws IOException {
        Path folder = folders.fetchFolder(checkpoint.getBlob());
        return LmRewardScorerModel.load(folder, checkpoint.getName(), checkpoint.getVersion(), device);
    }
}
