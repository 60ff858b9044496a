package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DemoStagesTest {

    @Test
    void shouldPrepareEverythingBeforeTheLoopAndNothingFromItOn() {
        for (DemoProfile profile : List.of(DemoProfile.quick(), DemoProfile.standard())) {
            List<String> chain = DemoStages.chain(profile).stream().map(Stage::name).toList();
            List<String> preparation = DemoStages.preparation(profile).stream().map(Stage::name).toList();
            // the soak starts the loop's services itself: a preparation that ran the loop (or what follows it)
            // would train a whole demo run in-process before the soak began
            assertEquals(chain.subList(0, chain.indexOf(DemoStages.SALSA_LOOP)), preparation);
        }
    }

    @Test
    void shouldFineTuneTheRewardModelsStartBeforeItOnlyWhenTheProfileAsksForALongerOne() {
        List<String> standard = DemoStages.chain(DemoProfile.standard()).stream().map(Stage::name).toList();
        assertTrue(DemoProfile.standard().rmInitEpochs() > DemoProfile.standard().sftEpochs());
        assertTrue(standard.contains("rm-init"), standard.toString());
        assertTrue(standard.indexOf("rm-init") > standard.indexOf("sft-2")
                && standard.indexOf("rm-init") < standard.indexOf("reward-model"), standard.toString());
        // the quick profile's reward model starts from SFT model 1 itself: no extra stage in the smoke test
        List<String> quick = DemoStages.chain(DemoProfile.quick()).stream().map(Stage::name).toList();
        assertFalse(quick.contains("rm-init"), quick.toString());
    }
}
