package io.salsa.learner;

import io.salsa.events.SoupManifest;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted soup topic for one recipe on a background thread and, when a newer version appears,
 * downloads and loads it there, so the training thread only swaps a pointer at the next batch boundary.
 */
final class SoupWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SoupWatcher.class);

    /** A loaded soup waiting to become the reference. */
    record Ready(SoupManifest manifest, PolicyTrainer.PreparedReference reference) {}

    private final KafkaSettings kafka;
    private final String recipe;
    private final ModelFolderStore store;
    private final PolicyTrainer trainer;
    private final AtomicReference<Ready> ready = new AtomicReference<>();
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile long newestSeen;
    private volatile boolean running = true;

    SoupWatcher(KafkaSettings kafka, String recipe, long currentVersion, ModelFolderStore store, PolicyTrainer trainer) {
        this.kafka = kafka;
        this.recipe = recipe;
        this.store = store;
        this.trainer = trainer;
        this.newestSeen = currentVersion;
        this.consumer = KafkaLog.rawConsumer(kafka);
        this.thread = new Thread(this::loop, "soup-watcher-" + recipe);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** The newest loaded soup not yet taken, or null; the caller owns (and must swap in or close) it. */
    Ready take() {
        return ready.getAndSet(null);
    }

    private void loop() {
        String topic = kafka.topic(Topics.SOUP);
        RegistryAvroSerde<SoupManifest> serde = kafka.valueSerde(Topics.SOUP);
        try {
            List<TopicPartition> parts = KafkaLog.partitions(consumer, topic);
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (!recipe.equals(r.key()) || r.value() == null) {
                        continue;
                    }
                    SoupManifest m;
                    try {
                        m = serde.deserialize(topic, r.value());
                    } catch (RuntimeException e) {
                        LOG.warn("skipping undecodable soup record at {}-{}@{}: {}", topic, r.partition(), r.offset(),
                                e.getMessage());
                        continue;
                    }
                    if (m.getVersion() <= newestSeen) {
                        continue;
                    }
                    load(m);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOG.error("soup watcher for recipe {} stopped: {}", recipe, e.toString());
            }
        } finally {
            consumer.close();
        }
    }

    private void load(SoupManifest m) {
        try {
            PolicyTrainer.PreparedReference ref = trainer.prepareReference(store.fetchFolder(m.getBlob()));
            newestSeen = m.getVersion();
            Ready previous = ready.getAndSet(new Ready(m, ref));
            if (previous != null) {
                previous.reference().close();
            }
            LOG.info("soup {} version {} loaded; it becomes the reference at the next batch boundary", recipe,
                    m.getVersion());
        } catch (Exception e) {
            LOG.error("soup {} version {} could not be loaded, keeping the current reference: {}", recipe,
                    m.getVersion(), e.toString());
            newestSeen = m.getVersion();
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Ready left = ready.getAndSet(null);
        if (left != null) {
            left.reference().close();
        }
    }
}
