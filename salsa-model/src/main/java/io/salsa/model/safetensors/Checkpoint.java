package io.salsa.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.runtime.blob.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face model folder, whether in one {@code model.safetensors} or sharded through
 * {@code model.safetensors.index.json}, behind one reader, so a loader never cares how a checkpoint was split.
 *
 * <p>Sharded folders are checked when opened: every shard the index names must exist and hold exactly the tensors
 * the index maps to it (a missing shard or a tensor the shard lacks is refused, naming the file and the tensor).
 * Reads convert F16/BF16 to float32 in Java, as {@link SafeTensors} does.
 */
public final class Checkpoint implements AutoCloseable {

    /** The single-file name. */
    public static final String SINGLE = "model.safetensors";
    /** The index of a sharded checkpoint. */
    public static final String INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    private final Map<String, SafeTensors> fileOf;
    private final List<SafeTensors> files;

    private Checkpoint(Path source, Map<String, SafeTensors> fileOf, List<SafeTensors> files) {
        this.source = source;
        this.fileOf = fileOf;
        this.files = files;
    }

    /** Whether {@code dir} holds weights in either layout. */
    public static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(INDEX)) || Files.isRegularFile(dir.resolve(SINGLE));
    }

    /**
     * Opens the weights of a model folder: the index when there is one (it wins, as in {@code transformers}), else
     * {@code model.safetensors}; or a {@code .safetensors} / index file given directly.
     */
    public static Checkpoint open(Path dirOrFile) throws IOException {
        Path index;
        Path single;
        if (Files.isDirectory(dirOrFile)) {
            index = dirOrFile.resolve(INDEX);
            single = dirOrFile.resolve(SINGLE);
        } else if (dirOrFile.getFileName().toString().endsWith(".index.json")) {
            index = dirOrFile;
            single = null;
        } else {
            index = null;
            single = dirOrFile;
        }
        if (index != null && Files.isRegularFile(index)) {
            return openIndex(index);
        }
        if (single == null || !Files.isRegularFile(single)) {
            throw new NoSuchFileException(dirOrFile + " (a model folder needs " + SINGLE + " or " + INDEX + ")");
        }
        SafeTensors st = SafeTensors.open(single);
        Map<String, SafeTensors> fileOf = new LinkedHashMap<>();
        for (String name : st.names()) {
            fileOf.put(name, st);
        }
        return new Checkpoint(single, fileOf, List.of(st));
    }

    private static Checkpoint openIndex(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new SafeTensorsException(index + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafeTensorsException(index + ": no \"weight_map\" object");
        }
        Map<String, List<String>> byShard = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().asText();
            if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("/") || shard.contains("\\")) {
                throw new SafeTensorsException(index + ": tensor '" + e.getKey() + "' maps to " + e.getValue()
                        + ", expected a shard file name in the same folder");
            }
            byShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
        }
        Path dir = index.toAbsolutePath().getParent();
        List<SafeTensors> files = new ArrayList<>();
        Map<String, SafeTensors> fileOf = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                Path shard = dir.resolve(e.getKey());
                if (!Files.isRegularFile(shard)) {
                    throw new NoSuchFileException(shard + " (shard named by " + index + " for tensor '"
                            + e.getValue().get(0) + "'" + (e.getValue().size() > 1 ? " and " + (e.getValue().size() - 1) + " more" : "") + ")");
                }
                SafeTensors st = SafeTensors.open(shard);
                files.add(st);
                for (String name : e.getValue()) {
                    if (!st.contains(name)) {
                        throw new SafeTensorsException(shard + ": no tensor '" + name + "', which " + index + " places there");
                    }
                    fileOf.put(name, st);
                }
            }
        } catch (IOException | RuntimeException ex) {
            for (SafeTensors st : files) {
                st.close();
            }
            throw ex;
        }
        return new Checkpoint(index, fileOf, files);
    }

    /** The file that was opened: {@code model.safetensors} or the index. */
    public Path source() {
        return source;
    }

    /** Every tensor name, single file in file order, sharded in index order. */
    public List<String> names() {
        return List.copyOf(fileOf.keySet());
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    /** The file a tensor lives in (for messages). */
    public Path fileOf(String name) throws SafeTensorsException {
        return file(name).file();
    }

    /** Dtype, shape and byte range of a tensor; refused, naming the source, when absent. */
    public TensorInfo info(String name) throws SafeTensorsException {
        return file(name).info(name);
    }

    /** A tensor's values as float32 in a direct native-order buffer (F16/BF16 widened exactly). */
    public FloatBuffer readFloatBuffer(String name) throws IOException {
        return file(name).readFloatBuffer(name);
    }

    /** As {@link SafeTensors#readDirect(String)}, from whichever shard holds the tensor. */
    public DirectFloats readDirect(String name) throws IOException {
        return file(name).readDirect(name);
    }

    /** A tensor's values as float32. */
    public float[] readFloats(String name) throws IOException {
        return file(name).readFloats(name);
    }

    /**
     * Reads {@code count} elements of {@code name} from element {@code fromElement} into {@code dst[dstOffset..]} as
     * float32, whichever shard holds it (see {@link SafeTensors#readFloats(String, long, float[], int, int)}).
     */
    public void readFloats(String name, long fromElement, float[] dst, int dstOffset, int count) throws IOException {
        file(name).readFloats(name, fromElement, dst, dstOffset, count);
    }

    /**
     * Reads the raw bytes of {@code count} elements of {@code name} into {@code dst} and returns their position in
     * {@link #fileOf} (see {@link SafeTensors#readRaw}).
     */
    public long readRaw(String name, long fromElement, int count, java.nio.ByteBuffer dst) throws IOException {
        return file(name).readRaw(name, fromElement, count, dst);
    }

    /** Every tensor's header entry by name, in name order, across all shards. */
    public Map<String, TensorInfo> tensors() {
        Map<String, TensorInfo> out = new TreeMap<>();
        for (SafeTensors st : files) {
            for (Map.Entry<String, TensorInfo> e : st.tensors().entrySet()) {
                if (fileOf.get(e.getKey()) == st) {
                    out.put(e.getKey(), e.getValue());
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** Bytes of tensor data of every tensor, all shards together. */
    public long dataBytes() {
        long n = 0;
        for (TensorInfo t : tensors().values()) {
            n += t.byteLength();
        }
        return n;
    }

    /** The {@code __metadata__} of the first file (for PyTorch checkpoints {@code {"format": "pt"}}). */
    public Map<String, String> metadata() {
        return files.get(0).metadata();
    }

    /**
     * The identity of a model folder's weights: sha256 of its {@code model.safetensors}, or, for a sharded one, of
     * {@code model.safetensors.index.json} followed by every shard's bytes in file-name order (the index alone names
     * tensors and files, not values: two sharded models of the same shape would share it). SFT cards, soup members'
     * base ids and LoRA adapters' {@code salsa_base_sha256} all use it.
     */
    public static String weightsSha256(Path dir) throws IOException {
        Path single = dir.resolve(SINGLE);
        if (Files.isRegularFile(single)) {
            return Sha256.of(single);
        }
        List<Path> parts = new ArrayList<>();
        try (Checkpoint c = open(dir)) {
            parts.addAll(c.files());
        }
        parts.sort(Comparator.comparing(f -> f.getFileName().toString()));
        parts.add(0, dir.resolve(INDEX));
        MessageDigest digest = Sha256.digest();
        byte[] buffer = new byte[1 << 20];
        for (Path part : parts) {
            try (InputStream in = Files.newInputStream(part)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                }
            }
        }
        return Sha256.hex(digest.digest());
    }

    /** The opened files (one, or one per shard). */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (SafeTensors st : files) {
            out.add(st.file());
        }
        return Collections.unmodifiableList(out);
    }

    private SafeTensors file(String name) throws SafeTensorsException {
        SafeTensors st = fileOf.get(name);
        if (st == null) {
            throw new SafeTensorsException(source + ": no tensor '" + name + "'");
        }
        return st;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafeTensors st : files) {
            try {
                st.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
