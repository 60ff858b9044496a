package io.salsa.model.generate;

/**
 * One generated response.
 *
 * @param tokens           response token ids, ending with EOS when {@code stoppedAtEos}
 * @param logProbs         log π(token | prefix) of each response token under the model's own distribution
 *                         (softmax of the raw logits, temperature 1, no top-k/top-p); the PPO behaviour
 *                         log-prob only when sampling was plain
 * @param samplingLogProbs log-probability of each token under the distribution actually sampled from (logits
 *                         divided by the temperature, cut to top-k/top-p and renormalised; 0 for greedy): the
 *                         behaviour log-prob PPO needs, which a learner recomputes for its current weights with
 *                         {@link SampledLogprobs}; equals {@code logProbs} at temperature 1 without cut-offs
 * @param stoppedAtEos     whether the sequence ended by sampling one of the EOS ids (false: it hit the length limit)
 */
public record Generation(int[] tokens, float[] logProbs, float[] samplingLogProbs, boolean stoppedAtEos) {

    /** Number of response tokens. */
    public int length() {
        return tokens.length;
    }
}
