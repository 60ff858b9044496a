package io.salsa.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.salsa.broker.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A Kafka broker whose address is known before it runs: a free port is reserved now and an in-process KRaft broker
 * is started on it only when the test says so, so a test can start a service against a broker that is down, then
 * bring the broker up (the start order of a real deployment, where nothing guarantees Kafka comes first).
 */
public final class LateKafka implements TestKafka, AutoCloseable {

    private final int port;
    private final Path dir;
    private EmbeddedKafkaBroker broker;

    private LateKafka(int port, Path dir) {
        this.port = port;
        this.dir = dir;
    }

    /** Reserves a free port on 127.0.0.1 for a broker that is not started yet. */
    public static LateKafka reserve() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new LateKafka(s.getLocalPort(), Files.createTempDirectory("salsa-late-kafka"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code 127.0.0.1:port}, valid (and refusing connections) before {@link #start()}. */
    @Override
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    @Override
    public Kind kind() {
        return Kind.IN_PROCESS;
    }

    /** Whether {@link #start()} has brought the broker up. */
    public synchronized boolean started() {
        return broker != null;
    }

    /** Starts the broker on the reserved port; returns once it accepts clients. */
    public synchronized LateKafka start() {
        if (broker != null) {
            throw new IllegalStateException("the broker at " + bootstrapServers() + " is already started");
        }
        broker = EmbeddedKafkaBroker.start(dir, port, Map.of());
        return this;
    }

    /**
     * Waits until the service whose probe endpoint is on {@code probePort} answers {@code /readyz} with 503 and
     * says that it waits for this broker; fails naming what it answered instead.
     */
    public void awaitServiceWaiting(int probePort, Duration timeout) throws InterruptedException {
        String waiting = "waiting for Kafka at " + bootstrapServers();
        Conditions.await("/readyz on port " + probePort + " answering 503 '" + waiting + "…'", timeout, () -> {
            Probes.Reply r = Probes.readyz(probePort);
            return r.status() == 503 && r.body().contains(waiting);
        });
    }

    /**
     * For a service started against this broker before it runs, with its probes on {@code probePort}: waits until
     * it says it waits for the broker, then closes it as SIGTERM would ({@code close}, e.g. a
     * {@code ServiceRunner.Background}: stop, then close once {@code run()} returned) and asserts that {@code run()}
     * ended ({@code running} false) without a failure.
     */
    public void assertStopEndsTheWait(int probePort, Duration timeout, AutoCloseable close, BooleanSupplier running,
            Supplier<Throwable> failure) throws Exception {
        awaitServiceWaiting(probePort, timeout);
        close.close();
        assertFalse(running.getAsBoolean(), "run() returned");
        assertNull(failure.get(), "a stop during the wait is no failure");
        assertFalse(started(), "the broker was never started");
    }

    /** Stops the broker (if started) and deletes its data. */
    @Override
    public synchronized void close() {
        if (broker != null) {
            broker.close();
            broker = null;
        }
        KafkaExtension.deleteRecursively(dir);
    }
}
