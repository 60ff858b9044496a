package io.salsa.model.lm.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.Npy;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.Gradients;
import io.salsa.model.train.SftBatch;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Loading, saving and refusing Llama-family folders: what transformers reads, and clear errors for bad input. */
class LlamaModelIoTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void shouldRoundTripSaveAndLoadBitExactly(String name, @TempDir Path tmp) throws Exception {
        Path dir = GoldenFiles.require(name);
        try (LlamaModel model = LlamaModel.load(dir, Head.NONE, Device.cpu())) {
            Path out = tmp.resolve("saved");
            model.save(out);
            assertTrue(Files.isRegularFile(out.resolve(Checkpoint.SINGLE)));
            assertFalse(Files.exists(out.resolve(Checkpoint.INDEX)));
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertTrue(config.has("rope_parameters") && config.has("dtype"), "transformers 5 layout: " + config);
            assertEquals(model.config(), LlamaConfig.load(out), "the written config reads back to the same config");
            try (SafeTensors st = SafeTensors.open(out.resolve(Checkpoint.SINGLE));
                 SafeTensors original = SafeTensors.open(dir.resolve(Checkpoint.SINGLE))) {
                assertEquals(original.tensors().keySet(), st.tensors().keySet(),
                        "the same tensor names as save_pretrained (tied models: no lm_head.weight)");
                assertEquals(model.config().tieWordEmbeddings(), !st.contains(LlamaModel.LM_HEAD));
            }
            try (LlamaModel back = LlamaModel.load(out, Head.NONE, Device.cpu())) {
                assertSameWeights(model, back);
            }
            Path sharded = tmp.resolve("sharded");
            model.save(sharded, 64 * 1024);
            assertTrue(Files.isRegularFile(sharded.resolve(Checkpoint.INDEX)));
            assertFalse(Files.exists(sharded.resolve(Checkpoint.SINGLE)));
            try (Stream<Path> files = Files.list(sharded)) {
                assertTrue(files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 1);
            }
            try (LlamaModel back = LlamaModel.load(sharded, Head.NONE, Device.cpu())) {
                assertSameWeights(model, back);
            }
        }
    }

    @Test
    void shouldSaveARewardModelAsASequenceClassifier(@TempDir Path tmp) throws Exception {
        Path dir = GoldenFiles.require("llama-reward");
        Npy ids = Npy.read(dir.resolve("input_ids.npy"));
        Npy mask = Npy.read(dir.resolve("attention_mask.npy"));
        try (LlamaModel model = LlamaModel.load(dir, Head.SCORE, Device.cpu())) {
            model.save(tmp);
            JsonNode config = JSON.readTree(tmp.resolve("config.json").toFile());
            assertEquals("LlamaForSequenceClassification", config.get("architectures").get(0).asText());
            assertEquals(1, config.get("id2label").size(), "num_labels 1");
            try (SafeTensors st = SafeTensors.open(tmp.resolve(Checkpoint.SINGLE))) {
                assertTrue(st.contains(GptModel.SCORE_WEIGHT));
                assertFalse(st.contains(LlamaModel.LM_HEAD), "a sequence classifier has no LM head");
            }
            try (LlamaModel back = LlamaModel.load(tmp, Head.SCORE, Device.cpu()); NDManager scope = back.newScope()) {
                assertSameWeights(model, back);
                float[] r = back.scores(scope.create(ids.longRows()), scope.create(mask.longRows())).toFloatArray();
                assertArrayEquals(Npy.read(dir.resolve("rewards.npy")).floats(), r, 1e-4f);
            }
        }
    }

    @Test
    void shouldStartAMissingHeadFromTheDocumentedSeed() throws Exception {
        Path dir = GoldenFiles.require("llama");
        try (LlamaModel a = LlamaModel.load(dir, Head.VALUE, Device.cpu());
             LlamaModel b = LlamaModel.load(dir, Head.VALUE, Device.cpu());
             LlamaModel rm = LlamaModel.load(dir, Head.SCORE, Device.cpu())) {
            float[] w = a.weights(GptModel.VALUE_WEIGHT);
            assertArrayEquals(w, b.weights(GptModel.VALUE_WEIGHT));
            assertTrue(Math.abs(w[0]) > 0 && Math.abs(w[0]) < 0.2, "N(0, 0.02) start");
            assertArrayEquals(new float[] {0f}, a.weights(GptModel.VALUE_BIAS));
            assertEquals(a.hiddenSize(), rm.weights(GptModel.SCORE_WEIGHT).length);
            try (NDManager scope = a.newScope()) {
                NDArray ids = scope.create(Npy.read(dir.resolve("input_ids.npy")).longRows());
                assertEquals(2, a.run(ids, null).values().getShape().dimension(), "values [B, T]");
            }
        }
    }

    @Test
    void shouldTrainThroughTheSharedSftStep() throws Exception {
        Path dir = GoldenFiles.require("gemma");
        long[] ids = Npy.read(dir.resolve("input_ids.npy")).longRows()[0];
        int[] tokens = java.util.Arrays.stream(ids).mapToInt(x -> (int) x).toArray();
        List<SftData.Sequence> seqs = List.of(new SftData.Sequence(tokens, 4));
        try (LlamaModel model = LlamaModel.load(dir, Head.NONE, Device.cpu())) {
            double before = SftTrainer.evalLoss(model, seqs, 1);
            model.setTrainable(true);
            try (AdamW opt = AdamW.withDefaults(model.parameters(), 0.0)) {
                for (int step = 0; step < 5; step++) {
                    SftTrainer.trainStep(model, SftBatch.of(seqs, model.padTokenId()));
                    opt.step(1e-3);
                    Gradients.zero(model.parameters().values());
                }
            }
            model.setTrainable(false);
            double after = SftTrainer.evalLoss(model, seqs, 1);
            assertTrue(after < before - 0.1, "five AdamW steps on one sequence lower its loss: " + before + " -> " + after);
        }
    }

    @Test
    void shouldLoadGpt2ThroughTheSameFactory() throws Exception {
        Path dir = GoldenFiles.require("tiny");
        try (CausalLm lm = CausalLms.load(dir, Head.NONE, Device.cpu()); GptModel gpt = GptModel.load(dir, Head.NONE, Device.cpu());
             NDManager scope = lm.newScope()) {
            assertInstanceOf(GptModel.class, lm);
            NDArray ids = scope.create(Npy.read(dir.resolve("input_ids.npy")).longRows());
            NDArray mask = scope.create(Npy.read(dir.resolve("attention_mask.npy")).longRows());
            assertArrayEquals(gpt.forward(ids, mask).logits().toFloatArray(), lm.run(ids, mask).logits().toFloatArray());
        }
    }

    @Test
    void shouldRefuseAnUnsupportedModelTypeNamingFieldAndSupportedValues(@TempDir Path tmp) throws Exception {
        Path dir = copyWithConfig(GoldenFiles.require("llama"), tmp, c -> c.put("model_type", "gpt_neox"));
        IOException e = assertThrows(IOException.class, () -> CausalLms.load(dir, Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("model_type") && e.getMessage().contains("gpt_neox")
                && e.getMessage().contains("llama, mistral, qwen2, gemma"), e.getMessage());
    }

    @Test
    void shouldRefuseUnsupportedFieldValuesNamingTheField(@TempDir Path tmp) throws Exception {
        Path llama = GoldenFiles.require("llama");
        Map<String, java.util.function.Consumer<ObjectNode>> edits = Map.of(
                "rope_parameters.rope_type \"yarn\"", c -> ((ObjectNode) c.get("rope_parameters")).put("rope_type", "yarn"),
                "hidden_act \"relu\"", c -> c.put("hidden_act", "relu"),
                "num_key_value_heads must divide", c -> c.put("num_key_value_heads", 3),
                "dtype \"int8\"", c -> c.put("dtype", "int8"),
                "rope_parameters.factor", c -> ((ObjectNode) c.get("rope_parameters")).put("rope_type", "llama3"));
        int i = 0;
        for (Map.Entry<String, java.util.function.Consumer<ObjectNode>> edit : edits.entrySet()) {
            Path dir = copyWithConfig(llama, tmp.resolve("case" + i++), edit.getValue());
            IOException e = assertThrows(IOException.class, () -> CausalLms.load(dir, Head.NONE, Device.cpu()));
            assertTrue(e.getMessage().contains(edit.getKey()) && e.getMessage().contains("config.json"),
                    "expected '" + edit.getKey() + "' in: " + e.getMessage());
        }
        Path v4 = copyWithConfig(llama, tmp.resolve("v4"), c -> {
            c.remove("rope_parameters");
            c.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0);
        });
        IOException e = assertThrows(IOException.class, () -> CausalLms.load(v4, Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("rope_scaling.rope_type \"dynamic\""), e.getMessage());
    }

    @Test
    void shouldRefuseAShapeThatDisagreesWithTheConfig(@TempDir Path tmp) throws Exception {
        Path dir = copyWithConfig(GoldenFiles.require("llama"), tmp, c -> c.put("intermediate_size", 96));
        IOException e = assertThrows(IOException.class, () -> CausalLms.load(dir, Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("mlp.")
                && e.getMessage().contains("the config needs"), e.getMessage());
    }

    @Test
    void shouldRefuseAMissingShardNamingItAndATensor(@TempDir Path tmp) throws Exception {
        Path dir = copyFolder(GoldenFiles.require("llama/bf16-sharded"), tmp);
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> CausalLms.load(dir, Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors") && e.getMessage().contains("lm_head.weight"),
                e.getMessage());
    }

    @Test
    void shouldRefuseATensorMissingFromTheIndexOrFromItsShard(@TempDir Path tmp) throws Exception {
        Path dir = copyFolder(GoldenFiles.require("llama/bf16-sharded"), tmp.resolve("a"));
        ObjectNode index = (ObjectNode) JSON.readTree(dir.resolve(Checkpoint.INDEX).toFile());
        ((ObjectNode) index.get("weight_map")).remove("model.norm.weight");
        JSON.writeValue(dir.resolve(Checkpoint.INDEX).toFile(), index);
        IOException e = assertThrows(IOException.class, () -> CausalLms.load(dir, Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains(Checkpoint.INDEX) && e.getMessage().contains("missing tensor 'model.norm.weight'"),
                e.getMessage());

        Path moved = copyFolder(GoldenFiles.require("llama/bf16-sharded"), tmp.resolve("b"));
        ObjectNode index2 = (ObjectNode) JSON.readTree(moved.resolve(Checkpoint.INDEX).toFile());
        ((ObjectNode) index2.get("weight_map")).put("lm_head.weight", "model-00001-of-00002.safetensors");
        JSON.writeValue(moved.resolve(Checkpoint.INDEX).toFile(), index2);
        IOException e2 = assertThrows(IOException.class, () -> CausalLms.load(moved, Head.NONE, Device.cpu()));
        assertTrue(e2.getMessage().contains("model-00001-of-00002.safetensors") && e2.getMessage().contains("'lm_head.weight'"),
                e2.getMessage());
    }

    @Test
    void shouldRefuseAnUntiedModelWithoutItsLmHead(@TempDir Path tmp) throws Exception {
        // the reward checkpoint has no lm_head.weight: as a language model it is incomplete
        IOException e = assertThrows(IOException.class,
                () -> CausalLms.load(GoldenFiles.require("llama-reward"), Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("missing tensor 'lm_head.weight'"), e.getMessage());
    }

    private static void assertSameWeights(LlamaModel expected, LlamaModel actual) {
        assertEquals(expected.parameters().keySet(), actual.parameters().keySet());
        for (String name : expected.parameters().keySet()) {
            assertArrayEquals(expected.weights(name), actual.weights(name), name + " bit for bit");
        }
    }

    private static Path copyWithConfig(Path from, Path to, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path dir = copyFolder(from, to);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(config);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        return dir;
    }

    private static Path copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (f.getFileName().toString().endsWith(".npy")) {
                    continue;
                }
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

}
