package io.salsa.learner.ppo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sequence-level advantages of the critic-free algorithms (GRPO, RLOO), computed from the other responses to the
 * same prompt in the batch, because without a value model the baseline has to come from the group.
 *
 * <p>Computed on the host in double precision from the batch's scores, in batch order, so a replay gets the same
 * numbers bit for bit. A sample without a group key is a group of one.
 */
public final class GroupBaselines {

    /** Added to the group's standard deviation before dividing (OpenRLHF's {@code group_norm}). */
    public static final double GRPO_EPS = 1e-9;

    private GroupBaselines() {}

    /**
     * GRPO: (r − mean_g)/(std_g + ε) with the group's sample standard deviation (Bessel, as torch's {@code std});
     * a group of one or a group whose scores are all equal gives 0 for each member.
     */
    public static float[] grpo(float[] scores, List<String> groupKeys) {
        float[] out = new float[scores.length];
        for (List<Integer> group : groups(groupKeys)) {
            int n = group.size();
            if (n < 2) {
                continue; // no other response to compare with: advantage 0
            }
            double mean = 0;
            for (int i : group) {
                mean += scores[i];
            }
            mean /= n;
            double ss = 0;
            for (int i : group) {
                ss += (scores[i] - mean) * (scores[i] - mean);
            }
            double std = Math.sqrt(ss / (n - 1));
            for (int i : group) {
                out[i] = (float) ((scores[i] - mean) / (std + GRPO_EPS));
            }
        }
        return out;
    }

    /** RLOO: r_i − mean of the other members' scores; a group of one gives 0. */
    public static float[] rloo(float[] scores, List<String> groupKeys) {
        float[] out = new float[scores.length];
        for (List<Integer> group : groups(groupKeys)) {
            int n = group.size();
            if (n < 2) {
                continue;
            }
            double sum = 0;
            for (int i : group) {
                sum += scores[i];
            }
            for (int i : group) {
                out[i] = (float) (scores[i] - (sum - scores[i]) / (n - 1));
            }
        }
        return out;
    }

    /** Batch indices by group key in first-seen order; a null key is a group of its own. */
    static List<List<Integer>> groups(List<String> groupKeys) {
        Map<String, List<Integer>> byKey = new LinkedHashMap<>();
        List<List<Integer>> out = new ArrayList<>();
        for (int i = 0; i < groupKeys.size(); i++) {
            String key = groupKeys.get(i);
            if (key == null) {
                out.add(List.of(i));
            } else {
                byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
            }
        }
        out.addAll(byKey.values());
        return out;
    }
}
