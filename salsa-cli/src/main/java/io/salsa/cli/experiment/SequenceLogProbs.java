package io.salsa.cli.experiment;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.core.model.GptModel;
import java.util.List;

/**
 * Sums of response-token log-probabilities under a model, batched: what the experiment needs to measure the KL of
 * a policy's responses to an arm's reference (log π(y|x) − log π_ref(y|x), TRL's k1 sequence estimate).
 */
final class SequenceLogProbs {

    private SequenceLogProbs() {
    }

    /** log p(response | query) of each pair under {@code model}, in one right-padded forward pass per batch. */
    static double[] of(GptModel model, List<int[]> queries, List<int[]> responses, int padId) {
        int n = queries.size();
        double[] out = new double[n];
        int maxLen = 0;
        for (int i = 0; i < n; i++) {
            maxLen = Math.max(maxLen, queries.get(i).length + responses.get(i).length);
        }
        long[][] ids = new long[n][maxLen];
        long[][] mask = new long[n][maxLen];
        for (int i = 0; i < n; i++) {
            int[] q = queries.get(i);
            int[] r = responses.get(i);
            java.util.Arrays.fill(ids[i], padId);
            for (int t = 0; t < q.length; t++) {
                ids[i][t] = q[t];
                mask[i][t] = 1;
            }
            for (int t = 0; t < r.length; t++) {
                ids[i][q.length + t] = r[t];
                mask[i][q.length + t] = 1;
            }
        }
        try (NDManager scope = model.newScope()) {
            NDArray lp = model.tokenLogProbs(scope.create(ids), scope.create(mask));
            float[] flat = lp.toFloatArray();
            int width = maxLen - 1;
            for (int i = 0; i < n; i++) {
                int q = queries.get(i).length;
                double sum = 0;
                // the response token at position q + t is predicted at index q + t − 1
                for (int t = 0; t < responses.get(i).length; t++) {
                    sum += flat[i * width + q + t - 1];
                }
                out[i] = sum;
            }
        }
        return out;
    }
}
