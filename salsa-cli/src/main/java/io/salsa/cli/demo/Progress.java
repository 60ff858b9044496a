package io.salsa.cli.demo;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A progress line for one stage of long work (rate and ETA, printed at most every few seconds), so a person
 * watching {@code salsa demo} knows it is alive and how long is left.
 */
public final class Progress {

    private final String stage;
    private final String unit;
    private final long total;
    private final PrintStream out;
    private final LongSupplier nanoClock;
    private final long intervalNanos;
    private final long startNanos;
    private long done;
    private long lastPrintNanos;

    Progress(String stage, long total, String unit, PrintStream out, LongSupplier nanoClock, long intervalNanos) {
        if (total < 0) {
            throw new IllegalArgumentException("total must be ≥ 0, got " + total);
        }
        this.stage = stage;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.nanoClock = nanoClock;
        this.intervalNanos = intervalNanos;
        this.startNanos = nanoClock.getAsLong();
        this.lastPrintNanos = startNanos;
    }

    /** A progress line printing to {@code out} at most every 3 seconds. */
    public static Progress start(String stage, long total, String unit, PrintStream out) {
        return new Progress(stage, total, unit, out, System::nanoTime, 3_000_000_000L);
    }

    /** Records {@code n} more units done, printing a line if the interval has passed. */
    public synchronized void advance(long n) {
        update(done + n);
    }

    /** Records that {@code doneSoFar} units are done in total (for work that reports absolute counts). */
    public synchronized void update(long doneSoFar) {
        done = doneSoFar;
        long now = nanoClock.getAsLong();
        if (now - lastPrintNanos >= intervalNanos) {
            lastPrintNanos = now;
            out.println(line(now));
            out.flush();
        }
    }

    /** Prints the final line of the stage. */
    public synchronized void finish() {
        long now = nanoClock.getAsLong();
        double secs = (now - startNanos) / 1e9;
        out.printf(Locale.ROOT, "[%s] done: %d %s in %s (%s)%n", stage, done, unit, duration(secs),
                rate(done, secs));
        out.flush();
    }

    public synchronized long done() {
        return done;
    }

    /** {@code [stage] 12/40 steps (30%), 2.5 steps/s, ETA 11s}. */
    synchronized String line(long nowNanos) {
        double secs = (nowNanos - startNanos) / 1e9;
        StringBuilder b = new StringBuilder().append('[').append(stage).append("] ").append(done);
        if (total > 0) {
            b.append('/').append(total);
        }
        b.append(' ').append(unit);
        if (total > 0) {
            b.append(String.format(Locale.ROOT, " (%d%%)", Math.min(100, done * 100 / total)));
        }
        b.append(", ").append(rate(done, secs));
        if (total > 0 && done > 0 && done < total) {
            b.append(", ETA ").append(duration(secs * (total - done) / done));
        }
        return b.toString();
    }

    private String rate(long n, double secs) {
        if (secs <= 0) {
            return "- " + unit + "/s";
        }
        double r = n / secs;
        return String.format(Locale.ROOT, r >= 10 ? "%.0f %s/s" : "%.2f %s/s", r, unit);
    }

    /** {@code 45s}, {@code 2m05s}, {@code 1h02m}. */
    public static String duration(double secs) {
        long s = Math.round(secs);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
