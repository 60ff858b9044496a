package io.salsa.ingest;

import io.salsa.events.Rollout;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the rollouts topic and feeds the {@link TaskBoard}: on start it reads back a bounded backlog so raters
 * have work at once, then keeps up with new rollouts. Every ingest instance reads every partition (no consumer
 * group), because tasks are per-instance state.
 */
public final class RolloutFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RolloutFeed.class);

    private final KafkaSettings settings;
    private final long backlog;
    private final TaskBoard board;
    private final IngestMetrics metrics;
    private KafkaLog.Follower follower;

    /** A feed of the last {@code backlog} rollouts of each partition and every later one; {@link #start()} runs it. */
    public RolloutFeed(KafkaSettings settings, long backlog, TaskBoard board, IngestMetrics metrics) {
        this.settings = settings;
        this.backlog = backlog;
        this.board = board;
        this.metrics = metrics;
    }

    public RolloutFeed start() {
        long t0 = System.nanoTime();
        // an undecodable rollout is logged and stepped over, never counted: it is not a rollout we saw
        follower = KafkaLog.follow(settings, settings.topic(Topics.ROLLOUTS), backlog, "ingest-rollout-feed",
                KafkaLog.decoding(settings.valueSerde(Topics.ROLLOUTS), (rec, r) -> accept(r),
                        KafkaLog::skipUndecodable),
                () -> LOG.info("rollout backlog read in {} ms: {} pairs ready", (System.nanoTime() - t0) / 1_000_000,
                        board.pairsInPool()));
        return this;
    }

    /** Waits until the backlog present at start has been read; false on timeout. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return follower.awaitCaughtUp(timeout);
    }

    private void accept(Rollout r) {
        metrics.rolloutSeen();
        if (r == null || r.getResponseText() == null || r.getPromptText() == null) {
            metrics.rolloutSkipped();
            return;
        }
        board.addRollout(new TaskBoard.PooledRollout(r.getPromptId(), r.getPromptText(),
                new TaskBoard.Response(r.getRolloutId(), r.getResponseText(), r.getResponseTokenIds(),
                        r.getPolicyVersion())));
    }

    @Override
    public void close() {
        if (follower != null) {
            follower.close();
        }
    }
}
