package io.salsa.scorer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.events.Rollout;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Precision;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The production reward model: any supported causal LM (GPT-2, the Llama family) with Hugging Face's
 * {@code *ForSequenceClassification} score head, read from a model folder; the reward is read at the architecture's
 * rule ({@link CausalLm#scores}: GPT-2 the last real token, Llama-style the last non-pad token).
 */
public final class LmRewardScorerModel implements RewardScorerModel {

    private final CausalLm model;
    private final String name;
    private final long version;

    public LmRewardScorerModel(CausalLm model, String name, long version) {
        if (model.head() != GptModel.Head.SCORE) {
            throw new IllegalArgumentException("a reward model needs Head.SCORE, got " + model.head());
        }
        this.model = model;
        this.name = name;
        this.version = version;
    }

    /**
     * Loads a reward-model folder ({@code config.json} + {@code model.safetensors} or a sharded index, with
     * {@code score.weight}); the architecture comes from {@code config.json}'s {@code model_type}.
     */
    public static LmRewardScorerModel load(Path dir, String name, long version, Device device) throws IOException {
        return load(dir, name, version, device, Precision.FP32);
    }

    /**
     * {@link #load(Path, String, long, Device)} scoring in {@code precision}: the model is frozen
     * ({@link CausalLms#loadFrozen}), so at fp16 it holds float16 weights (half the memory, no cast per forward) and
     * runs fp16 autocast; the scores are float32 either way.
     */
    public static LmRewardScorerModel load(Path dir, String name, long version, Device device, Precision precision)
            throws IOException {
        CausalLm model = CausalLms.loadFrozen(dir, GptModel.Head.SCORE, device, precision);
        try {
            return new LmRewardScorerModel(model, name, version);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long version() {
        return version;
    }

    /** The network, for in-process callers that score token ids themselves. */
    public CausalLm lm() {
        return model;
    }

    @Override
    public Optional<String> rejectReason(Rollout rollout) {
        int vocab = model.vocabSize();
        Optional<String> bad = outOfVocabulary("promptTokenIds", rollout.getPromptTokenIds(), vocab);
        return bad.isPresent() ? bad : outOfVocabulary("responseTokenIds", rollout.getResponseTokenIds(), vocab);
    }

    private static Optional<String> outOfVocabulary(String field, List<Integer> ids, int vocab) {
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i) >= vocab) {
                return Optional.of(field + "[" + i + "] = " + ids.get(i) + " is outside the vocabulary of "
                        + vocab + " tokens");
            }
        }
        return Optional.empty();
    }

    @Override
    public float[] score(List<Rollout> batch) {
        List<int[]> sequences = new ArrayList<>(batch.size());
        int maxLength = model.maxPositions();
        for (Rollout r : batch) {
            sequences.add(RewardSequences.join(r.getPromptTokenIds(), r.getResponseTokenIds(), maxLength));
        }
        return scoreSequences(model, sequences);
    }

    /**
     * Scores (prompt, response) token pairs exactly as {@link #score(List)} scores rollouts, for callers that hold
     * token ids rather than rollout events (in-process PPO, evaluations).
     */
    public float[] score(List<int[]> prompts, List<int[]> responses) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts but " + responses.size() + " responses");
        }
        List<int[]> sequences = new ArrayList<>(prompts.size());
        int maxLength = model.maxPositions();
        for (int i = 0; i < prompts.size(); i++) {
            sequences.add(RewardSequences.join(prompts.get(i), responses.get(i), maxLength));
        }
        return scoreSequences(model, sequences);
    }

    /** Scores token sequences (each within the model's context) in one forward pass, without gradients. */
    static float[] scoreSequences(CausalLm model, List<int[]> sequences) {
        RewardSequences.Batch b = RewardSequences.pad(sequences, model);
        try (NDManager scope = model.newScope()) {
            NDArray ids = scope.create(b.ids());
            NDArray mask = scope.create(b.mask());
            return model.scores(ids, mask).toFloatArray();
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
