package io.salsa.model.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.tokenizer.ChatMessage;
import io.salsa.model.tokenizer.ChatTemplate;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.tokenizer.TokenizedText;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.JsonLines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads SFT data ({@code {"prompt": …, "response": …}} or a conversation {@code {"messages": [{"role": …,
 * "content": …}, …]}} per line) and turns it into token sequences, refusing a bad line with the file and line
 * number rather than training on garbage.
 */
public final class SftData {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SftData() {
    }

    /** Every example of a JSONL file; blank lines are skipped; anything else malformed is an error naming file:line. */
    public static List<SftExample> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (SFT data: a JSONL file with {\"prompt\": …, \"response\": …} per line)");
        }
        List<SftExample> out = JsonLines.read(file, (n, line) -> parse(file, n, line));
        if (out.isEmpty()) {
            throw new IOException(file + ": no examples (empty file)");
        }
        return out;
    }

    private static SftExample parse(Path file, int line, String text) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ":" + line + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + ":" + line + ": expected a JSON object with \"prompt\" and \"response\"");
        }
        if (node.has("messages")) {
            JsonNode list = node.get("messages");
            if (!list.isArray() || list.isEmpty()) {
                throw new IOException(file + ":" + line + ": \"messages\" must be a non-empty list of {\"role\", \"content\"}");
            }
            List<ChatMessage> messages = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode m = list.get(i);
                if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw new IOException(file + ":" + line + ": message " + i
                            + " needs string fields \"role\" and \"content\"");
                }
                messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            }
            try {
                return SftExample.conversation(messages);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ":" + line + ": " + e.getMessage());
            }
        }
        JsonNode p = node.get("prompt");
        JsonNode rsp = node.get("response");
        if (p == null || !p.isTextual()) {
            throw new IOException(file + ":" + line + ": \"prompt\" must be a string");
        }
        if (rsp == null || !rsp.isTextual()) {
            throw new IOException(file + ":" + line + ": \"response\" must be a string");
        }
        try {
            return new SftExample(p.asText(), rsp.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ":" + line + ": " + e.getMessage());
        }
    }

    /** Hex SHA-256 of a file's bytes (the data hash on the model card). */
    public static String sha256(Path file) throws IOException {
        return Sha256.of(file);
    }

    /** Hex SHA-256 of a model folder's weights for its card: {@link Checkpoint#weightsSha256}. */
    public static String weightsSha256(Path modelDir) throws IOException {
        return Checkpoint.weightsSha256(modelDir);
    }

    /**
     * A tokenised example: {@code ids} = prompt ++ response ++ EOS, cut to {@code maxLen}; {@code promptLength}
     * tokens are context only. Returns null when nothing of the response fits.
     */
    public static Sequence encode(SalsaTokenizer tokenizer, SftExample example, int maxLen) {
        if (!example.messages().isEmpty()) {
            throw new IllegalArgumentException("a conversation example needs the model's chat template; "
                    + tokenizer.source() + " comes with none");
        }
        int[] prompt = tokenizer.encode(example.prompt());
        int[] response = tokenizer.encode(example.response());
        int len = Math.min(maxLen, prompt.length + response.length + 1);
        if (prompt.length == 0 || len <= prompt.length) {
            return null;
        }
        int[] ids = new int[len];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        int fromResponse = Math.min(response.length, len - prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, fromResponse);
        if (prompt.length + fromResponse < len) {
            ids[len - 1] = tokenizer.eosId();
        }
        return new Sequence(ids, prompt.length);
    }

    /**
     * A conversation rendered with {@code template} (no generation prompt) and tokenised; only the tokens of its
     * assistant turns (their content and the end-of-turn text the template writes after it) are trained on. Each
     * assistant turn is located by rendering the conversation up to it with the generation prompt and up to its end
     * without: the difference is the turn. A template that rewrites earlier turns (so the renderings are not
     * prefixes of one another) is refused, as is a conversation that opens with an assistant turn. Cut to
     * {@code maxLen}; null when no assistant token fits.
     */
    public static Sequence encodeConversation(SalsaTokenizer tokenizer, ChatTemplate template, List<ChatMessage> messages,
            int maxLen) {
        String full = template.render(messages, false);
        List<int[]> spans = new ArrayList<>();
        for (int k = 0; k < messages.size(); k++) {
            if (!"assistant".equals(messages.get(k).role())) {
                continue;
            }
            if (k == 0) {
                throw new IllegalArgumentException("the conversation opens with an assistant turn; nothing prompts it");
            }
            String before = template.render(messages.subList(0, k), true);
            String upTo = template.render(messages.subList(0, k + 1), false);
            if (!upTo.startsWith(before) || !full.startsWith(upTo)) {
                throw new IllegalArgumentException(template.source() + " does not render the conversation's turns as "
                        + "prefixes of one another (it rewrites earlier turns), so assistant turn " + k
                        + " cannot be located in the text");
            }
            spans.add(new int[] {full.codePointCount(0, before.length()), full.codePointCount(0, upTo.length())});
        }
        TokenizedText t = tokenizer.tokenize(full);
        int len = Math.min(maxLen, t.size());
        int[] ids = java.util.Arrays.copyOf(t.ids(), len);
        int[][] offsets = t.offsets();
        boolean[] trained = new boolean[len];
        int first = -1;
        for (int j = 0; j < len; j++) {
            for (int[] span : spans) {
                // a token belongs to the turn it starts in
                if (offsets[j][0] >= span[0] && offsets[j][0] < span[1]) {
                    trained[j] = true;
                }
            }
            if (trained[j] && first < 0) {
                first = j;
            }
        }
        return first < 1 ? null : new Sequence(ids, first, trained);
    }

    /** Encodes every example, dropping (and counting) those whose response does not fit at all. */
    public static List<Sequence> encodeAll(SalsaTokenizer tokenizer, List<SftExample> examples, int maxLen) {
        return encodeAll(tokenizer, null, examples, maxLen);
    }

    /** {@link #encodeAll(SalsaTokenizer, List, int)}, conversations rendered with {@code template} (may be null). */
    public static List<Sequence> encodeAll(SalsaTokenizer tokenizer, ChatTemplate template, List<SftExample> examples,
            int maxLen) {
        List<Sequence> out = new ArrayList<>(examples.size());
        for (SftExample e : examples) {
            Sequence s = e.messages().isEmpty() || template == null ? encode(tokenizer, e, maxLen)
                    : encodeConversation(tokenizer, template, e.messages(), maxLen);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * One training sequence.
     *
     * @param ids          prompt ++ response ++ EOS token ids (or a rendered conversation)
     * @param promptLength how many leading ids are prompt (not trained on)
     * @param trained      per token, whether it is trained on (a conversation's assistant turns); null: every token
     *                     from {@code promptLength} on
     */
    public record Sequence(int[] ids, int promptLength, boolean[] trained) {

        public Sequence(int[] ids, int promptLength) {
            this(ids, promptLength, null);
        }

        /** Whether token {@code j} is a target of the loss. */
        public boolean isTrained(int j) {
            return trained == null ? j >= promptLength : trained[j];
        }
    }
}
