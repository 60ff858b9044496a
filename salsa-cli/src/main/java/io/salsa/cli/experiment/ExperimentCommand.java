package io.salsa.cli.experiment;

import io.salsa.model.lm.Devices;
import io.salsa.runtime.cli.SalsaCommand;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa experiment salsa-vs-ppo}: the A/B of the SALSA paper on the built-in task, with significance. */
@Command(name = "salsa-vs-ppo", mixinStandardHelpOptions = true,
        description = {"Train SALSA (soup of K=2 SFT models as reference and start), PPO (one SFT model), SALSA K=4, "
                + "GRPO from the soup and from one SFT model, and offline DPO against the soup and against one SFT "
                + "model, each at every KL coefficient of --kl-coefs and over several seeds with the same budget; "
                + "evaluate on held-out in-distribution and OOD prompts (gold reward, reward-model score, KL to own "
                + "reference, length) and write the report: gold-vs-KL frontiers, the arms at matched KL, per-β "
                + "tables.",
                "Re-running reuses finished models and runs in DIR."})
public final class ExperimentCommand extends SalsaCommand {

    public ExperimentCommand() {
        super("experiment", "Experiments that compare training methods end to end.");
    }

    @Option(names = "--dir", defaultValue = "salsa-data/experiment",
            description = "Where models, runs and the report go (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--seeds", description = "Seeds per arm and β (default: 5; 1 with --quick).")
    Integer seeds;

    @Option(names = "--steps", description = "Steps per online run, the same for every arm (default: 60; 2 with --quick).")
    Integer steps;

    @Option(names = "--kl-coefs", paramLabel = "B1,B2,...",
            description = "Fixed KL coefficients β every arm is trained with, comma-separated (default: 0.05,0.1,0.2).")
    String klCoefs;

    @Option(names = "--dpo-steps", description = "Optimiser steps of each DPO run (default: 60; 2 with --quick).")
    Integer dpoSteps;

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
            if (klCoefs != null) {
                cfg = cfg.withKlCoefs(ExperimentConfig.parseKlCoefs(klCoefs));
            }
            if (dpoSteps != null) {
                cfg = cfg.withDpoSteps(dpoSteps);
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
