package io.salsa.runtime.blob;

import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;

/**
 * A {@link BlobStore} in a local folder, for one machine or a shared file system: blobs are written to a staging
 * file, flushed to disk and renamed into place, so a reader never sees a partial blob.
 */
public final class LocalBlobStore implements BlobStore {

    private static final String STAGING = ".staging";
    private final Path root;

    /** A store rooted at {@code root} (created if missing). */
    public LocalBlobStore(Path root) throws IOException {
        this.root = Files.createDirectories(root).toAbsolutePath().normalize();
    }

    /** The store's folder. */
    public Path root() {
        return root;
    }

    @Override
    public BlobRef put(Path fileOrFolder, String key) throws IOException {
        BlobStore.checkKey(key);
        if (!Files.exists(fileOrFolder)) {
            throw new NoSuchFileException(fileOrFolder.toString(), null, "nothing to store");
        }
        Path target = root.resolve(key);
        Files.createDirectories(target.getParent());
        Path staging = Files.createDirectories(root.resolve(STAGING));
        Path tmp = Files.createTempFile(staging, "blob-", ".partial");
        try {
            String sha;
            if (Files.isDirectory(fileOrFolder)) {
                sha = DeterministicTar.write(fileOrFolder, tmp);
            } else {
                MessageDigest md = Sha256.digest();
                try (InputStream in = Files.newInputStream(fileOrFolder);
                        OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
                    in.transferTo(out);
                }
                sha = Sha256.hex(md.digest());
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            long size = Files.size(tmp);
            FileOps.moveAtomically(tmp, target);
            return new BlobRef(target.toUri(), sha, size);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public Path get(URI uri, String expectedSha256) throws IOException {
        Path file = toPath(uri);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "blob not found (" + uri + ")");
        }
        verify(file, uri, expectedSha256);
        return file;
    }

    @Override
    public boolean exists(URI uri) {
        return Files.isRegularFile(toPath(uri));
    }

    @Override
    public boolean delete(URI uri) throws IOException {
        // a rename into place is atomic, and so is the unlink: a reader either opened the whole blob or finds none
        return Files.deleteIfExists(toPath(uri));
    }

    /** Checks {@code file}'s SHA-256; used by every store before handing out a local path. */
    static void verify(Path file, URI uri, String expectedSha256) throws IOException {
        if (!Sha256.isHex(expectedSha256)) {
            throw new IllegalArgumentException("expected sha256 must be 64 hex digits, got " + expectedSha256);
        }
        check(Sha256.of(file), uri, expectedSha256);
    }

    /** Throws {@link BlobIntegrityException} unless the digest {@code actual} of the blob at {@code uri} is the expected one. */
    static void check(String actual, URI uri, String expectedSha256) throws BlobIntegrityException {
        if (!actual.equalsIgnoreCase(expectedSha256)) {
            throw new BlobIntegrityException(uri + ": sha256 is " + actual + " but " + expectedSha256
                    + " was expected; refusing to use it (corrupt, replaced or wrong reference)");
        }
    }

    private static Path toPath(URI uri) {
        if (!"file".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("a local blob store reads file: URIs, not " + uri);
        }
        return Path.of(uri);
    }
}
