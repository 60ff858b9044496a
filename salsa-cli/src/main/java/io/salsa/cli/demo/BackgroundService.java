package io.salsa.cli.demo;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A production service's blocking run loop on its own thread inside the demo's process: {@link #close()} asks it
 * to stop the way the service's own command does on Ctrl-C, waits for the loop to return, then releases the
 * service's resources; a loop that died is reported by {@link #checkHealthy()} with the service's name.
 */
final class BackgroundService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BackgroundService.class);
    private static final Duration JOIN = Duration.ofSeconds(60);

    /** The service's run loop; returns when {@code stop} says so or the service ends. */
    @FunctionalInterface
    interface Loop {
        void run(AtomicBoolean stop) throws Exception;
    }

    private final String name;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private final Runnable requestStop;
    private final AutoCloseable resources;

    /**
     * @param requestStop what makes the loop return besides the stop flag (e.g. the service's own close), or null
     * @param resources   closed after the loop returned (e.g. the service's consumers), or null
     */
    private BackgroundService(String name, Loop loop, Runnable requestStop, AutoCloseable resources) {
        this.name = name;
        this.requestStop = requestStop;
        this.resources = resources;
        this.thread = new Thread(() -> {
            try {
                loop.run(stop);
            } catch (Throwable t) {
                if (!stop.get()) {
                    LOG.error("{} stopped with an error: {}", name, t.toString(), t);
                    failure.set(t);
                }
            }
        }, "demo-" + name);
        thread.setDaemon(true);
    }

    /** Starts {@code loop} on a new thread. */
    static BackgroundService start(String name, Loop loop, Runnable requestStop, AutoCloseable resources) {
        BackgroundService s = new BackgroundService(name, loop, requestStop, resources);
        s.thread.start();
        return s;
    }

    /** Throws, naming the service, if its loop died or returned on its own. */
    void checkHealthy() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException(name + " failed: " + t.getMessage(), t);
        }
        if (!thread.isAlive() && !stop.get()) {
            throw new IllegalStateException(name + " stopped unexpectedly");
        }
    }

    @Override
    public void close() throws Exception {
        stop.set(true);
        if (requestStop != null) {
            requestStop.run();
        }
        thread.join(JOIN.toMillis());
        if (thread.isAlive()) {
            LOG.warn("{} did not stop within {} s; closing its resources anyway", name, JOIN.toSeconds());
        }
        if (resources != null) {
            resources.close();
        }
    }
}
