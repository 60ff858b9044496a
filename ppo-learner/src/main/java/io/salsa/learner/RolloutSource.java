package io.salsa.learner;

import io.salsa.events.OffsetRange;
import io.salsa.events.ScoredRollout;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner's batches from the scored-rollouts topic: a consumer positioned where the learner state says, the
 * {@link BatchAssembler} cutting what it polls into batches, and the consumer group's committed offsets (progress
 * only: restart and replay take their positions from manifests).
 */
final class RolloutSource implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RolloutSource.class);

    private final LearnerConfig config;
    private final KafkaConsumer<String, byte[]> consumer;
    private final BatchAssembler assembler;
    private final RegistryAvroSerde<ScoredRollout> serde;
    private final String topic;
    private final SalsaMetrics.Binding consumerMetrics;
    /** The offset last committed per partition (steps and skipped-record progress). */
    private final Map<TopicPartition, Long> progressCommitted = new HashMap<>();

    /** A source for run {@code config} feeding a policy of {@code vocabSize} tokens and {@code maxLength} context. */
    RolloutSource(LearnerConfig config, KafkaSettings kafka, int vocabSize, int maxLength) {
        this.config = config;
        // the group only records progress (lag, offsets commit); positions come from manifests on restart
        Properties cp = kafka.consumerProps(LearnerTopics.SERVICE + "-" + config.runId());
        cp.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                Integer.toString(KafkaSettings.MAX_RECORD_BYTES));
        this.consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new ByteArrayDeserializer());
        this.consumerMetrics = SalsaMetrics.monitor(consumer);
        // the wait for a group's missing member runs on the monotonic clock; a replay never consults it
        this.assembler = BatchAssembler.of(config, vocabSize, maxLength, () -> System.nanoTime() / 1_000_000);
        this.serde = kafka.valueSerde(Topics.SCORED_ROLLOUTS);
        this.topic = kafka.topic(Topics.SCORED_ROLLOUTS);
    }

    /** Assigns every partition and seeks to the state's position (the beginning where it has none). */
    void startAt(Map<String, Long> positions) {
        List<TopicPartition> parts = KafkaLog.partitions(consumer, topic);
        consumer.assign(parts);
        for (TopicPartition tp : parts) {
            Long pos = positions.get(LearnerState.positionKey(tp.topic(), tp.partition()));
            if (pos == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, pos);
            }
        }
    }

    /** Polls until a batch for a learner at {@code policyVersion} is formed; null once {@code stop} says so. */
    BatchAssembler.Batch next(long policyVersion, BooleanSupplier stop) {
        long lastLog = System.nanoTime();
        while (true) {
            BatchAssembler.Batch batch = assembler.tryForm(policyVersion);
            if (batch != null) {
                return batch;
            }
            if (stop.getAsBoolean()) {
                return null;
            }
            ConsumerRecords<String, byte[]> polled = consumer.poll(Duration.ofMillis(config.pollTimeoutMs()));
            for (ConsumerRecord<String, byte[]> r : polled) {
                assembler.add(ConsumedRollout.decode(r, serde));
            }
            // also after an empty poll: records go stale as the version moves on, with nothing new arriving
            commitProgress(policyVersion);
            if (System.nanoTime() - lastLog > LearnerTopics.WAIT_LOG_EVERY.toNanos()) {
                LOG.info("run {}: waiting for scored rollouts ({} of {} pending)", config.runId(),
                        assembler.pendingCount(), config.ppo().batchSize());
                lastLog = System.nanoTime();
            }
        }
    }

    /** Commits the end of a trained step's ranges as the group's progress. */
    void commit(List<OffsetRange> ranges) {
        Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
        for (OffsetRange r : ranges) {
            commit.put(new TopicPartition(r.getTopic(), r.getPartition()), new OffsetAndMetadata(r.getUntilOffset()));
        }
        if (!commit.isEmpty()) {
            commitOffsets(commit);
        }
    }

    /**
     * Commits, as consumer-group progress only, offsets that leave in the group's lag only the pending records
     * this run may still train ({@link BatchAssembler#progressOffsets}), so generators gating on the lag do not
     * wait for a step that would never come. Commits only when an offset grows. Restart and replay take their
     * positions from manifests, not from these commits.
     */
    private void commitProgress(long policyVersion) {
        Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
        assembler.progressOffsets(policyVersion).forEach((tp, end) -> {
            Long done = progressCommitted.get(tp);
            if (done == null || end > done) {
                commit.put(tp, new OffsetAndMetadata(end));
            }
        });
        if (!commit.isEmpty()) {
            commitOffsets(commit);
        }
    }

    private void commitOffsets(Map<TopicPartition, OffsetAndMetadata> commit) {
        consumer.commitSync(commit);
        // the last commit, not the highest: a step's range end may sit below an earlier progress commit (records
        // behind it were counted as skipped), and the next progress commit must then move the offset up again
        commit.forEach((tp, o) -> progressCommitted.put(tp, o.offset()));
    }

    @Override
    public void close() {
        consumerMetrics.close();
        consumer.close(Duration.ofSeconds(5));
    }
}
