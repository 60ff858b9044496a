package io.salsa.ingest;

import io.salsa.events.Rollout;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the rollouts topic and feeds the {@link TaskBoard}: on start it reads back a bounded backlog so raters
 * have work at once, then keeps up with new rollouts. Every ingest instance reads every partition (no consumer
 * group), because tasks are per-instance state.
 */
public final class RolloutFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RolloutFeed.class);

    private final Consumer<String, Rollout> consumer;
    private final String topic;
    private final long backlog;
    private final TaskBoard board;
    private final IngestMetrics metrics;
    private final Thread thread;
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile boolean running = true;

    public RolloutFeed(Consumer<String, Rollout> consumer, String topic, long backlog, TaskBoard board,
                       IngestMetrics metrics) {
        this.consumer = consumer;
        this.topic = topic;
        this.backlog = backlog;
        this.board = board;
        this.metrics = metrics;
        this.thread = new Thread(this::run, "ingest-rollout-feed");
        this.thread.setDaemon(true);
    }

    public RolloutFeed start() {
        thread.start();
        return this;
    }

    /** Waits until the backlog present at start has been read; false on timeout. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void run() {
        try {
            Map<TopicPartition, Long> end = TopicTail.seekToTail(consumer, topic, backlog, Duration.ofSeconds(60));
            long t0 = System.nanoTime();
            while (running) {
                TopicTail.pollOnce(consumer, Duration.ofMillis(200), (rec, r) -> accept(r));
                if (caughtUp.getCount() > 0 && TopicTail.caughtUp(consumer, end)) {
                    caughtUp.countDown();
                    LOG.info("rollout backlog read in {} ms: {} pairs ready", (System.nanoTime() - t0) / 1_000_000,
                            board.pairsInPool());
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.error("rollout feed stopped: {}", e.toString(), e);
        } finally {
            consumer.close();
        }
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
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
