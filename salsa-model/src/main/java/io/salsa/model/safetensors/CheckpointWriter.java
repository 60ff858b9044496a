package io.salsa.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a model's weights as {@code transformers}' {@code save_pretrained} does: one {@code model.safetensors}
 * when they fit under the shard limit, else {@code model-0000i-of-0000n.safetensors} shards plus
 * {@code model.safetensors.index.json}, so big checkpoints stay loadable by Hugging Face tools.
 *
 * <p>Shards are filled in the given tensor order, a new one started when the next tensor would pass the limit (a
 * tensor larger than the limit gets a shard of its own). Each file is committed atomically; the index is written
 * last, and a stale single file or index of the other layout is removed so the folder has one answer.
 */
public final class CheckpointWriter {

    /** transformers' default {@code max_shard_size} ("5GB" = 5·10⁹ bytes). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Supplies one tensor's float32 values when its turn to be written comes. */
    @FunctionalInterface
    public interface Source {
        float[] values(String name) throws IOException;
    }

    private CheckpointWriter() {
    }

    /**
     * Writes {@code tensors} (name → shape, in order) into {@code dir} as F32.
     *
     * @return the files written (the single file, or the shards followed by the index)
     */
    public static List<Path> write(Path dir, Map<String, long[]> tensors, Source source, long maxShardBytes)
            throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("max shard size must be positive, got " + maxShardBytes);
        }
        Files.createDirectories(dir);
        List<List<TensorSpec>> shards = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long currentBytes = 0;
        long total = 0;
        for (Map.Entry<String, long[]> e : tensors.entrySet()) {
            TensorSpec spec = new TensorSpec(e.getKey(), e.getValue());
            long bytes = Math.multiplyExact(spec.numel(), (long) Float.BYTES);
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(spec);
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path file = dir.resolve(Checkpoint.SINGLE);
            writeFile(file, shards.get(0), source);
            Files.deleteIfExists(dir.resolve(Checkpoint.INDEX));
            written.add(file);
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        int n = shards.size();
        for (int i = 0; i < n; i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, n);
            writeFile(dir.resolve(name), shards.get(i), source);
            for (TensorSpec s : shards.get(i)) {
                weightMap.put(s.name(), name);
            }
            written.add(dir.resolve(name));
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Path indexFile = dir.resolve(Checkpoint.INDEX);
        Path temp = Files.createTempFile(dir, "." + Checkpoint.INDEX + ".", ".partial");
        try {
            JSON.writeValue(temp.toFile(), index);
            Files.move(temp, indexFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        Files.deleteIfExists(dir.resolve(Checkpoint.SINGLE));
        written.add(indexFile);
        return written;
    }

    private static void writeFile(Path file, List<TensorSpec> specs, Source source) throws IOException {
        Map<String, TensorSpec> unique = new LinkedHashMap<>();
        for (TensorSpec s : specs) {
            unique.put(s.name(), s);
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(file, unique.values(), SafeTensorsWriter.PT_METADATA)) {
            for (TensorSpec s : unique.values()) {
                w.write(s.name(), source.values(s.name()));
            }
            w.commit();
        }
    }
}
