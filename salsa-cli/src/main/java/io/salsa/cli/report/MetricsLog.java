package io.salsa.cli.report;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The on-disk form of a run's metrics, {@code metrics.jsonl}: one JSON object per learner step, so the demo,
 * the experiment and a dump of the metrics topic all feed the same report.
 *
 * <p>A line reads {@code {"arm":"salsa-k2","seed":1,"runId":"r1","step":3,"metrics":{"objective/kl":0.4,…},
 * "guardEvents":[{"kind":"negative_kl","action":"warn","detail":"…"}]}}.
 */
public final class MetricsLog {

    /** The file name inside a run folder. */
    public static final String FILE_NAME = "metrics.jsonl";

    // older files may hold NaN tokens: read them, then drop them like the writer does
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private static final java.util.Set<String> NON_FINITE = java.util.Set.of("NaN", "Infinity", "-Infinity");

    private MetricsLog() {
    }

    /** Appends steps to {@code file}, creating it (and its folder) when missing. */
    public static void append(Path file, List<StepMetrics> steps) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                for (StepMetrics step : steps) {
                    out.write(JSON.writeValueAsString(toJson(step)));
                    out.write('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * Reads every step of {@code file}; a malformed line is an {@link IllegalArgumentException} naming the file
     * and line, because a report built on silently skipped steps would mislead.
     */
    public static List<StepMetrics> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        List<StepMetrics> steps = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                steps.add(fromJson(JSON.readTree(line)));
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return steps;
    }

    static ObjectNode toJson(StepMetrics step) {
        ObjectNode node = JSON.createObjectNode();
        node.put("arm", step.arm());
        node.put("seed", step.seed());
        node.put("runId", step.runId());
        node.put("step", step.step());
        ObjectNode metrics = node.putObject("metrics");
        // a diverged step reports NaN losses; JSON has no NaN, and "not reported" is what the report needs
        step.metrics().entrySet().stream().filter(e -> Double.isFinite(e.getValue()))
                .sorted(Map.Entry.comparingByKey()).forEach(e -> metrics.put(e.getKey(), e.getValue()));
        ArrayNode guards = node.putArray("guardEvents");
        for (StepMetrics.Guard g : step.guardEvents()) {
            guards.addObject().put("kind", g.kind()).put("action", g.action()).put("detail", g.detail());
        }
        return node;
    }

    static StepMetrics fromJson(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        JsonNode m = node.path("metrics");
        if (!m.isObject()) {
            throw new IllegalArgumentException("field 'metrics' must be an object of name to number");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isTextual() && NON_FINITE.contains(e.getValue().asText())) {
                continue; // Jackson's spelling of a non-finite double: not reported
            }
            if (!e.getValue().isNumber()) {
                throw new IllegalArgumentException("metric '" + e.getKey() + "' is not a number");
            }
            if (Double.isFinite(e.getValue().asDouble())) {
                metrics.put(e.getKey(), e.getValue().asDouble());
            }
        }
        List<StepMetrics.Guard> guards = new ArrayList<>();
        for (JsonNode g : node.path("guardEvents")) {
            guards.add(new StepMetrics.Guard(g.path("kind").asText(), g.path("action").asText(),
                    g.path("detail").asText()));
        }
        return new StepMetrics(required(node, "arm").asText(), required(node, "seed").asLong(),
                node.path("runId").asText(""), required(node, "step").asLong(), metrics, guards);
    }

    private static JsonNode required(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing field '" + field + "'");
        }
        return v;
    }
}
