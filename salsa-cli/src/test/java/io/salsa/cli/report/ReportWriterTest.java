package io.salsa.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.salsa.cli.Salsa;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

    /** Two arms × two seeds × 30 steps of plausible PPO curves, with a guard event now and then. */
    static List<StepMetrics> syntheticSteps() {
        List<StepMetrics> steps = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(7);
        for (String arm : List.of("salsa-k2", "ppo")) {
            double gain = arm.equals("ppo") ? 0.8 : 1.0;
            for (long seed = 1; seed <= 2; seed++) {
                for (long step = 1; step <= 30; step++) {
                    Map<String, Double> m = new HashMap<>();
                    double kl = 0.05 * step + 0.02 * random.nextDouble();
                    double score = gain * Math.log1p(step) + 0.1 * random.nextDouble();
                    m.put("objective/kl", kl);
                    m.put("objective/scores", score);
                    m.put("objective/rlhf_reward", score - 0.1 * kl);
                    m.put("objective/response_length", 20 - 0.2 * step + random.nextDouble());
                    if (step % 5 == 0) {
                        m.put("eval/heldout_score", -0.5 + 0.01 * step + 0.05 * random.nextDouble());
                    }
                    List<StepMetrics.Guard> guards = step % 11 == 0 && arm.equals("ppo")
                            ? List.of(new StepMetrics.Guard("length_collapse", "raise_beta", "len 12.0 < 0.6·20.0"))
                            : List.of();
                    steps.add(new StepMetrics(arm, seed, arm + "-" + seed, step, m, guards));
                }
            }
        }
        return steps;
    }

    @Test
    void shouldRoundTripMetricsLog(@TempDir Path dir) {
        List<StepMetrics> steps = syntheticSteps();
        Path file = dir.resolve(MetricsLog.FILE_NAME);
        MetricsLog.append(file, steps.subList(0, 10));
        MetricsLog.append(file, steps.subList(10, steps.size()));
        assertEquals(steps, MetricsLog.read(file));
    }

    @Test
    void shouldDropNonFiniteMetricsOnWriteAndRead(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(MetricsLog.FILE_NAME);
        MetricsLog.append(file, List.of(new StepMetrics("a", 1, "r", 1,
                Map.of("loss/policy_avg", Double.NaN, "objective/kl", 0.5), List.of())));
        Files.writeString(file, "{\"arm\":\"a\",\"seed\":1,\"step\":2,\"metrics\":{\"x\":NaN,\"z\":\"NaN\",\"y\":1}}\n",
                java.nio.file.StandardOpenOption.APPEND);
        List<StepMetrics> read = MetricsLog.read(file);
        assertEquals(Map.of("objective/kl", 0.5), read.get(0).metrics());
        assertEquals(Map.of("y", 1.0), read.get(1).metrics());
    }

    @Test
    void shouldNameFileAndLineOfAMalformedMetricsLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(MetricsLog.FILE_NAME);
        Files.writeString(file, "{\"arm\":\"a\",\"seed\":1,\"runId\":\"r\",\"step\":1,\"metrics\":{}}\n"
                + "{\"arm\":\"a\",\"seed\":1,\"step\":2,\"metrics\":{\"objective/kl\":\"high\"}}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MetricsLog.read(file));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("objective/kl"), e.getMessage());
    }

    @Test
    void shouldWriteHtmlAndEveryPlotAsPng(@TempDir Path dir) throws Exception {
        MetricsLog.append(dir.resolve(MetricsLog.FILE_NAME), syntheticSteps());
        new RunResults("SALSA vs PPO (synthetic)", Map.of("seeds", "2"),
                List.of(new ResultsTable("Head to head", List.of("comparison", "win", "tie", "loss"),
                        List.of(List.of("salsa-k2 vs ppo", "12", "3", "5")), List.of("sign test p = 0.14"))))
                .write(dir);

        ReportWriter.Written written = ReportWriter.write(dir);

        assertEquals(6, written.plots().size());
        for (Path png : written.plots()) {
            BufferedImage image = ImageIO.read(png.toFile());
            assertEquals(Charts.WIDTH, image.getWidth(), png.toString());
            assertEquals(Charts.HEIGHT, image.getHeight(), png.toString());
        }
        String html = Files.readString(written.html(), StandardCharsets.UTF_8);
        assertTrue(html.contains("salsa-k2 vs ppo"));
        assertTrue(html.contains("Training summary"));
        assertTrue(html.contains("length_collapse"));
        assertFalse(html.contains("http://") || html.contains("https://"), "no external resources");
        assertEquals(6, count(html, "src=\"data:image/png;base64,"));
        assertTrue(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
                "the report reads on a phone too");
        Matcher captions = Pattern.compile("<figure id=\"plot-([a-z]+)\">.*?<figcaption>(.*?) \\(<a href")
                .matcher(html);
        List<String> captioned = new ArrayList<>();
        while (captions.find()) {
            assertFalse(captions.group(2).isBlank(), "the " + captions.group(1) + " plot has a caption");
            captioned.add(captions.group(1));
        }
        assertEquals(List.of("reward", "kl", "frontier", "heldout", "length", "guard"), captioned);
        assertTrue(html.contains("<figcaption>The simulated rater&#39;s (gold) score"), "the held-out caption");
    }

    @Test
    void shouldLeadWithTheHeadlineAndKeepItsNumbersUnderStableNames(@TempDir Path dir) throws Exception {
        MetricsLog.append(dir.resolve(MetricsLog.FILE_NAME), syntheticSteps());
        Headline headline = new Headline(0.412, 0.530, 0.051, 0.187, 64, 20, 0.81, 3.2, 431.0, "identical (81/81)");
        new RunResults("salsa demo (default)", Map.of("profile", "default", "salsa-loop.steps", "80"),
                List.of(new ResultsTable("Demo stages", List.of("stage"), List.of(List.of("pretrain")), List.of())),
                headline).write(dir);

        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dir.resolve(RunResults.FILE_NAME).toFile());
        assertEquals(0.412, json.at("/alignment/gold_start").asDouble());
        assertEquals(0.530, json.at("/alignment/gold_end").asDouble());
        assertEquals(2, json.at("/alignment/gold_delta_ci").size());
        assertEquals(0.051, json.at("/alignment/gold_delta_ci/0").asDouble());
        assertEquals(0.187, json.at("/alignment/gold_delta_ci/1").asDouble());
        assertEquals(0.81, json.at("/alignment/rm_accuracy").asDouble());
        assertEquals(3.2, json.at("/alignment/final_kl").asDouble());
        assertEquals(20, json.at("/alignment/gold_facts").asInt());
        assertEquals(headline, RunResults.read(dir.resolve(RunResults.FILE_NAME)).headline(), "round trip");

        String html = Files.readString(ReportWriter.write(dir).html());
        String body = html.substring(html.indexOf("<body>") + "<body>".length()).strip();
        assertTrue(body.startsWith("<section id=\"headline\">"), body.substring(0, 200));
        String head = body.substring(0, body.indexOf("</section>"));
        for (String shown : List.of("0.412 → 0.530", "[0.051, 0.187]", "64 held-out prompts (20 facts resampled)",
                "0.810", "3.200", "431 s", "identical (81/81)")) {
            assertTrue(head.contains(shown), shown + " in the headline: " + head);
        }
        int plots = html.indexOf("id=\"plot-reward\"");
        int tables = html.indexOf("class=\"results-table\"");
        int facts = html.indexOf("<details id=\"facts\">");
        assertTrue(0 < plots && plots < tables && tables < facts, "headline, then curves, then tables, then facts");
        assertTrue(html.substring(facts).contains("<dt>salsa-loop.steps</dt>"), "the facts are collapsed at the end");
    }

    @Test
    void shouldWriteANumberARunDidNotReachAsNull(@TempDir Path dir) throws Exception {
        new RunResults("t", Map.of(), List.of(), new Headline(Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, 0,
                0.7, Double.NaN, 12, null)).write(dir);
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dir.resolve(RunResults.FILE_NAME).toFile());
        assertTrue(json.at("/alignment/gold_start").isNull());
        assertTrue(json.at("/alignment/gold_delta_ci/0").isNull());
        assertEquals(0.7, json.at("/alignment/rm_accuracy").asDouble());
        assertTrue(Files.readString(ReportWriter.write(dir).html()).contains("No held-out gold comparison"));
    }

    @Test
    void shouldRefuseAPlotWithoutACaption() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ReportWriter.caption("nope"));
        assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
    }

    @Test
    void shouldSaySoWhenAPlotHasNoData(@TempDir Path dir) throws Exception {
        List<StepMetrics> noLength = syntheticSteps().stream().map(s -> {
            Map<String, Double> m = new HashMap<>(s.metrics());
            m.remove("objective/response_length");
            return new StepMetrics(s.arm(), s.seed(), s.runId(), s.step(), m, s.guardEvents());
        }).toList();
        ReportWriter.Written written = ReportWriter.write(dir, noLength, new RunResults("t", Map.of(), List.of()));
        assertEquals(5, written.plots().size());
        assertTrue(Files.readString(written.html()).contains("No data for the length plot"));
    }

    @Test
    void shouldSummariseLastStepOfEachSeed() {
        ResultsTable t = ReportWriter.trainingSummary(ReportWriter.byArm(List.of(
                new StepMetrics("a", 1, "r1", 1, Map.of("objective/kl", 9.0), List.of()),
                new StepMetrics("a", 1, "r1", 2, Map.of("objective/kl", 1.0), List.of()),
                new StepMetrics("a", 2, "r2", 2, Map.of("objective/kl", 3.0), List.of()))));
        List<String> row = t.rows().get(0);
        assertEquals("2", row.get(1));
        // last steps: 1.0 and 3.0 → mean 2, sample sd √2
        assertEquals("2.000 ± 1.414", row.get(4));
        assertEquals("—", row.get(3));
    }

    @Test
    void shouldRefuseAFolderWithoutARun(@TempDir Path dir) {
        assertEquals(2, Salsa.commandLine().execute("report", dir.toString()));
        assertEquals(2, Salsa.commandLine().execute("report", dir.resolve("nope").toString()));
    }

    @Test
    void shouldRenderInHeadlessChromium(@TempDir Path dir) throws Exception {
        Optional<Path> chromium = HeadlessChromium.find();
        assumeTrue(chromium.isPresent(), "chromium is not installed (apt-get install -y chromium); "
                + "skipping the in-browser check of the report");
        MetricsLog.append(dir.resolve(MetricsLog.FILE_NAME), syntheticSteps());
        assertEquals(0, Salsa.commandLine().execute("report", dir.toString()));

        String dom = HeadlessChromium.loadAndProbe(chromium.get(), dir.resolve(ReportWriter.REPORT_FILE));

        Matcher images = Pattern.compile("data-probe-images=\"([^\"]*)\"").matcher(dom);
        assertTrue(images.find(), "the probe ran in the page: " + dom.substring(0, Math.min(300, dom.length())));
        String[] sizes = images.group(1).split(",");
        assertEquals(6, sizes.length);
        for (String size : sizes) {
            assertEquals(Charts.WIDTH + "x" + Charts.HEIGHT, size, "every image decoded (naturalWidth > 0)");
        }
        Matcher tables = Pattern.compile("data-probe-tables=\"(\\d+)\"").matcher(dom);
        assertTrue(tables.find());
        assertTrue(Integer.parseInt(tables.group(1)) >= 2, "summary and guard tables");
        assertTrue(dom.contains("Training summary"));
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
            n++;
        }
        return n;
    }
}
