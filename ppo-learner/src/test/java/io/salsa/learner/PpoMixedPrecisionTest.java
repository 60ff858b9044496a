package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.Precision;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code mixed_precision=fp16} on a GPT-2 and a Llama policy (CPU): one PPO step (full or LoRA) agrees with the
 * float32 step to float16 accuracy, a checkpoint restores the loss scaler so a resumed run is bit-identical, and PPO
 * in fp16 raises the reward of a tiny GPT-2.
 */
class PpoMixedPrecisionTest {

    /** Max |Δ| of step metrics (losses, KL, entropy = Σ −log π, ratio) between the fp16 and the fp32 step. */
    static final double METRIC_TOL = 5e-3;
    /** Max relative L2 difference of each tensor's update (fp16 vs fp32) after one step (measured: at most 1.6e-2). */
    static final double UPDATE_REL_TOL = 0.05;

    @TempDir
    Path tmp;

    private static PpoConfig config(String precision, Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>(Map.of("batch_size", "8", "mini_batch_size", "4", "ppo_epochs", "2",
                "learning_rate", "0.001", "mixed_precision", precision));
        m.putAll(extra);
        return PpoConfig.fromMap(m);
    }

    /** Random rollouts over the tiny vocabulary (the scores and behaviour log-probs need not come from the policy). */
    private static List<TrainingSample> batch(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<TrainingSample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int q = 2 + r.nextInt(3);
            int len = 3 + r.nextInt(4);
            int[] query = new int[q];
            int[] response = new int[len];
            float[] lp = new float[len];
            for (int t = 0; t < q; t++) {
                query[t] = 2 + r.nextInt(60);
            }
            for (int t = 0; t < len; t++) {
                response[t] = 2 + r.nextInt(60);
                lp[t] = (float) -Math.log(64) + (float) (r.nextDouble() * 0.2 - 0.1);
            }
            out.add(new TrainingSample(query, response, lp, false, (float) r.nextDouble()));
        }
        return out;
    }

    /** A tiny policy folder of {@code arch} ({@code gpt2} or {@code llama}) over the fixture's 64-token vocabulary. */
    private Path tinyModel(String arch, long seed) throws IOException {
        Path dir = tmp.resolve(arch + "-" + seed);
        return arch.equals("gpt2") ? LearnerFixture.tinyModel(dir, seed)
                : LlamaLearnerReplayTest.llamaFolder(dir, GptModel.Head.NONE, seed);
    }

    private LmPolicyTrainer open(PpoConfig config, Path init, Path reference) throws IOException {
        return LmPolicyTrainer.open(config, init, reference, Device.cpu());
    }

    private static Map<String, float[]> weights(LmPolicyTrainer t) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (String name : t.policy().parameters().keySet()) {
            w.put(name, t.policy().weights(name));
        }
        return w;
    }

    @Test
    void theLearnerTakesMixedPrecisionFromItsSettingsAndRecordsIt() {
        LearnerConfig c = LearnerConfig.fromEnv(Map.of("SALSA_LEARNER_MIXED_PRECISION", "fp16"),
                Map.of("run_id", "r", "soup_recipe", "s", "loss_scale_growth_interval", "500"));
        assertEquals(Precision.FP16, c.ppo().mixedPrecision());
        assertEquals(500, c.ppo().lossScaleGrowthInterval());
        // the checkpoint card records toMap(), so a resume or replay runs in the same precision
        assertEquals("fp16", c.toMap().get("mixed_precision"));
        assertEquals(c, LearnerConfig.fromMap(c.toMap()));
        assertEquals(Precision.FP32, LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s")).ppo().mixedPrecision());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void anFp16StepAgreesWithTheFloat32StepToHalfPrecision(String arch) throws Exception {
        Path model = tinyModel(arch, 5);
        List<TrainingSample> batch = batch(8, 1);
        Map<String, float[]> before;
        Map<String, float[]> after32;
        PpoStep.Result r32;
        try (LmPolicyTrainer t = open(config("no", Map.of()), model, model)) {
            before = weights(t);
            r32 = t.step(batch, 0.05, 7);
            after32 = weights(t);
        }
        Map<String, float[]> after16;
        PpoStep.Result r16;
        try (LmPolicyTrainer t = open(config("fp16", Map.of()), model, model)) {
            assertEquals(Precision.FP16, t.policy().precision());
            assertEquals(Precision.FP16, t.referenceModel().precision(), "the reference runs in fp16 too");
            assertEquals(DataType.FLOAT32, t.policy().weightType(), "the policy keeps float32 master weights");
            assertEquals(DataType.FLOAT16, t.referenceModel().weightType(), "the frozen reference holds float16");
            assertEquals(t.policy().weightBytes() - headBytes(t), 2 * t.referenceModel().weightBytes());
            r16 = t.step(batch, 0.05, 7);
            after16 = weights(t);
            // a new soup hot-swapped in: again a frozen float16 model, and the next step runs on it
            PolicyTrainer.PreparedReference next = t.prepareReference(tinyModel(arch, 6));
            t.swapReference(next);
            assertEquals(DataType.FLOAT16, t.referenceModel().weightType(), "the swapped-in reference holds float16");
            assertEquals(Precision.FP16, t.referenceModel().precision());
            assertTrue(Double.isFinite(t.step(batch, 0.05, 8).metrics().get("objective/kl")));
        }
        for (String key : List.of("objective/kl", "objective/entropy", "loss/policy_avg", "loss/value_avg",
                "val/ratio", "policy/entropy_avg", "policy/approxkl_avg", "val/returns_avg")) {
            double a = r32.metrics().get(key);
            double b = r16.metrics().get(key);
            assertTrue(Double.isFinite(b), key + " is finite in fp16: " + b);
            assertEquals(a, b, METRIC_TOL, key + ": fp32 " + a + " vs fp16 " + b);
        }
        assertEquals(65536.0 / (1 << r16.metrics().get("amp/skipped_steps").intValue()),
                r16.metrics().get("amp/loss_scale"), 0, "S = 2^16 halved once per skipped step");
        assertTrue(r16.metrics().get("amp/skipped_steps") < 4, "at least one of the 4 optimiser steps is taken");
        for (String name : before.keySet()) {
            float[] w0 = before.get(name);
            float[] w32 = after32.get(name);
            float[] w16 = after16.get(name);
            double d16 = 0;
            for (int i = 0; i < w0.length; i++) {
                d16 += Math.abs(w16[i] - w0[i]);
            }
            assertNotEquals(0.0, d16, name + " not updated in fp16 (no gradient reached it)");
            double d32 = 0;
            double diff = 0;
            for (int i = 0; i < w0.length; i++) {
                if (name.endsWith("attn.c_attn.bias") && i >= w0.length / 3 && i < 2 * w0.length / 3) {
                    // the key bias shifts every score of a query row equally, so softmax makes its true gradient 0;
                    // AdamW turns the rounding noise left there into full-size steps in either precision
                    continue;
                }
                d32 += (double) (w32[i] - w0[i]) * (w32[i] - w0[i]);
                diff += (double) (w16[i] - w32[i]) * (w16[i] - w32[i]);
            }
            assertNotEquals(0.0, d32, name + " not updated in fp32");
            double rel = Math.sqrt(diff / d32);
            assertTrue(rel < UPDATE_REL_TOL, name + ": fp16 update differs from fp32 by " + rel + " (relative L2)");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void anFp16LoraStepAgreesWithTheFloat32LoraStepAndLeavesTheBaseAlone(String arch) throws Exception {
        Path model = tinyModel(arch, 5);
        List<TrainingSample> batch = batch(8, 1);
        boolean gpt = arch.equals("gpt2");
        Map<String, String> lora = Map.of("lora_r", "4", "lora_alpha", "8", "lora_targets",
                gpt ? "c_attn,c_fc" : "q_proj,v_proj,up_proj");
        String b = gpt ? "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"
                : "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
        PpoStep.Result r32;
        float[] b32;
        try (LmPolicyTrainer t = open(config("no", lora), model, model)) {
            r32 = t.step(batch, 0.05, 7);
            b32 = t.lora().parameters().get(b).getArray().toFloatArray();
        }
        try (LmPolicyTrainer t = open(config("fp16", lora), model, model)) {
            // LoRA: the reference is the policy's own base, which stays float32 (the soup is copied into it on a swap)
            assertEquals(DataType.FLOAT32, t.referenceModel().weightType());
            Map<String, float[]> before = weights(t);
            PpoStep.Result r16 = t.step(batch, 0.05, 7);
            assertEquals(before.keySet(), weights(t).keySet());
            for (String name : before.keySet()) {
                if (!name.startsWith("v_head")) {
                    assertArrayEquals(before.get(name), t.policy().weights(name), name + " is frozen");
                }
            }
            for (String key : List.of("objective/kl", "loss/policy_avg", "loss/value_avg", "val/ratio",
                    "policy/approxkl_avg")) {
                assertEquals(r32.metrics().get(key), r16.metrics().get(key), METRIC_TOL, key);
            }
            float[] b16 = t.lora().parameters().get(b).getArray().toFloatArray();
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < b16.length; i++) {
                assertTrue(Float.isFinite(b16[i]));
                diff += (b16[i] - b32[i]) * (double) (b16[i] - b32[i]);
                norm += b32[i] * (double) b32[i];
            }
            assertTrue(norm > 0, "lora_B moved off 0");
            assertTrue(Math.sqrt(diff / norm) < UPDATE_REL_TOL, "fp16 vs fp32 update of lora_B: " + Math.sqrt(diff / norm));
        }
    }

    /** Bytes of the policy's value head (the reference has none). */
    private static long headBytes(LmPolicyTrainer t) {
        return 4 * (t.policy().parameters().get(GptModel.VALUE_WEIGHT).getArray().size()
                + t.policy().parameters().get(GptModel.VALUE_BIAS).getArray().size());
    }

    @Test
    void aResumedFp16RunRestoresTheLossScalerAndIsBitIdentical() throws Exception {
        Path model = LearnerFixture.tinyModel(tmp.resolve("m"), 6);
        // a short growth interval so the scale changes within the run and the restored state matters
        PpoConfig cfg = config("fp16", Map.of("loss_scale_growth_interval", "3", "loss_scale_init", "256"));
        List<List<TrainingSample>> batches = List.of(batch(8, 11), batch(8, 12), batch(8, 13));
        Map<String, float[]> straight;
        float scale;
        int tracker;
        try (LmPolicyTrainer t = open(cfg, model, model)) {
            for (int s = 0; s < 3; s++) {
                t.step(batches.get(s), 0.05, 100 + s);
            }
            straight = weights(t);
            scale = t.scaler().lossScale();
            tracker = t.scaler().growthTracker();
        }
        Path saved = tmp.resolve("ckpt");
        Path optimizer = tmp.resolve("optimizer.safetensors");
        float scaleAt2;
        try (LmPolicyTrainer t = open(cfg, model, model)) {
            for (int s = 0; s < 2; s++) {
                t.step(batches.get(s), 0.05, 100 + s);
            }
            scaleAt2 = t.scaler().lossScale();
            t.savePolicy(saved);
            t.saveOptimizer(optimizer);
        }
        assertNotEquals(256f, scaleAt2, "the scale moved during the first two steps (8 optimiser steps)");
        try (LmPolicyTrainer t = open(cfg, saved, model)) {
            t.restore(saved, optimizer);
            assertEquals(scaleAt2, t.scaler().lossScale(), 0f, "loss scale restored");
            t.step(batches.get(2), 0.05, 102);
            assertEquals(scale, t.scaler().lossScale(), 0f);
            assertEquals(tracker, t.scaler().growthTracker());
            Map<String, float[]> resumed = weights(t);
            for (String name : straight.keySet()) {
                assertArrayEquals(straight.get(name), resumed.get(name), 0f, name);
            }
        }
        assertTrue(java.nio.file.Files.exists(saved.resolve(ModelFolder.WEIGHTS)));
    }

    @Test
    void fp16PpoRaisesTheRewardOfATinyGpt() throws Exception {
        Path model = LearnerFixture.tinyModel(tmp.resolve("m"), 8);
        PpoConfig cfg = PpoConfig.fromMap(Map.of("batch_size", "16", "mini_batch_size", "8", "ppo_epochs", "2",
                "learning_rate", "0.005", "mixed_precision", "fp16"));
        List<Double> scores = new ArrayList<>();
        List<Double> kls = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(8);
        try (LmPolicyTrainer t = open(cfg, model, model)) {
            for (int s = 0; s < 25; s++) {
                List<int[]> prompts = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    prompts.add(new int[] {2 + random.nextInt(60)});
                }
                // sampled by the fp16 policy itself (generation runs in the model's precision)
                List<Generation> gens = new Generator(t.policy()).generate(prompts,
                        SamplingConfig.sampling(4).withStopAtEos(false), 1000L * s);
                List<TrainingSample> batch = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    Generation g = gens.get(i);
                    batch.add(new TrainingSample(prompts.get(i), g.tokens(), g.logProbs(), false,
                            (float) LearnerFixture.PREFER_LOW.applyAsDouble(g.tokens())));
                }
                PpoStep.Result r = t.step(batch, 0.05, s);
                scores.add(r.meanScore());
                kls.add(r.meanKl());
            }
        }
        double first = scores.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = scores.subList(20, 25).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last > first + 0.2, "reward should rise: first 5 steps " + first + ", last 5 steps " + last);
        double maxKl = kls.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        assertTrue(maxKl < 10, "sequence KL stays bounded, max " + maxKl);
    }
}
