package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code salsa soak --chaos} with the whole schedule: each service killed with SIGKILL and restarted, the
 * broker restarted once, and still every verdict counted from the topics holds, replay included. Runs with
 * {@code -Dsalsa.chaos=true}: with six recovery waits and the drain it takes ~8 minutes on 2 cores under load, too
 * long for the default suite, which runs {@link SoakTest}'s subset (learner, a generator, the scorer, the broker).
 */
@EnabledIfSystemProperty(named = "salsa.chaos", matches = "true")
class ChaosTest {

    @Test
    void shouldKeepEveryGuaranteeThroughKillsAndABrokerRestart(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = dir.resolve("chaos");
        SoakRun.Result result = new SoakRun(new SoakRun.Options(2, true, out, 7, 5, 500),
                new PrintStream(printed, true, StandardCharsets.UTF_8)).run();
        String log = printed.toString(StandardCharsets.UTF_8);

        assertTrue(result.verdicts() != null, log);
        assertEquals(5, result.verdicts().verdicts().size(), log);
        for (ChaosVerdicts.Verdict v : result.verdicts().verdicts()) {
            assertTrue(v.holds(), v.name() + ": " + v.detail() + "\n" + log);
        }
        assertTrue(result.ok(), log);
        for (SoakSummary.ServiceRow row : result.summary().rows()) {
            if (!row.service().equals(Sampler.DRIVER)) {
                assertEquals(2, row.starts(), row.service() + " killed (or stopped) once and restarted\n" + log);
                assertEquals(0, row.unexpectedExits(), row.service());
            }
        }
        assertTrue(Files.readString(out.resolve("chaos.json")).contains("\"all_hold\" : true"));
    }
}
