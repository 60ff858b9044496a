package io.salsa.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The project's one tokenizer: any Hugging Face {@code tokenizer.json} (a real GPT-2's or the built-in task's),
 * run by the Hugging Face Rust library through DJL so ids match Python exactly.
 *
 * <p>Nothing is added or cut silently: no special tokens are inserted, and DJL's default truncation to 512 tokens
 * and padding are switched off; callers add EOS and padding themselves. The end-of-text and padding ids come
 * from {@code tokenizer_config.json} when it names them, else from the conventional token strings.
 */
public final class SalsaTokenizer implements AutoCloseable {

    /** File name Hugging Face uses for the fast tokenizer. */
    public static final String TOKENIZER_JSON = "tokenizer.json";
    /** File name Hugging Face uses for the tokenizer's settings (special tokens, class). */
    public static final String TOKENIZER_CONFIG_JSON = "tokenizer_config.json";
    /** File name Hugging Face uses for generation defaults ({@code bos_token_id}, {@code eos_token_id}). */
    public static final String GENERATION_CONFIG_JSON = "generation_config.json";
    private static final List<String> EOS_CANDIDATES = List.of("<|endoftext|>", "</s>", "<eos>");
    private static final List<String> PAD_CANDIDATES = List.of("<pad>", "<|pad|>", "[PAD]");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");

    private final Path source;
    private final byte[] tokenizerJson;
    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> tokenToId;
    private final int vocabSize;
    private final int eosId;
    private final int padId;
    private final OptionalInt bosId;
    private final int[] eosIds;
    private final JsonNode chatTemplate;

    private SalsaTokenizer(Path source, byte[] tokenizerJson, HuggingFaceTokenizer hf, Map<String, Integer> tokenToId,
            int eosId, int padId, OptionalInt bosId, int[] eosIds, JsonNode chatTemplate) {
        this.source = source;
        this.tokenizerJson = tokenizerJson;
        this.hf = hf;
        this.tokenToId = tokenToId;
        this.vocabSize = tokenToId.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.eosId = eosId;
        this.padId = padId;
        this.bosId = bosId;
        this.eosIds = eosIds;
        this.chatTemplate = chatTemplate;
    }

