package io.salsa.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a model's weights as {@code transformers}' {@code save_pretrained} does: one {@code model.safetensors}
 * when they fit under the shard limit, else {@code model-0000i-of-0000n.safetensors} shards plus
 * {@code model.safetensors.index.json}, so big checkpoints stay loadable by Hugging Face tools. Any dtype the
 * {@link SafeTensorsWriter} writes (F32, F16, BF16); values are supplied as float and narrowed on the way.
 *
 * <p>Shards are filled in the given tensor order, a new one started when the next tensor would pass the limit (a
 * tensor larger than the limit gets a shard of its own); a caller may also give the shards itself ({@link Layout}).
 * Each file is committed atomically; the index is written last, and a stale single file or index of the other
 * layout is removed so the folder has one answer.
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

    /** Writes the data of one shard's tensors, given in file order, into its writer (chunk by chunk if it likes). */
    @FunctionalInterface
    public interface ShardFiller {
        void fill(SafeTensorsWriter writer, List<TensorSpec> tensorsInFileOrder) throws IOException;
    }

    /**
     * Which tensors go to which file, and in which dtype: one shard is the single {@code model.safetensors}, more are
     * {@code model-0000i-of-0000n.safetensors} with an index.
     *
     * @param dtype  element type of every tensor (F32, F16 or BF16)
     * @param shards the tensors of each file; within a file they are stored by name, as safetensors does
     */
    public record Layout(DType dtype, List<List<TensorSpec>> shards) {
        public Layout {
            if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
                throw new IllegalArgumentException("checkpoints are written as F32, F16 or BF16, not " + dtype);
            }
            if (shards.isEmpty()) {
                throw new IllegalArgumentException("a checkpoint needs at least one file");
            }
            List<List<TensorSpec>> sorted = new ArrayList<>();
            for (List<TensorSpec> shard : shards) {
                Map<String, TensorSpec> byName = new TreeMap<>();
                shard.forEach(t -> byName.put(t.name(), t));
                sorted.add(List.copyOf(byName.values()));
            }
            shards = List.copyOf(sorted);
        }

        /** {@code save_pretrained}'s greedy plan: shards filled in {@code tensors}' order up to {@code maxShardBytes}. */
        public static Layout greedy(Map<String, long[]> tensors, DType dtype, long maxShardBytes) {
            if (maxShardBytes <= 0) {
                throw new IllegalArgumentException("max shard size must be positive, got " + maxShardBytes);
            }
            List<List<TensorSpec>> shards = new ArrayList<>();
            List<TensorSpec> current = new ArrayList<>();
            long currentBytes = 0;
            for (Map.Entry<String, long[]> e : tensors.entrySet()) {
                TensorSpec spec = new TensorSpec(e.getKey(), e.getValue());
                long bytes = Math.multiplyExact(spec.numel(), (long) dtype.byteSize());
                if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                    shards.add(current);
                    current = new ArrayList<>();
                    currentBytes = 0;
                }
                current.add(spec);
                currentBytes += bytes;
            }
            shards.add(current);
            return new Layout(dtype, shards);
        }

        /** The file names, in index order. */
        public List<String> fileNames() {
            if (shards.size() == 1) {
                return List.of(Checkpoint.SINGLE);
            }
            List<String> names = new ArrayList<>();
            for (int i = 0; i < shards.size(); i++) {
                names.add(String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size()));
            }
            return names;
        }

        /** Bytes of tensor data in all files ({@code metadata.total_size} of the index). */
        public long totalBytes() {
            long total = 0;
            for (List<TensorSpec> shard : shards) {
                for (TensorSpec t : shard) {
                    total += t.numel() * dtype.byteSize();
                }
            }
            return total;
        }
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
        return write(dir, tensors, DType.F32, source, maxShardBytes);
    }

    /** Writes {@code tensors} (name → shape, in order) into {@code dir} as {@code dtype}, fsync-ed. */
    public static List<Path> write(Path dir, Map<String, long[]> tensors, DType dtype, Source source,
            long maxShardBytes) throws IOException {
        return write(dir, Layout.greedy(tensors, dtype, maxShardBytes), SafeTensorsWriter.PT_METADATA, null, true,
                (w, specs) -> {
                    for (TensorSpec s : specs) {
                        w.write(s.name(), source.values(s.name()));
                    }
                });
    }

    /**
     * Writes the files of {@code layout} into {@code dir}, one after the other, {@code filler} supplying each one's
     * data.
     *
     * @param digest  when not null, fed every byte of the files in index order as they are written (so the hash of
     *                a sharded checkpoint is that of its shards concatenated); the filler must then write in file order
     * @param durable fsync each file before it appears (off only for scratch files)
     * @return the files written (the single file, or the shards followed by the index)
     */
    public static List<Path> write(Path dir, Layout layout, Map<String, String> metadata, MessageDigest digest,
            boolean durable, ShardFiller filler) throws IOException {
        Files.createDirectories(dir);
        List<String> names = layout.fileNames();
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Path file = dir.resolve(names.get(i));
            List<TensorSpec> specs = layout.shards().get(i);
            try (SafeTensorsWriter w = SafeTensorsWriter.create(file, specs, metadata, layout.dtype(), digest)) {
                filler.fill(w, specs);
                if (durable) {
                    w.commit();
                } else {
                    w.commitWithoutSync();
                }
            }
            written.add(file);
        }
        written.addAll(finish(dir, layout));
        return written;
    }

    /**
     * The last step of writing {@code layout} into {@code dir}, for a caller that wrote and committed its files
     * itself (each with {@link SafeTensorsWriter}, named by {@link Layout#fileNames()}): the index when there are
     * shards (written atomically), and the removal of a stale single file or index of the other layout.
     *
     * @return the index written, or nothing for a single file
     */
    public static List<Path> finish(Path dir, Layout layout) throws IOException {
        List<String> names = layout.fileNames();
        if (names.size() == 1) {
            Files.deleteIfExists(dir.resolve(Checkpoint.INDEX));
            return List.of();
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", layout.totalBytes());
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < names.size(); i++) {
            for (TensorSpec s : layout.shards().get(i)) {
                weightMap.put(s.name(), names.get(i));
            }
        }
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
        return List.of(indexFile);
    }
}
