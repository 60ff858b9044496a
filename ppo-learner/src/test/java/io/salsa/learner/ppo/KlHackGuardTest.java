package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class KlHackGuardTest {

    private static KlHackGuard.Observation obs(double length, double kl) {
        return new KlHackGuard.Observation(length, kl, 0, OptionalDouble.empty());
    }

    @Test
    void shouldDetectLengthCollapseAfterWarmup() {
        KlHackGuard guard = new KlHackGuard(new KlHackGuard.Config(KlHackGuard.Action.HALT, 3, 0.5, 0.05, 4, 2));
        for (double len : new double[] {10, 12, 8}) {
            KlHackGuard.Verdict v = guard.observe(obs(len, 0.1));
            assertTrue(v.detections().isEmpty());
            guard = v.next();
        }
        assertTrue(guard.observe(obs(5.5, 0.1)).detections().isEmpty());
        KlHackGuard.Verdict collapse = guard.observe(obs(4.9, 0.1));
        assertEquals("length_collapse", collapse.detections().get(0).kind());
        assertTrue(collapse.halt());
    }

    @Test
    void shouldDetectNegativeKlBeyondTolerance() {
        KlHackGuard guard = new KlHackGuard(KlHackGuard.Config.defaults());
        assertTrue(guard.observe(obs(10, -0.04)).detections().isEmpty());
        KlHackGuard.Verdict v = guard.observe(obs(10, -0.06));
        assertEquals(List.of("negative_kl"), v.detections().stream().map(KlHackGuard.Detection::kind).toList());
        assertEquals(KlHackGuard.Action.WARN, v.detections().get(0).action());
    }

    @Test
    void shouldDetectProxyRisingWhileHeldOutFalls() {
        KlHackGuard guard = new KlHackGuard(new KlHackGuard.Config(KlHackGuard.Action.RAISE_BETA, 1, 0.5, 0.05, 4, 2));
        double[][] points = {{1, 4}, {2, 3}, {3, 2.5}, {4, 1}};
        KlHackGuard.Verdict v = null;
        for (double[] p : points) {
            v = guard.observe(new KlHackGuard.Observation(10, 0.1, p[0], OptionalDouble.of(p[1])));
            guard = v.next();
        }
        assertEquals("proxy_gold_divergence", v.detections().get(0).kind());
        assertTrue(v.raiseBeta());
        // both rising is healthy
        KlHackGuard healthy = new KlHackGuard(new KlHackGuard.Config(KlHackGuard.Action.WARN, 1, 0.5, 0.05, 4, 2));
        for (int i = 0; i < 4; i++) {
            v = healthy.observe(new KlHackGuard.Observation(10, 0.1, i, OptionalDouble.of(i * 0.5)));
            healthy = v.next();
        }
        assertTrue(v.detections().isEmpty());
    }

    @Test
    void slopeIsLeastSquares() {
        // x = 0,1,2; y = 1,3,2: mean x 1, mean y 2; num = (-1)(-1)+0+(1)(0) = 1; den = 2 -> 0.5
        assertEquals(0.5, KlHackGuard.slope(List.of(new double[] {1}, new double[] {3}, new double[] {2}), 0), 1e-12);
    }
}
