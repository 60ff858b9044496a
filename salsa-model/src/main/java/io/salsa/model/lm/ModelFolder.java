package io.salsa.model.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The layout of a model folder, the unit every component exchanges: Hugging Face's files plus our card.
 *
 * <pre>
 * config.json        GPT-2 config as transformers writes it
 * model.safetensors  F32 weights, HF names, tied lm_head not stored (+ v_head.* or score.weight)
 * tokenizer.json     Hugging Face tokenizer, when the model has one (+ tokenizer_config.json)
 * card.json          how the model was made (trainer, data sha256, seed, steps, eval loss, base), optional
 * </pre>
 */
public final class ModelFolder {

    public static final String CONFIG = GptConfig.FILE_NAME;
    public static final String WEIGHTS = "model.safetensors";
    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    public static final String CARD = "card.json";
    /** Hugging Face's generation defaults ({@code eos_token_id}: one id or a list, e.g. Llama-3's end of turn). */
    public static final String GENERATION_CONFIG = "generation_config.json";
    /** Files that travel with {@code tokenizer.json} when present. */
    private static final java.util.List<String> TOKENIZER_COMPANIONS =
            java.util.List.of(TOKENIZER_CONFIG, "chat_template.jinja", GENERATION_CONFIG);

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFolder() {
    }

    /** A model's parsed {@code config.json}, refused naming the file unless it exists and holds a JSON object. */
    public static <T> T readConfig(Path folderOrFile, java.util.function.Function<JsonNode, T> parse) throws IOException {
        Path file = Files.isDirectory(folderOrFile) ? folderOrFile.resolve(CONFIG) : folderOrFile;
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new NoSuchFileException(file + " (a model folder needs config.json)");
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": expected a JSON object");
        }
        try {
            return parse.apply(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The {@code eos_token_id}s of a folder's {@code generation_config.json} (one id or a list), in file order; empty
     * when the folder has no such file or it names none. Refused naming the file when an id is not an integer in
     * [0, {@code vocabSize}).
     */
    public static java.util.List<Integer> generationEosIds(Path folder, int vocabSize) throws IOException {
        Path file = folder.resolve(GENERATION_CONFIG);
        if (!Files.isRegularFile(file)) {
            return java.util.List.of();
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode eos = root == null ? null : root.get("eos_token_id");
        if (eos == null || eos.isNull()) {
            return java.util.List.of();
        }
        java.util.List<Integer> ids = new java.util.ArrayList<>();
        for (JsonNode item : eos.isArray() ? eos : java.util.List.of(eos)) {
            if (!item.isIntegralNumber() || !item.canConvertToInt() || item.asInt() < 0 || item.asInt() >= vocabSize) {
                throw new IOException(file + ": eos_token_id must be a token id in [0, " + vocabSize
                        + ") or a list of them, got " + eos);
            }
            ids.add(item.asInt());
        }
        return java.util.List.copyOf(ids);
    }

    /**
     * Copies {@code tokenizer.json} (and, when present, {@code tokenizer_config.json}, the chat template file
     * {@code chat_template.jinja} and {@code generation_config.json} with the BOS/EOS ids) from
     * {@code from} to {@code to} when {@code from} has one; returns whether it did.
     */
    public static boolean copyTokenizer(Path from, Path to) throws IOException {
        Path src = from.resolve(TOKENIZER);
        if (!Files.isRegularFile(src)) {
            return false;
        }
        Files.createDirectories(to);
        Files.copy(src, to.resolve(TOKENIZER), StandardCopyOption.REPLACE_EXISTING);
        for (String name : TOKENIZER_COMPANIONS) {
            Path file = from.resolve(name);
            if (Files.isRegularFile(file)) {
                Files.copy(file, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return true;
    }
}
