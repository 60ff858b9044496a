package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.Salsa;
import io.salsa.learner.ppo.PpoConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The KL sweep's settings: parsed, sorted, validated with the setting's name, refused on the command line. */
class ExperimentConfigTest {

    @Test
    void shouldSortTheSweepAndTrainEachBetaWithAFixedController() {
        ExperimentConfig cfg = ExperimentConfig.quick().withKlCoefs(ExperimentConfig.parseKlCoefs("0.2, 0.05,0.1"));
        assertEquals(List.of(0.05, 0.1, 0.2), cfg.klCoefs());
        assertEquals(0.1, cfg.headlineKlCoef());
        assertEquals("0.05,0.1,0.2", cfg.klCoefsText());
        PpoConfig ppo = cfg.ppo(0.2);
        assertEquals(0.2, ppo.initKlCoef());
        assertEquals(false, ppo.adapKlCtrl());
        assertEquals(5, ExperimentConfig.standard().seeds(), "the full configuration has at least 5 seeds");
        assertTrue(ExperimentConfig.standard().klCoefs().size() >= 3);
    }

    @Test
    void shouldRefuseBadKlCoefficientsNamingTheSetting() {
        for (String bad : List.of("0.1,abc", "0.1,0.1", "0,0.1", "-0.1", "0.1,NaN")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ExperimentConfig.quick().withKlCoefs(ExperimentConfig.parseKlCoefs(bad)), bad);
            assertTrue(e.getMessage().contains("--kl-coefs"), e.getMessage());
        }
        assertEquals(2, Salsa.commandLine().execute("experiment", "salsa-vs-ppo", "--quick", "--kl-coefs", "x"));
        assertEquals(2, Salsa.commandLine().execute("experiment", "salsa-vs-ppo", "--quick", "--dpo-steps", "0"));
    }
}
