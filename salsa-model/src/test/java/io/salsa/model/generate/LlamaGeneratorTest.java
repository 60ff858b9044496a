package io.salsa.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generator on a Llama-style model (grouped-query attention, rotary positions, pre-allocated KV cache): the cache,
 * left padding and batch-mates change no greedy token, and every EOS id of the folder stops a sequence.
 */
class LlamaGeneratorTest {

    private static final int VOCAB = 64;

    @TempDir
    Path tmp;

    /** A tiny Llama (4 query heads over 2 KV heads) with random weights and a sharpened LM head, so ties are rare. */
    static LlamaModel tinyLlama(long seed) throws IOException {
        LlamaModel model = LlamaModel.random(tinyConfig(), GptModel.Head.NONE, seed, Device.cpu());
        float[] head = model.weights(LlamaModel.LM_HEAD);
        for (int i = 0; i < head.length; i++) {
            head[i] *= 50f;
        }
        model.setWeights(LlamaModel.LM_HEAD, head);
        return model;
    }

    static LlamaConfig tinyConfig() throws IOException {
        return LlamaConfig.fromJson(new ObjectMapper().readTree("""
                {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
                 "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false,
                 "vocab_size": %d, "bos_token_id": 2, "eos_token_id": 0, "pad_token_id": 1, "hidden_act": "silu"}"""
                .formatted(VOCAB)));
    }

