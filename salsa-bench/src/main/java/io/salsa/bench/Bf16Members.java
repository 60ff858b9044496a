package io.salsa.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.DType;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Soup members shaped like a hub checkpoint of a Llama-family config, written the way the hub ships them:
 * bfloat16 tensors in {@code model-0000i-of-0000n.safetensors} shards with a {@code model.safetensors.index.json}
 * ({@link CheckpointWriter}), and the shape's {@code config.json}. Values are cheap pseudo-random numbers in
 * [−0.5, 0.5), bf16-exact, different per member.
 */
final class Bf16Members {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    private Bf16Members() {
    }

    /** Tensor names and shapes of {@code config} in checkpoint order (the model is built empty once, then closed). */
    static Map<String, long[]> tensors(ObjectNode config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        try (LlamaModel m = LlamaModel.create(LlamaConfig.fromJson(config), GptModel.Head.NONE, ai.djl.Device.cpu())) {
            m.parameters().forEach((name, p) -> out.put(name, p.getArray().getShape().getShape()));
        }
        return out;
    }

    /** Writes one member folder; returns the bytes of its weights. */
    static long write(Path dir, ObjectNode shapeConfig, Map<String, long[]> tensors, long shardBytes, int seed)
            throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = shapeConfig.deepCopy();
        config.put("torch_dtype", "bfloat16");
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        CheckpointWriter.Layout layout = CheckpointWriter.Layout.greedy(tensors, DType.BF16, shardBytes);
        int[] state = {0x9E3779B9 * (seed + 1)};
        float[] chunk = new float[CHUNK];
        CheckpointWriter.write(dir, layout, SafeTensorsWriter.PT_METADATA, null, false, (w, specs) -> {
            for (TensorSpec t : specs) {
                long n = t.numel();
                for (long from = 0; from < n; from += chunk.length) {
                    int len = (int) Math.min(chunk.length, n - from);
                    for (int i = 0; i < len; i++) {
                        state[0] = state[0] * 1664525 + 1013904223;
                        float v = (state[0] >> 8) * 0x1p-24f;
                        chunk[i] = Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xffff0000); // bf16-exact
                    }
                    w.write(t.name(), from, chunk, 0, len);
                }
            }
        });
        return layout.totalBytes();
    }
}
