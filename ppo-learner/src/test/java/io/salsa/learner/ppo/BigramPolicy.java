package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A two-matrix bigram language model with a value head, small enough to run hundreds of PPO steps in a unit test
 * of {@link PpoStep}; the GPT-2 policy is exercised by the learner's own tests.
 */
final class BigramPolicy implements PpoModel {

    final int vocab;
    final NDArray embed;
    final NDArray unembed;
    final NDArray valueHead;
    private final NDArray refEmbed;
    private final NDArray refUnembed;

    BigramPolicy(NDManager manager, int vocab, int hidden, long seed) {
        this.vocab = vocab;
        SplittableRandom random = new SplittableRandom(seed);
        embed = param(manager, random, new Shape(vocab, hidden));
        unembed = param(manager, random, new Shape(hidden, vocab));
        valueHead = param(manager, random, new Shape(hidden, 1));
        refEmbed = embed.duplicate();
        refUnembed = unembed.duplicate();
    }

    private static NDArray param(NDManager manager, SplittableRandom random, Shape shape) {
        float[] data = new float[(int) shape.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (random.nextGaussian() * 0.3);
        }
        NDArray array = manager.create(data, shape);
        array.setRequiresGradient(true);
        return array;
    }

    @Override
    public NDList policy(NDArray inputIds) {
        Shape shape = inputIds.getShape();
        NDArray h = embed.get(new NDIndex("{}", inputIds.reshape(-1))).tanh();
        NDArray logits = h.matMul(unembed).reshape(shape.get(0), shape.get(1), vocab);
        NDArray values = h.matMul(valueHead).reshape(shape.get(0), shape.get(1));
        return new NDList(logits, values);
    }

    @Override
    public NDArray reference(NDArray inputIds) {
        Shape shape = inputIds.getShape();
        NDArray h = refEmbed.get(new NDIndex("{}", inputIds.reshape(-1))).tanh();
        return h.matMul(refUnembed).reshape(shape.get(0), shape.get(1), vocab);
    }

    @Override
    public List<NDArray> parameters() {
        return List.of(embed, unembed, valueHead);
    }

    /** log p(next | prev) for every prev token, row-major {@code [vocab, vocab]}, from the current weights. */
    float[] logprobTable() {
        long[] prev = new long[vocab];
        for (int v = 0; v < vocab; v++) {
            prev[v] = v;
        }
        try (NDArray ids = embed.getManager().create(prev, new Shape(vocab, 1));
                NDList out = policy(ids);
                NDArray lsm = out.get(0).logSoftmax(-1)) {
            return lsm.toFloatArray();
        }
    }

    /** Samples {@code length} tokens after {@code prompt} at temperature 1 from {@code table}, with their log-probs. */
    TrainingSample sample(float[] table, int[] prompt, int length, SplittableRandom random,
            java.util.function.ToDoubleFunction<int[]> score) {
        int[] response = new int[length];
        float[] logprobs = new float[length];
        int prev = prompt[prompt.length - 1];
        for (int t = 0; t < length; t++) {
            double u = random.nextDouble();
            int token = vocab - 1;
            double cum = 0;
            for (int v = 0; v < vocab; v++) {
                cum += Math.exp(table[prev * vocab + v]);
                if (u < cum) {
                    token = v;
                    break;
                }
            }
            response[t] = token;
            logprobs[t] = table[prev * vocab + token];
            prev = token;
        }
        return new TrainingSample(prompt, response, logprobs, false, (float) score.applyAsDouble(response));
    }
}
