package io.salsa.ingest;

import io.salsa.runtime.kafka.BrokerWait;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires feedback-ingest together and shuts it down in order: a broker waited for, topics checked, history reloaded
 * from the feedback topic, rollout feed started, and only then the HTTP port opened; on close the port goes first
 * so no request is accepted that could not be finished.
 *
 * <p>As a {@link Service}, {@link #run()} opens the service (unless {@link #start} already did) and serves until
 * {@link #stop()}; its health is what {@code GET /healthz} answers: up while Kafka acknowledges the answers.
 */
public final class IngestApp implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(IngestApp.class);
    static final String SERVICE = "feedback-ingest";

    private final IngestConfig config;
    private final IngestKafka kafka;
    private final BrokerWait brokerWait;
    private final CountDownLatch serving = new CountDownLatch(1);
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    // set once by open() under the lock, read by probes without it
    private volatile Server server;
    private volatile ServerConnector connector;
    private volatile FeedbackPublisher publisher;
    private RolloutFeed feed;
    private PromptConversations conversations;
    private SalsaMetrics.Binding producerMetrics;
    private ScheduledExecutorService healthCheck;
    private boolean closed;
    private volatile IntConsumer onServing = port -> { };

    /** A service that opens when it is run (or {@link #start}ed); nothing is touched before. */
    public IngestApp(IngestConfig config, IngestKafka kafka) {
        this.config = config;
        this.kafka = kafka;
        this.brokerWait = new BrokerWait(kafka.settings(), SERVICE);
    }

    /**
     * Opens the service in the caller's thread; returns once the HTTP port accepts requests, after waiting for a
     * broker as long as it takes ({@link BrokerWait}).
     */
    public static IngestApp start(IngestConfig config, IngestKafka kafka) throws Exception {
        IngestApp app = new IngestApp(config, kafka);
        try {
            app.open();
        } catch (Exception | Error e) {
            app.close();
            throw e;
        }
        return app;
    }

    /**
     * Calls {@code listener} with the bound HTTP port once the port accepts requests (so a command that runs the
     * service through {@link io.salsa.runtime.service.ServiceRunner} can print the URL); returns this.
     */
    public IngestApp onServing(IntConsumer listener) {
        this.onServing = listener;
        return this;
    }

    @Override
    public String name() {
        return SERVICE;
    }

    /** Opens the service unless it is open already, then serves until {@link #stop()}. */
    @Override
    public void run() throws Exception {
        open();
        stopRequested.await();
    }

    /** Waits for a broker (not holding the lock, so a stop or close is never held up), then opens. */
    private void open() throws Exception {
        if (brokerWait.await(() -> stopRequested.getCount() == 0)) {
            openConnected();
        }
    }

    private synchronized void openConnected() throws Exception {
        if (server != null || closed || stopRequested.getCount() == 0) {
            return;
        }
        Raters raters = Raters.load(config.ratersFile(), config.raters());
        kafka.ensureTopics();
        IngestMetrics metrics = new IngestMetrics();
        TaskBoard board = new TaskBoard(config.rolloutsPerPrompt(), config.pairCapacity(),
                config.pairPoolMb() * 1024L * 1024L, config.taskTtl().toMillis());
        IdempotencyStore store = new IdempotencyStore(config.idempotencyCapacity());
        FeedbackHistory.load(kafka.settings(), config.idempotencyCapacity(), store, board);

        var producer = kafka.newProducer(config);
        SalsaMetrics.Binding producerMetrics = SalsaMetrics.monitor(producer);
        FeedbackPublisher publisher = new FeedbackPublisher(producer, kafka.feedbackTopic(), config.maxInFlight());
        PromptConversations conversations = PromptConversations.follow(kafka.settings());
        RolloutFeed feed = new RolloutFeed(kafka.settings(), config.rolloutsBacklog(), board, metrics).start();
        if (!feed.awaitCaughtUp(Duration.ofSeconds(30))) {
            LOG.warn("rollout backlog not read within 30 s; serving while it is still being read");
        }
        if (!conversations.awaitCaughtUp(Duration.ofSeconds(30))) {
            LOG.warn("prompts not read within 30 s; conversations show as flat text until they are");
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
                config.rateBurst(), System::nanoTime), board, conversations, store, publisher, metrics, System::currentTimeMillis));
        server.setStopTimeout(5_000);
        try {
            server.start();
        } catch (Exception e) {
            feed.close();
            conversations.close();
            publisher.close();
            producerMetrics.close();
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
        this.feed = feed;
        this.conversations = conversations;
        this.producerMetrics = producerMetrics;
        this.healthCheck = healthCheck;
        this.publisher = publisher;
        this.connector = connector;
        this.server = server;
        serving.countDown();
        onServing.accept(connector.getLocalPort());
    }

    /** Waits up to {@code timeout} until the HTTP port accepts requests; true if it does. */
    public boolean awaitServing(Duration timeout) throws InterruptedException {
        return serving.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The bound HTTP port (useful when the config asked for port 0). */
    public int port() {
        ServerConnector c = connector;
        if (c == null) {
            throw new IllegalStateException(SERVICE + " is not serving yet");
        }
        return c.getLocalPort();
    }

    /** As {@code GET /healthz}: up while Kafka acknowledges writes, down when recent sends say it does not. */
    @Override
    public Health health() {
        FeedbackPublisher p = publisher;
        if (stopRequested.getCount() == 0) {
            return Health.down("stopped");
        }
        Health waiting = brokerWait.waiting();
        if (waiting != null) {
            return waiting;
        }
        if (p == null) {
            return Health.starting("reading the feedback history and the rollout backlog");
        }
        return p.kafkaUp() ? Health.up("kafka up, " + p.pending() + " pending sends")
                : Health.down("kafka not acknowledging writes, " + p.pending() + " pending sends");
    }

    /** Lets {@link #run()} return; the port stays open until {@link #close()}, which drains requests first. */
    @Override
    public void stop() {
        stopRequested.countDown();
    }

    /** Closes the port first (letting requests in progress finish), then the rollout feed and the publisher. */
    @Override
    public synchronized void close() {
        stop();
        if (closed) {
            return;
        }
        closed = true;
        if (server == null) {
            return;
        }
        healthCheck.shutdownNow();
        try {
            server.stop();
        } catch (Exception e) {
            LOG.warn("HTTP server did not stop cleanly: {}", e.toString());
        }
        feed.close();
        conversations.close();
        publisher.close();
        producerMetrics.close();
    }
}
