package io.salsa.generator;

import io.salsa.events.BatchManifest;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures how far the learner is behind the generators, on a background thread, so the generation loop can
 * apply the {@link StalenessGate} without waiting on Kafka.
 *
 * <p>Unconsumed rollouts = the summed lag of the configured (topic, consumer group) pairs on the way to the
 * learner — by default the scorer on {@code rollouts} plus the learner on {@code scored-rollouts} — where a
 * partition the group never committed counts from its earliest offset (a new learner group starts there).
 * A group named with the run placeholder uses the configured run id, or the newest manifest's.
 * The learner's rollouts per step come from its newest {@link BatchManifest} on {@code learner-batches}.
 * Rollouts this instance sent but that were not yet acknowledged when the last measurement started are
 * added (they may be missing from the end offsets it read), so the gate reacts to this instance's own output
 * at once instead of one measurement later; a rollout may be counted twice, never missed. Like the lag, that
 * count is in offsets: the markers of this instance's ended transactions are added too.
 */
public final class LearnerWatch extends BackgroundReader {

    private static final Logger LOG = LoggerFactory.getLogger(LearnerWatch.class);

    /** A measurement: summed lag, and this instance's acknowledged-rollout count when it started. */
    private record Measurement(long lag, long ackedAtStart) { }

    private final KafkaSettings settings;
    private final GeneratorConfig config;
    private final LongSupplier sentRollouts;
    private final LongSupplier ackedRollouts;
    private final LongSupplier publishedVersion;
    private final Duration interval;
    private final AtomicLong rolloutsPerStep;
    /** Run id of the newest batch manifest, for lag sources whose group names the run. */
    private volatile String manifestRun;
    private volatile Measurement last;

    /**
     * @param sentRollouts     offsets this instance's outputs took so far: rollouts handed to its producer plus the
     *                         markers of its ended transactions ({@link GeneratorStats#offsetsSent()})
     * @param ackedRollouts    the same with acknowledged rollouts ({@link GeneratorStats#offsetsAcked()})
     * @param publishedVersion newest policy version the learner published (-1 before any)
     */
    public LearnerWatch(KafkaSettings settings, GeneratorConfig config, LongSupplier sentRollouts,
                        LongSupplier ackedRollouts, LongSupplier publishedVersion, Duration interval) {
        super("generator-learner-watch");
        this.settings = settings;
        this.config = config;
        this.sentRollouts = sentRollouts;
        this.ackedRollouts = ackedRollouts;
        this.publishedVersion = publishedVersion;
        this.interval = interval;
        this.rolloutsPerStep = new AtomicLong(config.learnerBatchRollouts());
    }

    /** True once a first lag measurement exists; until then {@link #progress()} assumes nothing is waiting. */
    public boolean measured() {
        return last != null;
    }

    /** What is known now about the learner, including rollouts this instance sent since the last measurement. */
    public StalenessGate.LearnerProgress progress() {
        Measurement m = last;
        long unconsumed = m == null ? 0 : m.lag() + Math.max(0, sentRollouts.getAsLong() - m.ackedAtStart());
        return new StalenessGate.LearnerProgress(unconsumed, rolloutsPerStep.get(), publishedVersion.getAsLong());
    }

    @Override
    protected void loop() {
        String batchesTopic = settings.topic(Topics.LEARNER_BATCHES);
        RegistryAvroSerde<BatchManifest> serde = settings.valueSerde(Topics.LEARNER_BATCHES);
        try (Admin admin = Admin.create(settings.adminProps());
             KafkaConsumer<byte[], byte[]> c = openConsumer(settings)) {
            List<TopicPartition> parts = c.partitionsFor(batchesTopic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(batchesTopic, p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            while (running()) {
                long start = ackedRollouts.getAsLong();
                try {
                    last = new Measurement(lag(admin), start);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    LOG.warn("cannot measure the learner's lag (keeping the last measurement): {}", e.toString());
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(interval)) {
                    try {
                        BatchManifest m = serde.decode(r);
                        if (m != null && m.getRecordCount() > 0
                                && (config.policyRunId() == null || config.policyRunId().equals(m.getRunId()))) {
                            // the rollouts a step trains on, not the records it skipped: counting stale ones
                            // would let generators produce more, making more stale ones (a runaway loop)
                            rolloutsPerStep.set(usedPerStep(m));
                            manifestRun = m.getRunId();
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("skipping an unreadable batch manifest at {}@{}: {}", r.partition(), r.offset(),
                                e.getMessage());
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("learner watch stopped: {}", e.toString(), e);
        }
    }

    /** Rollouts a learner step trained on: the manifest's records minus those it dropped as stale (at least 1). */
    static long usedPerStep(BatchManifest m) {
        return Math.max(1, m.getRecordCount() - m.getDroppedStale());
    }

    /** Summed lag of every configured (topic, group) pair. */
    private long lag(Admin admin) throws InterruptedException, java.util.concurrent.ExecutionException,
            java.util.concurrent.TimeoutException {
        long total = 0;
        for (GeneratorConfig.LagSource source : config.lagSources()) {
            String topic = settings.topic(source.catalogTopic());
            Map<String, TopicDescription> described;
            try {
                described = admin.describeTopics(Set.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                    continue; // nothing produced there yet
                }
                throw e;
            }
            List<TopicPartition> parts = new ArrayList<>();
            for (TopicPartitionInfo p : described.get(topic).partitions()) {
                parts.add(new TopicPartition(topic, p.partition()));
            }
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            parts.forEach(tp -> {
                latest.put(tp, OffsetSpec.latest());
                earliest.put(tp, OffsetSpec.earliest());
            });
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                    admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts =
                    admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
            String run = config.policyRunId() != null ? config.policyRunId() : manifestRun;
            // before the run is known the group has committed nothing: its lag counts from the earliest offset
            String group = settings.groupId(source.group()).replace(GeneratorConfig.RUN_PLACEHOLDER, run == null ? "?" : run);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            for (TopicPartition tp : parts) {
                OffsetAndMetadata c = committed.get(tp);
                long from = c != null ? c.offset() : starts.get(tp).offset();
                total += Math.max(0, ends.get(tp).offset() - from);
            }
        }
        return total;
    }
}
