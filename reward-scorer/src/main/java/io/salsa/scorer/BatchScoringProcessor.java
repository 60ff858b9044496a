package io.salsa.scorer;

import io.salsa.events.DeadLetter;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.schemas.DeadLetters;
import io.salsa.schemas.serde.SerdeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects validated rollouts into micro-batches (by count and by time) and scores each batch with the reward
 * model in service, stamping its name and version on every output.
 *
 * <p>The buffer is a changelogged state store, not a Java list: under exactly-once the store's changelog, the
 * outputs and the input offsets commit in one transaction, so a rollout whose offset is committed is either
 * already scored or still in the (restorable) buffer — a crash loses nothing and scores nothing twice.
 */
final class BatchScoringProcessor implements Processor<byte[], byte[], byte[], Object> {

    private static final Logger LOG = LoggerFactory.getLogger(BatchScoringProcessor.class);

    private final ScorerConfig config;
    private final Deserializer<Rollout> rollouts;
    private final RewardModelSlot slot;
    private final ScorerMetrics metrics;
    private final String scoredSinkName;
    private final String deadLetterSinkName;

    private ProcessorContext<byte[], Object> context;
    private KeyValueStore<Bytes, byte[]> pending;
    private KeyValueStore<String, byte[]> stats;
    private String sourceTopic;
    private int buffered;
    private long oldestBufferedAtMs;
    private boolean warnedNoModel;

    BatchScoringProcessor(ScorerConfig config, Deserializer<Rollout> rollouts, RewardModelSlot slot,
                          ScorerMetrics metrics, String scoredSinkName, String deadLetterSinkName) {
        this.config = config;
        this.rollouts = rollouts;
        this.slot = slot;
        this.metrics = metrics;
        this.scoredSinkName = scoredSinkName;
        this.deadLetterSinkName = deadLetterSinkName;
    }

