package io.salsa.cli.demo;

import io.salsa.runtime.blob.BlobStores;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every demo stage shares: the data folder, the profile, the Kafka settings of the embedded broker, the
 * running services and the outputs of earlier stages.
 */
public final class DemoContext {

    private final Path dir;
    private final DemoProfile profile;
    private final String model;
    private final DemoReward reward;
    private final KafkaSettings kafka;
    private final ServiceStack services;
    private final PrintStream out;
    private final Map<String, Map<String, String>> outputs = new LinkedHashMap<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private ModelFolderStore store;

    /** A context whose base model is GPT-2 (the default of {@code salsa demo}). */
    public DemoContext(Path dir, DemoProfile profile, KafkaSettings kafka, ServiceStack services, PrintStream out) {
        this(dir, profile, "gpt2", kafka, services, out);
    }

    /** @param model the base architecture the pretrain stage builds ({@link ModelRecipes#MODELS}) */
    public DemoContext(Path dir, DemoProfile profile, String model, KafkaSettings kafka, ServiceStack services,
                       PrintStream out) {
        this(dir, profile, model, DemoReward.MODEL, kafka, services, out);
    }

    /** @param reward what the loop's reward scorer serves ({@code salsa demo --reward}) */
    public DemoContext(Path dir, DemoProfile profile, String model, DemoReward reward, KafkaSettings kafka,
                       ServiceStack services, PrintStream out) {
        ModelRecipes.baseShape(model); // refuses an unknown architecture here rather than at the pretrain stage
        this.dir = dir;
        this.profile = profile;
        this.model = model;
        this.reward = reward;
        this.kafka = kafka;
        this.services = services;
        this.out = out;
    }

    /** The demo's data folder ({@code --dir}). */
    public Path dir() {
        return dir;
    }

    /** Where the demo's run (metrics, results, report) is written. */
    public Path runDir() {
        return dir.resolve("run");
    }

    public DemoProfile profile() {
        return profile;
    }

    /** What the loop's reward scorer serves ({@code salsa demo --reward}). */
    public DemoReward reward() {
        return reward;
    }

    /** The base architecture ({@code salsa demo --model}); every later stage follows the folders it produced. */
    public String model() {
        return model;
    }

    public KafkaSettings kafka() {
        return kafka;
    }

    public ServiceStack services() {
        return services;
    }

    public PrintStream out() {
        return out;
    }

    /** The demo's blob store URI: a folder {@code DIR/blobs} (what {@code SALSA_BLOB_STORE} names in production). */
    public String blobStoreUri() {
        return dir.resolve("blobs").toAbsolutePath().toUri().toString();
    }

    /** Model folders in the demo's blob store, fetched copies cached in {@code DIR/cache}. */
    public synchronized ModelFolderStore store() throws IOException {
        if (store == null) {
            store = new ModelFolderStore(BlobStores.fromUri(blobStoreUri()), dir.resolve("cache").toAbsolutePath());
        }
        return store;
    }

    /** A progress line for {@code stage}. */
    public Progress progress(String stage, long total, String unit) {
        return Progress.start(stage, total, unit, out);
    }

    /** The outputs of an earlier stage (empty when it produced none or did not run). */
    public synchronized Map<String, String> outputs(String stage) {
        return outputs.getOrDefault(stage, Map.of());
    }

    /** One output of an earlier stage; a clear error when it is missing, since the chain depends on it. */
    public synchronized String output(String stage, String key) {
        String v = outputs(stage).get(key);
        if (v == null) {
            throw new IllegalStateException("stage '" + stage + "' did not record '" + key
                    + "'; run with --fresh to rebuild it");
        }
        return v;
    }

    synchronized void recordOutputs(String stage, Map<String, String> values) {
        outputs.put(stage, Map.copyOf(values));
    }

    /** Asks every stage to stop (Ctrl-C). */
    public void requestStop() {
        stopping.set(true);
    }

    public boolean stopping() {
        return stopping.get();
    }

    /** Throws when a stop was requested, so loops end at a clean point. */
    public void checkNotStopped() throws InterruptedException {
        if (stopping.get() || Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("stopped");
        }
    }
}
