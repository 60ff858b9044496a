package io.salsa.model.generate;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Picks one token from a row of logits on the host, in double precision, with temperature, top-k and top-p,
 * so that sampling is reproducible from a Java seed whatever the engine or device.
 */
final class TokenSampler {

    private final SamplingConfig config;

    TokenSampler(SamplingConfig config) {
        this.config = config;
    }

    /** The chosen token, its log-prob under the raw model, and under the sampling distribution. */
    record Choice(int token, double logProb, double samplingLogProb) {
    }

    /** Chooses from {@code logits[offset .. offset + vocab)}. */
    Choice choose(float[] logits, int offset, int vocab, RandomGenerator rng) {
        double max = Double.NEGATIVE_INFINITY;
        int argmax = 0;
        for (int i = 0; i < vocab; i++) {
            if (logits[offset + i] > max) {
                max = logits[offset + i];
                argmax = i;
            }
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logZ = max + Math.log(sum);
        if (config.isGreedy()) {
            return new Choice(argmax, logits[offset + argmax] - logZ, 0.0);
        }
        double t = config.temperature();
        double[] p = new double[vocab];
        double scaledMax = max / t;
        double total = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp(logits[offset + i] / t - scaledMax);
            total += p[i];
        }
        for (int i = 0; i < vocab; i++) {
            p[i] /= total;
        }
        if (config.topK() > 0 && config.topK() < vocab || config.topP() < 1) {
            truncate(p);
        }
        double u = rng.nextDouble();
        double acc = 0;
        int token = -1;
        int lastKept = -1;
        for (int i = 0; i < vocab; i++) {
            if (p[i] <= 0) {
                continue;
            }
            lastKept = i;
            acc += p[i];
            if (u < acc) {
                token = i;
                break;
            }
        }
        if (token < 0) {
            token = lastKept; // u landed in the rounding gap above the final cumulative sum
        }
        return new Choice(token, logits[offset + token] - logZ, Math.log(p[token]));
    }

    /** Zeroes the tokens top-k and top-p exclude and renormalises the rest (ties keep the lower id first). */
    private void truncate(double[] p) {
        int vocab = p.length;
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = config.topK() > 0 ? Math.min(config.topK(), vocab) : vocab;
        if (config.topP() < 1) {
            double acc = 0;
            int n = 0;
            while (n < keep) {
                acc += p[order[n]];
                n++;
                if (acc >= config.topP()) {
                    break;
                }
            }
            keep = n;
        }
        double kept = 0;
        for (int r = 0; r < vocab; r++) {
            if (r < keep) {
                kept += p[order[r]];
            } else {
                p[order[r]] = 0;
            }
        }
        for (int i = 0; i < vocab; i++) {
            p[i] /= kept;
        }
    }
}
