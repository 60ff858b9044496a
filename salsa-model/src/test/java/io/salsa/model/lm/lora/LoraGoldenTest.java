package io.salsa.model.lm.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.GoldenAsserts;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.Npy;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.train.LmLoss;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on the Llama decoder against PEFT's outputs (golden/llama-lora on the golden/llama base): logits with the
 * adapter active, merged, disabled; token log-probs; the gradients of lora_A/lora_B of layer 0's q_proj with the base
 * frozen; a save/load round trip. Rank, alpha and targets come from the adapter's own files.
 */
class LoraGoldenTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path base = GoldenFiles.require("llama");
    private final Path lora = GoldenFiles.require("llama-lora");

    @Test
    void shouldMatchPeftWithTheAdapterActiveDisabledAndMerged() throws Exception {
        JsonNode cfg = JSON.readTree(lora.resolve(LoraConfig.FILE).toFile());
        long[][] ids = Npy.read(lora.resolve("input_ids.npy")).longRows();
        long[][] pos = Npy.read(lora.resolve("position_ids.npy")).longRows();
        Npy mask = Npy.read(lora.resolve("attention_mask.npy"));
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            NDArray idArr = scope.create(ids);
            NDArray maskArr = scope.create(mask.longRows());
            NDArray posArr = scope.create(pos);
            float[] baseLogits = model.run(idArr, maskArr, posArr, null, false).logits().toFloatArray();

            LoraAdapter adapter = LoraAdapter.load(model, lora);
            assertEquals(cfg.get("r").asInt(), adapter.config().r());
            assertEquals(cfg.get("lora_alpha").asDouble(), adapter.config().alpha());
            assertEquals(cfg.get("lora_alpha").asDouble() / cfg.get("r").asInt(), adapter.config().scaling());
            List<String> targets = new ArrayList<>();
            cfg.get("target_modules").forEach(t -> targets.add(t.asText()));
            assertEquals(targets, adapter.config().targetModules());
            assertEquals(model.numLayers() * targets.size(), adapter.adaptedWeights().size(),
                    "every target module of every layer is adapted");
            try (SafeTensors st = SafeTensors.open(lora.resolve(LoraAdapter.WEIGHTS_FILE))) {
                assertEquals(new TreeSet<>(st.tensors().keySet()), new TreeSet<>(adapter.parameters().keySet()),
                        "PEFT's keys");
            }

            float[] active = model.run(idArr, maskArr, posArr, null, false).logits().toFloatArray();
            GoldenAsserts.assertMaskedClose("logits with the adapter", Npy.read(lora.resolve("logits_adapter.npy")).floats(),
                    active, mask.longs());
            assertNotEquals(baseLogits[0], active[0], "the adapter changes the output");
            float[] lp = model.tokenLogProbs(idArr, maskArr).toFloatArray();
            float[] refLp = Npy.read(lora.resolve("token_logprobs_adapter.npy")).floats();
            assertEquals(refLp.length, lp.length);
            int t = ids[0].length;
            int compared = 0;
            for (int i = 0; i < lp.length; i++) {
                int row = i / (t - 1);
                int col = i % (t - 1);
                if (mask.longs()[row * t + col + 1] == 1) {
                    assertEquals(refLp[i], lp[i], GoldenAsserts.TOL, "token log-prob " + i + " with the adapter");
                    compared++;
                }
            }
            assertTrue(compared > 0);

            adapter.setEnabled(false);
            float[] disabled = model.run(idArr, maskArr, posArr, null, false).logits().toFloatArray();
            assertArrayEquals(baseLogits, disabled, "disabled = exactly the base");
            GoldenAsserts.assertMaskedClose("logits disabled", Npy.read(lora.resolve("logits_disabled.npy")).floats(),
                    disabled, mask.longs());
            GoldenAsserts.assertMaskedClose("disabled vs base golden", Npy.read(base.resolve("logits.npy")).floats(),
                    disabled, mask.longs());

            adapter.setEnabled(true);
            adapter.merge();
            float[] merged = model.run(idArr, maskArr, posArr, null, false).logits().toFloatArray();
            GoldenAsserts.assertMaskedClose("merged vs active", active, merged, mask.longs());
            GoldenAsserts.assertMaskedClose("merged vs PEFT merge_and_unload",
                    Npy.read(lora.resolve("logits_merged.npy")).floats(), merged, mask.longs());
        }
    }

    @Test
    void shouldMatchPeftGradientsOfLoraAAndBWithTheBaseFrozen() throws Exception {
        JsonNode summary = JSON.readTree(GoldenFiles.require("summary_llm.json").toFile()).get("models").get("llama-lora");
        long[][] ids = Npy.read(lora.resolve("input_ids.npy")).longRows();
        long[][] mask = Npy.read(lora.resolve("attention_mask.npy")).longRows();
        float[][] lossMask = new float[ids.length][ids[0].length - 1]; // mean over (b, t) with mask[b, t+1] == 1
        for (int b = 0; b < ids.length; b++) {
            for (int t = 0; t + 1 < ids[0].length; t++) {
                lossMask[b][t] = mask[b][t + 1];
            }
        }
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu()); NDManager scope = model.newScope();
             LoraAdapter adapter = LoraAdapter.load(model, lora)) {
            model.setTrainable(false);
            adapter.setTrainable(true);
            NDArray idArr = scope.create(ids);
            NDArray maskArr = scope.create(mask);
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = LmLoss.maskedMean(model.tokenLogProbs(idArr, maskArr).neg(), scope.create(lossMask));
                loss = l.getFloat();
                gc.backward(l);
            }
            assertEquals(summary.get("loss_mean_next_token_ce_adapter").asDouble(), loss, GoldenAsserts.TOL);
            String a = summary.get("grad_lora_A_q_proj0").get("param").asText();
            String b = summary.get("grad_lora_B_q_proj0").get("param").asText();
            GoldenAsserts.assertGradClose(a, adapter.parameters().get(a), Npy.read(lora.resolve("grad_lora_A_q_proj0.npy")));
            GoldenAsserts.assertGradClose(b, adapter.parameters().get(b), Npy.read(lora.resolve("grad_lora_B_q_proj0.npy")));
            assertFalse(model.parameters().get("model.layers.0.self_attn.q_proj.weight").getArray().hasGradient(),
                    "the base stays frozen");
        }
    }

    @Test
    void shouldSaveAnAdapterThatLoadsBackBitExactWithPeftsKeysAndConfig(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("adapter");
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu());
             LoraAdapter adapter = LoraAdapter.load(model, lora)) {
            adapter.save(out);
            JsonNode golden = JSON.readTree(lora.resolve(LoraConfig.FILE).toFile());
            JsonNode ours = JSON.readTree(out.resolve(LoraConfig.FILE).toFile());
            for (String field : List.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules",
                    "base_model_name_or_path", "task_type", "bias", "fan_in_fan_out", "use_rslora", "use_dora",
                    "modules_to_save", "layers_to_transform", "rank_pattern", "alpha_pattern")) {
                assertEquals(golden.get(field), ours.get(field), "adapter_config.json field " + field);
            }
            try (SafeTensors g = SafeTensors.open(lora.resolve(LoraAdapter.WEIGHTS_FILE));
                 SafeTensors o = SafeTensors.open(out.resolve(LoraAdapter.WEIGHTS_FILE))) {
                assertEquals(g.tensors().keySet(), o.tensors().keySet());
                for (String key : g.tensors().keySet()) {
                    assertArrayEquals(g.tensors().get(key).shape(), o.tensors().get(key).shape(), key);
                    assertArrayEquals(g.readFloats(key), o.readFloats(key), key);
                }
                assertNull(o.metadata().get(LoraAdapter.BASE_SHA256), "no base hash recorded unless set");
            }
        }
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu());
             LoraAdapter back = LoraAdapter.load(model, out);
             LlamaModel model2 = LlamaModel.load(base, Head.NONE, Device.cpu());
             LoraAdapter orig = LoraAdapter.load(model2, lora)) {
            for (String key : orig.parameters().keySet()) {
                assertArrayEquals(orig.parameters().get(key).getArray().toFloatArray(),
                        back.parameters().get(key).getArray().toFloatArray(), key);
            }
        }
    }
}
