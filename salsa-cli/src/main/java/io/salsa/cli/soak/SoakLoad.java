package io.salsa.cli.soak;

import io.salsa.cli.demo.DemoProfile;
import io.salsa.cli.demo.SimulatedRaterClient;
import io.salsa.generator.PromptFile;
import io.salsa.generator.PromptPublisher;
import io.salsa.ingest.Raters;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

/**
 * The load a soak puts on the loop: a prompt feeder that keeps a few chunks of the task's prompts waiting for the
 * generators, and two simulated raters answering through feedback-ingest's HTTP API. Both ride out chaos (they
 * retry, and note what went wrong in the run's events) until {@link #stop} ends them; what they published and what
 * ingest acknowledged is kept for the verdicts.
 */
final class SoakLoad {

    private final long raterIntervalMs;
    private final List<String> events;
    private final DoubleSupplier elapsed;
    private final BooleanSupplier brokerRestarting;
    private final Map<String, String> raterTokens = new LinkedHashMap<>();
    private final AtomicBoolean producing = new AtomicBoolean(true);
    private final List<String> promptIds = new CopyOnWriteArrayList<>();
    private final AtomicLong raterErrors = new AtomicLong();
    private final List<SimulatedRaterClient> raters = new ArrayList<>();
    private Thread feeder;
    private final List<Thread> raterThreads = new ArrayList<>();

    /**
     * @param raterIntervalMs  pause of each rater between answers
     * @param events           the run's event list, where problems are noted with the time {@code elapsed} gives
     * @param brokerRestarting true while the broker is restarted on purpose (the feeder then waits)
     */
    SoakLoad(long raterIntervalMs, List<String> events, DoubleSupplier elapsed, BooleanSupplier brokerRestarting) {
        this.raterIntervalMs = raterIntervalMs;
        this.events = events;
        this.elapsed = elapsed;
        this.brokerRestarting = brokerRestarting;
        SecureRandom random = new SecureRandom();
        for (int i = 1; i <= 2; i++) {
            byte[] token = new byte[16];
            random.nextBytes(token);
            raterTokens.put("soak-rater-" + i, HexFormat.of().formatHex(token));
        }
    }

    /** The raters for {@code salsa ingest --raters}: {@code id:sha256(token)}, comma separated. */
    String ratersFlag() {
        StringBuilder flag = new StringBuilder();
        raterTokens.forEach((id, t) -> flag.append(flag.isEmpty() ? "" : ",").append(id).append(':')
                .append(Raters.sha256Hex(t)));
        return flag.toString();
    }

    /** Starts the feeder against {@code kafka} and the raters against the ingest at {@code ingest}. */
    void start(KafkaSettings kafka, DemoProfile profile, URI ingest) {
        feeder = startPromptFeeder(kafka, profile);
        startRaters(profile, ingest);
    }

    /** Asks the feeder and the raters to stop and waits up to 60 s for each. */
    void stop() throws InterruptedException {
        producing.set(false);
        for (Thread t : raterThreads) {
            t.join(60_000);
        }
        if (feeder != null) {
            feeder.join(60_000);
        }
    }

    /** Stops the feeder and the raters without waiting (on the way out of a failed run). */
    void interrupt() {
        producing.set(false);
        for (Thread t : raterThreads) {
            t.interrupt();
        }
        if (feeder != null) {
            feeder.interrupt();
        }
    }

    /** Ids of every prompt published (recorded before each send). */
    List<String> promptIds() {
        return promptIds;
    }

    /** The preference ids ingest acknowledged to the raters. */
    List<String> acknowledged() {
        List<String> acked = new ArrayList<>();
        raters.forEach(r -> acked.addAll(r.acknowledged()));
        return acked;
    }

    /** Requests of the raters that failed (ingest or the broker down). */
    long raterErrors() {
        return raterErrors.get();
    }

    /**
     * Publishes the task's training prompts in chunks of {@value SoakRun#PROMPT_CHUNK} whenever fewer than that wait
     * for a generator (cycling through the set, a new id prefix per pass), so the backlog that the drain must work
     * off stays a few learner steps long.
     */
    private Thread startPromptFeeder(KafkaSettings kafka, DemoProfile profile) {
        List<TaskPrompt> train = TaskDataset.generate(TaskConfig.defaults(profile.taskSeed(),
                profile.entities())).prompts("train");
        Thread t = new Thread(() -> {
            long index = 0;
            // rollouts counted as read_committed readers see them (end offsets would count the generators'
            // transaction markers and aborted records too), from where the topic ends as the feeder starts
            KafkaLog rollouts = null;
            long produced = 0;
            while (producing.get()) {
                try {
                    if (!brokerRestarting.getAsBoolean()) {
                        if (rollouts == null) {
                            rollouts = KafkaLog.open(kafka, kafka.topic(Topics.ROLLOUTS), 0);
                        }
                        produced += rollouts.poll(Duration.ofMillis(200)).size();
                        long waiting = promptIds.size() - produced / SoakRun.SAMPLES_PER_PROMPT;
                        if (waiting < SoakRun.PROMPT_CHUNK) {
                            List<PromptFile.Entry> entries = new ArrayList<>();
                            for (int i = 0; i < SoakRun.PROMPT_CHUNK; i++, index++) {
                                TaskPrompt tp = train.get((int) (index % train.size()));
                                entries.add(new PromptFile.Entry("r" + (index / train.size() + 1) + "-" + tp.id(),
                                        tp.text(), "train", Map.of()));
                            }
                            // ids are recorded before the send: a send that fails half way still counts its prompts
                            entries.forEach(e -> promptIds.add(e.id()));
                            PromptPublisher.publish(kafka, entries, 1);
                        }
                    }
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    break;
                } catch (Exception e) {
                    events.add(String.format(Locale.ROOT, "%.0f s: prompt publisher: %s", elapsed.getAsDouble(), e));
                    try {
                        Thread.sleep(2000);
                    } catch (InterruptedException ie) {
                        break;
                    }
                }
            }
            if (rollouts != null) {
                rollouts.close();
            }
        }, "soak-prompts");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void startRaters(DemoProfile profile, URI ingest) {
        SimulatedRater judge = new SimulatedRater(TaskDataset.generate(TaskConfig.defaults(
                profile.taskSeed(), profile.entities())).world());
        raterTokens.forEach((id, token) -> {
            SimulatedRaterClient c = new SimulatedRaterClient(ingest, id, token, judge);
            raters.add(c);
            Thread t = new Thread(() -> {
                long goal = 1;
                while (producing.get()) {
                    try {
                        long g = goal;
                        c.run(() -> c.submitted() >= g || !producing.get());
                        goal = c.submitted() + 1;
                        Thread.sleep(raterIntervalMs);
                    } catch (InterruptedException e) {
                        return;
                    } catch (IOException e) {
                        // ingest or the broker is down (chaos): a person would retry in a moment, so do we
                        if (raterErrors.incrementAndGet() <= 5) {
                            events.add(String.format(Locale.ROOT, "%.0f s: %s: %s", elapsed.getAsDouble(), id, e));
                        }
                        try {
                            Thread.sleep(1000);
                        } catch (InterruptedException ie) {
                            return;
                        }
                    }
                }
            }, "soak-" + id);
            t.setDaemon(true);
            t.start();
            raterThreads.add(t);
        });
    }
}
