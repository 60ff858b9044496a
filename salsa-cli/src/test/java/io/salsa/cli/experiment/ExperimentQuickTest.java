package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.ReportWriter;
import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.report.StepMetrics;
import io.salsa.model.lm.Devices;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code salsa experiment salsa-vs-ppo --quick} end to end: every arm (five online through the learner's trainer,
 * two offline DPO) at every β of the sweep is trained, evaluated on both splits and reported, with the frontier
 * tables and plots and the matched-KL head to head.
 */
class ExperimentQuickTest {

    private static final List<String> ARMS = List.of("salsa-k2", "ppo", "salsa-k4", "grpo-soup", "grpo-sft",
            "dpo-soup", "dpo-sft");

    @Test
    void shouldSweepEveryArmOverEveryBetaAndReportTheFrontier(@TempDir Path dir) throws Exception {
        // as the command does (--threads 1): PyTorch's default pool is many times slower on a shared machine
        Devices.setThreads(1);
        ExperimentConfig cfg = ExperimentConfig.quick();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        SalsaVsPpo.Outcome outcome = SalsaVsPpo.run(dir, cfg, new PrintStream(log, true, StandardCharsets.UTF_8));

        assertEquals(ARMS.size() * cfg.klCoefs().size() * cfg.seeds() * SalsaVsPpo.SPLITS.size(),
                outcome.evaluations().size());
        for (String arm : ARMS) {
            for (double beta : cfg.klCoefs()) {
                for (String split : SalsaVsPpo.SPLITS) {
                    ArmEvaluation e = outcome.evaluations().stream().filter(x -> x.arm().equals(arm)
                            && x.klCoef() == beta && x.split().equals(split)).findFirst().orElseThrow(
                                    () -> new AssertionError(arm + " at β " + beta + " on " + split));
                    assertEquals(cfg.evalPrompts(), e.outcomes().size());
                    e.outcomes().forEach(o -> {
                        assertTrue(Double.isFinite(o.gold()), arm + ": gold " + o.gold());
                        assertTrue(o.klToReference() > -1e-5, arm + ": exact KL " + o.klToReference());
                    });
                }
            }
        }

        // the online arms trained through the learner's trainer at their own β and algorithm
        List<StepMetrics> steps = MetricsLog.read(dir.resolve(MetricsLog.FILE_NAME));
        Set<String> labels = steps.stream().map(StepMetrics::arm).collect(Collectors.toSet());
        assertTrue(labels.containsAll(List.of("grpo-soup@0.05", "grpo-sft@0.2", "ppo@0.05", "salsa-k4@0.2")), labels.toString());
        assertEquals(5 * cfg.klCoefs().size() * cfg.steps(), steps.size());

        // DPO moved its policy away from its start (the soup, one SFT model)
        byte[] soup = Files.readAllBytes(dir.resolve("models/soup-k2/model.safetensors"));
        byte[] dpo = Files.readAllBytes(dir.resolve("runs/dpo-soup-b0.2-seed1/policy/model.safetensors"));
        assertFalse(Arrays.equals(soup, dpo), "the DPO policy should differ from the soup it started from");
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("implicit-reward accuracy"));

        List<String> titles = outcome.tables().stream().map(ResultsTable::title).toList();
        assertTrue(titles.contains("Head to head at matched KL on in-distribution prompts"), titles.toString());
        ResultsTable frontier = outcome.tables().stream()
                .filter(t -> t.title().equals("Gold reward vs KL frontier on ood prompts")).findFirst().orElseThrow();
        assertEquals(ARMS.size() * cfg.klCoefs().size(), frontier.rows().size());
        assertTrue(titles.contains("Arms on in-distribution prompts at β = 0.05"), titles.toString());

        // every frontier point against its start model (the soups and one SFT model, each evaluated once)
        for (String split : SalsaVsPpo.SPLITS) {
            ResultsTable change = outcome.tables().stream()
                    .filter(t -> t.title().equals("Change from the start model on " + split + " prompts"))
                    .findFirst().orElseThrow(() -> new AssertionError(titles.toString()));
            assertEquals(ARMS.size() * cfg.klCoefs().size(), change.rows().size());
            java.util.Map<String, String> startGold = new java.util.HashMap<>();
            for (List<String> row : change.rows()) {
                // arms that start from one model show that model's one start gold
                String previous = startGold.putIfAbsent(row.get(2), row.get(3));
                assertTrue(previous == null || previous.equals(row.get(3)), row.toString());
            }
            assertEquals(Set.of("soup-k2", "sft-1", "soup-k4"), startGold.keySet());
            ResultsTable models = outcome.tables().stream()
                    .filter(t -> t.title().equals("Start models on " + split + " prompts")).findFirst().orElseThrow();
            assertEquals(List.of("soup-k2", "sft-1", "soup-k4"), models.rows().stream().map(r -> r.get(0)).toList());
        }
        for (String model : List.of("soup-k2", "sft-1", "soup-k4")) {
            List<String> lines = Files.readAllLines(dir.resolve("runs/start-" + model + "/eval.jsonl"));
            assertEquals(cfg.evalPrompts() * SalsaVsPpo.SPLITS.size(), lines.size());
            lines.forEach(l -> assertTrue(l.contains("\"klToReference\":0.0"), model + ": a model's KL to itself " + l));
        }

        String html = Files.readString(outcome.report());
        assertTrue(html.contains("id=\"plot-gold-frontier\""));
        assertTrue(html.contains("id=\"plot-gold-frontier-ood\""));
        assertTrue(Files.isRegularFile(dir.resolve(ReportWriter.PLOTS_DIR).resolve("gold-frontier.png")));
    }
}
