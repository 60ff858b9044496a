package io.salsa.runtime.kafka;

import io.salsa.runtime.service.Health;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.registry.ConfluentRestSchemaRegistry;
import io.salsa.schemas.registry.SchemaRegistryException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wait for a separate schema registry (a Confluent-API URL in {@code SALSA_SCHEMA_REGISTRY}) that a service
 * needs as soon as it reads or writes an event: started before the registry, a service waits for it as it waits for
 * the broker ({@link BrokerWait} runs this wait once the broker answered), instead of failing on its first serde
 * call. Unlike the broker wait it is bounded ({@link #LIMIT}): a registry URL that never answers is usually a wrong
 * URL, so after the limit the service stops with an error naming the URL, the setting and the last problem. The
 * embedded registry lives in the broker's topics, so there is nothing more to wait for.
 */
public final class RegistryWait {

    private static final Logger LOG = LoggerFactory.getLogger(RegistryWait.class);
    /** How long a service waits for its registry before it gives up with an error. */
    public static final Duration LIMIT = Duration.ofMinutes(5);

    private final KafkaSettings settings;
    private final String service;
    private final Duration limit;
    private volatile long waitingSinceNanos = -1;
    private volatile String lastProblem = "";

    /** A wait of at most {@link #LIMIT} for the registry of {@code settings}, logged under {@code service}'s name. */
    public RegistryWait(KafkaSettings settings, String service) {
        this(settings, service, LIMIT);
    }

    /** As above, with another limit (tests). */
    public RegistryWait(KafkaSettings settings, String service, Duration limit) {
        this.settings = settings;
        this.service = service;
        this.limit = limit;
    }

    /**
     * Returns true once the registry answers (at once for the embedded one), false as soon as {@code stop} holds
     * (or the thread is interrupted) before it did.
     *
     * @throws IllegalStateException         when it has not answered within the limit
     * @throws SchemaRegistryException       when it refuses (credentials, not a registry at this URL)
     */
    public boolean await(BooleanSupplier stop) {
        if (settings.embeddedRegistry()) {
            return true;
        }
        ConfluentRestSchemaRegistry registry = (ConfluentRestSchemaRegistry) settings.registry();
        long start = System.nanoTime();
        long period = BrokerWait.FIRST_PERIOD.toMillis();
        try {
            for (int attempt = 1; ; attempt++) {
                if (stop.getAsBoolean() || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                long attemptStart = System.nanoTime();
                String problem = registry.unreachable();
                if (problem == null) {
                    if (attempt > 1) {
                        LOG.info("{}: the schema registry at {} answered after {} s; starting", service,
                                settings.registrySpec(), BrokerWait.seconds(start));
                    }
                    return true;
                }
                if (Thread.currentThread().isInterrupted()) {
                    return false;
                }
                if (System.nanoTime() - start >= limit.toNanos()) {
                    throw new IllegalStateException(service + ": the schema registry at " + settings.registrySpec()
                            + " (" + KafkaSettings.REGISTRY_ENV + ") did not answer within " + limit.toSeconds()
                            + " s (last: " + problem + "); start it, or fix the URL, or use '"
                            + KafkaSettings.EMBEDDED + "' for the registry kept in the broker's topics");
                }
                if (waitingSinceNanos < 0) {
                    waitingSinceNanos = start;
                }
                lastProblem = problem;
                LOG.warn("{}: waiting for the schema registry at {}, {} s of at most {} s ({})", service,
                        settings.registrySpec(), BrokerWait.seconds(start), limit.toSeconds(), problem);
                long left = limit.toMillis() - (System.nanoTime() - start) / 1_000_000;
                long pause = Math.min(period - (System.nanoTime() - attemptStart) / 1_000_000, left);
                if (!BrokerWait.pause(pause, stop)) {
                    return false;
                }
                period = Math.min(2 * period, BrokerWait.MAX_PERIOD.toMillis());
            }
        } finally {
            waitingSinceNanos = -1;
        }
    }

    /** {@code STARTING "waiting for the schema registry at X, N s (why)"} while {@link #await} waits; else null. */
    public Health waiting() {
        long since = waitingSinceNanos;
        if (since < 0) {
            return null;
        }
        return Health.starting("waiting for the schema registry at " + settings.registrySpec() + ", "
                + BrokerWait.seconds(since) + " s (" + lastProblem + ")");
    }
}
