package io.salsa.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.lm.llama.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Soup members shaped like a hub checkpoint of a Llama-family config, written the way the hub ships them:
 * bfloat16 tensors in {@code model-0000i-of-0000n.safetensors} shards with a {@code model.safetensors.index.json},
 * and the shape's {@code config.json}. Values are cheap pseudo-random numbers in [−0.5, 0.5), different per member.
 */
final class Bf16Members {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER_BYTES = 8 << 20;

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
        List<List<String>> shards = new ArrayList<>();
        long inShard = 0;
        long total = 0;
        for (Map.Entry<String, long[]> e : tensors.entrySet()) {
            long bytes = 2 * numel(e.getValue());
            if (shards.isEmpty() || (inShard > 0 && inShard + bytes > shardBytes)) {
                shards.add(new ArrayList<>());
                inShard = 0;
            }
            shards.get(shards.size() - 1).add(e.getKey());
            inShard += bytes;
            total += bytes;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        int[] state = {0x9E3779B9 * (seed + 1)};
        for (int s = 0; s < shards.size(); s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            writeShard(dir.resolve(file), shards.get(s), tensors, state);
            shards.get(s).forEach(name -> weightMap.put(name, file));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        return total;
    }

    private static void writeShard(Path file, List<String> names, Map<String, long[]> tensors, int[] state)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (String name : names) {
            long[] shape = tensors.get(name);
            ObjectNode t = header.putObject(name);
            t.put("dtype", "BF16");
            var dims = t.putArray("shape");
            for (long d : shape) {
                dims.add(d);
            }
            long bytes = 2 * numel(shape);
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            buf.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                buf.put((byte) ' ');
            }
            for (String name : names) {
                for (long n = numel(tensors.get(name)); n > 0; n--) {
                    if (!buf.hasRemaining()) {
                        drain(ch, buf);
                    }
                    state[0] = state[0] * 1664525 + 1013904223;
                    float v = (state[0] >> 8) * 0x1p-24f;
                    buf.putShort((short) (Float.floatToRawIntBits(v) >>> 16)); // bf16: the high half (truncated)
                }
            }
            drain(ch, buf);
        }
    }

    private static void drain(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
        buf.clear();
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
