package io.salsa.learner;

import io.salsa.events.BlobRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

/**
 * A folder-copying {@link ModelStore} for tests: content-addressed by a digest over the folder's file names and
 * bytes, verified on fetch, so the learner's use of the store (what it stores, what it verifies) is exercised.
 */
final class TestModelStore implements ModelStore {

    private final Path root;

    TestModelStore(Path root) throws IOException {
        this.root = Files.createDirectories(root);
    }

    @Override
    public BlobRef putFolder(Path folder) throws IOException {
        String sha = digest(folder);
        Path target = root.resolve(sha);
        if (!Files.exists(target)) {
            Path tmp = Files.createTempDirectory(root, "put-");
            for (Path f : files(folder)) {
                Files.copy(f, tmp.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        long size = 0;
        for (Path f : files(target)) {
            size += Files.size(f);
        }
        return new BlobRef(target.toUri().toString(), sha, size);
    }

    @Override
    public Path fetchFolder(BlobRef ref) throws IOException {
        Path dir = Path.of(java.net.URI.create(ref.getUri()));
        String actual = digest(dir);
        if (!actual.equals(ref.getSha256())) {
            throw new IOException("blob " + ref.getUri() + ": sha256 " + actual + " != " + ref.getSha256());
        }
        return dir;
    }

    private static List<Path> files(Path folder) throws IOException {
        try (var s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    static String digest(Path folder) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files(folder)) {
                md.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Files.readAllBytes(f));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
