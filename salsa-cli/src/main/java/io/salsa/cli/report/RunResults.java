package io.salsa.cli.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run concluded besides its per-step metrics, stored as {@code results.json} beside
 * {@code metrics.jsonl}: a title, key facts (wall time, stages, checkpoint sha256) and result tables.
 *
 * @param title  the report's heading
 * @param facts  ordered key facts shown as a definition list
 * @param tables result tables (the experiment's comparison, the demo's stage timings)
 * @param headline what the report leads with ({@code alignment.*} in the file), or null for runs without one
 */
public record RunResults(String title, Map<String, String> facts, List<ResultsTable> tables, Headline headline) {

    /** The file name inside a run folder. */
    public static final String FILE_NAME = "results.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public RunResults {
        facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
        tables = List.copyOf(tables);
    }

    /** Results without a headline. */
    public RunResults(String title, Map<String, String> facts, List<ResultsTable> tables) {
        this(title, facts, tables, null);
    }

    /** Writes this as {@code dir/results.json}. */
    public void write(Path dir) {
        ObjectNode root = JSON.createObjectNode();
        root.put("title", title);
        if (headline != null) {
            ObjectNode a = root.putObject("alignment");
            number(a, "gold_start", headline.goldStart());
            number(a, "gold_end", headline.goldEnd());
            ArrayNode ci = a.putArray("gold_delta_ci");
            for (double v : new double[] {headline.goldDeltaLow(), headline.goldDeltaHigh()}) {
                if (Double.isFinite(v)) {
                    ci.add(v);
                } else {
                    ci.addNull();
                }
            }
            a.put("gold_prompts", headline.goldPrompts());
            a.put("gold_facts", headline.goldFacts());
            number(a, "rm_accuracy", headline.rmAccuracy());
            number(a, "final_kl", headline.finalKl());
            number(a, "wall_time_s", headline.wallSeconds());
            a.put("replay", headline.replay());
        }
        ObjectNode f = root.putObject("facts");
        facts.forEach(f::put);
        ArrayNode ts = root.putArray("tables");
        for (ResultsTable t : tables) {
            ObjectNode tn = ts.addObject();
            tn.put("title", t.title());
            t.columns().forEach(tn.putArray("columns")::add);
            ArrayNode rows = tn.putArray("rows");
            for (List<String> row : t.rows()) {
                row.forEach(rows.addArray()::add);
            }
            t.notes().forEach(tn.putArray("notes")::add);
        }
        try {
            Files.createDirectories(dir);
            JSON.writeValue(dir.resolve(FILE_NAME).toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE_NAME), e);
        }
    }

    /** Reads {@code file}; a malformed file is an {@link IllegalArgumentException} naming it. */
    public static RunResults read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        try {
            Map<String, String> facts = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.path("facts").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                facts.put(e.getKey(), e.getValue().asText());
            }
            List<ResultsTable> tables = new ArrayList<>();
            for (JsonNode t : root.path("tables")) {
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode r : t.path("rows")) {
                    rows.add(texts(r));
                }
                tables.add(new ResultsTable(t.path("title").asText(), texts(t.path("columns")), rows,
                        texts(t.path("notes"))));
            }
            JsonNode a = root.path("alignment");
            Headline headline = a.isObject() ? new Headline(number(a, "gold_start"), number(a, "gold_end"),
                    number(a.path("gold_delta_ci"), 0), number(a.path("gold_delta_ci"), 1),
                    a.path("gold_prompts").asInt(0), a.path("gold_facts").asInt(0), number(a, "rm_accuracy"),
                    number(a, "final_kl"),
                    number(a, "wall_time_s"), a.path("replay").isTextual() ? a.path("replay").asText() : null)
                    : null;
            return new RunResults(root.path("title").asText("salsa run"), facts, tables, headline);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** A finite number as itself, anything else (NaN: not reached) as null, which JSON can carry. */
    private static void number(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) {
            o.put(name, v);
        } else {
            o.putNull(name);
        }
    }

    private static double number(JsonNode o, String name) {
        JsonNode v = o.path(name);
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }

    private static double number(JsonNode array, int index) {
        JsonNode v = array.path(index);
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
