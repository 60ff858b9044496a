package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KlControllerTest {

    @Test
    void fixedControllerNeverMoves() {
        KlController c = new KlController.Fixed(0.05);
        assertSame(c, c.update(100, 64));
        assertEquals(0.05, c.update(100, 64).value(), 0);
    }

    @Test
    void adaptiveControllerFollowsTrlsProportionalRule() {
        KlController c = new KlController.Adaptive(0.2, 6, 10000);
        // KL 3 under target 6: error clip(-0.5) = -0.2, mult = 1 - 0.2*64/10000 = 0.99872
        assertEquals(0.199744, c.update(3, 64).value(), 1e-12);
        // KL 6.6: error +0.1, mult = 1 + 0.1*100/10000 = 1.001
        assertEquals(0.2002, c.update(6.6, 100).value(), 1e-12);
        // KL 60: error clipped to +0.2, mult = 1 + 0.2*10000/10000 = 1.2
        assertEquals(0.24, c.update(60, 10000).value(), 1e-12);
    }

    @Test
    void configChoosesTheController() {
        PpoConfig adaptive = PpoConfig.defaults();
        assertTrue(KlController.fromConfig(adaptive) instanceof KlController.Adaptive);
        PpoConfig fixed = PpoConfig.fromMap(java.util.Map.of("adap_kl_ctrl", "false", "init_kl_coef", "0.3"));
        assertEquals(new KlController.Fixed(0.3), KlController.fromConfig(fixed));
    }

    @Test
    void withValueKeepsTheKind() {
        assertEquals(new KlController.Adaptive(0.4, 6, 10000), new KlController.Adaptive(0.2, 6, 10000).withValue(0.4));
        assertThrows(IllegalArgumentException.class, () -> new KlController.Adaptive(0.2, 0, 1));
    }
}
