package io.salsa.bench;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The one progress line of the benches, {@code <verb> <done>[/<total>]  <rate> <unit>/s  ETA <s>s}, printed at most
 * once per interval while a long measurement runs, so a user sees that it moves and how long it will take. The rate
 * is the one since the previous line; the ETA comes from the remaining work at that rate, or from the deadline of
 * a timed bench.
 */
public final class ProgressLine {

    private final Consumer<String> sink;
    private final String verb;
    private final long total;
    private final long deadlineNanos;
    private final String unit;
    private final long everyNanos;
    private final LongSupplier clock;
    private long lastNanos;
    private long lastDone;

    private ProgressLine(Consumer<String> sink, String verb, long total, long deadlineNanos, String unit,
                         Duration every, LongSupplier clock) {
        this.sink = sink;
        this.verb = verb;
        this.total = total;
        this.deadlineNanos = deadlineNanos;
        this.unit = unit;
        this.everyNanos = every.toNanos();
        this.clock = clock;
        this.lastNanos = clock.getAsLong();
    }

    /** Progress towards {@code total} units; {@code clock} gives nanoseconds ({@code System::nanoTime}). */
    public static ProgressLine counting(Consumer<String> sink, String verb, long total, String unit, Duration every,
                                        LongSupplier clock) {
        return new ProgressLine(sink, verb, total, Long.MIN_VALUE, unit, every, clock);
    }

    /** Progress of work that runs until {@code deadlineNanos} on {@code clock}. */
    public static ProgressLine untilDeadline(Consumer<String> sink, String verb, long deadlineNanos, String unit,
                                             Duration every, LongSupplier clock) {
        return new ProgressLine(sink, verb, -1, deadlineNanos, unit, every, clock);
    }

    /** Reports {@code done} units if the interval has passed since the last line; returns whether it printed. */
    public boolean update(long done) {
        long now = clock.getAsLong();
        if (now - lastNanos < everyNanos) {
            return false;
        }
        double rate = (done - lastDone) / ((now - lastNanos) / 1e9);
        double eta;
        if (total >= 0) {
            eta = rate > 0 ? (total - done) / rate : Double.NaN;
        } else {
            eta = Math.max(0, (deadlineNanos - now) / 1e9);
        }
        sink.accept(format(done, rate, eta));
        lastNanos = now;
        lastDone = done;
        return true;
    }

    private String format(long done, double rate, double eta) {
        String count = total >= 0 ? done + "/" + total : Long.toString(done);
        String etaText = Double.isNaN(eta) ? "?" : String.format(Locale.ROOT, "%.0fs", eta);
        return String.format(Locale.ROOT, "%s %s  %.1f %s/s  ETA %s", verb, count, rate, unit, etaText);
    }
}
