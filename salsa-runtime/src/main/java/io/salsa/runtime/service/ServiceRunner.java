package io.salsa.runtime.service;

import io.salsa.runtime.metrics.ProbeServer;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link Service}: in the foreground of its command, where Ctrl-C or SIGTERM asks it to stop and the JVM
 * waits until the current unit of work is finished and the service closed; or on a background thread inside another
 * process (the demo, tests), where {@link Background#close()} does the same. The only shutdown hook in the
 * project's services lives here.
 */
public final class ServiceRunner {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceRunner.class);
    /** A probe port that means: serve no metrics and health endpoint. */
    public static final int NO_PROBES = -1;
    /** How long a stop waits for the current unit of work before closing anyway. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private ServiceRunner() {}

    /**
     * Runs {@code service} on this thread until it is stopped (Ctrl-C, SIGTERM) or fails, then closes it. A failure
     * is rethrown after the close. The shutdown hook asks for a stop and waits (at most {@link #STOP_TIMEOUT}) until
     * the service returned and closed, so the JVM never exits in the middle of a step.
     */
    public static void runUntilStopped(Service service) throws Exception {
        runUntilStopped(service, NO_PROBES);
    }

    /**
     * As {@link #runUntilStopped(Service)}, serving {@code /metrics}, {@code /healthz} and {@code /readyz}
     * ({@link ProbeServer}) on {@code probePort} of every interface from before the run starts (so a probe sees it
     * starting) until the service is closed; {@link #NO_PROBES} serves nothing, 0 picks a free port.
     */
    public static void runUntilStopped(Service service, int probePort) throws Exception {
        try (ProbeServer probes = probes(service, probePort)) {
            runUntilStopped0(service);
        }
    }

    private static ProbeServer probes(Service service, int port) throws IOException {
        if (port < 0) {
            return null;
        }
        return ProbeServer.start(service.name(), "0.0.0.0", port, service::health);
    }

    private static void runUntilStopped0(Service service) throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        AtomicBoolean exiting = new AtomicBoolean();
        Thread hook = new Thread(() -> {
            exiting.set(true);
            LOG.info("{}: stop requested; finishing the current unit of work", service.name());
            service.stop();
            try {
                if (!closed.await(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("{} did not stop within {} s", service.name(), STOP_TIMEOUT.toSeconds());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, service.name() + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            service.run();
        } finally {
            try {
                service.close();
            } finally {
                closed.countDown();
                if (!exiting.get()) {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // the JVM is already exiting: the hook is running and waits for the latch above
                    }
                }
            }
        }
    }

    /** Starts {@code service}'s {@link Service#run()} on a new daemon thread named after it. */
    public static Background start(Service service) {
        Background b = new Background(service, null);
        b.thread.start();
        return b;
    }

    /** As {@link #start(Service)}, with the service's probe endpoint on {@code probePort} (0 = any free port). */
    public static Background start(Service service, int probePort) throws IOException {
        Background b = new Background(service, probes(service, probePort));
        b.thread.start();
        return b;
    }

    /**
     * A service running on its own thread: {@link #close()} stops it the way Ctrl-C stops its command, waits for
     * {@code run()} to return, then closes the service; {@link #checkHealthy()} reports a run that died.
     */
    public static final class Background implements AutoCloseable {
        private final Service service;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Thread thread;
        private final ProbeServer probes;

        private Background(Service service, ProbeServer probes) {
            this.service = service;
            this.probes = probes;
            this.thread = new Thread(() -> {
                try {
                    service.run();
                } catch (Throwable t) {
                    if (!stopping.get()) {
                        LOG.error("{} stopped with an error: {}", service.name(), t.toString(), t);
                    }
                    failure.set(t);
                }
            }, service.name());
            thread.setDaemon(true);
        }

        /** The service this thread runs. */
        public Service service() {
            return service;
        }

        /** The port of the service's probe endpoint, or {@link #NO_PROBES} when it has none. */
        public int probePort() {
            return probes == null ? NO_PROBES : probes.port();
        }

        /** Whether {@code run()} is still running. */
        public boolean running() {
            return thread.isAlive();
        }

        /** Waits up to {@code timeout} for {@code run()} to return; true if it did. */
        public boolean await(Duration timeout) throws InterruptedException {
            thread.join(Math.max(1, timeout.toMillis()));
            return !thread.isAlive();
        }

        /** The failure {@code run()} ended with, or null. */
        public Throwable failure() {
            return failure.get();
        }

        /** Throws, naming the service, if its run died or returned without being asked to stop. */
        public void checkHealthy() {
            Throwable t = failure.get();
            if (t != null && !stopping.get()) {
                throw new IllegalStateException(service.name() + " failed: " + t.getMessage(), t);
            }
            if (!thread.isAlive() && !stopping.get()) {
                throw new IllegalStateException(service.name() + " stopped unexpectedly");
            }
        }

        /** Stops the service at its next boundary, waits (at most {@link #STOP_TIMEOUT}) and closes it. */
        @Override
        public void close() {
            stopping.set(true);
            service.stop();
            try {
                thread.join(STOP_TIMEOUT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.warn("{} did not stop within {} s; closing its resources anyway", service.name(),
                        STOP_TIMEOUT.toSeconds());
            }
            try {
                service.close();
            } finally {
                if (probes != null) {
                    probes.close();
                }
            }
        }
    }
}
