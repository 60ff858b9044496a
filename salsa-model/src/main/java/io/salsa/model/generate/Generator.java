package io.salsa.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.LmCache;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched autoregressive generation from any {@link CausalLm} (GPT-2, the Llama family): prompts of different
 * lengths, temperature, top-k, top-p, a length limit and per-sequence stop on any of the model's EOS ids
 * ({@link CausalLm#eosTokenIds()}), with the model's key/value cache sized for prompt + new tokens.
 *
 * <p>Prompts are left-padded internally (position ids come from the mask, so they count real tokens only), so
 * every row's next token is at the last column. Each step copies the last position's logits [B, V] to the host once and samples there in
 * double precision with one {@link SplittableRandom} per sequence: the same seeds give the same tokens on
 * every run, and a sequence's tokens do not depend on which other prompts share its batch (up to float
 * rounding differences between batch shapes). Runs without building an autograd graph as long as it is not
 * called inside a {@code GradientCollector}.
 */
public final class Generator {

    private final CausalLm model;

    /** A generator over {@code model}, which needs a language-model head ({@link GptModel.Head#NONE} or VALUE). */
    public Generator(CausalLm model) {
        if (model.head() == GptModel.Head.SCORE) {
            throw new IllegalArgumentException("generation needs a language-model head; this " + model.modelType()
                    + " model was loaded with Head.SCORE (a reward model)");
        }
        this.model = model;
    }

    /** Generates for each prompt with seeds {@code seed, seed+1, …} (one per sequence, in order). */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig config, long seed) {
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = seed + i;
        }
        return generate(prompts, config, seeds);
    }

    /**
     * Generates for prompts already padded into a batch: {@code mask[b][t]} = 1 marks the real tokens, which
     * may be left- or right-padded.
     */
    public List<Generation> generate(int[][] paddedIds, int[][] mask, SamplingConfig config, long seed) {
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < paddedIds.length; b++) {
            int[] row = paddedIds[b];
            int[] m = mask[b];
            if (m.length != row.length) {
                throw new IllegalArgumentException("prompt " + b + ": mask length " + m.length + " != ids length " + row.length);
            }
            prompts.add(java.util.stream.IntStream.range(0, row.length).filter(t -> m[t] != 0).map(t -> row[t]).toArray());
        }
        return generate(prompts, config, seed);
    }

    /** Generates for each prompt with its own sampler seed. */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig config, long[] seeds) {
        int batch = prompts.size();
        if (batch == 0) {
            return List.of();
        }
        if (seeds.length != batch) {
            throw new IllegalArgumentException(seeds.length + " seeds for " + batch + " prompts");
        }
        int vocab = model.vocabSize();
        int promptLen = 0;
        for (int b = 0; b < batch; b++) {
            int[] p = prompts.get(b);
            if (p.length == 0) {
                throw new IllegalArgumentException("prompt " + b + " is empty; generation needs at least one token");
            }
            for (int id : p) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("prompt " + b + " has token id " + id + " outside [0, " + vocab + ")");
                }
            }
            promptLen = Math.max(promptLen, p.length);
        }
        int nPositions = model.maxPositions();
        if (promptLen >= nPositions) {
            throw new IllegalArgumentException("prompt of " + promptLen + " tokens leaves no room within the model's "
                    + nPositions + " positions (" + ("gpt2".equals(model.modelType()) ? "n_positions"
                    : "max_position_embeddings") + ")");
        }
        int maxNew = Math.min(config.maxNewTokens(), nPositions - promptLen);
        int total = promptLen + maxNew;
        int pad = model.padTokenId();
        java.util.Set<Integer> stopIds = java.util.Set.copyOf(model.eosTokenIds());

        long[][] ids = new long[batch][total];
        long[][] mask = new long[batch][total];
        for (int b = 0; b < batch; b++) {
            int[] p = prompts.get(b);
            Arrays.fill(ids[b], pad);
            int start = promptLen - p.length;
            for (int t = 0; t < p.length; t++) {
                ids[b][start + t] = p[t];
                mask[b][start + t] = 1;
            }
        }
        SplittableRandom[] rngs = new SplittableRandom[batch];
        for (int b = 0; b < batch; b++) {
            rngs[b] = new SplittableRandom(seeds[b]);
        }
        TokenSampler sampler = new TokenSampler(config);
        int[][] tokens = new int[batch][maxNew];
        float[][] logProbs = new float[batch][maxNew];
        float[][] samplingLogProbs = new float[batch][maxNew];
        int[] lengths = new int[batch];
        boolean[] done = new boolean[batch];
        boolean[] stopped = new boolean[batch];

        try (NDManager scope = model.newScope();
             LmCache cache = config.useCache() ? model.newCache(scope, batch, total) : null) {
            // The inputs live on the native side for the whole call: every step takes its columns as views and
            // writes the tokens it sampled into one new column, so a generated token allocates no direct buffer
            // (NDManager.create(long[][]) per step made two, freed only when a GC found them).
            NDArray idsArray = scope.create(ids);
            NDArray maskArray = scope.create(mask);
            StepColumn idsColumn = new StepColumn(scope, batch);
            StepColumn maskColumn = new StepColumn(scope, batch);
            int known = promptLen; // columns of ids/mask that are filled
            for (int step = 0; step < maxNew; step++) {
                float[] last;
                try (NDManager stepScope = scope.newSubManager()) {
                    int from = cache == null || step == 0 ? 0 : known - 1;
                    NDArray in = idsArray.get(stepScope, new NDIndex(":, {}:{}", from, known));
                    NDArray m = maskArray.get(stepScope, new NDIndex(":, {}:{}", 0, known));
                    NDArray logits = model.run(in, m, null, cache, false).logits();
                    last = logits.get(new NDIndex(":, -1, :")).toFloatArray();
                }
                for (int b = 0; b < batch; b++) {
                    if (done[b]) {
                        idsColumn.put(b, pad);
                        maskColumn.put(b, 0);
                        continue;
                    }
                    TokenSampler.Choice c = sampler.choose(last, b * vocab, vocab, rngs[b]);
                    int n = lengths[b]++;
                    tokens[b][n] = c.token();
                    logProbs[b][n] = (float) c.logProb();
                    samplingLogProbs[b][n] = (float) c.samplingLogProb();
                    idsColumn.put(b, c.token());
                    maskColumn.put(b, 1);
                    if (config.stopAtEos() && stopIds.contains(c.token())) {
                        done[b] = true;
                        stopped[b] = true;
                    }
                }
                boolean all = true;
                for (boolean d : done) {
                    all &= d;
                }
                if (all || step + 1 == maxNew) {
                    break; // no further step reads column `known`
                }
                idsColumn.writeInto(idsArray, known);
                maskColumn.writeInto(maskArray, known);
                known++;
            }
        }
        List<Generation> out = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            int n = lengths[b];
            out.add(new Generation(Arrays.copyOf(tokens[b], n), Arrays.copyOf(logProbs[b], n),
                    Arrays.copyOf(samplingLogProbs[b], n), stopped[b]));
        }
        return out;
    }

    /**
     * One column [B, 1] of int64 host values copied into a column of a native array, through one direct buffer that
     * lives as long as the generation. {@link NDArray#set(java.nio.Buffer)} with a direct buffer does not copy: the
     * tensor then points at the buffer's memory (DJL's {@code torchSet} sets the tensor's storage to it), so a buffer
     * shared by two live tensors, or refilled while a tensor still reads it, changes that tensor's values. Here only
     * {@link #array} ever points at {@link #buffer}, and {@code index_put_} copies its values into the target before
     * the buffer is refilled for the next step.
     */
    private static final class StepColumn {
        private final ByteBuffer buffer;
        private final NDArray array;

        StepColumn(NDManager scope, int batch) {
            buffer = ByteBuffer.allocateDirect(batch * Long.BYTES).order(ByteOrder.nativeOrder());
            array = scope.zeros(new Shape(batch, 1), DataType.INT64);
        }

        void put(int row, long value) {
            buffer.putLong(row * Long.BYTES, value);
        }

        /** Copies the column's values into {@code target[:, column]}. */
        void writeInto(NDArray target, int column) {
            array.set(buffer); // points the tensor at the buffer (no copy, no allocation)
            target.set(new NDIndex(":, {}:{}", column, column + 1), array);
        }
    }
}
