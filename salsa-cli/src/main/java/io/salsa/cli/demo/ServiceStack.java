package io.salsa.cli.demo;

import io.salsa.runtime.service.Service;
import io.salsa.runtime.service.ServiceRunner;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The services the demo started, closed in reverse order of start (learner before scorer before broker), so
 * Ctrl-C or a failed stage never leaves a client writing to a broker that is already gone. A {@link Service} runs
 * through {@link ServiceRunner#start}, whose close stops it the way Ctrl-C stops its command.
 */
public final class ServiceStack implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceStack.class);

    private final Deque<Named> services = new ArrayDeque<>();
    private boolean closed;

    private record Named(String name, AutoCloseable service) {
    }

    /** Registers a started service; returns it for chaining. Refused after {@link #close()}. */
    public synchronized <T extends AutoCloseable> T push(String name, T service) {
        if (closed) {
            closeQuietly(new Named(name, service));
            throw new IllegalStateException("stopping: not starting " + name);
        }
        services.push(new Named(name, service));
        return service;
    }

    /**
     * Runs {@code service} on its own thread ({@link ServiceRunner#start}) and registers it under {@code name}; after
     * {@link #close()} the service is closed without being run and this throws.
     */
    public synchronized ServiceRunner.Background start(String name, Service service) {
        if (closed) {
            closeQuietly(new Named(name, service));
            throw new IllegalStateException("stopping: not starting " + name);
        }
        return push(name, ServiceRunner.start(service));
    }

    /** Closes and forgets the most recently started service named {@code name}, if any. */
    public void closeOne(String name) {
        Named found = null;
        synchronized (this) {
            for (Named n : services) {
                if (n.name().equals(name)) {
                    found = n;
                    break;
                }
            }
            if (found != null) {
                services.remove(found);
            }
        }
        if (found != null) {
            closeQuietly(found);
        }
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** Closes every service, newest first; a failing close is logged and the others still close. */
    @Override
    public void close() {
        while (true) {
            Named next;
            synchronized (this) {
                closed = true;
                next = services.poll();
            }
            if (next == null) {
                return;
            }
            closeQuietly(next);
        }
    }

    private static void closeQuietly(Named n) {
        // Ctrl-C interrupts the main thread to end blocking waits; closing must still wait for the service
        // (thread joins, consumer closes), or the broker would stop under clients that are still running
        boolean interrupted = Thread.interrupted();
        try {
            n.service().close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", n.name(), e.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
