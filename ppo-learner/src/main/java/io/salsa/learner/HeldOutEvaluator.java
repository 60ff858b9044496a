package io.salsa.learner;

import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores the policy on held-out prompts with a judge the reward model never trained on (the built-in task's
 * simulated rater), so the KL-hack guard can see the proxy reward rise while the gold score falls. Greedy
 * decoding keeps the score a deterministic function of the weights, which restarts and replays rely on.
 */
public final class HeldOutEvaluator implements AutoCloseable {

    /** Longest greedy answer scored, in tokens (the learner's {@code eval_steps} check and the demo's headline). */
    public static final int MAX_NEW_TOKENS = 24;

    private final SimulatedRater rater;
    private final List<String> prompts;
    private final List<int[]> promptIds;
    private final SalsaTokenizer tokenizer;
    private final int maxNewTokens;

    private HeldOutEvaluator(SimulatedRater rater, List<String> prompts, SalsaTokenizer tokenizer, int maxNewTokens) {
        this.rater = rater;
        this.prompts = List.copyOf(prompts);
        this.tokenizer = tokenizer;
        this.maxNewTokens = maxNewTokens;
        this.promptIds = new ArrayList<>();
        for (String p : prompts) {
            promptIds.add(tokenizer.encode(p));
        }
    }

    /**
     * The eval split of the built-in task generated with {@code taskSeed} (the same world the SFT data came from),
     * first {@code count} prompts, tokenised with the model folder's {@code tokenizer.json}.
     */
    public static HeldOutEvaluator forTask(long taskSeed, int entities, int count, int maxNewTokens, Path modelFolder)
            throws IOException {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(taskSeed, entities));
        List<String> texts = new ArrayList<>();
        for (TaskPrompt p : data.prompts("eval")) {
            if (texts.size() == count) {
                break;
            }
            texts.add(p.text());
        }
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("heldout_task_seed=" + taskSeed + ": the task has no eval prompts");
        }
        return forPrompts(new SimulatedRater(data.world()), texts, maxNewTokens, modelFolder);
    }

    /**
     * Any prompts judged by {@code rater}, tokenised with the model folder's {@code tokenizer.json}; {@link #scores}
     * keeps their order.
     */
    public static HeldOutEvaluator forPrompts(SimulatedRater rater, List<String> prompts, int maxNewTokens,
            Path modelFolder) throws IOException {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompts to evaluate");
        }
        return new HeldOutEvaluator(rater, prompts, SalsaTokenizer.load(modelFolder), maxNewTokens);
    }

    /** Mean simulated-rater score of the policy's greedy answers to the held-out prompts. */
    public double evaluate(CausalLm policy) {
        double sum = 0;
        for (double s : scores(policy)) {
            sum += s;
        }
        return sum / prompts.size();
    }

    /**
     * The simulated rater's score of the policy's greedy answer to each held-out prompt, in prompt order, so two
     * policies can be compared prompt by prompt (a paired bootstrap over prompts).
     */
    public double[] scores(CausalLm policy) {
        List<Generation> out = new Generator(policy).generate(promptIds, SamplingConfig.greedy(maxNewTokens), 0);
        double[] scores = new double[prompts.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = rater.score(prompts.get(i), tokenizer.decode(out.get(i).tokens(), true));
        }
        return scores;
    }

    /** How many held-out prompts are scored. */
    public int size() {
        return prompts.size();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
