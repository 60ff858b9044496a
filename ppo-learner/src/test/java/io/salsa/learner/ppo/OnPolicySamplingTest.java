package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.generator.GeneratorConfig;
import io.salsa.generator.ModelRolloutSampler;
import io.salsa.generator.RolloutSampler;
import io.salsa.generator.SamplingParams;
import io.salsa.learner.BatchAssembler;
import io.salsa.learner.ConsumedRollout;
import io.salsa.learner.LmPolicyTrainer;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Behaviour and learner log-probs refer to the same distribution: rollouts sampled by the generator's own model
 * sampler at temperature 0.7 with top-p 0.9, mapped by the learner's {@link BatchAssembler} and consumed by the real
 * {@link PpoStep} with the weights that sampled them, give importance weights and ratios of 1 in the first epoch.
 */
class OnPolicySamplingTest {

    private static final int N = 8;
    private static final SamplingParams PARAMS = new SamplingParams(0.7f, 0, 0.9f, 8);

    @TempDir
    Path tmp;

    /** A random tiny GPT-2 whose embeddings are scaled so its next-token distributions are peaked enough for top-p to cut. */
    private static Path model(Path dir) throws Exception {
        try (GptModel m = GptModel.random(GptConfig.of(2, 2, 32, 64, 64, 0, 1), GptModel.Head.NONE, 17, Device.cpu())) {
            float[] wte = m.weights("transformer.wte.weight");
            for (int i = 0; i < wte.length; i++) {
                wte[i] *= 8f;
            }
            m.setWeights("transformer.wte.weight", wte);
            m.save(dir);
        }
        return dir;
    }

    /** Rollouts as the generator publishes them, through the learner's own record-to-sample mapping. */
    private static List<TrainingSample> sampleOnPolicy(Path model) {
        List<RolloutSampler.Request> requests = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            requests.add(new RolloutSampler.Request(new int[] {2 + 7 * i % 60, 3 + 5 * i % 50}, 1000L + i));
        }
        List<RolloutSampler.Sample> samples;
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(model, GeneratorConfig.Device.CPU)) {
            samples = sampler.sample(requests, PARAMS);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<ConsumedRollout> records = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            RolloutSampler.Sample s = samples.get(i);
            List<Float> lp = new ArrayList<>();
            for (float x : s.logProbs()) {
                lp.add(x);
            }
            Rollout r = Rollout.newBuilder().setRolloutId("r" + i).setPromptId("p" + i)
                    .setPromptTokenIds(java.util.Arrays.stream(requests.get(i).promptIds()).boxed().toList())
                    .setResponseTokenIds(java.util.Arrays.stream(s.responseIds()).boxed().toList())
                    .setBehaviourLogProbs(lp).setStoppedAtEos(s.stoppedAtEos()).setPolicyRunId("run")
                    .setPolicyVersion(0).setGeneratorId("g").setSampleIndex(0).setSeed(requests.get(i).seed())
                    .setTemperature(PARAMS.temperature()).setTopK(PARAMS.topK()).setTopP(PARAMS.topP())
                    .setGenerationMs(0).setCreatedAtMs(0).build();
            records.add(new ConsumedRollout("scored-rollouts", 0, i, new ScoredRollout(r, 0.1f * i, 0.1f * i,
                    "rm", 1L, "s", 0L)));
        }
        BatchAssembler.Batch batch = new BatchAssembler("run", N, 4, 64, 64).form(records, 0);
        assertEquals(N, batch.samples().size());
        return batch.samples();
    }

    private static List<TrainingSample> withoutSampling(List<TrainingSample> samples) {
        return samples.stream().map(s -> new TrainingSample(s.queryTokens(), s.responseTokens(),
                s.behaviourLogprobs(), s.stoppedAtEos(), s.score())).toList();
    }

    @Test
    void onPolicyAtTemperature07WithTopP09TheFirstEpochsWeightsAndRatiosAreOne() throws Exception {
        Path model = model(tmp.resolve("m"));
        List<TrainingSample> batch = sampleOnPolicy(model);
        assertEquals(new TrainingSample.Sampling(0.7f, 0, 0.9f), batch.get(0).sampling(), "the rollout's settings");
        // one epoch, one mini-batch: its ratios are taken before the only optimiser step
        PpoConfig config = PpoConfig.fromMap(Map.of("batch_size", Integer.toString(N), "mini_batch_size",
                Integer.toString(N), "ppo_epochs", "1", "learning_rate", "0.001"));
        try (LmPolicyTrainer trainer = LmPolicyTrainer.open(config, model, model, Device.cpu());
             NDManager m = NDManager.newBaseManager()) {
            // per token, the log-probs PpoStep takes as π_old for the same weights
            PpoStep.Padded padded = PpoStep.Padded.of(batch, m, TrainingSample.Sampling.plain(1f));
            NDArray logits = trainer.policy().run(padded.ids, null).logits();
            float[] learner = padded.spanLogprobs(logits, true).toFloatArray();
            float[] uncut = padded.spanLogprobs(logits, false).toFloatArray();
            float[] weights = PpoMath.truncatedImportanceWeights(padded.spanLogprobs(logits, true), padded.behaviour,
                    config.isTruncation()).toFloatArray();
            float[] behaviour = padded.behaviour.toFloatArray();
            float[] mask = padded.mask.toFloatArray();
            int cut = 0;
            for (int k = 0; k < mask.length; k++) {
                if (mask[k] == 0) {
                    continue;
                }
                assertEquals(1.0, Math.exp(learner[k] - behaviour[k]), 1e-5, "π_old / μ at token " + k);
                assertEquals(1.0, weights[k], 1e-5, "importance weight at token " + k);
                cut += Math.abs(learner[k] - uncut[k]) > 1e-3 ? 1 : 0;
            }
            assertTrue(cut > 0, "top-p cut the distribution at some tokens, so the test exercises the cut");

            // a learner that assumed temperature 1 without cut (the old behaviour) would see weights far from 1
            PpoStep.Padded assumed = PpoStep.Padded.of(withoutSampling(batch), m, TrainingSample.Sampling.plain(1f));
            float[] plain = assumed.spanLogprobs(logits, true).toFloatArray();
            double worst = 0;
            for (int k = 0; k < mask.length; k++) {
                worst = Math.max(worst, mask[k] * Math.abs(Math.exp(plain[k] - behaviour[k]) - 1));
            }
            assertTrue(worst > 0.05, "the check can tell the distributions apart (max |w − 1| = " + worst + ")");

            // the real step consuming the batch: the first epoch's weights and ratios are 1
            Map<String, Double> metrics = trainer.step(batch, 0.05, 3).metrics();
            assertEquals(1.0, metrics.get("val/is_weight_avg"), 1e-5);
            assertEquals(1.0, metrics.get("val/ratio"), 1e-5);
            assertEquals(0.0, metrics.get("val/ratio_var"), 1e-10);
            assertEquals(0.0, metrics.get("policy/clipfrac_avg"), 0.0);
        }
    }
}
