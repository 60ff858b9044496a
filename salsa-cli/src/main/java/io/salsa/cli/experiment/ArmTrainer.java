package io.salsa.cli.experiment;

import ai.djl.Device;
import io.salsa.cli.demo.Progress;
import io.salsa.cli.report.StepMetrics;
import io.salsa.events.BlobRef;
import io.salsa.learner.LmPolicyTrainer;
import io.salsa.learner.LearnerState;
import io.salsa.learner.PpoTrainer;
import io.salsa.learner.TrainingBatch;
import io.salsa.learner.ppo.Algorithm;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.task.SimulatedRater;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.SplittableRandom;

/**
 * Trains one arm with one seed in-process through the learner's own {@link PpoTrainer}: the same step controller
 * (KL controller, KL-hack guard, β raise, non-finite halt, metrics) and PPO step as the Kafka learner, without the
 * topics, so that an A/B over arms and seeds fits in one command and measures exactly what the learner does.
 *
 * <p>Each step samples {@code batch_size} training prompts (seeded by arm-independent seed and step, so every arm
 * of an algorithm sees the same prompts; GRPO and RLOO arms sample {@code batch_size / group_size} prompts and
 * {@code group_size} responses to each, one prompt group each), generates on-policy responses, scores them with the proxy reward model, and hands the
 * batch to the trainer; every few steps the gold judge scores a few held-out prompts for the guard's proxy/gold
 * divergence check ({@code eval/heldout_score}).
 */
public final class ArmTrainer {

    /**
     * Everything an arm run shares with the others.
     *
     * @param ppo       the learner's config every run starts from (each run sets its own β and algorithm)
     * @param groupSize responses per prompt of the critic-free algorithms
     */
    public record Shared(List<String> trainPrompts, List<String> guardPrompts, SalsaTokenizer tokenizer, RewardFunction reward,
                  SimulatedRater gold, PpoConfig ppo, KlHackGuard.Config guard, int maxNewTokens, int guardEvery,
                  int groupSize, Device device) {
    }

    private ArmTrainer() {
    }

    /**
     * Trains {@code arm} at the fixed KL coefficient {@code klCoef} for {@code steps} steps of its algorithm with
     * {@code seed}, saves the final policy to {@code out}, and returns the per-step metrics (the learner's TRL
     * names) tagged with {@code label} and seed.
     */
    public static List<StepMetrics> train(Arm arm, String label, double klCoef, long seed, int steps, Shared shared,
                                          Path out, PrintStream log) throws IOException {
        List<StepMetrics> metrics = new ArrayList<>();
        String runId = label + "-seed" + seed;
        Progress progress = Progress.start(runId, steps, "steps", log);
        PpoConfig ppo = shared.ppo().toBuilder().initKlCoef(klCoef).algorithm(arm.algorithm()).build();
        int group = arm.algorithm().usesCritic() ? 1 : shared.groupSize();
        // arms never checkpoint (save_steps 0): the final policy is saved below
        PpoTrainer.Settings settings = new PpoTrainer.Settings(runId, ppo, shared.guard(), 0,
                step -> mix(seed, step));
        LearnerState start = PpoTrainer.initialState(settings,
                new LearnerState.SoupRef(arm.name(), 0, local(arm.referenceFolder())), Map.of(),
                "local:" + arm.initFolder(), local(arm.initFolder()));
        LmPolicyTrainer policy = LmPolicyTrainer.open(ppo, arm.initFolder(), arm.referenceFolder(),
                shared.device());
        try (PpoTrainer trainer = new PpoTrainer(settings, policy, start, step -> shared.guardEvery() > 0
                && step % shared.guardEvery() == 0 ? OptionalDouble.of(goldMean(policy, shared, mix(seed, step)))
                : OptionalDouble.empty())) {
            Generator generator = new Generator(policy.policy());
            SamplingConfig sampling = SamplingConfig.sampling(shared.maxNewTokens());
            try {
                PpoTrainer.Stop why = trainer.train(state -> rollouts(generator, sampling, shared, group,
                        mix(seed, state.step() + 1)), steps, o -> {
                    List<StepMetrics.Guard> events = o.verdict().detections().stream()
                            .map(d -> new StepMetrics.Guard(d.kind(), d.action().label(), d.detail())).toList();
                    metrics.add(new StepMetrics(label, seed, runId, o.step(), o.metrics(), events));
                    progress.advance(1);
                });
                if (why == PpoTrainer.Stop.HALTED_BY_GUARD) {
                    log.printf("[%s] KL-hack guard halted the run at step %d%n", runId, trainer.state().step());
                }
            } catch (PpoTrainer.NonFiniteStepException e) {
                // a diverged step poisons the KL controller and every later step: the run stops here and says so
                metrics.add(new StepMetrics(label, seed, runId, e.step(), Map.of(),
                        List.of(new StepMetrics.Guard("non_finite_step", "halt", e.getMessage()))));
                log.printf("[%s] step %d produced non-finite values; run halted%n", runId, e.step());
            }
            policy.savePolicy(out);
        }
        progress.finish();
        return metrics;
    }

