package io.salsa.runtime.cli;

import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.blob.BlobStores;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where a command finds Kafka and the blob store: flags, falling back to the environment that every service
 * reads ({@code SALSA_KAFKA_BOOTSTRAP}, {@code SALSA_TOPIC_PREFIX}, {@code SALSA_BLOB_STORE}).
 */
public final class ServiceOptions {

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: $SALSA_KAFKA_BOOTSTRAP).")
    String bootstrap;

    @Option(names = "--topic-prefix", description = "Topic name prefix (default: $SALSA_TOPIC_PREFIX or none).")
    String topicPrefix;

    @Option(names = "--blob-store", description = "Blob store URI: file:///abs/folder or s3://bucket[/prefix] "
            + "(default: $SALSA_BLOB_STORE, else file://<cwd>/salsa-data/blobs).")
    String blobStore;

    @Option(names = "--cache-dir", defaultValue = "salsa-data/cache",
            description = "Local folder for fetched model folders (default: ${DEFAULT-VALUE}).")
    Path cacheDir;

    /**
     * A stop flag that Ctrl-C (SIGTERM) raises; the shutdown hook then waits until {@link Shutdown#close()} says
     * the service finished its current unit of work, so a stop never cuts a step in half.
     */
    public static Shutdown onShutdown(String name) {
        Shutdown s = new Shutdown();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s.stop.set(true);
            try {
                s.done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name + "-shutdown"));
        return s;
    }

    /** See {@link #onShutdown(String)}. */
    public static final class Shutdown implements AutoCloseable {
        private final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

        /** Whether a stop was requested. */
        public boolean requested() {
            return stop.get();
        }

        /** Lets the shutdown hook finish. */
        @Override
        public void close() {
            done.countDown();
        }
    }

    /** Kafka settings from the environment with the flags applied. */
    public KafkaSettings kafka(Map<String, String> env) {
        Map<String, String> merged = new java.util.HashMap<>(env);
        if (bootstrap != null) {
            merged.put(KafkaSettings.BOOTSTRAP_ENV, bootstrap);
        }
        if (topicPrefix != null) {
            merged.put(KafkaSettings.PREFIX_ENV, topicPrefix);
        }
        return KafkaSettings.fromEnv(merged);
    }

    /** The model-folder store these options name. */
    public ModelFolderStore store(Map<String, String> env) throws IOException {
        String uri = blobStore != null ? blobStore : env.get("SALSA_BLOB_STORE");
        if (uri == null || uri.isBlank()) {
            uri = Path.of("salsa-data", "blobs").toAbsolutePath().toUri().toString();
        }
        return new ModelFolderStore(BlobStores.fromUri(uri, env), cacheDir.toAbsolutePath());
    }
}
