package io.salsa.generator;

import io.salsa.events.BlobRef;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The shipped {@link WeightFetcher}: the verified folder cache ({@link ModelFolderStore}) limited to the few
 * newest folders, since a generator fetches every checkpoint the learner publishes and disk use must stay bounded.
 */
public final class BlobWeightFetcher implements WeightFetcher {

    /** Folders kept: the one being loaded and the one in use. */
    static final int KEEP = 2;

    private final ModelFolderStore folders;

    /** @param cacheDir the generator's own weights cache (pruned: share it with nothing else) */
    public BlobWeightFetcher(BlobStore store, Path cacheDir) {
        this.folders = new ModelFolderStore(store, cacheDir, KEEP);
    }

    @Override
    public Path fetch(BlobRef blob) throws IOException {
        return folders.fetchFolder(blob);
    }
}