    /**
     * Loads {@code tokenizer.json} from a file or from a model folder, with its {@code tokenizer_config.json} (special
     * tokens) and {@code generation_config.json} ({@code bos_token_id}, {@code eos_token_id} as one id or a list)
     * when present; errors name the file and the problem.
     */
    public static SalsaTokenizer load(Path fileOrDir) throws IOException {
        Path file = Files.isDirectory(fileOrDir) ? fileOrDir.resolve(TOKENIZER_JSON) : fileOrDir;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, Files.isDirectory(fileOrDir)
                    ? "the folder has no " + TOKENIZER_JSON : "tokenizer file not found");
        }
        byte[] bytes = Files.readAllBytes(file);
        JsonNode root = parse(file, bytes);
        Map<String, Integer> vocab = vocabulary(file, root);
        JsonNode config = null;
        Path configFile = file.resolveSibling(TOKENIZER_CONFIG_JSON);
        if (Files.isRegularFile(configFile)) {
            config = parse(configFile, Files.readAllBytes(configFile));
        }
        Path generationFile = file.resolveSibling(GENERATION_CONFIG_JSON);
        JsonNode generation = Files.isRegularFile(generationFile)
                ? parse(generationFile, Files.readAllBytes(generationFile)) : null;
        int[] generationEos = generationIds(generation, "eos_token_id", generationFile, vocab);
        int[] generationBos = generationIds(generation, "bos_token_id", generationFile, vocab);
        List<String> eosCandidates = EOS_CANDIDATES;
        if (generationEos.length > 0 && (config == null || !config.hasNonNull("eos_token"))) {
            // no eos_token named: generation_config's first id comes before the conventional strings
            eosCandidates = new java.util.ArrayList<>();
            eosCandidates.add(tokenOf(vocab, generationEos[0]));
            eosCandidates.addAll(EOS_CANDIDATES);
        }
        List<String> finalCandidates = eosCandidates;
        int eos = specialId(config, "eos_token", eosCandidates, vocab, file)
                .orElseThrow(() -> new IOException(file + ": no end-of-text token: none of " + finalCandidates
                        + " is in the vocabulary and no " + TOKENIZER_CONFIG_JSON + " names an eos_token"));
        // GPT-2 has no padding token; Hugging Face pads with EOS then, and so do we
        int pad = specialId(config, "pad_token", PAD_CANDIDATES, vocab, file).orElse(eos);
        OptionalInt bos = specialId(config, "bos_token", List.of(), vocab, file);
        if (bos.isEmpty() && generationBos.length > 0) {
            bos = OptionalInt.of(generationBos[0]);
        }
        // generation stops at any of them: Llama 3 instruct lists <|end_of_text|>, <|eom_id|> and <|eot_id|>
        int[] eosIds = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(eos),
                Arrays.stream(generationEos)).distinct().toArray();
        JsonNode chatTemplate = config == null ? null : config.get("chat_template");
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), OPTIONS);
        } catch (RuntimeException e) {
            throw new IOException(file + ": the Hugging Face tokenizers library refused it: " + e.getMessage(), e);
        }
        return new SalsaTokenizer(file, bytes, hf, Collections.unmodifiableMap(vocab), eos, pad, bos, eosIds,
                chatTemplate == null || chatTemplate.isNull() ? null : chatTemplate);
    }

    private static JsonNode parse(Path file, byte[] bytes) throws IOException {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new IOException(file + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Token → id over the model's vocabulary and the added tokens, the two places an id can be defined. */
    private static Map<String, Integer> vocabulary(Path file, JsonNode root) throws IOException {
        Map<String, Integer> vocab = new HashMap<>();
        JsonNode model = root.path("model");
        JsonNode v = model.path("vocab");
        if (v.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                vocab.put(e.getKey(), e.getValue().asInt());
            }
        } else if (v.isArray()) {
            // Unigram: a list of [piece, score]; the id is the position
            for (int i = 0; i < v.size(); i++) {
                vocab.put(v.get(i).get(0).asText(), i);
            }
        } else {
            throw new IOException(file + ": \"model.vocab\" is missing; is this a Hugging Face tokenizer.json?");
        }
        for (JsonNode added : root.path("added_tokens")) {
            vocab.put(added.path("content").asText(), added.path("id").asInt());
        }
        return vocab;
    }

    /** {@code key} of generation_config.json as ids (absent or null: none), each checked against the vocabulary. */
    private static int[] generationIds(JsonNode generation, String key, Path file, Map<String, Integer> vocab)
            throws IOException {
        if (generation == null || !generation.hasNonNull(key)) {
            return new int[0];
        }
        JsonNode n = generation.get(key);
        List<JsonNode> items = new java.util.ArrayList<>();
        if (n.isArray()) {
            n.forEach(items::add);
        } else {
            items.add(n);
        }
        int[] ids = new int[items.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode item = items.get(i);
            if (!item.canConvertToInt() || !item.isIntegralNumber()) {
                throw new IOException(file + ": " + key + " must be a token id or a list of them, got " + n);
            }
            ids[i] = item.asInt();
            if (tokenOf(vocab, ids[i]) == null) {
                throw new IOException(file + ": " + key + " " + ids[i] + " is not an id of the tokenizer's vocabulary");
            }
        }
        return ids;
    }

    private static String tokenOf(Map<String, Integer> vocab, int id) {
        return vocab.entrySet().stream().filter(e -> e.getValue() == id).map(Map.Entry::getKey).sorted()
                .findFirst().orElse(null);
    }

    private static OptionalInt specialId(JsonNode config, String key, List<String> candidates, Map<String, Integer> vocab,
            Path file) throws IOException {
        if (config != null && config.hasNonNull(key)) {
            JsonNode n = config.get(key);
            String token = n.isTextual() ? n.asText() : n.path("content").asText();
            Integer id = vocab.get(token);
            if (id == null) {
                throw new IOException(file.resolveSibling(TOKENIZER_CONFIG_JSON) + ": " + key + " \"" + token
                        + "\" is not in " + file.getFileName());
            }
            return OptionalInt.of(id);
        }
        for (String c : candidates) {
            Integer id = vocab.get(c);
            if (id != null) {
                return OptionalInt.of(id);
            }
        }
        return OptionalInt.empty();
    }

    /** Token ids of {@code text}, without any special tokens added. */
    public int[] encode(String text) {
        return toInts(hf.encode(text, false, false).getIds());
    }

    /**
     * Token ids of {@code text} as Hugging Face's {@code tokenizer(text)} returns them: with the special tokens the
     * tokenizer's post-processor adds (Llama's {@code <|begin_of_text|>} / {@code <s>} through its
     * TemplateProcessing; nothing for GPT-2's ByteLevel one). What a model expects for a plain-text prompt; chat
     * prompts are rendered by their template, which writes its own BOS, and are encoded with {@link #encode}.
     */
    public int[] encodeAsPrompt(String text) {
        return toInts(hf.encode(text, true, false).getIds());
    }

    /** Ids, token strings and code-point offsets of {@code text}. */
    public TokenizedText tokenize(String text) {
        Encoding e = hf.encode(text, false, false);
        CharSpan[] spans = e.getCharTokenSpans();
        int[][] offsets = new int[spans.length][];
        for (int i = 0; i < spans.length; i++) {
            offsets[i] = spans[i] == null ? new int[] {0, 0} : new int[] {spans[i].getStart(), spans[i].getEnd()};
        }
        return new TokenizedText(toInts(e.getIds()), Arrays.asList(e.getTokens()), offsets);
    }

    /** Text of {@code ids}, special tokens included (as Hugging Face's {@code decode(ids, skip_special_tokens=False)}). */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Text of {@code ids}, optionally dropping special tokens such as EOS and padding. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocabSize + ") of "
                        + source);
            }
        }
        return hf.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    /** The id of a token string, if the vocabulary has it. */
    public OptionalInt tokenId(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** End-of-text id: generation stops here and SFT appends it to every response. */
    public int eosId() {
        return eosId;
    }

    /**
     * Every id generation stops at: {@link #eosId()} first, then {@code generation_config.json}'s
     * {@code eos_token_id} ids (e.g. Llama 3 instruct's {@code <|eot_id|>} and {@code <|end_of_text|>}).
     */
    public int[] eosIds() {
        return eosIds.clone();
    }

    /**
     * Beginning-of-sequence id ({@code tokenizer_config.json}'s {@code bos_token}, else {@code generation_config.json}'s
     * {@code bos_token_id}), absent when the model has none (Qwen). Never added by {@link #encode}: chat templates
     * write it themselves.
     */
    public OptionalInt bosId() {
        return bosId;
    }

    /** Padding id (EOS when the tokenizer defines no padding token, as for GPT-2). */
    public int padId() {
        return padId;
    }

    /** One more than the largest id, i.e. the embedding rows a model needs. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The file this tokenizer was loaded from. */
    public Path source() {
        return source;
    }

    /**
     * Writes {@code tokenizer.json} (byte-for-byte as loaded) and a {@code tokenizer_config.json} naming the
     * special tokens (and carrying the loaded {@code chat_template}, if any), so that
     * {@code AutoTokenizer.from_pretrained(dir)} and {@link #load} both read the folder; a {@code chat_template.jinja}
     * and {@code generation_config.json} next to the loaded file are copied along.
     */
    public void saveTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(TOKENIZER_JSON);
        if (!Files.exists(target) || !Files.isSameFile(target, source)) {
            Files.write(target, tokenizerJson);
        }
        ObjectNode config = JSON.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("eos_token", tokenString(eosId));
        config.put("bos_token", tokenString(bosId.orElse(eosId)));
        config.put("pad_token", tokenString(padId));
        config.put("clean_up_tokenization_spaces", false);
        if (chatTemplate != null) {
            config.set("chat_template", chatTemplate);
        }
        Files.write(dir.resolve(TOKENIZER_CONFIG_JSON), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        // the chat template and generation defaults travel with the tokenizer (SFT output, task folders)
        for (String name : List.of(ChatTemplate.CHAT_TEMPLATE_JINJA, GENERATION_CONFIG_JSON)) {
            Path from = source.resolveSibling(name);
            Path to = dir.resolve(name);
            if (Files.isRegularFile(from) && (!Files.exists(to) || !Files.isSameFile(from, to))) {
                Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private String tokenString(int id) {
        return tokenToId.entrySet().stream().filter(e -> e.getValue() == id).map(Map.Entry::getKey).sorted()
                .findFirst().orElseThrow();
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public void close() {
        hf.close();
    }
}
