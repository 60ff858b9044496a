package io.salsa.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits on conditions instead of sleeping, so a test proceeds as soon as what it waits for is true and fails
 * with the name of what never happened (or what stopped holding) instead of asserting after a guessed delay.
 */
public final class Conditions {

    /** How often a condition is re-evaluated; short, because evaluating is cheap next to what tests wait for. */
    private static final long POLL_NANOS = 20_000_000L;

    private Conditions() {
    }

    /** Returns as soon as {@code condition} is true; fails naming {@code what} when {@code timeout} passes first. */
    public static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            pause();
        }
    }

    /**
     * Checks {@code condition} over and over for {@code window} and fails naming {@code what} the first time it
     * is false: a state that must last (a paused consumer stays paused), checked throughout, not once at the end.
     */
    public static void holds(String what, Duration window, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + window.toNanos();
        do {
            if (!condition.getAsBoolean()) {
                throw new AssertionError("stopped holding: " + what);
            }
            pause();
        } while (System.nanoTime() - end < 0);
        if (!condition.getAsBoolean()) {
            throw new AssertionError("stopped holding: " + what);
        }
    }

    private static void pause() throws InterruptedException {
        Thread.sleep(POLL_NANOS / 1_000_000L);
    }
}
