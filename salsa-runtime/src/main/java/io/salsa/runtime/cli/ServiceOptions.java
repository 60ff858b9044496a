package io.salsa.runtime.cli;

import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.BlobStores;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The one picocli mixin for where a command finds Kafka, the schema registry and the blob store ({@link KafkaOptions}
 * plus {@code --blob-store} and {@code --cache-dir}), each flag falling back to the environment every service reads
 * ({@code SALSA_KAFKA_BOOTSTRAP}, {@code SALSA_TOPIC_PREFIX}, {@code SALSA_SCHEMA_REGISTRY}, {@code SALSA_BLOB_STORE}),
 * so no command re-declares them.
 */
public final class ServiceOptions {

    /** The blob store variable, read when {@code --blob-store} is not given. */
    public static final String BLOB_STORE_ENV = "SALSA_BLOB_STORE";
    /** The folder blob store of commands that have a default one: beside the broker's data. */
    public static final Path DEFAULT_BLOB_STORE_DIR = Path.of("salsa-data", "blobs");
    /** Where fetched model folders are unpacked unless a command has its own place for them. */
    public static final Path DEFAULT_CACHE_DIR = Path.of("salsa-data", "cache");

    @Mixin
    KafkaOptions kafkaOptions = new KafkaOptions();

    @Option(names = "--blob-store", paramLabel = "URI", description = "Blob store URI: file:///abs/folder or "
            + "s3://bucket[/prefix] (default: $" + BLOB_STORE_ENV + "; where a command has a default store: "
            + "file://<cwd>/salsa-data/blobs).")
    String blobStore;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Local folder for model folders fetched from "
            + "the blob store (default: the command's own, salsa-data/cache for most).")
    Path cacheDir;

    /** The Kafka and schema-registry part of these options. */
    public KafkaOptions kafkaOptions() {
        return kafkaOptions;
    }

    /**
     * A copy of {@code env} with every given flag written over its variable ({@link KafkaOptions#applyTo} and
     * {@value #BLOB_STORE_ENV}), for configurations that read the environment.
     */
    public Map<String, String> applyTo(Map<String, String> env) {
        Map<String, String> merged = kafkaOptions.applyTo(env);
        KafkaOptions.put(merged, BLOB_STORE_ENV, blobStore);
        return merged;
    }

    /** Kafka settings from the environment with the flags applied. */
    public KafkaSettings kafka(Map<String, String> env) {
        return kafkaOptions.kafka(env);
    }

    /** The blob store URI of the flag, else of {@value #BLOB_STORE_ENV}; null when neither is set (blank = unset). */
    public String blobStoreUri(Map<String, String> env) {
        String uri = blobStore != null ? blobStore : env.get(BLOB_STORE_ENV);
        return uri == null || uri.isBlank() ? null : uri.strip();
    }

    /** As {@link #blobStoreUri}, falling back to the folder store {@link #DEFAULT_BLOB_STORE_DIR} under the working directory. */
    public String blobStoreUriOrDefault(Map<String, String> env) {
        String uri = blobStoreUri(env);
        return uri != null ? uri : DEFAULT_BLOB_STORE_DIR.toAbsolutePath().toUri().toString();
    }

    /**
     * The blob store {@link #blobStoreUriOrDefault} names, S3 credentials read from {@code env}.
     *
     * @throws IllegalArgumentException when the URI is not a file:/// or s3:// one
     */
    public BlobStore blobStore(Map<String, String> env) throws IOException {
        return BlobStores.fromUri(blobStoreUriOrDefault(env), env);
    }

    /** The {@code --cache-dir} folder, or {@code fallback} (which may be null) when the flag was not given. */
    public Path cacheDir(Path fallback) {
        return cacheDir != null ? cacheDir : fallback;
    }

    /** The model-folder store these options name, caching under {@link #DEFAULT_CACHE_DIR} unless {@code --cache-dir}. */
    public ModelFolderStore store(Map<String, String> env) throws IOException {
        return new ModelFolderStore(blobStore(env), cacheDir(DEFAULT_CACHE_DIR).toAbsolutePath());
    }
}
