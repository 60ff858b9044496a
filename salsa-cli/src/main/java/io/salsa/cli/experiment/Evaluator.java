package io.salsa.cli.experiment;

import ai.djl.Device;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.task.SimulatedRater;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Evaluates a trained policy on held-out prompts: greedy responses (deterministic, so arms compare on the same
 * footing), each judged by the gold rater, scored by the proxy reward model, with the exact KL of the policy
 * from the arm's reference along it (summed over its tokens) and its length.
 */
final class Evaluator {

    /** Prompts answered per forward batch. */
    private static final int BATCH = 16;

    private Evaluator() {
    }

    /**
     * @param prompts held-out prompts as (id, text)
     */
    static ArmEvaluation evaluate(String arm, double klCoef, long seed, String split, List<String[]> prompts, Path policyFolder,
                                  Path referenceFolder, SalsaTokenizer tokenizer, RewardFunction reward,
                                  SimulatedRater gold, int maxNewTokens, Device device) throws IOException {
        List<PromptOutcome> outcomes = new ArrayList<>(prompts.size());
        try (CausalLm policy = CausalLms.load(policyFolder, GptModel.Head.NONE, device);
             CausalLm reference = CausalLms.load(referenceFolder, GptModel.Head.NONE, device)) {
            Generator generator = new Generator(policy);
            for (int from = 0; from < prompts.size(); from += BATCH) {
                List<String[]> chunk = prompts.subList(from, Math.min(prompts.size(), from + BATCH));
                List<int[]> queries = chunk.stream().map(p -> tokenizer.encode(p[1])).toList();
                List<Generation> gens = generator.generate(queries, SamplingConfig.greedy(maxNewTokens), seed);
                List<int[]> responses = gens.stream().map(Generation::tokens).toList();
                float[] scores = reward.score(queries, responses);
                double[] kl = SequenceKl.klAlongResponses(policy, reference, queries, responses,
                        tokenizer.padId());
                for (int i = 0; i < chunk.size(); i++) {
                    String text = ArmTrainer.decode(tokenizer, gens.get(i));
                    outcomes.add(new PromptOutcome(chunk.get(i)[0], gold.score(chunk.get(i)[1], text), scores[i],
                            kl[i], responses.get(i).length));
                }
            }
        }
        return new ArmEvaluation(arm, klCoef, seed, split, outcomes);
    }
}
