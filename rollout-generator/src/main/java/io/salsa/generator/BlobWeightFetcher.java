package io.salsa.generator;

import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.DeterministicTar;
import io.salsa.events.BlobRef;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The shipped {@link WeightFetcher}: gets a model-folder blob from the blob store, which verifies its SHA-256
 * before unpacking, into {@code cacheDir/<sha256>}, reusing a folder already holding that blob (a restart
 * does not download again) and keeping only the few newest folders so disk use stays bounded.
 */
public final class BlobWeightFetcher implements WeightFetcher {

    /** Folders kept: the one being loaded and the one in use. */
    static final int KEEP = 2;

    private final BlobStore store;
    private final Path cacheDir;

    public BlobWeightFetcher(BlobStore store, Path cacheDir) {
        this.store = store;
        this.cacheDir = cacheDir;
    }

    @Override
    public Path fetch(BlobRef blob) throws IOException {
        Files.createDirectories(cacheDir);
        String sha = blob.getSha256().toLowerCase(java.util.Locale.ROOT);
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new IOException("blob " + blob.getUri() + " has no valid sha256 ('" + blob.getSha256() + "')");
        }
        Path dest = cacheDir.resolve(sha);
        Path marker = dest.resolve(DeterministicTar.MARKER);
        if (Files.exists(dest) && !(Files.isRegularFile(marker) && Files.readString(marker).trim().equalsIgnoreCase(sha))) {
            deleteRecursively(dest); // left half-unpacked by a crash
        }
        Path folder = store.getFolder(URI.create(blob.getUri()), sha, dest);
        Files.setLastModifiedTime(folder, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        prune(folder);
        return folder;
    }

    private void prune(Path keep) throws IOException {
        List<Path> folders;
        try (Stream<Path> s = Files.list(cacheDir)) {
            folders = s.filter(Files::isDirectory).filter(p -> !p.equals(keep))
                    .sorted(Comparator.comparing(BlobWeightFetcher::modified).reversed()).toList();
        }
        for (int i = KEEP - 1; i < folders.size(); i++) {
            deleteRecursively(folders.get(i));
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
