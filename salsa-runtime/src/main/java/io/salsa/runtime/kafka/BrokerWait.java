package io.salsa.runtime.kafka;

import io.salsa.runtime.service.Health;
import io.salsa.schemas.KafkaErrors;
import io.salsa.schemas.KafkaSettings;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first thing a service does with Kafka: wait until a broker answers, however long that takes, so a service
 * started before its broker (or while it restarts) waits for it instead of failing after the clients' one-minute
 * timeouts, and the start order of a deployment does not matter.
 *
 * <p>It asks the cluster to describe itself, attempt after attempt, each attempt given a period that doubles from
 * {@link #FIRST_PERIOD} up to {@link #MAX_PERIOD} (a broker that comes up is noticed within that bound), logging
 * {@code waiting for Kafka at X, N s (why)} after each failed one. While it waits, {@link #waiting()} is the
 * {@link Health#starting starting} health a service reports (so {@code /readyz} answers 503 and says why); the
 * caller's stop condition ends the wait within {@link #STOP_CHECK}. Credentials or access the cluster refuses are
 * not waited for: they fail at once with {@link KafkaErrors}' explanation; nor are client settings the Kafka client
 * refuses (an {@link IllegalArgumentException}), except bootstrap hosts that do not resolve yet. Once the broker
 * answered, a separate schema registry is waited for too (bounded, {@link RegistryWait}).
 */
public final class BrokerWait {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerWait.class);
    /** The first attempt's period; the first attempt against a running broker returns in milliseconds. */
    public static final Duration FIRST_PERIOD = Duration.ofSeconds(1);
    /** The longest period between two attempts. */
    public static final Duration MAX_PERIOD = Duration.ofSeconds(10);
    /** How often a running attempt or pause looks at the stop condition. */
    static final Duration STOP_CHECK = Duration.ofMillis(100);

    private final KafkaSettings settings;
    private final String service;
    private final RegistryWait registryWait;
    private volatile long waitingSinceNanos = -1;
    private volatile String lastProblem = "";

    /** A wait for the cluster of {@code settings}, logged under {@code service}'s name. */
    public BrokerWait(KafkaSettings settings, String service) {
        this.settings = settings;
        this.service = service;
        this.registryWait = new RegistryWait(settings, service);
    }

    /**
     * Returns true once a broker of the cluster answers (and then a separate schema registry, {@link RegistryWait}),
     * false as soon as {@code stop} holds (or the thread is interrupted, whose flag stays set) before they did.
     *
     * @throws KafkaErrors.KafkaAccessException if the cluster refuses the credentials or the access
     * @throws IllegalStateException if a separate schema registry does not answer within {@link RegistryWait#LIMIT}
     */
    public boolean await(BooleanSupplier stop) {
        return awaitBroker(stop) && registryWait.await(stop);
    }

    private boolean awaitBroker(BooleanSupplier stop) {
        long start = System.nanoTime();
        long period = FIRST_PERIOD.toMillis();
        Admin admin = null;
        try {
            for (int attempt = 1; ; attempt++) {
                if (stop.getAsBoolean() || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                long attemptStart = System.nanoTime();
                Throwable problem;
                try {
                    if (admin == null) {
                        admin = Admin.create(adminProps());
                    }
                    KafkaFuture<Collection<Node>> nodes = admin.describeCluster(
                            new DescribeClusterOptions().timeoutMs((int) period)).nodes();
                    Collection<Node> answered = get(nodes, stop);
                    if (answered == null) {
                        return false;
                    }
                    if (!answered.isEmpty()) {
                        if (attempt > 1) {
                            LOG.info("{}: Kafka at {} answered after {} s ({} broker(s)); starting", service,
                                    settings.bootstrapServers(), seconds(start), answered.size());
                        }
                        return true;
                    }
                    problem = new IllegalStateException("the cluster lists no brokers yet");
                } catch (ExecutionException e) {
                    problem = e.getCause();
                } catch (RuntimeException e) {
                    // Admin.create when no bootstrap address resolves yet (a broker host not created yet) is waited
                    // for; any other setting the client refuses will not change by waiting
                    problem = rootCause(e);
                    if (problem instanceof ConfigException && !String.valueOf(problem.getMessage())
                            .contains("resolvable")) {
                        throw new IllegalArgumentException(service + ": cannot make a Kafka client for "
                                + settings.bootstrapServers() + ": " + problem.getMessage(), e);
                    }
                    if (admin != null) {
                        admin.close(Duration.ZERO);
                    }
                    admin = null;
                }
                KafkaErrors.throwIfAccessDenied(problem, settings, List.of());
                if (waitingSinceNanos < 0) {
                    waitingSinceNanos = start;
                }
                lastProblem = describe(problem, period);
                // the hint on a plaintext client meeting a secured listener once, not on every attempt
                LOG.warn("{}: waiting for Kafka at {}, {} s ({}){}", service, settings.bootstrapServers(),
                        seconds(start), lastProblem, attempt == 1 ? KafkaErrors.timeoutHint(problem, settings) : "");
                if (!pause(period - (System.nanoTime() - attemptStart) / 1_000_000, stop)) {
                    return false;
                }
                period = Math.min(2 * period, MAX_PERIOD.toMillis());
            }
        } finally {
            waitingSinceNanos = -1;
            if (admin != null) {
                admin.close(Duration.ZERO);
            }
        }
    }

    /**
     * {@code STARTING "waiting for Kafka at X, N s (why)"} while {@link #await} waits for a broker that has not
     * answered yet; null otherwise (not started, the first attempt still running, or done).
     */
    public Health waiting() {
        long since = waitingSinceNanos;
        if (since < 0) {
            return registryWait.waiting();
        }
        return Health.starting("waiting for Kafka at " + settings.bootstrapServers() + ", " + seconds(since)
                + " s (" + lastProblem + ")");
    }

    private Properties adminProps() {
        Properties p = settings.adminProps();
        // each attempt ends within its period; reconnecting at most every second notices a broker that came up
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(MAX_PERIOD.toMillis()));
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(MAX_PERIOD.toMillis()));
        p.putIfAbsent(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
        p.setProperty(AdminClientConfig.CLIENT_ID_CONFIG,
                service.replaceAll("[^A-Za-z0-9._-]", "-") + "-broker-wait");
        return p;
    }

    /** The future's value; null when {@code stop} held (or an interrupt came) first. */
    private static <T> T get(KafkaFuture<T> future, BooleanSupplier stop) throws ExecutionException {
        while (true) {
            if (stop.getAsBoolean()) {
                return null;
            }
            try {
                return future.get(STOP_CHECK.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // not yet: look at the stop condition again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /** Pauses {@code millis} (if positive); false when {@code stop} held (or an interrupt came) first. */
    static boolean pause(long millis, BooleanSupplier stop) {
        long end = System.nanoTime() + Math.max(0, millis) * 1_000_000;
        while (System.nanoTime() - end < 0) {
            if (stop.getAsBoolean()) {
                return false;
            }
            try {
                Thread.sleep(Math.min(STOP_CHECK.toMillis(), Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return !stop.getAsBoolean();
    }

    private static Throwable rootCause(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }

    private static String describe(Throwable t, long periodMs) {
        if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
            return "no broker answered within " + periodMs / 1000.0 + " s";
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    static long seconds(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1_000_000_000L;
    }
}
