package io.salsa.model.generate;

/**
 * One generated response.
 *
 * @param tokens           response token ids, ending with EOS when {@code stoppedAtEos}
 * @param logProbs         log π(token | prefix) of each response token under the model's own distribution
 *                         (softmax of the raw logits, temperature 1, no top-k/top-p): what PPO's learner
 *                         recomputes, so it is the behaviour log-prob to publish
 * @param samplingLogProbs log-probability of each token under the distribution actually sampled from
 *                         (after temperature, top-k, top-p; 0 for greedy); equals {@code logProbs} at
 *                         temperature 1 without cut-offs
 * @param stoppedAtEos     whether the sequence ended by sampling EOS (false: it hit the length limit)
 */
public record Generation(int[] tokens, float[] logProbs, float[] samplingLogProbs, boolean stoppedAtEos) {

    /** Number of response tokens. */
    public int length() {
        return tokens.length;
    }
}
