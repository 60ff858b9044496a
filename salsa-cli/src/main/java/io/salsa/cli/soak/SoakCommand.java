package io.salsa.cli.soak;

import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa soak}: runs the SALSA loop as separate {@code salsa} processes (broker, soup builder, reward scorer,
 * two generators, learner, feedback-ingest with simulated raters) for a given time and samples their memory, open
 * files, disk and throughput; with {@code --chaos} it kills and restarts each in turn and checks the topics.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = {"Run the Kafka loop as separate processes of the real salsa commands for M minutes, sampling",
                "every process's heap, RSS, threads and open files, the data folder's disk use and the loop's",
                "throughput into OUT/soak.csv, with plots and a summary (OUT/soak.html, OUT/summary.json).",
                "--chaos kills (-9) and restarts each service in turn and restarts the broker once, then drains",
                "the loop and checks from the topics: acknowledged preferences exactly once, scored rollouts",
                "trained at most once, every prompt with its n rollouts, salsa replay bit-exact (OUT/chaos.json).",
                "Exit 0 when no service exited on its own and every verdict holds, 1 otherwise, 2 on bad options."})
public final class SoakCommand extends SalsaCommand {

    @Option(names = "--minutes", required = true, description = "How long the loop runs (0.5-1440; preparation "
            + "and, with --chaos, the drain and replay come on top).")
    double minutes;

    @Option(names = "--chaos", description = "Kill -9 and restart each service in turn, restart the broker once, "
            + "then check the topics and replay.")
    boolean chaos;

    @Option(names = "--chaos-kills", split = ",", paramLabel = "SERVICE",
            description = "With --chaos, kill only these services (in the order reward-scorer, generator-1, "
                    + "generator-2, learner, soup-builder, ingest; the broker restart still follows); default: all.")
    List<String> chaosKills = List.of();

    @Option(names = "--out", defaultValue = "soak-run",
            description = "Output folder: must not exist or be empty (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "7", description = "Seed of the task, models, generators and learner "
            + "(default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sample-seconds", defaultValue = "10",
            description = "Seconds between samples, 1-600 (default: ${DEFAULT-VALUE}).")
    int sampleSeconds;

    @Option(names = "--rater-interval-ms", defaultValue = "1000",
            description = "Pause of each of the two simulated raters between answers, 0-60000 ms "
                    + "(default: ${DEFAULT-VALUE}).")
    long raterIntervalMs;

    @Option(names = "--checkpoint-keep-every", defaultValue = "10",
            description = "The learner keeps every K-th policy checkpoint for good, 0 = none by this rule "
                    + "(default: ${DEFAULT-VALUE}).")
    int keepEvery;

    @Option(names = "--checkpoint-keep-last", defaultValue = "5",
            description = "The learner keeps the newest N policy checkpoints, 1-1000 (default: ${DEFAULT-VALUE}).")
    int keepLast;

    @Override
    public Integer call() throws Exception {
        String problem = validate();
        if (problem != null) {
            return refuse(problem);
        }
        SoakRun.Result result = new SoakRun(new SoakRun.Options(minutes, chaos, out, seed, sampleSeconds,
                raterIntervalMs, keepEvery, keepLast, chaosKills), System.out).run();
        System.out.println("salsa soak: " + (result.ok() ? "OK" : "FAILED") + "; see "
                + out.resolve("soak.html").toAbsolutePath());
        return result.ok() ? 0 : 1;
    }

    private String validate() throws IOException {
        if (!(minutes >= 0.5 && minutes <= 1440)) {
            return "--minutes must be between 0.5 and 1440, got " + minutes;
        }
        if (sampleSeconds < 1 || sampleSeconds > 600) {
            return "--sample-seconds must be between 1 and 600, got " + sampleSeconds;
        }
        if (raterIntervalMs < 0 || raterIntervalMs > 60_000) {
            return "--rater-interval-ms must be between 0 and 60000, got " + raterIntervalMs;
        }
        if (!chaosKills.isEmpty() && !chaos) {
            return "--chaos-kills needs --chaos";
        }
        List<String> unknown = chaosKills.stream().filter(n -> !SoakRun.CHAOS_ORDER.contains(n)).toList();
        if (!unknown.isEmpty()) {
            return "--chaos-kills: no service " + String.join(", ", unknown) + "; the services are "
                    + String.join(", ", SoakRun.CHAOS_ORDER);
        }
        if (keepEvery < 0) {
            return "--checkpoint-keep-every must be >= 0 (0 = off), got " + keepEvery;
        }
        if (keepLast < 1 || keepLast > 1000) {
            return "--checkpoint-keep-last must be between 1 and 1000, got " + keepLast;
        }
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) {
                return "--out " + out + " is not a folder";
            }
            try (Stream<Path> children = Files.list(out)) {
                if (children.findAny().isPresent()) {
                    return "--out " + out + " is not empty; a soak starts from nothing (choose a new folder)";
                }
            }
        }
        return null;
    }
}
