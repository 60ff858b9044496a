package io.salsa.scorer;

import ai.djl.Device;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.DeterministicTar;
import io.salsa.runtime.io.FileOps;
import io.salsa.events.RewardModelCheckpoint;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a published reward model: fetches its folder blob from the blob store, verifies the SHA-256 the
 * checkpoint names (the store refuses a mismatch), unpacks it and builds the GPT-2 reward model.
 */
public final class BlobRewardModelLoader implements RewardModelLoader {

    private final BlobStore store;
    private final Path cacheDir;
    private final Device device;

    public BlobRewardModelLoader(BlobStore store, Path cacheDir, Device device) {
        this.store = store;
        this.cacheDir = cacheDir;
        this.device = device;
    }

    @Override
    public RewardScorerModel load(RewardModelCheckpoint checkpoint) throws IOException {
        String sha = checkpoint.getBlob().getSha256();
        Path dest = cacheDir.resolve(safe(checkpoint.getName())).resolve("v" + checkpoint.getVersion() + "-" + sha);
        Path marker = dest.resolve(DeterministicTar.MARKER);
        if (Files.exists(dest) && !(Files.isRegularFile(marker) && Files.readString(marker).trim().equalsIgnoreCase(sha))) {
            FileOps.deleteTree(dest); // left half-unpacked by an earlier crash: never trust it
        }
        Files.createDirectories(dest.getParent());
        store.getFolder(URI.create(checkpoint.getBlob().getUri()), sha, dest);
        return GptRewardScorerModel.load(dest, checkpoint.getName(), checkpoint.getVersion(), device);
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
