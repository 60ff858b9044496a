package io.salsa.ingest;

import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds, before the HTTP port opens, what a restarted instance must remember from the feedback topic: the
 * idempotency outcomes of recent answers (so a retry after a restart is still a replay) and the pairs each rater
 * has already answered (so none is issued to them again).
 */
public final class FeedbackHistory {

    private static final Logger LOG = LoggerFactory.getLogger(FeedbackHistory.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private FeedbackHistory() {
    }

    /** Reads the newest {@code perPartition} preferences of every partition; returns how many were read. */
    public static long load(KafkaSettings settings, long perPartition, IdempotencyStore store, TaskBoard board) {
        long t0 = System.nanoTime();
        String topic = settings.topic(Topics.FEEDBACK);
        try (KafkaLog log = KafkaLog.open(settings, topic, perPartition)) {
            long n = log.readToEnd(KafkaLog.decoding(settings.valueSerde(Topics.FEEDBACK), (rec, p) -> {
                if (p == null) {
                    return;
                }
                board.rememberAnswered(p.getRaterId(), p.getResponseA().getRolloutId(),
                        p.getResponseB() == null ? null : p.getResponseB().getRolloutId());
                if (p.getTaskId() != null && (p.getChoice() == null) != (p.getRating() == null)) {
                    Answer answer = new Answer(p.getTaskId(), p.getChoice(), p.getRating(), p.getReason());
                    store.putDone(p.getRaterId(), p.getIdempotencyKey(), answer.fingerprint(),
                            new IdempotencyStore.Outcome(201, IngestHandler.createdBody(p.getPreferenceId(),
                                    p.getTaskId(), p.getPromptId(), rec.partition(), rec.offset())));
                }
            }, KafkaLog::skipUndecodable), TIMEOUT);
            LOG.info("reloaded {} preferences from {} in {} ms", n, topic, (System.nanoTime() - t0) / 1_000_000);
            return n;
        }
    }
}
