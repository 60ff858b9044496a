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
    /** The probe port variable, read when {@code --metrics-port} is not given. */
    public static final String METRICS_PORT_ENV = "SALSA_METRICS_PORT";
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

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Port of the service's /metrics, /healthz "
            + "and /readyz on every interface: 0 = any free port, -1 = none (default: $" + METRICS_PORT_ENV + ", else "
            + "the command's own port).")
    Integer metricsPort;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Local folder for model folders fetched from "
            + "the blob store ($SALSA_CACHE_DIR; default: the command's own, salsa-data/cache for most).")
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

    /**
     * The port of the service's probe endpoint: {@code --metrics-port}, else {@value #METRICS_PORT_ENV}, else
     * {@code commandDefault}; -1 means none.
     *
     * @throws IllegalArgumentException naming the setting when the value is not -1, 0 or a port
     */
    public int metricsPort(Map<String, String> env, int commandDefault) {
        String raw = metricsPort != null ? metricsPort.toString() : env.get(METRICS_PORT_ENV);
        if (raw == null || raw.isBlank()) {
            return commandDefault;
        }
        int port;
        try {
            port = Integer.parseInt(raw.strip());
        } catch (NumberFormatException e) {
            port = -2;
        }
        if (port < -1 || port > 65535) {
            throw new IllegalArgumentException("--metrics-port (" + METRICS_PORT_ENV + ") must be -1 (none), 0 (any "
                    + "free port) or a port up to 65535 (got '" + raw.strip() + "')");
        }
        return port;
    }

    /** Whether a metrics port was asked for by flag or variable (not just the command's default). */
    public boolean metricsPortGiven(Map<String, String> env) {
        String v = env.get(METRICS_PORT_ENV);
        return metricsPort != null || (v != null && !v.isBlank());
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
