package io.salsa.learner;

import io.salsa.model.lm.ModelFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner's held-out check: on {@code eval_steps} boundaries, the simulated rater's score of the policy's
 * greedy answers to the built-in task's eval prompts ({@link HeldOutEvaluator}), else nothing. It needs a GPT-2
 * policy and a {@code tokenizer.json} in the initial model folder; without them the check is off after one warning.
 */
final class HeldOutSchedule implements PpoTrainer.HeldOutScorer {

    private static final Logger LOG = LoggerFactory.getLogger(HeldOutSchedule.class);

    /** Where the run's initial model folder is, fetched only when the first evaluation needs its tokenizer. */
    @FunctionalInterface
    interface FolderSupplier {
        Path get() throws IOException;
    }

    private final LearnerConfig config;
    private final PolicyTrainer policy;
    private final FolderSupplier initFolder;
    private HeldOutEvaluator evaluator;
    private boolean unavailable;

    HeldOutSchedule(LearnerConfig config, PolicyTrainer policy, FolderSupplier initFolder) {
        this.config = config;
        this.policy = policy;
        this.initFolder = initFolder;
    }

    @Override
    public OptionalDouble score(long step) throws IOException {
        if (config.evalSteps() == 0 || step % config.evalSteps() != 0 || unavailable
                || !(policy instanceof LmPolicyTrainer lm)) {
            return OptionalDouble.empty();
        }
        if (evaluator == null) {
            Path folder = initFolder.get();
            if (!Files.isRegularFile(folder.resolve(ModelFolder.TOKENIZER))) {
                LOG.warn("run {}: eval_steps={} but the initial model has no {}; held-out checks are off",
                        config.runId(), config.evalSteps(), ModelFolder.TOKENIZER);
                unavailable = true;
                return OptionalDouble.empty();
            }
            evaluator = HeldOutEvaluator.forTask(config.heldoutTaskSeed(), config.heldoutEntities(),
                    config.heldoutCount(), HeldOutEvaluator.MAX_NEW_TOKENS, folder);
        }
        return OptionalDouble.of(evaluator.evaluate(lm.policy()));
    }

    @Override
    public void close() {
        if (evaluator != null) {
            evaluator.close();
        }
    }
}
