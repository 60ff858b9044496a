package io.salsa.learner;

import io.salsa.events.SoupManifest;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.follow.LatestModelFollower;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted soup topic for one recipe and, when a newer version appears, lets a
 * {@link LatestModelFollower} download, verify and load it off the training thread, so that thread only swaps a
 * pointer at the next batch boundary. A soup that cannot be loaded leaves the current reference in place.
 */
final class SoupWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SoupWatcher.class);

    /** A loaded soup waiting to become the reference. */
    record Ready(SoupManifest manifest, PolicyTrainer.PreparedReference reference) {}

    private final LatestModelFollower<SoupManifest, PolicyTrainer.PreparedReference> follower;
    private final KafkaLog.Follower reader;

    /**
     * Starts following at once.
     *
     * @param currentVersion version of the soup the learner uses now: only newer ones are loaded
     */
    SoupWatcher(KafkaSettings kafka, String recipe, long currentVersion, ModelFolderStore store, PolicyTrainer trainer) {
        this.follower = new LatestModelFollower<>("soup-watcher-" + recipe,
                m -> "soup " + recipe + " version " + m.getVersion(),
                LatestModelFollower.byVersion(SoupManifest::getVersion, currentVersion),
                LatestModelFollower.fetching(store, SoupManifest::getBlob, (m, dir) -> trainer.prepareReference(dir)));
        String topic = kafka.topic(Topics.SOUP);
        RegistryAvroSerde<SoupManifest> serde = kafka.valueSerde(Topics.SOUP);
        this.reader = KafkaLog.follow(kafka, topic, KafkaLog.ALL, "soup-watcher-" + recipe + "-reader", r -> {
            if (!recipe.equals(r.key()) || r.value() == null) {
                return;
            }
            try {
                follower.offer(KafkaLog.decode(serde, r)); // older versions are refused there
            } catch (RuntimeException e) {
                LOG.warn("skipping undecodable soup record at {}-{}@{}: {}", topic, r.partition(), r.offset(),
                        e.getMessage());
            }
        }, () -> { });
    }

    /** The newest loaded soup not yet taken, or null; the caller owns (and must swap in or close) it. */
    Ready take() {
        LatestModelFollower.Loaded<SoupManifest, PolicyTrainer.PreparedReference> loaded = follower.takeIfNewer();
        return loaded == null ? null : new Ready(loaded.announcement(), loaded.model());
    }

    @Override
    public void close() {
        reader.close();
        follower.close();
    }
}
