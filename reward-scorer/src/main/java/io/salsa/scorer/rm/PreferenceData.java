package io.salsa.scorer.rm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.Preference;
import io.salsa.events.PreferenceResponse;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.io.JsonLines;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads preference pairs for reward-model training from a JSONL file or from the feedback topic, and turns
 * them into token sequences exactly as rollouts reach the scorer: {@code encode(prompt) ++ response ++ [EOS]}.
 *
 * <p>JSONL lines are {@code {"prompt": …, "chosen": …, "rejected": …}} (what {@code salsa task generate}
 * writes to {@code preferences.jsonl}), optionally with {@code "tie": true} when the rater judged the two equal.
 */
public final class PreferenceData {

    private static final Logger LOG = LoggerFactory.getLogger(PreferenceData.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private PreferenceData() {
    }

    /**
     * Pairs read from a source, with what was left out and why.
     *
     * @param pairs   usable pairs
     * @param skipped records that carry no pairwise judgement (1-7 ratings) or could not be decoded
     */
    public record Loaded(List<PreferencePair> pairs, int skipped) {
    }

    /**
     * Reads a JSONL file of pairs.
     *
     * @throws IllegalArgumentException naming the file and line of the first bad line
     */
    public static List<PreferencePair> readJsonl(Path file, SalsaTokenizer tokenizer) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (expected a JSONL file of {\"prompt\", \"chosen\", \"rejected\"} lines)");
        }
        List<PreferencePair> pairs = JsonLines.read(file, (n, line) -> {
            try {
                return fromJson(JSON.readTree(line), tokenizer);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(file + ":" + n + ": " + e.getMessage(), e);
            }
        });
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException(file + ": no preference pairs in the file");
        }
        return pairs;
    }

    static PreferencePair fromJson(JsonNode n, SalsaTokenizer tokenizer) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        String prompt = text(n, "prompt");
        String chosen = text(n, "chosen");
        String rejected = text(n, "rejected");
        JsonNode tie = n.get("tie");
        if (tie != null && !tie.isBoolean()) {
            throw new IllegalArgumentException("\"tie\" must be true or false");
        }
        int[] p = tokenizer.encode(prompt);
        return new PreferencePair(prompt, sequence(p, tokenizer.encode(chosen), tokenizer),
                sequence(p, tokenizer.encode(rejected), tokenizer), tie != null && tie.booleanValue());
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("\"" + field + "\" is missing or not a string");
        }
        return v.textValue();
    }

    /** The pair in a Preference event, or empty for a 1-7 rating (no comparison to learn from). */
    public static Optional<PreferencePair> fromEvent(Preference p, SalsaTokenizer tokenizer) {
        if (p.getChoice() == null || p.getResponseB() == null) {
            return Optional.empty();
        }
        int[] prompt = tokenizer.encode(p.getPromptText());
        int[] a = response(p.getResponseA(), prompt, tokenizer);
        int[] b = response(p.getResponseB(), prompt, tokenizer);
        return Optional.of(switch (p.getChoice()) {
            case A -> new PreferencePair(p.getPromptText(), a, b, false);
            case B -> new PreferencePair(p.getPromptText(), b, a, false);
            case TIE -> new PreferencePair(p.getPromptText(), a, b, true);
        });
    }

    /** Token ids a rollout carried are used as they are (EOS included when it stopped there); text is encoded. */
    private static int[] response(PreferenceResponse r, int[] prompt, SalsaTokenizer tokenizer) {
        List<Integer> ids = r.getTokenIds();
        if (ids != null && !ids.isEmpty()) {
            int[] out = new int[prompt.length + ids.size()];
            System.arraycopy(prompt, 0, out, 0, prompt.length);
            for (int i = 0; i < ids.size(); i++) {
                out[prompt.length + i] = ids.get(i);
            }
            return out;
        }
        return sequence(prompt, tokenizer.encode(r.getText()), tokenizer);
    }

    /** prompt ++ response ++ [EOS]: a response that ended, as SFT trains and the generator stops. */
    static int[] sequence(int[] prompt, int[] response, SalsaTokenizer tokenizer) {
        int[] out = new int[prompt.length + response.length + 1];
        System.arraycopy(prompt, 0, out, 0, prompt.length);
        System.arraycopy(response, 0, out, prompt.length, response.length);
        out[out.length - 1] = tokenizer.eosId();
        return out;
    }

    /**
     * Reads the whole feedback topic as it is now (from the beginning to the current end offsets, committed
     * records only); undecodable records and ratings are counted as skipped, not fatal.
     */
    public static Loaded readTopic(KafkaSettings settings, SalsaTokenizer tokenizer, Duration timeout) {
        int[] skipped = {0};
        List<PreferencePair> pairs = new ArrayList<>();
        for (Preference p : KafkaLog.readValues(settings, Topics.FEEDBACK, timeout, (r, e) -> {
            LOG.warn("skipping an undecodable feedback record: {}", e.getMessage());
            skipped[0]++;
        })) {
            Optional<PreferencePair> pair = fromEvent(p, tokenizer);
            if (pair.isPresent()) {
                pairs.add(pair.get());
            } else {
                skipped[0]++;
            }
        }
        return new Loaded(pairs, skipped[0]);
    }
}
