package io.salsa.cli.experiment;

import io.salsa.model.lm.Devices;
import io.salsa.runtime.cli.SalsaCommand;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa experiment salsa-vs-ppo}: the A/B of the SALSA paper on the built-in task, with significance. */
@Command(name = "salsa-vs-ppo", mixinStandardHelpOptions = true,
        description = {"Train SALSA (soup of K=2 SFT models as reference and start), PPO (one SFT model) and SALSA "
                + "K=4 with the same budget over several seeds, evaluate on held-out in-distribution and OOD prompts "
                + "(gold win/tie/loss, reward-model score, KL to own reference, length) and write the report.",
                "Re-running reuses finished models and runs in DIR."})
public final class ExperimentCommand extends SalsaCommand {

    public ExperimentCommand() {
        super("experiment", "Experiments that compare training methods end to end.");
    }

    @Option(names = "--dir", defaultValue = "salsa-data/experiment",
            description = "Where models, runs and the report go (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--seeds", description = "PPO seeds per arm (default: 3; 1 with --quick).")
    Integer seeds;

    @Option(names = "--steps", description = "PPO steps per run, the same for every arm (default: 12; 2 with --quick).")
    Integer steps;

    @Option(names = "--threads", defaultValue = "1",
            description = "PyTorch CPU threads (default: ${DEFAULT-VALUE}; more only helps on an idle machine).")
    int threads;

    @Option(names = "--quick", description = "The smallest end-to-end run (the test suite's).")
    boolean quick;

    @Override
    public Integer call() throws Exception {
        ExperimentConfig cfg;
        try {
            cfg = quick ? ExperimentConfig.quick() : ExperimentConfig.standard();
            if (seeds != null) {
                cfg = cfg.withSeeds(seeds);
            }
            if (steps != null) {
                cfg = cfg.withSteps(steps);
            }
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        try {
            Devices.setThreads(threads);
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        SalsaVsPpo.Outcome outcome = SalsaVsPpo.run(dir, cfg, System.out);
        System.out.println("report: " + outcome.report().toAbsolutePath());
        return 0;
    }
}
