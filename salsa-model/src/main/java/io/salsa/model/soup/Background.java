package io.salsa.model.soup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One background thread that runs I/O tasks in submission order and keeps the first failure for the submitting
 * thread, so a soup can overlap reading, hashing and writing without losing an error.
 */
final class Background implements AutoCloseable {

    /** A task that may fail with an I/O error. */
    @FunctionalInterface
    interface IoTask {
        void run() throws IOException;
    }

    private final ExecutorService thread;
    private final AtomicReference<IOException> failure = new AtomicReference<>();

    Background(String name) {
        thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code task} after the ones before it (skipped once one has failed), then {@code always} whatever
     * happened (to give a buffer back).
     */
    void execute(IoTask task, Runnable always) throws IOException {
        rethrow();
        thread.execute(() -> {
            try {
                if (failure.get() == null) {
                    task.run();
                }
            } catch (IOException | RuntimeException e) {
                failure.compareAndSet(null, e instanceof IOException io ? io : new IOException(e.toString(), e));
            } finally {
                always.run();
            }
        });
    }

    /** Waits until every task has run; throws the first failure. */
    void finish() throws IOException {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(1, TimeUnit.DAYS)) {
                throw new IOException(Thread.currentThread().getName() + ": background tasks did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while building a soup");
        }
        rethrow();
    }

    /** Throws the first failure of a task, if any. */
    void rethrow() throws IOException {
        IOException e = failure.get();
        if (e != null) {
            throw e;
        }
    }

    /** Stops the thread (interrupting a running task) and waits a while for it, so what it used may be released. */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
