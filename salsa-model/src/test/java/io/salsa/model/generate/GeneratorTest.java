package io.salsa.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GeneratorTest {

    private static final int[] GOLDEN_PROMPT = {5, 17, 42, 100, 7};

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "small"})
    void shouldReproduceHuggingFaceGreedyContinuationWithAndWithoutCache(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        long[] expected = readInt64(dir.resolve("greedy_ids.npy"));
        int[] continuation = Arrays.stream(expected).skip(GOLDEN_PROMPT.length).mapToInt(x -> (int) x).toArray();
        try (GptModel model = GptModel.load(dir, GptModel.Head.NONE, Device.cpu())) {
            Generator gen = new Generator(model);
            SamplingConfig greedy = SamplingConfig.greedy(continuation.length).withStopAtEos(false);
            assertArrayEquals(continuation, gen.generate(List.of(GOLDEN_PROMPT), greedy, 0).get(0).tokens());
            assertArrayEquals(continuation, gen.generate(List.of(GOLDEN_PROMPT), greedy.withCache(false), 0).get(0).tokens());
        }
    }

    @Test
    void shouldGiveTheSameGreedyTokensWithCacheWithoutCacheAndAloneOrBatched() throws Exception {
        Path dir = GoldenFiles.require("small");
        try (GptModel model = GptModel.load(dir, GptModel.Head.NONE, Device.cpu())) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(GOLDEN_PROMPT, new int[] {9, 8, 7, 6, 5, 4, 3, 2, 11, 12}, new int[] {300});
            SamplingConfig greedy = SamplingConfig.greedy(12).withStopAtEos(false);
            List<Generation> cached = gen.generate(prompts, greedy, 0);
            List<Generation> uncached = gen.generate(prompts, greedy.withCache(false), 0);
            for (int i = 0; i < prompts.size(); i++) {
                Generation alone = gen.generate(List.of(prompts.get(i)), greedy, 0).get(0);
                assertArrayEquals(cached.get(i).tokens(), uncached.get(i).tokens(), "cache vs no cache, prompt " + i);
                assertArrayEquals(alone.tokens(), cached.get(i).tokens(), "alone vs batched, prompt " + i);
                for (int t = 0; t < alone.length(); t++) {
                    assertEquals(alone.logProbs()[t], cached.get(i).logProbs()[t], 1e-4);
                    assertEquals(uncached.get(i).logProbs()[t], cached.get(i).logProbs()[t], 1e-4);
                }
            }
            // right-padded input is understood through its mask
            int[][] padded = {{5, 17, 42, 100, 7, 1, 1}, {9, 8, 7, 6, 5, 4, 3}};
            int[][] mask = {{1, 1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1, 1}};
            assertArrayEquals(cached.get(0).tokens(), gen.generate(padded, mask, greedy, 0).get(0).tokens());
        }
    }

    @Test
    void shouldReproduceSamplesForTheSameSeedAndDifferForAnother() {
        try (GptModel model = sharpModel(7, 10)) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(new int[] {3, 4}, new int[] {5, 6, 7, 8});
            SamplingConfig cfg = SamplingConfig.sampling(16).withStopAtEos(false).withTopP(0.95).withTopK(50);
            List<Generation> a = gen.generate(prompts, cfg, 42);
            List<Generation> b = gen.generate(prompts, cfg, 42);
            List<Generation> c = gen.generate(prompts, cfg, 43);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
                assertArrayEquals(a.get(i).logProbs(), b.get(i).logProbs());
            }
            assertFalse(Arrays.equals(a.get(0).tokens(), c.get(0).tokens()) && Arrays.equals(a.get(1).tokens(), c.get(1).tokens()),
                    "another seed samples something else");
        }
    }

    @Test
    void shouldMakeTopKOneEqualToGreedy() {
        try (GptModel model = sharpModel(3, 60)) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(new int[] {3, 4}, new int[] {5, 6, 7, 8, 9});
            SamplingConfig greedy = SamplingConfig.greedy(10).withStopAtEos(false);
            List<Generation> g = gen.generate(prompts, greedy, 0);
            List<Generation> k1 = gen.generate(prompts, greedy.withTemperature(1.3).withTopK(1), 99);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(g.get(i).tokens(), k1.get(i).tokens());
                for (float lp : k1.get(i).samplingLogProbs()) {
                    assertEquals(0f, lp, 1e-6, "top-1 sampling is certain");
                }
            }
        }
    }

    @Test
    void shouldReturnLogProbsThatTheModelRecomputesOnTheFullSequence() {
        try (GptModel model = sharpModel(11, 20)) {
            Generator gen = new Generator(model);
            int[] prompt = {3, 4, 5};
            Generation g = gen.generate(List.of(prompt), SamplingConfig.sampling(12).withStopAtEos(false).withTemperature(0.7), 5).get(0);
            int[] full = new int[prompt.length + g.length()];
            System.arraycopy(prompt, 0, full, 0, prompt.length);
            System.arraycopy(g.tokens(), 0, full, prompt.length, g.length());
            try (NDManager scope = model.newScope()) {
                NDArray ids = scope.create(new int[][] {full});
                float[] lp = model.tokenLogProbs(ids, ids.onesLike()).toFloatArray();
                for (int t = 0; t < g.length(); t++) {
                    assertEquals(lp[prompt.length - 1 + t], g.logProbs()[t], 1e-4, "token " + t);
                    assertTrue(g.samplingLogProbs()[t] <= 0);
                }
            }
            assertNotEquals(g.logProbs()[0], g.samplingLogProbs()[0], "temperature 0.7 changes the sampling distribution");
        }
    }

    @Test
    void shouldStopEachSequenceAtEos() {
        GptConfig cfg = GptConfig.of(2, 2, 16, 40, 32, 0, 1);
        try (GptModel model = GptModel.random(cfg, GptModel.Head.NONE, 1, Device.cpu())) {
            // a model that always prefers EOS: constant final hidden state aligned with EOS's embedding
            float[] ones = new float[16];
            Arrays.fill(ones, 1f);
            model.setWeights("transformer.ln_f.weight", new float[16]);
            model.setWeights("transformer.ln_f.bias", ones);
            float[] wte = model.weights("transformer.wte.weight");
            System.arraycopy(ones, 0, wte, 0, 16);
            model.setWeights("transformer.wte.weight", wte);
            Generator gen = new Generator(model);
            Generation stop = gen.generate(List.of(new int[] {5, 6}), SamplingConfig.greedy(8), 0).get(0);
            assertArrayEquals(new int[] {0}, stop.tokens());
            assertTrue(stop.stoppedAtEos());
            Generation run = gen.generate(List.of(new int[] {5, 6}), SamplingConfig.greedy(8).withStopAtEos(false), 0).get(0);
            assertEquals(8, run.length());
            assertFalse(run.stoppedAtEos());
            // the length limit is capped by n_positions
            assertEquals(32 - 2, gen.generate(List.of(new int[] {5, 6}), SamplingConfig.greedy(100).withStopAtEos(false), 0)
                    .get(0).length());
            assertThrows(IllegalArgumentException.class, () -> gen.generate(List.of(new int[0]), SamplingConfig.greedy(4), 0));
            assertThrows(IllegalArgumentException.class, () -> gen.generate(List.of(new int[] {40}), SamplingConfig.greedy(4), 0));
        }
    }

    /**
     * A cached generation step allocates no direct buffer: the step's inputs are views of arrays made once per call,
     * the sampled tokens go in through one reused buffer per input, and a one-query step's attention bias is made on
     * the native side. Before, every token made three ({@code NDManager.create} of ids, mask and causal bias), freed
     * only when a GC found them. Counted as live direct buffers (JDK buffer pool): 48 tokens would have left ≥ 144.
     */
    @Test
    void shouldAllocateNoDirectBufferPerGeneratedToken() {
        try (GptModel model = sharpModel(7, 10)) {
            Generator gen = new Generator(model);
            List<int[]> prompts = List.of(new int[] {3, 4}, new int[] {5, 6, 7, 8});
            SamplingConfig cfg = SamplingConfig.sampling(48).withStopAtEos(false);
            gen.generate(prompts, cfg, 1); // warm-up: the engine's own one-time buffers
            long before = liveDirectBuffers();
            List<Generation> out = gen.generate(prompts, cfg, 2);
            long grown = liveDirectBuffers() - before;
            assertEquals(48, out.get(0).length());
            assertTrue(grown <= 8, grown + " direct buffers left by 48 tokens × 2 sequences");
        }
    }

    /** Direct buffers the JVM holds now (DJL makes one for each host array it turns into an NDArray). */
    static long liveDirectBuffers() {
        return java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
                .stream().filter(p -> p.getName().equals("direct"))
                .mapToLong(java.lang.management.BufferPoolMXBean::getCount).sum();
    }

    /** A random tiny model whose embeddings are scaled up, so its next-token distributions are far from uniform. */
    static GptModel sharpModel(long seed, float scale) {
        GptConfig cfg = GptConfig.of(2, 2, 32, 64, 64, 0, 1);
        GptModel model = GptModel.random(cfg, GptModel.Head.NONE, seed, Device.cpu());
        float[] wte = model.weights("transformer.wte.weight");
        for (int i = 0; i < wte.length; i++) {
            wte[i] *= scale;
        }
        model.setWeights("transformer.wte.weight", wte);
        return model;
    }

    private static long[] readInt64(Path npy) throws Exception {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(npy)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = Short.toUnsignedInt(buf.getShort(8));
        buf.position(10 + headerLen);
        long[] out = new long[buf.remaining() / 8];
        buf.asLongBuffer().get(out);
        return out;
    }
}
