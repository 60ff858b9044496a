package io.salsa.model.soup;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Greedy soup (Wortsman et al., 2022): rank candidates by their own eval loss, then add each to the soup only if
 * the uniform soup's eval loss does not get worse, so a bad fine-tune cannot spoil the reference.
 */
public final class GreedySoup {

    private static final Logger LOG = LoggerFactory.getLogger(GreedySoup.class);

    private GreedySoup() {
    }

    /**
     * One candidate's fate.
     *
     * @param dir      its folder
     * @param evalLoss its own eval loss
     * @param accepted whether it is in the final soup
     */
    public record Candidate(Path dir, double evalLoss, boolean accepted) {
    }

    /**
     * The greedy soup and how it was chosen.
     *
     * @param soup       the final (uniform) soup of the accepted candidates
     * @param candidates every candidate in ranking order
     * @param evalLoss   the final soup's eval loss
     */
    public record Result(Soups.Result soup, List<Candidate> candidates, double evalLoss) {
    }

    /**
     * Builds the greedy soup of {@code candidates} into {@code outDir}; trial soups are written next to it and
     * deleted. A candidate whose loss is NaN ranks last and is never accepted.
     */
    public static Result build(List<Path> candidates, Path outDir, EvalLoss evalLoss, SoupConfig config)
            throws IOException {
        if (candidates.isEmpty()) {
            throw new SoupException("a greedy soup needs at least one candidate");
        }
        List<double[]> ranked = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            double loss = evalLoss.evaluate(candidates.get(i));
            LOG.info("greedy soup: candidate {} eval loss {}", candidates.get(i), loss);
            ranked.add(new double[] {i, loss});
        }
        ranked.sort(Comparator.<double[]>comparingDouble(r -> r[1]).thenComparingDouble(r -> r[0]));

        List<Path> ingredients = new ArrayList<>(List.of(candidates.get((int) ranked.get(0)[0])));
        double best = ranked.get(0)[1];
        List<Boolean> accepted = new ArrayList<>(List.of(true));
        Path parent = outDir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        SoupConfig trialConfig = new SoupConfig(config.chunkElements(), false, false, config.dtype());
        for (int r = 1; r < ranked.size(); r++) {
            Path candidate = candidates.get((int) ranked.get(r)[0]);
            List<Path> trial = new ArrayList<>(ingredients);
            trial.add(candidate);
            Path trialDir = Files.createTempDirectory(parent, ".greedy-trial-");
            double loss;
            try {
                Soups.build(trial.stream().map(Soups.Member::of).toList(), trialDir, trialConfig);
                loss = evalLoss.evaluate(trialDir);
            } finally {
                FileOps.deleteTree(trialDir);
            }
            boolean keep = loss <= best;
            LOG.info("greedy soup: with {} the soup's eval loss is {} (best {}): {}", candidate, loss, best,
                    keep ? "accepted" : "rejected");
            accepted.add(keep);
            if (keep) {
                ingredients.add(candidate);
                best = loss;
            }
        }
        List<Candidate> fates = new ArrayList<>();
        for (int r = 0; r < ranked.size(); r++) {
            fates.add(new Candidate(candidates.get((int) ranked.get(r)[0]), ranked.get(r)[1], accepted.get(r)));
        }
        double finalLoss = best;
        Soups.Result soup = Soups.build(ingredients.stream().map(Soups.Member::of).toList(), outDir, config, "greedy",
                card -> {
                    ArrayNode list = card.putArray("candidates");
                    for (Candidate c : fates) {
                        list.addObject().put("path", c.dir().toAbsolutePath().normalize().toString())
                                .put("evalLoss", c.evalLoss()).put("accepted", c.accepted());
                    }
                    card.put("evalLoss", finalLoss);
                });
        return new Result(soup, fates, finalLoss);
    }
}
