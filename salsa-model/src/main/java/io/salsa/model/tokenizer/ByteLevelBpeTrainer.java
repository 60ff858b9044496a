package io.salsa.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a GPT-2-style byte-level BPE and writes it as a Hugging Face {@code tokenizer.json}, so the built-in task
 * gets its own small vocabulary that loads through exactly the same code path as a real GPT-2 tokenizer.
 *
 * <p>Deterministic: the same texts and settings give the same file byte for byte. Ties between equally frequent
 * pairs are broken by the pair's strings, never by hash order. The layout copies what the Hugging Face trainer
 * writes: special tokens first, then the 256 byte symbols in character order, then one token per merge.
 */
public final class ByteLevelBpeTrainer {

    /** The pre-tokenisation regex of GPT-2, which the ByteLevel pre-tokenizer applies before BPE. */
    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final char[] BYTE_TO_CHAR = byteToUnicode();

    private final int vocabLimit;
    private final int minFrequency;
    private final List<String> specialTokens;

    /**
     * @param vocabLimit    largest vocabulary (special tokens + 256 bytes + merges), at least specials + 256
     * @param minFrequency  a pair seen fewer times than this is not merged (at least 1)
     * @param specialTokens tokens with the first ids, e.g. {@code <|endoftext|>} then {@code <pad>}
     */
    public ByteLevelBpeTrainer(int vocabLimit, int minFrequency, List<String> specialTokens) {
        if (vocabLimit < specialTokens.size() + 256) {
            throw new IllegalArgumentException("vocabLimit must be at least " + (specialTokens.size() + 256)
                    + " (special tokens + 256 bytes), got " + vocabLimit);
        }
        if (minFrequency < 1) {
            throw new IllegalArgumentException("minFrequency must be at least 1, got " + minFrequency);
        }
        this.vocabLimit = vocabLimit;
        this.minFrequency = minFrequency;
        this.specialTokens = List.copyOf(specialTokens);
    }

    /** Learns merges from {@code texts} and returns the {@code tokenizer.json} text. */
    public String train(Iterable<String> texts) {
        Map<String, Integer> wordCounts = new TreeMap<>();
        for (String text : texts) {
            Matcher m = GPT2_SPLIT.matcher(text);
            while (m.find()) {
                wordCounts.merge(toByteSymbols(m.group()), 1, Integer::sum);
            }
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : specialTokens) {
            vocab.put(s, vocab.size());
        }
        char[] alphabet = BYTE_TO_CHAR.clone();
        java.util.Arrays.sort(alphabet);
        for (char c : alphabet) {
            vocab.putIfAbsent(String.valueOf(c), vocab.size());
        }
        // symbols as ints and pair counts kept up to date incrementally: only words holding the merged pair change
        List<String> symbols = new ArrayList<>();
        Map<String, Integer> symbolIds = new HashMap<>();
        int[][] words = new int[wordCounts.size()][];
        int[] freq = new int[wordCounts.size()];
        int w = 0;
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            words[w] = e.getKey().codePoints()
                    .map(cp -> symbolIds.computeIfAbsent(new String(Character.toChars(cp)), k -> {
                        symbols.add(k);
                        return symbols.size() - 1;
                    })).toArray();
            freq[w++] = e.getValue();
        }
        Map<Long, Integer> pairCounts = new HashMap<>();
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int i = 0; i < words.length; i++) {
            countPairs(words[i], i, freq[i], pairCounts, pairWords);
        }
        List<String[]> merges = new ArrayList<>();
        while (vocab.size() < vocabLimit) {
            long best = -1;
            int bestCount = 0;
            for (Map.Entry<Long, Integer> e : pairCounts.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && c > 0 && lexicographicallyBefore(e.getKey(), best, symbols))) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best < 0 || bestCount < minFrequency) {
                break;
            }
            int left = (int) (best >>> 32);
            int right = (int) best;
            String merged = symbols.get(left) + symbols.get(right);
            merges.add(new String[] {symbols.get(left), symbols.get(right)});
            vocab.putIfAbsent(merged, vocab.size());
            int mergedId = symbolIds.computeIfAbsent(merged, k -> {
                symbols.add(k);
                return symbols.size() - 1;
            });
            for (int i : new TreeSet<>(pairWords.remove(best))) {
                int[] old = words[i];
                int[] next = mergeWord(old, left, right, mergedId);
                if (next.length != old.length) {
                    countPairs(old, i, -freq[i], pairCounts, null);
                    countPairs(next, i, freq[i], pairCounts, pairWords);
                    words[i] = next;
                }
            }
            pairCounts.remove(best);
        }
        return toJson(vocab, merges);
    }

    private String toJson(Map<String, Integer> vocab, List<String[]> merges) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : specialTokens) {
            ObjectNode t = added.addObject();
            t.put("id", vocab.get(s));
            t.put("content", s);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        byteLevel(root.putObject("pre_tokenizer"), false, true);
        byteLevel(root.putObject("post_processor"), true, false);
        byteLevel(root.putObject("decoder"), true, true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode m = model.putArray("merges");
        for (String[] pair : merges) {
            m.addArray().add(pair[0]).add(pair[1]);
        }
        try {
            return json.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void byteLevel(ObjectNode node, boolean addPrefixSpace, boolean trimOffsets) {
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", true);
    }

    /** UTF-8 bytes of {@code s} as GPT-2's printable byte symbols (space becomes {@code Ġ}). */
    static String toByteSymbols(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            sb.append(BYTE_TO_CHAR[b & 0xff]);
        }
        return sb.toString();
    }

    /** GPT-2's reversible map from bytes to printable characters (its {@code bytes_to_unicode}). */
    private static char[] byteToUnicode() {
        char[] map = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? (char) b : (char) (256 + next++);
        }
        return map;
    }

    private static void countPairs(int[] word, int index, int delta, Map<Long, Integer> pairCounts,
            Map<Long, Set<Integer>> pairWords) {
        for (int j = 0; j + 1 < word.length; j++) {
            long key = ((long) word[j] << 32) | (word[j + 1] & 0xffffffffL);
            pairCounts.merge(key, delta, Integer::sum);
            if (pairWords != null) {
                pairWords.computeIfAbsent(key, k -> new HashSet<>()).add(index);
            }
        }
    }

    /** Equal counts are broken by the pair's strings, left symbol first, so hash order never matters. */
    private static boolean lexicographicallyBefore(long a, long b, List<String> symbols) {
        if (b < 0) {
            return true;
        }
        int c = symbols.get((int) (a >>> 32)).compareTo(symbols.get((int) (b >>> 32)));
        return c != 0 ? c < 0 : symbols.get((int) a).compareTo(symbols.get((int) b)) < 0;
    }

    private static int[] mergeWord(int[] word, int left, int right, int merged) {
        int[] out = new int[word.length];
        int n = 0;
        for (int j = 0; j < word.length; j++) {
            if (j + 1 < word.length && word[j] == left && word[j + 1] == right) {
                out[n++] = merged;
                j++;
            } else {
                out[n++] = word[j];
            }
        }
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }
}
