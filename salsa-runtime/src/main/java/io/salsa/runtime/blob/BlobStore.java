package io.salsa.runtime.blob;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Storage for weight files and model folders that Kafka records point to by URI and SHA-256, so large binaries
 * never travel through Kafka and every reader can prove it got exactly what the writer published.
 *
 * <p>A folder is stored as one blob: a {@link DeterministicTar} of its files, so the same folder always has the same
 * SHA-256. Keys are relative paths of letters, digits, {@code . _ -} and {@code /}; use a key per content (for
 * example {@code models/<run>/<version>.tar}) so that a verified blob is never replaced under its reader.
 */
public interface BlobStore {

    /** Stores a file, or a folder as a deterministic tar, under {@code key}; returns its URI, SHA-256 and size. */
    BlobRef put(Path fileOrFolder, String key) throws IOException;

    /**
     * A local file holding the blob at {@code uri}, verified to hash to {@code expectedSha256}; a mismatch throws
     * {@link BlobIntegrityException} and nothing unverified is returned.
     */
    Path get(URI uri, String expectedSha256) throws IOException;

    /** Whether a blob exists at {@code uri}. */
    boolean exists(URI uri) throws IOException;

    /**
     * Removes the blob at {@code uri}, so that retention policies can bound the disk a run uses. Deleting a blob
     * that is not there is not an error (a retention pass that crashed half-way is simply run again).
     *
     * @return whether a blob was there and is now gone (S3 does not say: it returns true)
     */
    boolean delete(URI uri) throws IOException;

    /** {@link #get} with a {@link BlobRef}. */
    default Path get(BlobRef ref) throws IOException {
        return get(ref.uri(), ref.sha256());
    }

    /**
     * Fetches and verifies a folder blob and unpacks it into {@code destination} (created; it must not exist, unless
     * it already holds this very blob, which is then reused).
     */
    default Path getFolder(URI uri, String expectedSha256, Path destination) throws IOException {
        Path marker = destination.resolve(DeterministicTar.MARKER);
        if (Files.isRegularFile(marker) && Files.readString(marker).trim().equalsIgnoreCase(expectedSha256)) {
            return destination;
        }
        if (Files.exists(destination)) {
            throw new IOException(destination + ": already exists and does not hold blob " + expectedSha256
                    + "; choose an empty destination");
        }
        Path archive = get(uri, expectedSha256);
        DeterministicTar.extract(archive, destination, expectedSha256);
        return destination;
    }

    /** Checks a key: relative, no empty, {@code .} or {@code ..} segments, only portable characters. */
    static String checkKey(String key) {
        if (key == null || key.isEmpty() || key.startsWith("/") || key.endsWith("/")
                || !key.matches("[A-Za-z0-9._/-]+")) {
            throw new IllegalArgumentException("blob key must be a relative path of letters, digits, '.', '_', '-' "
                    + "and '/', got '" + key + "'");
        }
        for (String segment : key.split("/")) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("blob key '" + key + "' has an empty, '.' or '..' segment");
            }
        }
        return key;
    }
}
