package io.salsa.ingest;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires feedback-ingest together and shuts it down in order: topics checked, history reloaded from the feedback
 * topic, rollout feed started, and only then the HTTP port opened; on close the port goes first so no request
 * is accepted that could not be finished.
 */
public final class IngestApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IngestApp.class);

    private final Server server;
    private final ServerConnector connector;
    private final FeedbackPublisher publisher;
    private final RolloutFeed feed;
    private final ScheduledExecutorService healthCheck;

    private IngestApp(Server server, ServerConnector connector, FeedbackPublisher publisher, RolloutFeed feed,
                      ScheduledExecutorService healthCheck) {
        this.server = server;
        this.connector = connector;
        this.publisher = publisher;
        this.feed = feed;
        this.healthCheck = healthCheck;
    }

    /** Starts the service; returns once the HTTP port accepts requests. */
    public static IngestApp start(IngestConfig config, IngestKafka kafka) throws Exception {
        Raters raters = Raters.load(config.ratersFile(), config.raters());
        kafka.ensureTopics();
        IngestMetrics metrics = new IngestMetrics();
        TaskBoard board = new TaskBoard(config.rolloutsPerPrompt(), config.pairCapacity(),
                config.taskTtl().toMillis());
        IdempotencyStore store = new IdempotencyStore(config.idempotencyCapacity());
        FeedbackHistory.load(kafka.settings(), config.idempotencyCapacity(), store, board);

        FeedbackPublisher publisher = new FeedbackPublisher(kafka.newProducer(config), kafka.feedbackTopic(),
                config.maxInFlight());
        RolloutFeed feed = new RolloutFeed(kafka.settings(), config.rolloutsBacklog(), board, metrics).start();
        if (!feed.awaitCaughtUp(Duration.ofSeconds(30))) {
            LOG.warn("rollout backlog not read within 30 s; serving while it is still being read");
        }
        metrics.gauge("salsa_ingest_pending_sends", publisher::pending);
        metrics.gauge("salsa_ingest_kafka_up", () -> publisher.kafkaUp() ? 1 : 0);
        metrics.gauge("salsa_ingest_pairs_in_pool", board::pairsInPool);
        metrics.gauge("salsa_ingest_open_tasks", board::openTasks);
        metrics.gauge("salsa_ingest_idempotency_entries", store::size);

        QueuedThreadPool threads = new QueuedThreadPool(64, 8);
        threads.setName("ingest-http");
        Server server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(config.host());
        connector.setPort(config.port());
        connector.setIdleTimeout(30_000);
        server.addConnector(connector);
        server.setHandler(new IngestHandler(config, raters, new RateLimiter(config.ratePerSecond(),
                config.rateBurst(), System::nanoTime), board, store, publisher, metrics, System::currentTimeMillis));
        server.setStopTimeout(5_000);
        try {
            server.start();
        } catch (Exception e) {
            feed.close();
            publisher.close();
            throw e;
        }
        ScheduledExecutorService healthCheck = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ingest-kafka-recheck");
            t.setDaemon(true);
            return t;
        });
        healthCheck.scheduleWithFixedDelay(() -> publisher.recheck(kafka::brokerReachable), 1, 1, TimeUnit.SECONDS);
        LOG.info("feedback-ingest listening on http://{}:{}/ ({} raters, {} pairs ready, feedback topic {})",
                config.host(), connector.getLocalPort(), raters.size(), board.pairsInPool(), kafka.feedbackTopic());
        return new IngestApp(server, connector, publisher, feed, healthCheck);
    }

    /** The bound HTTP port (useful when the config asked for port 0). */
    public int port() {
        return connector.getLocalPort();
    }

    public void join() throws InterruptedException {
        server.join();
    }

    @Override
    public void close() {
        healthCheck.shutdownNow();
        try {
            server.stop();
        } catch (Exception e) {
            LOG.warn("HTTP server did not stop cleanly: {}", e.toString());
        }
        feed.close();
        publisher.close();
    }
}