    @Test
    void shouldGiveTheSameGreedyTokensWithAndWithoutCacheAndAloneOrLeftPaddedInABatch() throws IOException {
        try (LlamaModel model = tinyLlama(3)) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(new int[] {5, 17, 42, 33, 7}, new int[] {9, 8, 7, 6, 5, 4, 3, 2, 11, 12},
                    new int[] {30});
            SamplingConfig greedy = SamplingConfig.greedy(12).withStopAtEos(false);
            List<Generation> cached = gen.generate(prompts, greedy, 0);
            List<Generation> uncached = gen.generate(prompts, greedy.withCache(false), 0);
            for (int i = 0; i < prompts.size(); i++) {
                Generation alone = gen.generate(List.of(prompts.get(i)), greedy, 0).get(0);
                Generation aloneUncached = gen.generate(List.of(prompts.get(i)), greedy.withCache(false), 0).get(0);
                assertEquals(12, cached.get(i).length());
                assertArrayEquals(aloneUncached.tokens(), alone.tokens(), "cache vs no cache alone, prompt " + i);
                assertArrayEquals(uncached.get(i).tokens(), cached.get(i).tokens(), "cache vs no cache, prompt " + i);
                assertArrayEquals(alone.tokens(), cached.get(i).tokens(), "alone vs left-padded batch, prompt " + i);
                for (int t = 0; t < alone.length(); t++) {
                    assertEquals(alone.logProbs()[t], cached.get(i).logProbs()[t], 1e-4, "prompt " + i + " token " + t);
                    assertEquals(uncached.get(i).logProbs()[t], cached.get(i).logProbs()[t], 1e-4);
                }
            }
            // a sampled batch is reproducible per seed and independent of its batch-mates too
            SamplingConfig sampling = SamplingConfig.sampling(10).withStopAtEos(false);
            Generation sampledAlone = gen.generate(List.of(prompts.get(2)), sampling, new long[] {42}).get(0);
            Generation sampledBatched = gen.generate(prompts, sampling, new long[] {1, 2, 42}).get(2);
            assertArrayEquals(sampledAlone.tokens(), sampledBatched.tokens());
        }
    }

    /**
     * As {@link GeneratorTest}'s for GPT-2: rotary frequencies and the one-query attention bias made without a host
     * array or a Java number per step (103–151 buffers over these 96 tokens before). A garbage collection during the
     * run can only lower the count, so it may miss a regression once, never fail a correct build.
     */
    @Test
    void shouldAllocateNoDirectBufferPerGeneratedToken() throws IOException {
        try (LlamaModel model = tinyLlama(7)) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(new int[] {3, 4}, new int[] {5, 6, 7, 8});
            SamplingConfig cfg = SamplingConfig.sampling(48).withStopAtEos(false);
            gen.generate(prompts, cfg, 1); // warm-up: the engine's own one-time buffers
            long before = GeneratorTest.liveDirectBuffers();
            List<Generation> out = gen.generate(prompts, cfg, 2);
            long grown = GeneratorTest.liveDirectBuffers() - before;
            assertEquals(48, out.get(0).length());
            assertTrue(grown <= 8, grown + " direct buffers left by 48 tokens × 2 sequences");
        }
    }

    @Test
    void shouldStopOnAnyEosIdOfTheFolderAndKeepItAsTheLastToken() throws IOException {
        Path folder = tmp.resolve("llama");
        int[] prompt = {5, 17, 42, 33, 7};
        int[] free;
        try (LlamaModel model = tinyLlama(3)) {
            model.save(folder);
            free = new Generator(model).generate(List.of(prompt), SamplingConfig.greedy(12).withStopAtEos(false), 0)
                    .get(0).tokens();
        }
        // two stop ids the free run emits after its first token (its 2nd and 3rd distinct tokens) and one it never
        // emits; the one it meets first is listed last
        int[] distinct = Arrays.stream(free).distinct().toArray();
        assertTrue(distinct.length >= 3, "the random model repeats itself too much: " + Arrays.toString(free));
        int first = distinct[1];
        int second = distinct[2];
        int never = java.util.stream.IntStream.range(2, VOCAB).filter(t -> Arrays.stream(free).noneMatch(x -> x == t))
                .findFirst().orElseThrow();
        Files.writeString(folder.resolve(ModelFolder.GENERATION_CONFIG),
                "{\"bos_token_id\": 2, \"eos_token_id\": [" + never + ", " + second + ", " + first + "]}");
        List<Integer> stops = List.of(0, never, second, first);
        int stopAt = java.util.stream.IntStream.range(0, free.length).filter(t -> stops.contains(free[t])).findFirst()
                .orElseThrow();
        assertTrue(stopAt <= indexOf(free, first));

        try (CausalLm model = CausalLms.load(folder, GptModel.Head.NONE, Device.cpu())) {
            assertEquals(stops, model.eosTokenIds(), "config.json's id, then the folder's");
            Generator gen = new Generator(model);
            Generation stopped = gen.generate(List.of(prompt), SamplingConfig.greedy(12), 0).get(0);
            assertTrue(stopped.stoppedAtEos());
            assertArrayEquals(Arrays.copyOf(free, stopAt + 1), stopped.tokens(), "stops at the first EOS id it emits");
            Generation ignoring = gen.generate(List.of(prompt), SamplingConfig.greedy(12).withStopAtEos(false), 0).get(0);
            assertFalse(ignoring.stoppedAtEos());
            assertArrayEquals(free, ignoring.tokens());
        }

        Files.writeString(folder.resolve(ModelFolder.GENERATION_CONFIG), "{\"eos_token_id\": [0, " + VOCAB + "]}");
        IOException e = assertThrows(IOException.class, () -> CausalLms.load(folder, GptModel.Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains(ModelFolder.GENERATION_CONFIG) && e.getMessage().contains("eos_token_id"),
                e.getMessage());
    }

    @Test
    void shouldRefuseAPromptThatLeavesNoRoomAndARewardModel() throws IOException {
        try (LlamaModel model = tinyLlama(4)) {
            Generator gen = new Generator(model);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gen.generate(List.of(new int[64]), SamplingConfig.greedy(4), 0));
            assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
            // the length limit is capped by the positions left
            assertEquals(4, gen.generate(List.of(new int[60]), SamplingConfig.greedy(10).withStopAtEos(false), 0)
                    .get(0).length());
        }
        try (LlamaModel rm = LlamaModel.random(tinyConfig(), GptModel.Head.SCORE, 5, Device.cpu())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Generator(rm));
            assertTrue(e.getMessage().contains("SCORE"), e.getMessage());
        }
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
