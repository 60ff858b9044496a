package io.salsa.model.lm.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.Npy;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA behaviour beyond the golden numbers: one copy of the base, fresh adapters, refusals. */
class LoraAdapterTest {

    private final Path base = GoldenFiles.require("llama");

    private static long bytes(NDManager manager) {
        return manager.getManagedArrays().stream().mapToLong(a -> a.size() * a.getDataType().getNumOfBytes()).sum();
    }

    @Test
    void shouldHoldOneCopyOfTheBaseForThePolicyAndItsAdapterDisabledReference() throws Exception {
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu())) {
            Map<Parameter, NDArray> baseArrays = new IdentityHashMap<>();
            model.parameters().values().forEach(p -> baseArrays.put(p, p.getArray()));
            int arraysBefore = model.manager().getManagedArrays().size();
            long bytesBefore = bytes(model.manager());
            long baseBytes = 4 * model.parameterCount();
            assertTrue(bytesBefore >= baseBytes, "the manager holds the base weights");
            long[][] ids = Npy.read(base.resolve("input_ids.npy")).longRows();
            long[][] mask = Npy.read(base.resolve("attention_mask.npy")).longRows();
            float[] baseLogits;
            try (NDManager s = model.newScope()) {
                baseLogits = model.run(s.create(ids), s.create(mask)).logits().toFloatArray();
            }
            try (LoraAdapter policy = LoraAdapter.create(model, LoraConfig.of(8, 16, 0, List.of("q_proj", "v_proj"), null), 3)) {
                int adapted = policy.parameters().size();
                assertEquals(2 * 2 * model.numLayers(), adapted, "A and B of q_proj and v_proj per layer");
                assertEquals(arraysBefore + adapted, model.manager().getManagedArrays().size(),
                        "base + adapter: only A and B arrays were added");
                assertEquals(bytesBefore + 4 * policy.parameterCount(), bytes(model.manager()),
                        "base + adapter: only the adapter's bytes were added, the base is not copied");
                assertTrue(4 * policy.parameterCount() < baseBytes / 10, "the adapter is small next to the base");
                model.parameters().values().forEach(p -> assertSame(baseArrays.get(p), p.getArray(), "same base array"));
                try (NDManager s = model.newScope()) {
                    policy.setEnabled(false); // the reference: the same arrays, adapter off
                    assertArrayEquals(baseLogits, model.run(s.create(ids), s.create(mask)).logits().toFloatArray());
                    policy.setEnabled(true);
                    assertArrayEquals(baseLogits, model.run(s.create(ids), s.create(mask)).logits().toFloatArray(),
                            "a fresh adapter (B = 0) starts exactly at the base");
                }
            }
            assertEquals(arraysBefore, model.manager().getManagedArrays().size(), "closing the adapter frees A and B");
        }
    }

    @Test
    void shouldDrawSeededDropoutMasksInTrainingOnlyAndRepeatThemForTheSameSeed() throws Exception {
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu())) {
            long[][] ids = Npy.read(base.resolve("input_ids.npy")).longRows();
            long[][] mask = Npy.read(base.resolve("attention_mask.npy")).longRows();
            try (LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.of(4, 8, 0.1, List.of("q_proj", "v_proj"),
                    null), 3); NDManager s = model.newScope()) {
                java.util.SplittableRandom r = new java.util.SplittableRandom(5);
                adapter.parameters().forEach((key, p) -> {
                    if (key.contains("lora_B")) { // B != 0, so the adapter's input (and its dropout) shows in the logits
                        float[] b = new float[Math.toIntExact(p.getArray().size())];
                        for (int i = 0; i < b.length; i++) {
                            b[i] = (float) r.nextDouble(-0.5, 0.5);
                        }
                        p.getArray().set(b);
                    }
                });
                float[] eval = model.run(s.create(ids), s.create(mask)).logits().toFloatArray();
                adapter.seedDropout(42);
                assertArrayEquals(eval, model.run(s.create(ids), s.create(mask)).logits().toFloatArray(),
                        "no dropout unless training");
                adapter.setTraining(true);
                adapter.seedDropout(42);
                float[] first = model.run(s.create(ids), s.create(mask)).logits().toFloatArray();
                float[] next = model.run(s.create(ids), s.create(mask)).logits().toFloatArray();
                s.randomUniform(0, 1, new ai.djl.ndarray.types.Shape(1000)); // torch's generator moves on meanwhile
                adapter.seedDropout(42);
                assertArrayEquals(first, model.run(s.create(ids), s.create(mask)).logits().toFloatArray(),
                        "the same seed over the same passes gives the same masks");
                assertArrayEquals(next, model.run(s.create(ids), s.create(mask)).logits().toFloatArray());
                assertTrue(!java.util.Arrays.equals(first, eval), "dropout changed the training pass");
                assertTrue(!java.util.Arrays.equals(first, next), "each pass draws masks of its own");
                adapter.seedDropout(43);
                assertTrue(!java.util.Arrays.equals(first, model.run(s.create(ids), s.create(mask)).logits()
                        .toFloatArray()), "another seed, other masks");
                adapter.setEnabled(false);
                float[] reference = model.run(s.create(ids), s.create(mask)).logits().toFloatArray();
                adapter.setEnabled(true);
                adapter.setTraining(false);
                try (LlamaModel plain = LlamaModel.load(base, Head.NONE, Device.cpu()); NDManager q = plain.newScope()) {
                    assertArrayEquals(plain.run(q.create(ids), q.create(mask)).logits().toFloatArray(), reference,
                            "the adapter-off reference pass has no dropout");
                }
            }
        }
    }

    @Test
    void shouldScaleByAlphaOverSqrtRWithRsLora() {
        assertEquals(32.0 / 16, LoraConfig.of(16, 32, 0, List.of("q_proj"), null).scaling());
        assertEquals(32.0 / 4, new LoraConfig(16, 32, 0, List.of("q_proj"), true, false, null).scaling());
    }

    @Test
    void shouldRefuseUnknownTargetsBadRanksAndAdaptersOfAnotherShape(@TempDir Path tmp) throws Exception {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.of(0, 8, 0, List.of("q_proj"), null)).getMessage().contains("r must be > 0"));
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu())) {
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> LoraAdapter.create(model, LoraConfig.of(4, 8, 0, List.of("c_attn"), null), 1)).getMessage();
            assertTrue(msg.contains("'c_attn'") && msg.contains("q_proj"), msg);

            Path dir = tmp.resolve("a");
            try (LoraAdapter a = LoraAdapter.create(model, LoraConfig.of(4, 8, 0, List.of("q_proj"), "llama"), 1)) {
                a.save(dir);
            }
            String cfg = Files.readString(dir.resolve(LoraConfig.FILE));
            Files.writeString(dir.resolve(LoraConfig.FILE), cfg.replace("\"r\" : 4", "\"r\" : -1"));
            msg = assertThrows(IOException.class, () -> LoraAdapter.load(model, dir)).getMessage();
            assertTrue(msg.contains(LoraConfig.FILE) && msg.contains("'r'"), msg);
            Files.writeString(dir.resolve(LoraConfig.FILE), cfg.replace("\"r\" : 4", "\"r\" : 2"));
            msg = assertThrows(IOException.class, () -> LoraAdapter.load(model, dir)).getMessage();
            assertTrue(msg.contains(LoraAdapter.WEIGHTS_FILE) && msg.contains("lora_A.weight") && msg.contains("r=2"), msg);
            Files.writeString(dir.resolve(LoraConfig.FILE), cfg.replace("\"q_proj\"", "\"qq_proj\""));
            msg = assertThrows(IOException.class, () -> LoraAdapter.load(model, dir)).getMessage();
            assertTrue(msg.contains("'qq_proj'"), msg);
            assertEquals(0, model.parameters().values().stream().filter(p -> p.getArray().isReleased()).count(),
                    "a refused load leaves the base intact");
        }
    }
}
