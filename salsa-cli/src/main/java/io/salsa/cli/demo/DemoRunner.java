package io.salsa.cli.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs the demo's stages in order, skipping those a marker says finished earlier, timing each, and stopping at the
 * first failure with the stage's name, so a re-run resumes where the last one stopped.
 */
public final class DemoRunner {

    /** How a stage ended in this run. */
    public enum Status { DONE_EARLIER, RAN, FAILED, STOPPED, NOT_RUN }

    /** One stage's outcome, for the summary and the report. */
    public record StageResult(String name, String description, Status status, double seconds,
                              Map<String, String> outputs, String error) {
    }

    private final DemoContext ctx;
    private final StageMarkers markers;

    public DemoRunner(DemoContext ctx, StageMarkers markers) {
        this.ctx = ctx;
        this.markers = markers;
    }

    /** Runs {@code stages}; returns one result per stage, {@link Status#NOT_RUN} after a failure or stop. */
    public List<StageResult> run(List<Stage> stages) {
        List<StageResult> results = new ArrayList<>();
        boolean halted = false;
        int i = 0;
        for (Stage stage : stages) {
            i++;
            if (halted) {
                results.add(new StageResult(stage.name(), stage.description(), Status.NOT_RUN, 0, Map.of(), null));
                continue;
            }
            Optional<Map<String, String>> earlier = stage.resumable() ? markers.finished(stage.name())
                    : Optional.empty();
            if (earlier.isPresent()) {
                ctx.recordOutputs(stage.name(), earlier.get());
                ctx.out().printf("== %d/%d %s: finished in an earlier run, skipped%n", i, stages.size(), stage.name());
                results.add(new StageResult(stage.name(), stage.description(), Status.DONE_EARLIER, 0,
                        earlier.get(), null));
                continue;
            }
            ctx.out().printf("== %d/%d %s: %s%n", i, stages.size(), stage.name(), stage.description());
            ctx.out().flush();
            long t0 = System.nanoTime();
            try {
                ctx.checkNotStopped();
                Map<String, String> outputs = stage.run(ctx);
                ctx.checkNotStopped();
                double secs = (System.nanoTime() - t0) / 1e9;
                ctx.recordOutputs(stage.name(), outputs);
                if (stage.resumable()) {
                    markers.markFinished(stage.name(), outputs);
                }
                ctx.out().printf(Locale.ROOT, "   %s finished in %s%n", stage.name(), Progress.duration(secs));
                results.add(new StageResult(stage.name(), stage.description(), Status.RAN, secs, outputs, null));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                halted = true;
                results.add(new StageResult(stage.name(), stage.description(), Status.STOPPED,
                        (System.nanoTime() - t0) / 1e9, Map.of(), "stopped"));
            } catch (Exception e) {
                halted = true;
                String message = ctx.stopping() ? "stopped" : describe(e);
                if (!ctx.stopping()) {
                    ctx.out().printf("   %s FAILED: %s%n", stage.name(), message);
                }
                results.add(new StageResult(stage.name(), stage.description(),
                        ctx.stopping() ? Status.STOPPED : Status.FAILED, (System.nanoTime() - t0) / 1e9, Map.of(),
                        message));
            }
        }
        return results;
    }

    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder(String.valueOf(e.getMessage() != null ? e.getMessage() : e.toString()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !b.toString().contains(c.getMessage())) {
                b.append(" (").append(c.getMessage()).append(')');
            }
        }
        return b.toString();
    }
}