    @Override
    public void init(ProcessorContext<byte[], Object> context) {
        this.context = context;
        this.pending = context.getStateStore(RewardScorerApp.PENDING_STORE);
        this.stats = context.getStateStore(RewardScorerApp.STATS_STORE);
        try (KeyValueIterator<Bytes, byte[]> it = pending.all()) {
            while (it.hasNext()) {
                it.next();
                buffered++;
            }
        }
        if (buffered > 0) {
            // restored after a crash or a rebalance: the clock for these starts now
            oldestBufferedAtMs = context.currentSystemTimeMs();
            LOG.info("task {}: {} buffered rollouts restored from the changelog", context.taskId(), buffered);
        }
        long every = Math.max(1, Math.min(1000, config.batchMaxWait().toMillis() / 4));
        context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::onTimer);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        sourceTopic = meta.topic();
        PendingRollout p = new PendingRollout(meta.partition(), meta.offset(), record.timestamp(), record.key(),
                record.value());
        pending.put(Bytes.wrap(p.storeKey()), p.toBytes());
        if (buffered++ == 0) {
            oldestBufferedAtMs = context.currentSystemTimeMs();
        }
        while (buffered >= config.batchSize()) {
            if (!flushOneBatch()) {
                return;
            }
        }
    }

    private void onTimer(long nowMs) {
        if (buffered > 0 && nowMs - oldestBufferedAtMs >= config.batchMaxWait().toMillis()) {
            while (buffered > 0) {
                if (!flushOneBatch()) {
                    return;
                }
            }
        }
    }

    /** Scores the oldest {@code batchSize} buffered rollouts; false when no model is in service yet. */
    private boolean flushOneBatch() {
        try (RewardModelSlot.Lease lease = slot.acquire()) {
            if (lease == null) {
                if (!warnedNoModel) {
                    LOG.warn("task {}: no reward model in service yet; {} rollouts wait in the buffer",
                            context.taskId(), buffered);
                    warnedNoModel = true;
                }
                return false;
            }
            warnedNoModel = false;
            long start = System.nanoTime();
            List<KeyValue<Bytes, byte[]>> entries = takeOldest(config.batchSize());
            scoreBatch(lease.model(), entries, start);
            for (KeyValue<Bytes, byte[]> e : entries) {
                pending.delete(e.key);
            }
            buffered -= entries.size();
            oldestBufferedAtMs = context.currentSystemTimeMs();
            return true;
        }
    }

    private List<KeyValue<Bytes, byte[]>> takeOldest(int n) {
        List<KeyValue<Bytes, byte[]>> out = new ArrayList<>(n);
        try (KeyValueIterator<Bytes, byte[]> it = pending.all()) {
            while (it.hasNext() && out.size() < n) {
                out.add(it.next());
            }
        }
        return out;
    }

    private void scoreBatch(RewardScorerModel model, List<KeyValue<Bytes, byte[]>> entries, long startNanos) {
        List<PendingRollout> accepted = new ArrayList<>(entries.size());
        List<Rollout> batch = new ArrayList<>(entries.size());
        for (KeyValue<Bytes, byte[]> e : entries) {
            PendingRollout p = PendingRollout.fromBytes(e.value);
            Rollout r;
            try {
                r = rollouts.deserialize(topic(), p.value());
            } catch (SerdeException ex) {
                if (!ex.reason().poison()) {
                    throw ex;
                }
                deadLetter(p, ex.at(p.partition(), p.offset()));
                continue;
            }
            Optional<String> reject = model.rejectReason(r);
            if (reject.isPresent()) {
                deadLetter(p, new RewardModelRejectedException(model.name() + " v" + model.version()
                        + " cannot score rollout " + r.getRolloutId() + ": " + reject.get()));
                continue;
            }
            accepted.add(p);
            batch.add(r);
        }
        float[] raw = new float[batch.size()];
        RuntimeException[] errors = new RuntimeException[batch.size()];
        long modelStart = System.nanoTime();
        scoreIsolatingFailures(model, batch, 0, batch.size(), raw, errors);
        long modelNanos = System.nanoTime() - modelStart;

        List<Integer> ok = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            if (errors[i] == null) {
                ok.add(i);
            } else {
                deadLetter(accepted.get(i), new RewardModelRejectedException(model.name() + " v" + model.version()
                        + " failed on rollout " + batch.get(i).getRolloutId() + ": " + errors[i], errors[i]));
            }
        }
        float[] okRaw = new float[ok.size()];
        for (int j = 0; j < ok.size(); j++) {
            okRaw[j] = raw[ok.get(j)];
        }
        float[] scores = config.normalize() ? normalise(model, okRaw) : okRaw;
        long now = context.currentSystemTimeMs();
        for (int j = 0; j < ok.size(); j++) {
            int i = ok.get(j);
            ScoredRollout out = ScoredRollout.newBuilder()
                    .setRollout(batch.get(i))
                    .setScore(scores[j])
                    .setRawScore(okRaw[j])
                    .setRewardModelName(model.name())
                    .setRewardModelVersion(model.version())
                    .setScorerId(config.scorerId())
                    .setScoredAtMs(now)
                    .build();
            PendingRollout p = accepted.get(i);
            context.forward(new Record<>(p.key(), out, p.timestamp()), scoredSinkName);
        }
        metrics.recordBatch(ok.size(), modelNanos, System.nanoTime() - startNanos);
    }

    /**
     * Scores {@code batch[from, to)}; when the model throws, halves the range until the failing rollouts are
     * isolated, so one rollout the model cannot handle is dead-lettered instead of failing its neighbours.
     */
    private static void scoreIsolatingFailures(RewardScorerModel model, List<Rollout> batch, int from, int to,
                                               float[] out, RuntimeException[] errors) {
        if (from >= to) {
            return;
        }
        try {
            float[] s = model.score(batch.subList(from, to));
            if (s.length != to - from) {
                throw new IllegalStateException("reward model returned " + s.length + " scores for "
                        + (to - from) + " rollouts");
            }
            System.arraycopy(s, 0, out, from, s.length);
        } catch (RuntimeException e) {
            if (to - from == 1) {
                errors[from] = e;
                return;
            }
            int mid = (from + to) >>> 1;
            scoreIsolatingFailures(model, batch, from, mid, out, errors);
            scoreIsolatingFailures(model, batch, mid, to, out, errors);
        }
    }

    /** Updates the running stats of this model version with the batch, then normalises the batch with them. */
    private float[] normalise(RewardScorerModel model, float[] raw) {
        String key = model.name() + "@" + model.version();
        RunningStats s = RunningStats.fromBytes(stats.get(key)).plus(raw);
        stats.put(key, s.toBytes());
        float[] out = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            out[i] = s.normalise(raw[i], config.normalizeEps());
        }
        return out;
    }

    private void deadLetter(PendingRollout p, Throwable error) {
        DeadLetter letter = DeadLetters.of(topic(), p.partition(), p.offset(), p.key(), p.value(), error,
                config.serviceName(), context.currentSystemTimeMs());
        context.forward(new Record<>(p.key(), letter, p.timestamp()), deadLetterSinkName);
        metrics.recordDeadLetter();
    }

    private String topic() {
        return sourceTopic != null ? sourceTopic : config.rolloutsTopic();
    }

    /** The reward model in service refused or failed on one rollout. */
    static final class RewardModelRejectedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RewardModelRejectedException(String message) {
            super(message);
        }

        RewardModelRejectedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
