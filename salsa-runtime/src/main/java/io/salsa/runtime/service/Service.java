package io.salsa.runtime.service;

/**
 * The one lifecycle every salsa service has, so a newcomer learns it once: {@link #run()} does the service's work
 * on the calling thread until {@link #stop()} is asked for or the work fails, {@link #health()} answers probes
 * while it runs, and {@link #close()} releases what it holds. {@link ServiceRunner} runs a service in the
 * foreground of a command (with the one shutdown hook) or on a background thread (the demo, tests).
 *
 * <p>A stop never cuts a unit of work in half: {@code run()} returns at the next boundary (a batch, a step, a
 * request drained), after what it finished is durable.
 */
public interface Service extends AutoCloseable {

    /** The service's name in logs, thread names and health answers ({@code "rollout-generator"}, …). */
    String name();

    /**
     * Works until {@link #stop()} is called (then returns normally) or the work fails (then throws). Called at most
     * once.
     */
    void run() throws Exception;

    /** Asks {@link #run()} to return at its next boundary; returns at once; safe to call more than once, from any thread. */
    void stop();

    /** What a probe sees now. */
    Health health();

    /** Releases the service's clients, threads and files; called after {@link #run()} returned (or if it never ran). */
    @Override
    void close();
}
