package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RolloutSeedsTest {

    @Test
    void shouldBeAPureFunctionOfItsInputs() {
        assertEquals(RolloutSeeds.derive(7, "p1", 0, 3, 2), RolloutSeeds.derive(7, "p1", 0, 3, 2));
    }

    @Test
    void shouldChangeWithEveryComponent() {
        long base = RolloutSeeds.derive(7, "p1", 0, 3, 2);
        assertNotEquals(base, RolloutSeeds.derive(8, "p1", 0, 3, 2));
        assertNotEquals(base, RolloutSeeds.derive(7, "p2", 0, 3, 2));
        assertNotEquals(base, RolloutSeeds.derive(7, "p1", 1, 3, 2));
        assertNotEquals(base, RolloutSeeds.derive(7, "p1", 0, 4, 2));
        assertNotEquals(base, RolloutSeeds.derive(7, "p1", 0, 3, 3));
    }

    @Test
    void shouldNotCollideWhenIdsShareAPrefix() {
        // the id is length-prefixed, so ("p1", sample 12) and ("p11", sample 2) cannot hash the same bytes
        Set<Long> seeds = new HashSet<>();
        for (int p = 0; p < 50; p++) {
            for (int s = 0; s < 20; s++) {
                seeds.add(RolloutSeeds.derive(0, "p" + p, 0, s, 0));
            }
        }
        assertEquals(1000, seeds.size());
    }
}
