package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * A decoder-only language model whatever its architecture (GPT-2, or the Llama family), so generation, training and
 * scoring code can be written once; {@link CausalLms#load} picks the implementation from {@code config.json}.
 *
 * <p>Conventions shared by every implementation: the model owns its weights in its own manager; every array a
 * forward pass creates lives in the manager of the {@code ids} passed in (run each step in {@link #newScope()});
 * inputs are [B, T] ids and a [B, Tk] attention mask (1 = token, 0 = padding, left or right); position ids default
 * to cumsum(mask) − 1 clipped at 0; parameters carry Hugging Face's names; outputs are float32.
 */
public interface CausalLm extends AutoCloseable {

    /** {@code config.json}'s {@code model_type}: {@code gpt2}, {@code llama}, {@code mistral}, {@code qwen2}, {@code gemma}. */
    String modelType();

    /** The head on top of the backbone. */
    GptModel.Head head();

    int vocabSize();

    /** Width of the hidden states (and of the value/score head's input). */
    int hiddenSize();

    int numLayers();

    /** Longest sequence (cached + new positions) the model accepts. */
    int maxPositions();

    /** Generation stops on this id (the first one when the config lists several). */
    int eosTokenId();

    /**
     * Every id generation stops on: {@code config.json}'s {@code eos_token_id} (one or a list) and, for a loaded
     * folder, those its {@code generation_config.json} adds (Llama-3 lists end-of-text and end-of-turn).
     */
    default java.util.List<Integer> eosTokenIds() {
        return java.util.List.of(eosTokenId());
    }

    /** Padding id ({@code pad_token_id}; the EOS id when the config has none). */
    int padTokenId();

    Device device();

    /** The manager that owns the weights. */
    NDManager manager();

    /** A sub-manager for one step's arrays; close it after the step. */
    NDManager newScope();

    /** Every parameter by its Hugging Face name, in checkpoint order. */
    Map<String, Parameter> parameters();

    /**
     * The dtype the weights are held in: float32 (the default; the master weights of anything trained) or float16
     * for an inference-only model loaded by {@link CausalLms#loadFrozen} at fp16 (half the memory, no cast per
     * forward). {@link #weights} and {@link #setWeights} take float32 values either way.
     */
    default ai.djl.ndarray.types.DataType weightType() {
        return ai.djl.ndarray.types.DataType.FLOAT32;
    }

    /** Number of scalar weights. */
    default long parameterCount() {
        long n = 0;
        for (Parameter p : parameters().values()) {
            n += p.getArray().size();
        }
        return n;
    }

    /** Bytes the weights occupy on the device (elements × the width of {@link #weightType()}). */
    default long weightBytes() {
        long n = 0;
        for (Parameter p : parameters().values()) {
            n += p.getArray().size() * p.getArray().getDataType().getNumOfBytes();
        }
        return n;
    }

    /** Overwrites one tensor in place (the array keeps its identity, so optimisers and graphs stay valid). */
    default void setWeights(String name, float[] values) {
        setWeights(name, FloatBuffer.wrap(values));
    }

    /** Overwrites one tensor in place from a buffer holding exactly its elements. */
    default void setWeights(String name, FloatBuffer values) {
        CausalLms.parameterFor(this, name, values.remaining()).getArray().set(values);
    }

    /** A host copy of one tensor. */
    default float[] weights(String name) {
        Parameter p = parameters().get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown tensor " + name);
        }
        return p.getArray().toFloatArray();
    }

    /** Expected shape of a tensor of this model, or null when it has none of that name. */
    default ai.djl.ndarray.types.Shape shapeOf(String name) {
        Parameter p = parameters().get(name);
        return p == null ? null : p.getArray().getShape();
    }

    /**
     * Overwrites every weight from a model folder (single or sharded checkpoint) or a safetensors file, in place
     * (hot swap: arrays keep their identity, so optimisers and graphs stay valid).
     */
    void loadWeights(Path dirOrFile) throws IOException;

    /**
     * Copies every weight of {@code other} (same architecture and shapes; same or richer head) into this model in
     * place; tensors {@code other} lacks (a head) keep their own values.
     */
    default void copyWeightsFrom(CausalLm other) {
        CausalLms.copyWeights(other, this);
    }

    /**
     * Chooses the forward precision (float32 by default); {@link Precision#FP16} is mixed precision as under
     * {@code torch.autocast} (GPT-2 and the Llama family both have it). An implementation without mixed precision
     * refuses anything but FP32.
     */
    default void setPrecision(Precision precision) {
        if (precision != Precision.FP32) {
            throw new UnsupportedOperationException("mixed precision " + precision + " is not implemented for "
                    + modelType() + " models (float32 only)");
        }
    }

    default Precision precision() {
        return Precision.FP32;
    }

    /**
     * The PPO policy pass: per-token log-probs of the next tokens and the values of the states they are chosen in,
     * aligned [B, T−1] (index t scores token t+1 from the state after token t). Needs {@link GptModel.Head#VALUE}.
     */
    default GptModel.PolicyOutput policyForward(NDArray ids, NDArray mask) {
        GptOutput out = run(ids, mask);
        if (out.values() == null) {
            throw new IllegalStateException("policyForward needs a model loaded with Head.VALUE, this one has " + head());
        }
        return new GptModel.PolicyOutput(out.logits(), GptModel.logProbsOfNext(out.logits(), ids),
                out.values().get(new ai.djl.ndarray.index.NDIndex(":, :-1")));
    }

    /** Gradient recording for every parameter on (training) or off (reference, generation). */
    void setTrainable(boolean trainable);

    boolean isTrainable();

    /**
     * An empty key/value cache for {@code batch} sequences of at most {@code capacity} positions (prompt + new
     * tokens), its arrays in {@code scope}. Implementations may pre-allocate it whole.
     */
    LmCache newCache(NDManager scope, int batch, int capacity);

    /**
     * The forward pass.
     *
     * @param ids          token ids [B, T] (any integer type); with a cache only the new tokens
     * @param mask         attention mask [B, Tk] over cached + new positions, or null for all ones
     * @param positionIds  positions [B, T] of the new tokens, or null for cumsum(mask) − 1
     * @param cache        a cache from {@link #newCache} to use and extend, or null
     * @param hiddenStates whether to return Hugging Face's {@code hidden_states} (embeddings, each layer's output,
     *                     the last after the final norm)
     * @return logits [B, T, V] (null for a {@link GptModel.Head#SCORE} model without an LM head), final hidden states,
     *         values for a {@link GptModel.Head#VALUE} model; {@link GptOutput}'s fields are architecture-neutral
     */
    GptOutput run(NDArray ids, NDArray mask, NDArray positionIds, LmCache cache, boolean hiddenStates);

    /** {@link #run} without cache or hidden states. */
    default GptOutput run(NDArray ids, NDArray mask) {
        return run(ids, mask, null, null, false);
    }

    /** log p(ids[:, t+1] | ids[:, ≤t]) for every t: [B, T−1]. */
    NDArray tokenLogProbs(NDArray ids, NDArray mask);

    /** Value-head output [B, T] for hidden states [B, T, E] ({@link GptModel.Head#VALUE} models only). */
    NDArray values(NDArray hidden);

    /** Reward scores [B] ({@link GptModel.Head#SCORE} models only); which token is scored is the architecture's rule. */
    NDArray scores(NDArray ids, NDArray mask);

    /** Writes a folder Hugging Face's {@code from_pretrained} reads back ({@code config.json} + weights). */
    void save(Path dir) throws IOException;

    @Override
    void close();
}
