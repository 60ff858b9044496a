package io.salsa.runtime.blob;

import io.salsa.events.BlobRef;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Model folders (SFT models, soups, policy checkpoints, reward models) in the blob store: each is stored as one
 * deterministic tar under a key that ends in its own digest, so a key never names two contents, and fetched into a
 * local cache folder only after its SHA-256 checks out. It is the one verified folder cache of the project: the soup
 * builder, the learner, the generator and the scorer all fetch through it.
 *
 * <p>The cache holds one sub-folder per blob SHA-256, reused when present (a restart does not download again). A
 * folder there that does not carry the blob's marker was left half-unpacked (by a crash, or by older code) and is
 * unpacked again, never trusted. A cache built with a limit keeps only the most recently fetched folders, so a
 * follower that fetches every new checkpoint for weeks uses bounded disk.
 */
public final class ModelFolderStore {

    /** No limit: every fetched folder stays (caches that several threads read, such as the learner's). */
    public static final int KEEP_ALL = 0;

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final String UNPACKING = ".unpack-";

    private final BlobStore store;
    private final Path cacheDir;
    private final int keep;
    /** Last recency stamp given to a folder: stamps strictly increase, so two fetches never tie. */
    private long lastStamp;

    /**
     * A cache that keeps every folder.
     *
     * @param cacheDir where fetched folders are unpacked, one sub-folder per blob SHA-256 (reused when present)
     */
    public ModelFolderStore(BlobStore store, Path cacheDir) {
        this(store, cacheDir, KEEP_ALL);
    }

    /**
     * A cache that keeps at most {@code keep} folders ({@link #KEEP_ALL} for no limit). A limited cache must have a
     * single user: pruning removes folders the user no longer holds, and unpacking leftovers of any blob.
     *
     * @param keep folders kept after a fetch, the fetched one included (e.g. 2: the one in use and the one loading)
     */
    public ModelFolderStore(BlobStore store, Path cacheDir, int keep) {
        if (keep < 0) {
            throw new IllegalArgumentException("keep must be 0 (no limit) or positive, got " + keep);
        }
        this.store = store;
        this.cacheDir = cacheDir;
        this.keep = keep;
    }

    /** The underlying blob store. */
    public BlobStore blobStore() {
        return store;
    }

    /** Where folders are unpacked. */
    public Path cacheDir() {
        return cacheDir;
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

    /**
     * A verified local copy of a stored folder: throws {@code BlobIntegrityException} on a checksum mismatch, and an
     * {@code IOException} when the reference names no valid SHA-256 (it would otherwise name a cache path).
     */
    public Path fetchFolder(BlobRef ref) throws IOException {
        String sha = ref.getSha256() == null ? "" : ref.getSha256().toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(sha).matches()) {
            throw new IOException("blob " + ref.getUri() + " has no valid sha256 ('" + ref.getSha256() + "')");
        }
        Files.createDirectories(cacheDir);
        Path dest = cacheDir.resolve(sha);
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && !holds(dest, sha)) {
            FileOps.deleteTree(dest); // left half-unpacked: unpack it again rather than trust it
        }
        Path folder;
        try {
            folder = store.getFolder(URI.create(ref.getUri()), sha, dest);
        } catch (IOException e) {
            if (!holds(dest, sha)) {
                throw e;
            }
            folder = dest; // another thread unpacked the same blob first: its copy is just as verified
        }
        if (keep != KEEP_ALL) {
            markUsed(folder);
            prune(folder);
        }
        return folder;
    }

    private static boolean holds(Path dest, String sha) throws IOException {
        Path marker = dest.resolve(DeterministicTar.MARKER);
        return Files.isRegularFile(marker) && Files.readString(marker).trim().equalsIgnoreCase(sha);
    }

    private synchronized void markUsed(Path folder) throws IOException {
        lastStamp = Math.max(System.currentTimeMillis(), lastStamp + 1);
        Files.setLastModifiedTime(folder, FileTime.fromMillis(lastStamp));
    }

    /** Removes all but the {@code keep} most recently used folders, and unpacking leftovers of a crash. */
    private synchronized void prune(Path fetched) throws IOException {
        List<Path> folders = new ArrayList<>();
        try (Stream<Path> s = Files.list(cacheDir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(".") && name.contains(UNPACKING)) {
                    FileOps.deleteTree(p); // staging folder of an unpack a crash interrupted
                } else if (Files.isDirectory(p) && SHA256.matcher(name).matches() && !p.equals(fetched)) {
                    folders.add(p);
                }
            }
        }
        folders.sort(Comparator.comparingLong(ModelFolderStore::modified).reversed());
        for (int i = keep - 1; i < folders.size(); i++) {
            FileOps.deleteTree(folders.get(i));
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0; // vanished meanwhile: sorts as the oldest
        }
    }
}
