package io.salsa.cli.experiment;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.model.lm.CausalLm;
import java.util.List;

/**
 * The KL of a policy from a reference along given responses, batched: Σ_t KL(π(·|x, y<t) ‖ π_ref(·|x, y<t)) over
 * the response positions, computed exactly over the whole vocabulary (so it is never negative and has no sampling
 * noise, unlike the k1 estimate log π(y|x) − log π_ref(y|x) on a single response).
 */
final class SequenceKl {

    private SequenceKl() {
    }

    /** Sequence KL of {@code policy} from {@code reference} along each (query, response) pair. */
    static double[] klAlongResponses(CausalLm policy, CausalLm reference, List<int[]> queries, List<int[]> responses,
                                     int padId) {
        int n = queries.size();
        int maxLen = 0;
        for (int i = 0; i < n; i++) {
            maxLen = Math.max(maxLen, queries.get(i).length + responses.get(i).length);
        }
        long[][] ids = new long[n][maxLen];
        long[][] mask = new long[n][maxLen];
        float[][] responseMask = new float[n][maxLen];
        for (int i = 0; i < n; i++) {
            int[] q = queries.get(i);
            int[] r = responses.get(i);
            java.util.Arrays.fill(ids[i], padId);
            for (int t = 0; t < q.length + r.length; t++) {
                ids[i][t] = t < q.length ? q[t] : r[t - q.length];
                mask[i][t] = 1;
            }
            // the distribution over response token t is the one at position q + t − 1
            for (int t = 0; t < r.length; t++) {
                responseMask[i][q.length + t - 1] = 1;
            }
        }
        double[] out = new double[n];
        try (NDManager scope = policy.newScope()) {
            NDArray idArray = scope.create(ids);
            NDArray maskArray = scope.create(mask);
            NDArray logp = policy.run(idArray, maskArray).logits().logSoftmax(-1);
            // forward results live in the manager of the ids, so both passes stay in this scope
            NDArray logq = reference.run(idArray, maskArray).logits().logSoftmax(-1);
            NDArray kl = logp.exp().mul(logp.sub(logq)).sum(new int[] {-1}); // [B, T]
            float[] flat = kl.mul(scope.create(responseMask)).sum(new int[] {1}).toFloatArray();
            for (int i = 0; i < n; i++) {
                out[i] = flat[i];
            }
        }
        return out;
    }
}
