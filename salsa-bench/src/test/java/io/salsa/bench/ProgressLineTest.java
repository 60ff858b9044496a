package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressLineTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void shouldPrintRateSinceTheLastLineAndTheEtaOfTheRemainingWork() {
        AtomicLong clock = new AtomicLong();
        List<String> lines = new ArrayList<>();
        ProgressLine p = ProgressLine.counting(lines::add, "scored", 100, "rollouts", Duration.ofSeconds(2),
                clock::get);
        clock.set(SECOND);
        assertFalse(p.update(5), "not before the interval");
        clock.set(2 * SECOND);
        assertTrue(p.update(10));
        clock.set(3 * SECOND);
        assertFalse(p.update(20));
        clock.set(4 * SECOND);
        assertTrue(p.update(30));
        assertEquals(List.of("scored 10/100  5.0 rollouts/s  ETA 18s", "scored 30/100  10.0 rollouts/s  ETA 7s"),
                lines);
    }

    @Test
    void shouldSayTheEtaIsUnknownWhileNothingMoves() {
        AtomicLong clock = new AtomicLong();
        List<String> lines = new ArrayList<>();
        ProgressLine p = ProgressLine.counting(lines::add, "scored", 10, "rollouts", Duration.ofSeconds(1),
                clock::get);
        clock.set(SECOND);
        p.update(0);
        assertEquals(List.of("scored 0/10  0.0 rollouts/s  ETA ?"), lines);
    }

    @Test
    void shouldCountDownToTheDeadlineOfATimedBench() {
        AtomicLong clock = new AtomicLong();
        List<String> lines = new ArrayList<>();
        ProgressLine p = ProgressLine.untilDeadline(lines::add, "acknowledged", 10 * SECOND, "preferences",
                Duration.ofSeconds(2), clock::get);
        clock.set(2 * SECOND);
        p.update(4);
        clock.set(12 * SECOND);
        p.update(24);
        assertEquals(List.of("acknowledged 4  2.0 preferences/s  ETA 8s", "acknowledged 24  2.0 preferences/s  ETA 0s"),
                lines);
    }
}