    /**
     * One on-policy batch: the step's prompts ({@code group} consecutive copies of each, one prompt group, when
     * {@code group} &gt; 1), sampled responses (each with its own sampler seed), the proxy reward model's scores.
     */
    private static TrainingBatch rollouts(Generator generator, SamplingConfig sampling, Shared shared, int group,
                                          long stepSeed) {
        List<int[]> queries = new ArrayList<>(shared.ppo().batchSize());
        for (int[] prompt : samplePrompts(shared, shared.ppo().batchSize() / group, stepSeed)) {
            for (int j = 0; j < group; j++) {
                queries.add(prompt);
            }
        }
        List<Generation> gens = generator.generate(queries, sampling, stepSeed);
        List<int[]> responses = gens.stream().map(Generation::tokens).toList();
        float[] scores = shared.reward().score(queries, responses);
        List<TrainingSample> batch = new ArrayList<>(queries.size());
        for (int i = 0; i < queries.size(); i++) {
            Generation g = gens.get(i);
            String groupKey = group > 1 ? "p" + (i / group) : null;
            batch.add(new TrainingSample(queries.get(i), g.tokens(), g.logProbs(), g.stoppedAtEos(), scores[i], null,
                    groupKey));
        }
        return TrainingBatch.of(batch);
    }

    /** A reference to a local model folder: arms are not published, so the state only names their folders. */
    private static BlobRef local(Path folder) {
        return new BlobRef(folder.toUri().toString(), "", 0L);
    }

    private static List<int[]> samplePrompts(Shared shared, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(shared.tokenizer().encode(shared.trainPrompts().get(random.nextInt(shared.trainPrompts().size()))));
        }
        return out;
    }

    /** Mean gold score of greedy answers to the guard's held-out prompts: the judge the proxy should track. */
    private static double goldMean(LmPolicyTrainer policy, Shared shared, long seed) {
        List<int[]> queries = shared.guardPrompts().stream().map(shared.tokenizer()::encode).toList();
        List<Generation> gens = new Generator(policy.policy())
                .generate(queries, SamplingConfig.greedy(shared.maxNewTokens()), seed);
        double sum = 0;
        for (int i = 0; i < queries.size(); i++) {
            sum += shared.gold().score(shared.guardPrompts().get(i), decode(shared.tokenizer(), gens.get(i)));
        }
        return sum / queries.size();
    }

    /** The response text without its EOS, as a rater sees it. */
    static String decode(SalsaTokenizer tokenizer, Generation g) {
        return tokenizer.decode(g.tokens(), true);
    }

    /** SplitMix64 of seed and step, so steps (and seeds) draw independent streams. */
    static long mix(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * One experiment arm: where its policy starts, what its KL reference is and which of the learner's algorithms
     * trains it.
     *
     * @param name            arm name
     * @param initFolder      initial policy model folder
     * @param referenceFolder KL reference model folder (a soup for SALSA, one SFT model for PPO)
     * @param algorithm       the learner's {@code algorithm} ({@code ppo}, {@code grpo}, {@code rloo})
     */
    public record Arm(String name, Path initFolder, Path referenceFolder, Algorithm algorithm) {
    }
}
