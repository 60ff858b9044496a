package io.salsa.runtime.blob;

import java.net.URI;
import java.util.Objects;

/**
 * Where a blob lives and what it must hash to: the only form in which weights are referenced from Kafka records.
 *
 * @param uri    {@code file:///…} or {@code s3://bucket/key}
 * @param sha256 lower-case hex SHA-256 of the blob's bytes
 * @param size   bytes
 */
public record BlobRef(URI uri, String sha256, long size) {

    public BlobRef {
        Objects.requireNonNull(uri, "uri");
        if (!Sha256.isHex(sha256)) {
            throw new IllegalArgumentException("sha256 must be 64 hex digits, got " + sha256);
        }
        sha256 = sha256.toLowerCase(java.util.Locale.ROOT);
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, got " + size);
        }
    }
}
