package io.salsa.runtime.blob;

import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.DeterministicTar;
import io.salsa.events.BlobRef;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Model folders (SFT models, soups, policy checkpoints) in the blob store: each is stored as one deterministic
 * tar under a key that ends in its own digest, so a key never names two contents, and fetched into a local cache
 * folder only after its SHA-256 checks out. The soup builder and the learner share it.
 */
public final class ModelFolderStore {

    private final BlobStore store;
    private final Path cacheDir;

    /**
     * @param cacheDir where fetched folders are unpacked, one sub-folder per blob SHA-256 (reused when present)
     */
    public ModelFolderStore(BlobStore store, Path cacheDir) {
        this.store = store;
        this.cacheDir = cacheDir;
    }

    /** The underlying blob store. */
    public BlobStore blobStore() {
        return store;
    }

    /**
     * Stores {@code folder} under {@code keyPrefix-<first 16 hex of its tar's SHA-256>.tar}, e.g.
     * {@code runs/r1/policy-v3-…}; storing the same folder twice yields the same reference.
     */
    public BlobRef putFolder(Path folder, String keyPrefix) throws IOException {
        Path tmp = Files.createTempFile("salsa-folder-", ".tar");
        try {
            String sha = DeterministicTar.write(folder, tmp);
            io.salsa.runtime.blob.BlobRef ref = store.put(tmp, keyPrefix + "-" + sha.substring(0, 16) + ".tar");
            return new BlobRef(ref.uri().toString(), ref.sha256(), ref.size());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** A verified local copy of a stored folder (throws {@code BlobIntegrityException} on a checksum mismatch). */
    public Path fetchFolder(BlobRef ref) throws IOException {
        Files.createDirectories(cacheDir);
        return store.getFolder(URI.create(ref.getUri()), ref.getSha256(), cacheDir.resolve(ref.getSha256()));
    }
}
