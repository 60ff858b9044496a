package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
