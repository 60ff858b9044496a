package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class TrainingOptionsTest {

    @Command(name = "fit", modelTransformer = TrainingOptions.Install.class)
    static final class Fit {
        final TrainingOptions training = TrainingOptions.epochs(2, null)
                .lr("1e-4", "Peak learning rate")
                .batchSize(16, "Pairs per step")
                .warmup("--warmup-steps", "<warmupSteps>", 10, null)
                .maxSteps("Stop after N steps, 0 = no limit")
                .build();
    }

    @Command(name = "empty", modelTransformer = TrainingOptions.Install.class)
    static final class Empty {
    }

    @Test
    void shouldTakeEachCommandsDefaultsAndFlags() {
        Fit fit = new Fit();
        CommandLine cl = new CommandLine(fit);
        cl.parseArgs();
        SftConfig defaults = fit.training.sftConfig(5, 1.0, 0.01);
        assertEquals(new SftConfig(2, 1e-4, 16, 10, 0, 1.0, 0.01, 5), defaults,
                "flags the command leaves out take its fixed values");

        cl.parseArgs("--epochs", "3", "--lr", "0.5", "--batch-size", "4", "--warmup-steps", "0", "--max-steps", "7");
        assertEquals(new SftConfig(3, 0.5, 4, 0, 7, 1.0, 0.01, 5), fit.training.sftConfig(5, 1.0, 0.01));
        assertEquals(2, cl.execute("--max-grad-norm", "2"), "a flag the command did not declare is a usage error");
    }

    @Test
    void shouldShowEachCommandsHelpAndDefaults() {
        String usage = new CommandLine(new Fit()).getUsageMessage().replaceAll("\\s+", " ");
        assertTrue(usage.contains(" --epochs=<epochs> Default: 2. "), usage);
        assertTrue(usage.contains(" --lr=<lr> Peak learning rate (default: 1e-4). "), usage);
        assertTrue(usage.contains(" --warmup-steps=<warmupSteps> Default: 10."), usage);
        assertTrue(usage.contains(" --max-steps=<maxSteps> Stop after N steps, 0 = no limit (default: 0). "), usage);
    }

    @Test
    void shouldRefuseACommandWithoutTheOptions() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new CommandLine(new Empty()));
        assertTrue(e.getMessage().contains("has no TrainingOptions field"), e.getMessage());
    }
}
