package io.salsa.model.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** A tiny word-level world for training tests: a few JSONL examples, a tokenizer for their words, a random base. */
final class TinyFixtures {

    private static final ObjectMapper JSON = new ObjectMapper();
    static final String[] COLOURS = {"red", "green", "blue", "yellow", "black", "white"};
    static final String[] THINGS = {"apple", "leaf", "sky", "sun", "night", "snow", "grass", "sea"};

    private TinyFixtures() {
    }

    /** Lines "what colour is the X ?" → "the X is C ." for a fixed mapping. */
    static List<String> jsonl(int n) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String thing = THINGS[i % THINGS.length];
            String colour = COLOURS[(i % THINGS.length) % COLOURS.length];
            ObjectNode o = JSON.createObjectNode();
            o.put("prompt", "what colour is the " + thing + " ?");
            o.put("response", "the " + thing + " is " + colour + " .");
            lines.add(o.toString());
        }
        return lines;
    }

    /** Writes a base model folder: random tiny GPT-2 + word-level tokenizer.json over the fixture's words. */
    static Path baseModel(Path dir) throws IOException {
        tokenizer(dir, List.of());
        GptConfig cfg = GptConfig.of(2, 2, 32, 32, 32, 0, 1);
        try (GptModel m = GptModel.random(cfg, GptModel.Head.NONE, 1234, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    /** The tiny Llama-style shape of the tests: 2 layers, 32 wide, 4 query heads sharing 2 key/value heads (GQA). */
    static final PretrainCommand.Shape LLAMA = new PretrainCommand.Shape("llama", 2, 4, 2, 32, 64, 32);

    /** The tiny Llama-style config over the fixture's 32-id vocabulary (EOS 0, pad 1). */
    static LlamaConfig llamaConfig() {
        return LLAMA.llamaConfig(32, 0, 0, 1);
    }

    /**
     * Writes a Llama-style base folder: random tiny {@link #llamaConfig()} model + the word-level tokenizer; with
     * {@code chat}, the tokenizer also has {@code <|user|>}, {@code <|assistant|>}, {@code <|end|>} and the folder a
     * {@code chat_template.jinja} that renders each turn as {@code <|role|> content <|end|>}.
     */
    static Path llamaBaseModel(Path dir, boolean chat) throws IOException {
        tokenizer(dir, chat ? List.of("<|user|>", "<|assistant|>", "<|end|>") : List.of());
        if (chat) {
            Files.writeString(dir.resolve("chat_template.jinja"), "{% for m in messages %}<|{{ m['role'] }}|> "
                    + "{{ m['content'] }} <|end|> {% endfor %}{% if add_generation_prompt %}<|assistant|> {% endif %}");
        }
        try (LlamaModel m = LlamaModel.random(llamaConfig(), GptModel.Head.NONE, 1234, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    /** Writes the word-level {@code tokenizer.json}: specials, the fixture's words, then {@code extraSpecials}. */
    private static void tokenizer(Path dir, List<String> extraSpecials) throws IOException {
        TreeSet<String> words = new TreeSet<>(List.of("what", "colour", "is", "the", "?", "."));
        words.addAll(List.of(COLOURS));
        words.addAll(List.of(THINGS));
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = JSON.createObjectNode();
        String[] specials = {"<|endoftext|>", "<pad>", "<unk>"};
        for (int i = 0; i < specials.length; i++) {
            addSpecial(added, vocab, specials[i], i);
        }
        int id = specials.length;
        for (String w : words) {
            vocab.put(w, id++);
        }
        for (String special : extraSpecials) {
            addSpecial(added, vocab, special, id++);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", vocab);
        model.put("unk_token", "<unk>");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), root.toString());
    }

    private static void addSpecial(ArrayNode added, ObjectNode vocab, String content, int id) {
        ObjectNode t = added.addObject();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
        vocab.put(content, id);
    }
}
