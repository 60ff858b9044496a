package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.lm.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRolloutSamplerTest {

    @TempDir
    Path dir;

    private static final SamplingParams PARAMS = new SamplingParams(1f, 0, 1f, 12);

    private static List<RolloutSampler.Request> requests() {
        List<RolloutSampler.Request> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] ids = new int[2 + i];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = 2 + (i * 37 + t * 11) % 290;
            }
            out.add(new RolloutSampler.Request(ids, RolloutSeeds.derive(3, "p" + i, 0, 0, 0)));
        }
        return out;
    }

    @Test
    void shouldSampleFromTheRealModelWithPerSequenceSeeds() throws Exception {
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(TinyModels.write(dir.resolve("m"), 1),
                GeneratorConfig.Device.CPU)) {
            assertEquals(TinyModels.POSITIONS, sampler.maxPositions());
            assertEquals(TinyModels.VOCAB, sampler.vocabSize());
            assertNull(sampler.encode("no tokenizer in this folder"));
            List<RolloutSampler.Request> reqs = requests();
            List<RolloutSampler.Sample> batch = sampler.sample(reqs, PARAMS);
            assertEquals(6, batch.size());
            for (RolloutSampler.Sample s : batch) {
                assertTrue(s.responseIds().length >= 1 && s.responseIds().length <= 12);
                for (float lp : s.logProbs()) {
                    assertTrue(lp <= 0 && Float.isFinite(lp));
                }
                assertEquals(s.stoppedAtEos(), s.responseIds()[s.responseIds().length - 1] == 0);
            }
            // same seeds, same weights -> identical; and a row does not depend on its batch-mates
            List<RolloutSampler.Sample> again = sampler.sample(reqs, PARAMS);
            List<RolloutSampler.Sample> reordered = sampler.sample(List.of(reqs.get(4), reqs.get(1)), PARAMS);
            List<RolloutSampler.Sample> alone = sampler.sample(List.of(reqs.get(1)), PARAMS);
            for (int i = 0; i < 6; i++) {
                assertArrayEquals(batch.get(i).responseIds(), again.get(i).responseIds());
                assertArrayEquals(batch.get(i).logProbs(), again.get(i).logProbs());
            }
            assertArrayEquals(batch.get(4).responseIds(), reordered.get(0).responseIds());
            assertArrayEquals(batch.get(1).responseIds(), reordered.get(1).responseIds());
            assertArrayEquals(batch.get(1).responseIds(), alone.get(0).responseIds());
            System.out.println("max |dlogp| batch vs alone: " + maxDiff(batch.get(1).logProbs(), alone.get(0).logProbs())
                    + ", batch vs reordered: " + maxDiff(batch.get(4).logProbs(), reordered.get(0).logProbs()));
            assertTrue(maxDiff(batch.get(1).logProbs(), alone.get(0).logProbs()) < 1e-5);
        }
    }

    @Test
    void shouldRecordLogProbsUnderTheDistributionItSampledFrom() throws Exception {
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(TinyModels.write(dir.resolve("m"), 1),
                GeneratorConfig.Device.CPU)) {
            List<RolloutSampler.Request> reqs = requests();
            // top-k 1 leaves one token of probability 1 at every step, whatever the model's own log-prob of it
            for (RolloutSampler.Sample s : sampler.sample(reqs, new SamplingParams(0.7f, 1, 1f, 12))) {
                for (float lp : s.logProbs()) {
                    assertEquals(0f, lp, 1e-6f);
                }
            }
            // at temperature 1 without cut-offs the sampling distribution is the model's own
            for (RolloutSampler.Sample s : sampler.sample(reqs, PARAMS)) {
                for (float lp : s.logProbs()) {
                    assertTrue(lp < -1e-3, "a random 300-token model is never sure: " + lp);
                }
            }
        }
    }

    @Test
    void shouldGenerateInFp16WhenTheFactoryIsMadeForIt() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), 1);
        List<RolloutSampler.Request> reqs = requests();
        try (RolloutSampler fp32 = ModelRolloutSampler.factory().open(model, GeneratorConfig.Device.CPU);
             RolloutSampler fp16 = ModelRolloutSampler.factory(Precision.FP16).open(model, GeneratorConfig.Device.CPU)) {
            assertEquals(Precision.FP32, ((ModelRolloutSampler) fp32).precision());
            assertEquals(Precision.FP16, ((ModelRolloutSampler) fp16).precision());
            // nothing trains the generator's copy: at fp16 it holds float16 weights, at fp32 float32
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, ((ModelRolloutSampler) fp32).weightType());
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT16, ((ModelRolloutSampler) fp16).weightType());
            SamplingParams twoTokens = new SamplingParams(1f, 0, 1f, 2); // fp16 is slow on a CPU: keep it short
            List<RolloutSampler.Sample> full = fp32.sample(reqs, twoTokens);
            List<RolloutSampler.Sample> half = fp16.sample(reqs, twoTokens);
            float maxDiff = 0;
            for (int i = 0; i < reqs.size(); i++) {
                for (float lp : half.get(i).logProbs()) {
                    assertTrue(lp <= 0 && Float.isFinite(lp), "fp16 log-prob " + lp);
                }
                // same seed, nearly the same distribution: the first token is the same, its log-prob fp16-close
                assertEquals(full.get(i).responseIds()[0], half.get(i).responseIds()[0], "first token of row " + i);
                maxDiff = Math.max(maxDiff, Math.abs(full.get(i).logProbs()[0] - half.get(i).logProbs()[0]));
            }
            assertTrue(maxDiff > 0 && maxDiff < 1e-2, "first-token log-probs fp16 vs fp32: max |Δ| " + maxDiff);
        }
    }

    @Test
    void shouldHoldAFloat16BaseUnderAFloat32AdapterWhenGeneratingInFp16() throws Exception {
        Path base = TinyModels.write(dir.resolve("lora-base"), 10);
        Path adapter = LoraWeightReloadIT.adapter(base, dir.resolve("lora-adapter"), 1,
                io.salsa.model.soup.LoraSoups.baseSha256(base));
        List<RolloutSampler.Request> reqs = requests();
        SamplingParams twoTokens = new SamplingParams(1f, 0, 1f, 2);
        try (ModelRolloutSampler plain = ModelRolloutSampler.open(base, GeneratorConfig.Device.CPU, Precision.FP16);
             ModelRolloutSampler adapted = ModelRolloutSampler.openAdapter(base, adapter, GeneratorConfig.Device.CPU,
                     Precision.FP16);
             ModelRolloutSampler adapted32 = ModelRolloutSampler.openAdapter(base, adapter, GeneratorConfig.Device.CPU)) {
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT16, adapted.weightType());
            assertEquals(Precision.FP16, adapted.precision());
            List<RolloutSampler.Sample> p = plain.sample(reqs, twoTokens);
            List<RolloutSampler.Sample> a = adapted.sample(reqs, twoTokens);
            List<RolloutSampler.Sample> a32 = adapted32.sample(reqs, twoTokens);
            boolean differ = false;
            for (int i = 0; i < reqs.size(); i++) {
                differ |= !java.util.Arrays.equals(p.get(i).logProbs(), a.get(i).logProbs());
                // the adapter acts on the float16 base as on the float32 one, to half precision
                assertEquals(a32.get(i).responseIds()[0], a.get(i).responseIds()[0], "first token of row " + i);
                assertTrue(Math.abs(a32.get(i).logProbs()[0] - a.get(i).logProbs()[0]) < 1e-2, "row " + i);
            }
            assertTrue(differ, "the adapter must change the fp16 rollouts");
        }
    }

    @Test
    void shouldDifferBetweenWeights() throws Exception {
        try (ModelRolloutSampler a = ModelRolloutSampler.open(TinyModels.write(dir.resolve("a"), 1), GeneratorConfig.Device.CPU);
             ModelRolloutSampler b = ModelRolloutSampler.open(TinyModels.write(dir.resolve("b"), 2), GeneratorConfig.Device.CPU)) {
            List<RolloutSampler.Request> reqs = requests();
            assertFalse(java.util.Arrays.equals(a.sample(reqs, PARAMS).get(0).logProbs(),
                    b.sample(reqs, PARAMS).get(0).logProbs()));
        }
    }

    static float maxDiff(float[] x, float[] y) {
        float m = 0;
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            m = Math.max(m, Math.abs(x[i] - y[i]));
        }
        return x.length == y.length ? m : Float.POSITIVE_INFINITY;
    }

    /**
     * The generator's hot swap, many times over (open the next checkpoint, sample, close the old one): no native
     * array outlives its model, and loading frees its read buffers at once instead of leaving about a model's size
     * of direct memory per swap for the garbage collector (what grew the soak generators' RSS outside the heap).
     */
    @Test
    void shouldFreeEveryNativeArrayAndReadBufferOfASwappedOutModel() throws Exception {
        List<Path> folders = List.of(TinyModels.write(dir.resolve("v0"), 1), TinyModels.write(dir.resolve("v1"), 2));
        SamplerFactory factory = ModelRolloutSampler.factory();
        RolloutSampler current = factory.open(folders.get(0), GeneratorConfig.Device.CPU);
        current.sample(requests(), PARAMS);
        int arraysWithOneModel = io.salsa.model.lm.NativeArrays.live();
        List<Long> leftByLoads = new ArrayList<>();
        int swaps = 12;
        for (int v = 1; v <= swaps; v++) {
            long before = directBytes();
            RolloutSampler next = factory.open(folders.get(v % 2), GeneratorConfig.Device.CPU);
            leftByLoads.add(directBytes() - before);
            current.sample(requests(), PARAMS);
            current.close();
            current = next;
            assertEquals(arraysWithOneModel, io.salsa.model.lm.NativeArrays.live(), "live native arrays after swap " + v);
        }
        current.close();
        // a load used to leave its 1 MiB read buffer and a direct copy of every tensor for the garbage collector
        assertTrue(leftByLoads.stream().allMatch(b -> b < 256 << 10),
                "direct memory left behind by each load (bytes): " + leftByLoads);
    }

    private static long directBytes() {
        return java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
                .stream().filter(p -> p.getName().equals("direct")).mapToLong(
                        java.lang.management.BufferPoolMXBean::getMemoryUsed).sum();
    }
}
