package io.salsa.model.lm.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A LoRA adapter's settings as PEFT's {@code LoraConfig} spells them in {@code adapter_config.json}: rank {@code r},
 * {@code lora_alpha}, {@code lora_dropout}, {@code target_modules} (module names such as {@code q_proj}),
 * {@code use_rslora}, {@code fan_in_fan_out} (weights stored [in, out], GPT-2's Conv1D) and
 * {@code base_model_name_or_path} (may be null).
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules, boolean useRslora,
                         boolean fanInFanOut, String baseModel) {

    /** The file PEFT reads the settings from. */
    public static final String FILE = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("LoRA rank r must be > 0, got " + r);
        }
        if (!(alpha > 0) || !Double.isFinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be a positive number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
        }
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("target_modules must name at least one module (e.g. q_proj, v_proj)");
        }
        targetModules = List.copyOf(new TreeSet<>(targetModules)); // PEFT writes them as a sorted set
    }

    /** A plain LoRA (no rsLoRA, [out, in] weights) on {@code targets}. */
    public static LoraConfig of(int r, double alpha, double dropout, List<String> targets, String baseModel) {
        return new LoraConfig(r, alpha, dropout, targets, false, false, baseModel);
    }

    /** The factor on B·A: {@code alpha / r}, or {@code alpha / sqrt(r)} with {@code use_rslora}. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** The same settings with weights stored [in, out] ({@code true}, GPT-2's Conv1D) or [out, in]. */
    public LoraConfig withFanInFanOut(boolean inOut) {
        return new LoraConfig(r, alpha, dropout, targetModules, useRslora, inOut, baseModel);
    }

    /** The same settings naming another base. */
    public LoraConfig withBaseModel(String base) {
        return new LoraConfig(r, alpha, dropout, targetModules, useRslora, fanInFanOut, base);
    }

    /**
     * Reads {@code dir/adapter_config.json}. Refused, naming the file and field: a {@code peft_type} other than
     * LORA, {@code r} ≤ 0, a missing {@code lora_alpha}, {@code target_modules} that is not a list of names, and the
     * PEFT features this implementation does not run ({@code use_dora}, {@code bias} other than none,
     * {@code rank_pattern}/{@code alpha_pattern}, {@code layers_to_transform}, {@code modules_to_save}, {@code lora_bias}).
     */
    public static LoraConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (expected a PEFT adapter folder with " + FILE + " and "
                    + LoraAdapter.WEIGHTS_FILE + ")");
        }
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        String peftType = n.path("peft_type").asText("");
        if (!peftType.equals("LORA")) {
            throw new IOException(file + ": peft_type is '" + peftType + "', only LORA is supported");
        }
        refuseIf(file, n, "use_dora", v -> v.asBoolean(false), "DoRA is not supported");
        refuseIf(file, n, "lora_bias", v -> v.asBoolean(false), "LoRA biases are not supported");
        refuseIf(file, n, "bias", v -> !v.isNull() && !v.asText().equals("none"), "only bias \"none\" is supported");
        refuseIf(file, n, "rank_pattern", v -> v.isObject() && !v.isEmpty(), "per-module ranks are not supported");
        refuseIf(file, n, "alpha_pattern", v -> v.isObject() && !v.isEmpty(), "per-module alphas are not supported");
        refuseIf(file, n, "layers_to_transform", v -> !v.isNull(), "layer selection is not supported");
        refuseIf(file, n, "modules_to_save", v -> !v.isNull() && !v.isEmpty(), "modules_to_save is not supported");
        JsonNode r = n.get("r");
        if (r == null || !r.canConvertToInt() || r.asInt() <= 0) {
            throw new IOException(file + ": field 'r' must be an integer > 0, got " + r);
        }
        JsonNode alpha = n.get("lora_alpha");
        if (alpha == null || !alpha.isNumber()) {
            throw new IOException(file + ": field 'lora_alpha' must be a number, got " + alpha);
        }
        JsonNode targets = n.get("target_modules");
        if (targets == null || !targets.isArray()) {
            throw new IOException(file + ": field 'target_modules' must be a list of module names (e.g. [\"q_proj\"]), got "
                    + targets);
        }
        List<String> names = new ArrayList<>();
        targets.forEach(t -> names.add(t.asText()));
        JsonNode base = n.get("base_model_name_or_path");
        try {
            return new LoraConfig(r.asInt(), alpha.asDouble(), n.path("lora_dropout").asDouble(0),
                    names, n.path("use_rslora").asBoolean(false), n.path("fan_in_fan_out").asBoolean(false),
                    base == null || base.isNull() ? null : base.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private interface Check {
        boolean bad(JsonNode v);
    }

    private static void refuseIf(Path file, JsonNode n, String field, Check check, String why) throws IOException {
        JsonNode v = n.get(field);
        if (v != null && check.bad(v)) {
            throw new IOException(file + ": field '" + field + "' = " + v + ": " + why);
        }
    }

    /** The settings under PEFT's names (r, lora_alpha, lora_dropout, use_rslora, target_modules) into a card. */
    public void describe(ObjectNode into) {
        into.put("r", r);
        into.put("lora_alpha", alpha);
        into.put("lora_dropout", dropout);
        into.put("use_rslora", useRslora);
        targetModules.forEach(into.putArray("target_modules")::add);
    }

    /** Writes {@code dir/adapter_config.json} with the fields PEFT's {@code LoraConfig} reads. */
    public void write(Path dir) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("alpha_pattern");
        n.putNull("auto_mapping");
        if (baseModel == null) {
            n.putNull("base_model_name_or_path");
        } else {
            n.put("base_model_name_or_path", baseModel);
        }
        n.put("bias", "none");
        n.put("fan_in_fan_out", fanInFanOut);
        n.put("inference_mode", true);
        n.put("init_lora_weights", true);
        n.putNull("layers_pattern");
        n.putNull("layers_to_transform");
        if (alpha == Math.rint(alpha)) {
            n.put("lora_alpha", (long) alpha); // PEFT writes an int alpha as an int
        } else {
            n.put("lora_alpha", alpha);
        }
        n.put("lora_bias", false);
        n.put("lora_dropout", dropout);
        n.putNull("modules_to_save");
        n.put("peft_type", "LORA");
        n.put("r", r);
        n.putObject("rank_pattern");
        n.putNull("revision");
        ArrayNode t = n.putArray("target_modules");
        targetModules.forEach(t::add);
        n.put("task_type", "CAUSAL_LM");
        n.put("use_dora", false);
        n.put("use_rslora", useRslora);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(FILE), JSON.writeValueAsString(n) + "\n");
    }
}
