package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code salsa soak --chaos}: services killed with SIGKILL and restarted, the broker restarted once, and
 * still every verdict counted from the topics holds, replay included. The CI-sized run (the scorer, a generator and
 * the learner killed, then the broker restart) is in the default suite and also asserts what {@link SoakTest} does
 * (every process sampled throughout, alive at every sample): one start of the stack for the soak and the chaos. The
 * whole schedule (all six services) runs with {@code -Dsalsa.chaos=true}: with six recovery waits it takes ~8
 * minutes on 2 cores under load, too long for the default suite.
 */
class ChaosTest {

    /** What a CI-sized chaos run kills (then the broker restart): one of each kind of consumer that keeps state. */
    static final List<String> CI_KILLS = List.of("reward-scorer", "generator-2", "learner");
    /**
     * Reward-model steps of the CI run's preparation (the quick demo trains 20): the scorer needs a published reward
     * model, but no verdict (preferences acknowledged, steps trained once, prompts complete, replay) and no sampling
     * check depends on how well it scores, and the generators' rollouts stop at 16 new tokens whatever it rewards.
     */
    static final int CI_REWARD_STEPS = 4;

    @Test
    @EnabledIfSystemProperty(named = "salsa.chaos", matches = "true")
    void shouldKeepEveryGuaranteeThroughKillsAndABrokerRestart(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = dir.resolve("chaos");
        SoakRun.Result result = new SoakRun(new SoakRun.Options(2, true, out, 7, 5, 500),
                new PrintStream(printed, true, StandardCharsets.UTF_8)).run();
        assertVerdictsAndRestarts(result, printed, out, CHAOS_AND_BROKER);
    }

    /**
     * The CI run (one start of the stack for the soak and the chaos): 1 minute of loop, the scorer, a generator and
     * the learner killed, the broker restarted, the same five verdicts, and {@link SoakTest}'s sampling checks. The
     * recovery waits end on conditions (every producer's topic moved on after the event; the broker restart once
     * every service answers {@code /readyz}), so the minute is a floor, not the length. Samples every 2 s: a
     * recovery is seen at the next sample, so the sampling period is paid at every event.
     */
    @Test
    void shouldKeepEveryGuaranteeThroughKillsOfTheScorerAGeneratorAndTheLearner(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = dir.resolve("chaos");
        SoakRun.Result result = new SoakRun(new SoakRun.Options(1, true, out, 7, 2, 500, 10, 5, CI_KILLS,
                CI_REWARD_STEPS), new PrintStream(new Tee(printed, System.out), true, StandardCharsets.UTF_8)).run();
        List<String> restarted = new java.util.ArrayList<>(CI_KILLS);
        restarted.add(SoakRun.BROKER);
        assertVerdictsAndRestarts(result, printed, out, restarted);
        SoakTest.assertSampledThroughout(result, out, printed.toString(StandardCharsets.UTF_8), restarted);
    }

    /**
     * The run's progress into the test's output too (surefire keeps it in the report), so a CI log shows where the
     * time went: each preparation stage, the warm-up, every event's recovery, the drain and the replay.
     */
    private static final class Tee extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        Tee(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }

    private static final List<String> CHAOS_AND_BROKER = java.util.stream.Stream.concat(
            SoakRun.CHAOS_ORDER.stream(), java.util.stream.Stream.of(SoakRun.BROKER)).toList();

    private static void assertVerdictsAndRestarts(SoakRun.Result result, ByteArrayOutputStream printed, Path out,
            List<String> restarted) throws Exception {
        String log = printed.toString(StandardCharsets.UTF_8);

        assertTrue(result.verdicts() != null, log);
        assertEquals(5, result.verdicts().verdicts().size(), log);
        for (ChaosVerdicts.Verdict v : result.verdicts().verdicts()) {
            assertTrue(v.holds(), v.name() + ": " + v.detail() + "\n" + log);
        }
        assertTrue(result.ok(), log);
        for (SoakSummary.ServiceRow row : result.summary().rows()) {
            if (!row.service().equals(Sampler.DRIVER)) {
                assertEquals(restarted.contains(row.service()) ? 2 : 1, row.starts(),
                        row.service() + " killed (or stopped) once and restarted, or left alone\n" + log);
                assertEquals(0, row.unexpectedExits(), row.service());
            }
        }
        assertTrue(Files.readString(out.resolve("chaos.json")).contains("\"all_hold\" : true"));
    }
}
