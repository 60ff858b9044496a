package io.salsa.learner;

import ai.djl.Device;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa learn}: runs (or resumes) a PPO learner against the soup reference until Ctrl-C or max steps. */
@Command(name = "learn", mixinStandardHelpOptions = true, defaultValueProvider = EnvDefaults.class,
        description = {"Train PPO against a model-soup reference from the scored-rollouts topic (SALSA).",
                "Every option can also be given as the environment variable shown; flags win. Metrics and health on "
                        + "--metrics-port (default: $SALSA_LEARNER_METRICS_PORT, else 9404)."})
public final class LearnCommand extends SalsaCommand {

    @Option(names = "--run", required = true, description = "Run id; an existing run resumes from its checkpoint "
            + "($SALSA_LEARNER_RUN_ID).")
    String runId;

    @Option(names = "--recipe", required = true, description = "Soup recipe whose current soup is the KL reference "
            + "($SALSA_LEARNER_SOUP_RECIPE).")
    String recipe;

    @Option(names = "--init-from", defaultValue = "soup",
            description = "soup (default) or sft:<modelId>: where the policy starts ($SALSA_LEARNER_INIT_FROM).")
    String initFrom;

    @Mixin
    DeviceOptions devices;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop when the run has made this many steps in all (a "
            + "resumed run counts its earlier steps; 0 = until Ctrl-C; $SALSA_LEARNER_MAX_STEPS).")
    long maxSteps;

    @Option(names = "--save-steps", defaultValue = "10", description = "Checkpoint every N steps (default 10; "
            + "$SALSA_LEARNER_SAVE_STEPS).")
    int saveSteps;

    @Option(names = "--set", description = "Any learner or PPO setting by its TRL name, e.g. --set batch_size=32 "
            + "--set kl_estimator=k3 --set guard_action=raise_beta (repeatable; also SALSA_LEARNER_<KEY>).")
    Map<String, String> settings = new LinkedHashMap<>();

    @Mixin
    ServiceOptions service;

    @Override
    public Integer call() throws Exception {
        LearnerConfig config;
        KafkaSettings kafka;
        int metricsPort;
        try {
            Device device = devices.apply();
            Map<String, String> flags = new LinkedHashMap<>(settings);
            flags.put("run_id", runId);
            flags.put("soup_recipe", recipe);
            flags.put("init_from", initFrom);
            flags.put("max_steps", Long.toString(maxSteps));
            flags.put("save_steps", Integer.toString(saveSteps));
            if (service.metricsPortGiven(System.getenv())) {
                flags.put("metrics_port", Integer.toString(service.metricsPort(System.getenv(), -1)));
            }
            // --device wins over any device setting, and stays a typed device (a GPU keeps its index)
            config = LearnerConfig.fromEnv(System.getenv(), flags).toBuilder().device(device).build();
            kafka = service.kafka(System.getenv());
            metricsPort = config.metricsPort();
            // the runner serves the probes (from before the run opens), so the run does not open its own endpoint
            config = config.toBuilder().metricsPort(-1).build();
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        PpoLearner learner = PpoLearner.create(config, kafka, service.store(System.getenv()),
                trainerFactory());
        try {
            ServiceRunner.runUntilStopped(learner, metricsPort);
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        PpoTrainer.Stop why = learner.stopReason();
        if (!learner.isOpen()) {
            System.out.println("run " + config.runId() + " stopped before its first soup of recipe "
                    + config.soupRecipe() + " was published");
            return 0;
        }
        System.out.println("run " + config.runId() + " stopped (" + why + ") at step " + learner.state().step()
                + ", policy version " + learner.state().policyVersion());
        return why == PpoTrainer.Stop.HALTED_BY_GUARD ? 3 : 0;
    }

    /** The trainer of any CausalLm folder (GPT-2 or the Llama family) on the config's device. */
    public static PpoLearner.TrainerFactory trainerFactory() {
        return LmPolicyTrainer::open;
    }
}
