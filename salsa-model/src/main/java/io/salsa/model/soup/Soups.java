package io.salsa.model.soup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.DType;
import io.salsa.model.safetensors.Halfs;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorInfo;
import io.salsa.model.safetensors.TensorSpec;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Model soups: the weighted average θ = Σ w_k θ_k of checkpoints fine-tuned from one base, the KL reference of
 * SALSA. Shared by {@code salsa soup} and the soup-builder service.
 *
 * <p>The average streams tensor by tensor and chunk by chunk, in the soup's file order (laid out like the first
 * member): every member's chunk is read with one large positional read (F16/BF16 converted on the way) and
 * accumulated, its raw bytes go on to the member's sha256 on a hashing thread ({@link MemberReads}), and the averaged
 * chunk, narrowed to the soup's dtype, to a writer thread that hashes and writes it and commits each file in turn
 * (bf16 members into a bf16 soup skip the float arrays: {@link Bf16Average}). Each member is thus read once, and the
 * soup is never read back. Memory stays far below one model whatever its size. Positional reads measured at least as fast as
 * memory-mapping here, without leaving unmapping to the GC.
 *
 * <p>Arithmetic is float32 in member order — {@code s = w_1·x_1}, then {@code s += w_k·x_k} — with
 * {@code w_k = (float)(weight_k / Σ weight)}, rounded once (to nearest even) to the storage dtype: the members'
 * shared one by default ({@link SoupConfig#dtype()}). A uniform soup of two float32 members is therefore exactly
 * the element-wise float mean {@code (a + b) / 2}. Members must agree on the architecture fields
 * of {@code config.json} and on every tensor's name, dtype and shape; the first disagreement is reported.
 */
public final class Soups {

    private static final Logger LOG = LoggerFactory.getLogger(Soups.class);
    /** File names of a Hugging Face model folder. */
    public static final String MODEL_FILE = "model.safetensors";
    public static final String CONFIG_FILE = "config.json";
    public static final String CARD_FILE = "card.json";
    /** Files copied from the first member: they describe the architecture and tokenizer, identical in all members. */
    static final List<String> COPIED_FILES = List.of(CONFIG_FILE, "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "chat_template.jinja");
    /** config.json fields that change the shapes or the function of the network, for GPT-2 and in general. */
    static final List<String> ARCHITECTURE_FIELDS = List.of("model_type", "architectures", "vocab_size", "n_positions",
            "n_ctx", "n_embd", "n_layer", "n_head", "n_inner", "activation_function", "layer_norm_epsilon",
            "tie_word_embeddings", "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
            "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings",
            "hidden_act", "num_labels");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Soups() {
    }

    /**
     * A checkpoint folder and its (unnormalised) weight.
     *
     * @param dir    folder with {@code model.safetensors} and {@code config.json}
     * @param weight positive, finite; weights are normalised to sum to 1
     */
    public record Member(Path dir, double weight) {
        public Member {
            Objects.requireNonNull(dir, "dir");
            if (!(weight > 0) || Double.isInfinite(weight)) {
                throw new IllegalArgumentException("member " + dir + ": weight must be a positive finite number, got "
                        + weight);
            }
        }

        /** A member of a uniform soup. */
        public static Member of(Path dir) {
            return new Member(dir, 1.0);
        }

        /** Parses {@code DIR} or {@code DIR=WEIGHT} (the last {@code =} followed by a number is the weight). */
        public static Member parse(String spec) {
            int eq = spec.lastIndexOf('=');
            if (eq > 0) {
                String w = spec.substring(eq + 1).trim();
                try {
                    return new Member(Path.of(spec.substring(0, eq)), Double.parseDouble(w));
                } catch (NumberFormatException e) {
                    if (w.matches("[-+0-9.eE]+")) {
                        throw new IllegalArgumentException("member " + spec + ": weight '" + w + "' is not a number");
                    }
                }
            }
            return of(Path.of(spec));
        }
    }

    /**
     * What a soup build did.
     *
     * @param dir           the soup's folder
     * @param method        {@code uniform}, {@code weighted} or {@code greedy}
     * @param members       members with normalised weights
     * @param memberSha256  sha256 of each member's weights: of {@code model.safetensors}, or of its shards' bytes
     *                      concatenated in index order (empty strings when hashing is off)
     * @param sha256        sha256 of the soup's weights, the same way (empty when hashing is off)
     * @param tensors       tensors averaged
     * @param parameters    elements per model
     * @param bytesRead     weight bytes read from all members
     * @param averagingNanos time of the averaging pass: reading, averaging, writing and hashing the soup, and committing
     *                      its files (with their fsync when durable)
     * @param dtype         the soup's storage dtype (F32, BF16 or F16)
     */
    public record Result(Path dir, String method, List<Member> members, List<String> memberSha256, String sha256,
            int tensors, long parameters, long bytesRead, long averagingNanos, DType dtype) {

        /** Weight bytes read per second during the averaging pass. */
        public double readBytesPerSecond() {
            return bytesRead / (averagingNanos / 1e9);
        }
    }

    /** Builds a soup of {@code members} (weights normalised) into {@code outDir} with default settings. */
    public static Result build(List<Member> members, Path outDir) throws IOException {
        return build(members, outDir, SoupConfig.defaults());
    }

    /** Builds a soup of {@code members} into {@code outDir}. */
    public static Result build(List<Member> members, Path outDir, SoupConfig config) throws IOException {
        String method = members.stream().mapToDouble(Member::weight).distinct().count() <= 1 ? "uniform" : "weighted";
        return build(members, outDir, config, method, card -> { });
    }

    static Result build(List<Member> members, Path outDir, SoupConfig config, String method,
            Consumer<ObjectNode> cardExtras) throws IOException {
        long start = System.nanoTime();
        if (members.isEmpty()) {
            throw new SoupException("a soup needs at least one member");
        }
        Path out = outDir.toAbsolutePath().normalize();
        for (Member m : members) {
            if (m.dir().toAbsolutePath().normalize().equals(out)) {
                throw new SoupException("--out " + outDir + " is also member " + m.dir() + "; write the soup elsewhere");
            }
        }
        double sum = members.stream().mapToDouble(Member::weight).sum();
        List<Member> normalised = members.stream().map(m -> new Member(m.dir(), m.weight() / sum)).toList();
        float[] weights = new float[members.size()];
        for (int k = 0; k < weights.length; k++) {
            weights[k] = (float) normalised.get(k).weight();
        }

        List<Checkpoint> readers = new ArrayList<>();
        try {
            List<JsonNode> configs = new ArrayList<>();
            for (Member m : members) {
                configs.add(readConfig(m.dir()));
                readers.add(openModel(m.dir()));
            }
            checkCompatible(members, configs, readers);

            DType dtype = outputDtype(config.dtype(), readers);
            Map<String, TensorInfo> tensors = readers.get(0).tensors();
            CheckpointWriter.Layout layout = layoutOf(readers.get(0), dtype);
            long parameters = tensors.values().stream().mapToLong(TensorInfo::numel).sum();
            long totalBytes = readers.stream().mapToLong(Checkpoint::dataBytes).sum();
            Progress progress = new Progress(totalBytes);
            Map<String, String> metadata = readers.get(0).metadata().isEmpty() ? SafeTensorsWriter.PT_METADATA
                    : readers.get(0).metadata();
            MessageDigest outDigest = config.hashFiles() ? Sha256.digest() : null;
            long bytesRead = 0;
            long averagingNanos;
            List<String> memberHashes;
            try (MemberReads reads = new MemberReads(readers, config.hashFiles(), config.chunkElements())) {
                float[] scratch = new float[config.chunkElements()];
                float[] acc = new float[config.chunkElements()];
                Files.createDirectories(outDir);
                List<String> names = layout.fileNames();
                long t0 = System.nanoTime();
                // the writer thread opens, fills and commits the files in order: a shard's fsync overlaps the reading
                // and averaging of the next one
                try (ChunkWriter chunks = new ChunkWriter(dtype, config.chunkElements(), config.durable(), outDigest)) {
                    for (int i = 0; i < names.size(); i++) {
                        List<TensorSpec> specs = layout.shards().get(i);
                        chunks.open(outDir.resolve(names.get(i)), specs, metadata);
                        for (TensorSpec t : specs) {
                            bytesRead += average(t.name(), t.numel(), reads, weights, chunks, acc, scratch, progress);
                        }
                        chunks.commit();
                    }
                    chunks.finish();
                }
                averagingNanos = System.nanoTime() - t0;
                CheckpointWriter.finish(outDir, layout);
                memberHashes = reads.finish();
            }
            for (String f : COPIED_FILES) {
                Path src = members.get(0).dir().resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            markDtype(outDir.resolve(CONFIG_FILE), dtype);
            String sha = outDigest == null ? "" : Sha256.hex(outDigest.digest());
            Result result = new Result(outDir, method, normalised, memberHashes, sha, tensors.size(), parameters,
                    bytesRead, averagingNanos, dtype);
            writeCard(result, cardExtras);
            LOG.info("soup {} of {} members: {} tensors, {} parameters, {} MB read, averaged, written and committed in {} "
                    + "ms ({} MB/s read), stored as {}; {} ms in all (with opening, members' last hashes, card)", method,
                    members.size(), tensors.size(), parameters, String.format("%.1f", bytesRead / 1e6),
                    averagingNanos / 1_000_000,
                    Math.round(result.readBytesPerSecond() / 1e6), dtype, (System.nanoTime() - start) / 1_000_000);
            return result;
        } finally {
            for (Checkpoint r : readers) {
                r.close();
            }
        }
    }

    /**
     * The storage dtype: the requested one, or under {@code auto} the one every tensor of every member shares when
     * it is F32, F16 or BF16, else F32.
     */
    static DType outputDtype(SoupConfig.OutputDtype requested, List<Checkpoint> readers) {
        if (requested.dtype() != null) {
            return requested.dtype();
        }
        Set<DType> seen = EnumSet.noneOf(DType.class);
        for (Checkpoint r : readers) {
            r.tensors().values().forEach(t -> seen.add(t.dtype()));
        }
        DType only = seen.size() == 1 ? seen.iterator().next() : DType.F32;
        return only == DType.BF16 || only == DType.F16 ? only : DType.F32;
    }

    /**
     * The soup's files follow the first member's: one {@code model.safetensors}, or as many shards holding the same
     * tensors. Writing the soup in file order then reads the members in file order too (when they are laid out
     * alike), which is what lets each member be hashed by the pass that averages it.
     */
    private static CheckpointWriter.Layout layoutOf(Checkpoint first, DType dtype) throws IOException {
        Map<Path, List<TensorSpec>> byFile = new LinkedHashMap<>();
        for (Path f : first.files()) {
            byFile.put(f, new ArrayList<>());
        }
        for (TensorInfo t : first.tensors().values()) {
            byFile.get(first.fileOf(t.name())).add(new TensorSpec(t.name(), t.shape()));
        }
        return new CheckpointWriter.Layout(dtype, byFile.values().stream().filter(l -> !l.isEmpty()).toList());
    }

    /** Averages one tensor chunk by chunk; returns the bytes read from all members. */
    private static long average(String name, long n, MemberReads reads, float[] weights, ChunkWriter writer,
            float[] acc, float[] scratch, Progress progress) throws IOException {
        int k = weights.length;
        if (writer.dtype() == DType.BF16 && Bf16Average.VECTOR && allBf16(name, reads, k)) {
            return averageBf16(name, n, reads, weights, writer, scratch.length, progress);
        }
        long bytes = 0;
        for (long from = 0; from < n; from += scratch.length) {
            int len = (int) Math.min(scratch.length, n - from);
            for (int m = 0; m < k; m++) {
                // one positional read of len elements into a direct buffer, converted in one loop; the same bytes
                // then go to the member's hash on another thread
                long b = reads.read(m, name, from, scratch, len);
                if (m == 0) {
                    scale(acc, scratch, weights[0], len);
                } else {
                    accumulate(acc, scratch, weights[m], len);
                }
                bytes += b;
                progress.add(b);
            }
            writer.submit(name, from, acc, len);
        }
        return bytes;
    }

    private static boolean allBf16(String name, MemberReads reads, int k) throws IOException {
        for (int m = 0; m < k; m++) {
            if (reads.dtype(m, name) != DType.BF16) {
                return false;
            }
        }
        return true;
    }

    /**
     * The bf16 → bf16 case on SIMD registers ({@link Bf16Average}): every member's raw chunk is averaged straight
     * into the writer's buffer, then handed to its hash; the same bytes as the float path.
     */
    private static long averageBf16(String name, long n, MemberReads reads, float[] weights, ChunkWriter writer,
            int chunk, Progress progress) throws IOException {
        int k = weights.length;
        MemberReads.Raw[] raws = new MemberReads.Raw[k];
        ByteBuffer[] in = new ByteBuffer[k];
        long bytes = 0;
        for (long from = 0; from < n; from += chunk) {
            int len = (int) Math.min(chunk, n - from);
            for (int m = 0; m < k; m++) {
                raws[m] = reads.readRaw(m, name, from, len);
                in[m] = raws[m].bytes();
            }
            ByteBuffer out = writer.buffer();
            Bf16Average.average(in, weights, out, len);
            out.limit(2 * len);
            for (int m = 0; m < k; m++) {
                long b = in[m].remaining();
                reads.release(m, raws[m]);
                bytes += b;
                progress.add(b);
            }
            writer.submitEncoded(name, from, out);
        }
        return bytes;
    }

    // two tight loops over primitive arrays that the JIT vectorises; no per-element calls
    private static void scale(float[] acc, float[] x, float w, int len) {
        for (int i = 0; i < len; i++) {
            acc[i] = w * x[i];
        }
    }

    private static void accumulate(float[] acc, float[] x, float w, int len) {
        for (int i = 0; i < len; i++) {
            acc[i] += w * x[i];
        }
    }

    private static JsonNode readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "soup member folder not found");
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "soup member has no " + CONFIG_FILE);
        }
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new SoupException(file + ": expected a JSON object");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SoupException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** A member's weights, single-file or sharded ({@code model.safetensors.index.json}). */
    private static Checkpoint openModel(Path dir) throws IOException {
        if (!Checkpoint.present(dir)) {
            throw new NoSuchFileException(dir.resolve(MODEL_FILE).toString(), null, "soup member has no " + MODEL_FILE
                    + " (nor a sharded " + Checkpoint.INDEX + ")");
        }
        return Checkpoint.open(dir);
    }

    /**
     * Makes the soup's config say the dtype it is stored in, as transformers reads it: {@code torch_dtype} (4.x) and
     * {@code dtype} (5.x) where present; when neither is and the soup is not float32, {@code torch_dtype} is added.
     */
    private static void markDtype(Path config, DType dtype) throws IOException {
        if (!Files.isRegularFile(config)) {
            return;
        }
        JsonNode root = JSON.readTree(config.toFile());
        if (!(root instanceof ObjectNode o)) {
            return;
        }
        String name = SoupConfig.OutputDtype.torchName(dtype);
        boolean changed = false;
        for (String field : List.of("torch_dtype", "dtype")) {
            if (o.hasNonNull(field) && !name.equals(o.get(field).asText())) {
                o.put(field, name);
                changed = true;
            }
        }
        if (!o.hasNonNull("torch_dtype") && !o.hasNonNull("dtype") && dtype != DType.F32) {
            o.put("torch_dtype", name);
            changed = true;
        }
        if (changed) {
            Files.writeString(config, JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o) + "\n");
        }
    }

    /**
     * The fields that change shapes or maths of a Llama-family model, by their {@code config.json} names, read
     * through {@link LlamaConfig} so both config layouts (4.x {@code rope_theta}/{@code rope_scaling}, 5.x
     * {@code rope_parameters}) and the family defaults compare as what they mean.
     */
    private static Map<String, Object> llamaArchitecture(LlamaConfig c) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("model_type", c.modelType());
        f.put("vocab_size", c.vocabSize());
        f.put("hidden_size", c.hiddenSize());
        f.put("intermediate_size", c.intermediateSize());
        f.put("num_hidden_layers", c.numLayers());
        f.put("num_attention_heads", c.numHeads());
        f.put("num_key_value_heads", c.numKvHeads());
        f.put("head_dim", c.headDim());
        f.put("max_position_embeddings", c.maxPositions());
        f.put("rms_norm_eps", c.rmsNormEps());
        f.put("rope_theta", c.ropeTheta());
        f.put("rope_scaling", c.ropeScaling());
        f.put("hidden_act", c.hiddenAct());
        f.put("attention_bias (q/k/v)", c.qkvBias());
        f.put("attention_bias (o_proj)", c.outputBias());
        f.put("mlp_bias", c.mlpBias());
        f.put("tie_word_embeddings", c.tieWordEmbeddings());
        f.put("sliding_window / layer_types", c.layerWindows());
        return f;
    }

    private static Map<String, Object> llamaArchitecture(Member m, JsonNode config) throws SoupException {
        try {
            return llamaArchitecture(LlamaConfig.fromJson(config));
        } catch (IllegalArgumentException e) {
            throw new SoupException(m.dir().resolve(CONFIG_FILE) + ": " + e.getMessage(), e);
        }
    }

    /** Reports the first difference of any member from the first one. */
    static void checkCompatible(List<Member> members, List<JsonNode> configs, List<Checkpoint> readers)
            throws SoupException {
        String first = "member 1 (" + members.get(0).dir() + ")";
        Map<String, TensorInfo> reference = readers.get(0).tensors();
        JsonNode firstType = configs.get(0).get("model_type");
        boolean llama = firstType != null && LlamaModel.MODEL_TYPES.contains(firstType.asText());
        Map<String, Object> firstLlama = llama ? llamaArchitecture(members.get(0), configs.get(0)) : null;
        for (int k = 1; k < members.size(); k++) {
            String other = "member " + (k + 1) + " (" + members.get(k).dir() + ")";
            JsonNode type = configs.get(k).get("model_type");
            if (!Objects.equals(firstType, type)) {
                throw new SoupException("different architectures: " + other + " has config.json model_type = " + type
                        + " but " + first + " has " + firstType);
            }
            List<String> rawFields = ARCHITECTURE_FIELDS;
            if (llama) {
                Map<String, Object> mine = llamaArchitecture(members.get(k), configs.get(k));
                for (Map.Entry<String, Object> e : firstLlama.entrySet()) {
                    Object b = mine.get(e.getKey());
                    if (!Objects.equals(e.getValue(), b)) {
                        throw new SoupException("different architectures: " + other + " has config.json "
                                + e.getKey() + " = " + b + " but " + first + " has " + e.getValue());
                    }
                }
                rawFields = List.of("architectures", "num_labels");
            }
            for (String field : rawFields) {
                JsonNode a = configs.get(0).get(field);
                JsonNode b = configs.get(k).get(field);
                if (!Objects.equals(a, b)) {
                    throw new SoupException("different architectures: " + other + " has config.json " + field + " = "
                            + b + " but " + first + " has " + a);
                }
            }
            Map<String, TensorInfo> tensors = readers.get(k).tensors();
            TreeSet<String> missing = new TreeSet<>(reference.keySet());
            missing.removeAll(tensors.keySet());
            TreeSet<String> extra = new TreeSet<>(tensors.keySet());
            extra.removeAll(reference.keySet());
            if (!missing.isEmpty() || !extra.isEmpty()) {
                String m = missing.isEmpty() ? null : missing.first();
                String e = extra.isEmpty() ? null : extra.first();
                if (e == null || (m != null && m.compareTo(e) < 0)) {
                    throw new SoupException("different tensor names: " + other + " has no tensor '" + m + "' that "
                            + first + " has (" + missing.size() + " missing, " + extra.size() + " extra)");
                }
                throw new SoupException("different tensor names: " + other + " has tensor '" + e + "' that " + first
                        + " lacks (" + missing.size() + " missing, " + extra.size() + " extra)");
            }
            for (TensorInfo a : reference.values()) {
                TensorInfo b = tensors.get(a.name());
                if (!a.sameShape(b)) {
                    throw new SoupException("different shapes: tensor '" + a.name() + "' is " + b.shapeString() + " in "
                            + other + " but " + a.shapeString() + " in " + first);
                }
            }
        }
        // members may store a tensor in different float dtypes (it is averaged in float32 either way)
        for (int k = 0; k < members.size(); k++) {
            for (TensorInfo t : readers.get(k).tensors().values()) {
                if (!t.dtype().isFloatConvertible()) {
                    throw new SoupException("tensor '" + t.name() + "' of member " + (k + 1) + " (" + members.get(k).dir()
                            + ") has dtype " + t.dtype() + ", which cannot be averaged");
                }
            }
        }
    }

    private static void writeCard(Result r, Consumer<ObjectNode> extras) throws IOException {
        ObjectNode card = JSON.createObjectNode();
        card.put("type", "soup");
        card.put("method", r.method());
        ArrayNode members = card.putArray("members");
        ArrayNode weights = card.putArray("weights");
        for (int k = 0; k < r.members().size(); k++) {
            Member m = r.members().get(k);
            ObjectNode n = members.addObject();
            n.put("path", m.dir().toAbsolutePath().normalize().toString());
            n.put("sha256", r.memberSha256().get(k));
            n.put("weight", m.weight());
            weights.add(m.weight());
        }
        card.put("sha256", r.sha256());
        card.put("tensors", r.tensors());
        card.put("parameters", r.parameters());
        card.put("dtype", r.dtype().name());
        card.put("arithmetic", "float32, members in order: s = w1*x1, then s += wk*xk"
                + (r.dtype() == DType.F32 ? "" : "; stored as " + r.dtype() + ", rounded once to nearest even"));
        extras.accept(card);
        Path file = r.dir().resolve(CARD_FILE);
        Path tmp = Files.createTempFile(r.dir(), ".card", ".json");
        Files.writeString(tmp, JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(card) + "\n");
        FileOps.moveAtomically(tmp, file);
    }

    /**
     * The soup's files, written by a second thread: each averaged chunk, already encoded in the soup's dtype (narrowed
     * on the averaging thread, or averaged straight into bf16), is hashed and written there while the next one is read
     * and summed; the same thread opens and commits the files in order, so a shard's commit (with its fsync) overlaps
     * the next shard's averaging. A third thread has the OS write the file to disk behind the writer ({@code fdatasync}
     * every {@value #FLUSH_BYTES} bytes), so a commit's fsync finds little left. A bounded pool of buffers bounds memory
     * and how far the averaging runs ahead.
     */
    private static final class ChunkWriter implements AutoCloseable {
        private static final int POOL_BYTES = 32 << 20;
        private static final long FLUSH_BYTES = 64L << 20;
        private final DType dtype;
        private final boolean durable;
        private final MessageDigest digest;
        private final Background thread = new Background("soup-writer");
        private final Background flusher;
        /** Held while the flusher syncs a file; a commit takes it so it never closes a file under the flusher. */
        private final Semaphore flushing = new Semaphore(1);
        private final BufferPool free;
        private final short[] halves;
        /** The file being written: used on the writer thread only (and by {@link #close} once that has stopped). */
        private SafeTensorsWriter current;
        private long unflushed;

        /**
         * @param durable fsync each file before it is moved into place, and have the OS write it out while it is
         *                being written
         * @param digest  fed every byte of the files in order (or null)
         */
        ChunkWriter(DType dtype, int chunkElements, boolean durable, MessageDigest digest) {
            this.dtype = dtype;
            this.durable = durable;
            this.digest = digest;
            int bufferBytes = Math.multiplyExact(chunkElements, dtype.byteSize());
            free = new BufferPool(bufferBytes, Math.max(2, Math.min(256, POOL_BYTES / bufferBytes)));
            halves = dtype == DType.F32 ? null : new short[chunkElements];
            flusher = durable ? new Background("soup-flusher") : null;
        }

        /** The soup's storage dtype. */
        DType dtype() {
            return dtype;
        }

        /** Starts the next file (after the previous one's commit), holding {@code specs}. */
        void open(Path file, List<TensorSpec> specs, Map<String, String> metadata) throws IOException {
            thread.execute(() -> {
                current = SafeTensorsWriter.create(file, specs, metadata, dtype, digest);
                unflushed = 0;
            }, () -> { });
        }

        /** Commits the current file once its chunks are written: checked complete, fsync-ed if durable, moved. */
        void commit() throws IOException {
            thread.execute(() -> {
                SafeTensorsWriter w = current;
                flushing.acquireUninterruptibly();
                try {
                    if (durable) {
                        w.commit();
                    } else {
                        w.commitWithoutSync();
                    }
                } finally {
                    flushing.release();
                }
                current = null;
                w.close();
            }, () -> { });
        }

        /** A cleared buffer of one chunk for {@link #submitEncoded}. */
        ByteBuffer buffer() throws IOException {
            thread.rethrow();
            return free.take();
        }

        /** Narrows {@code chunk[0..len)} now and has it hashed and written; {@code chunk} may be reused at once. */
        void submit(String name, long from, float[] chunk, int len) throws IOException {
            ByteBuffer buf = buffer();
            switch (dtype) {
                case F32 -> buf.asFloatBuffer().put(chunk, 0, len);
                case BF16 -> {
                    Halfs.floatsToBf16(chunk, 0, halves, len);
                    buf.asShortBuffer().put(halves, 0, len);
                }
                case F16 -> {
                    Halfs.floatsToF16(chunk, 0, halves, len);
                    buf.asShortBuffer().put(halves, 0, len);
                }
                default -> {
                    free.give(buf);
                    throw new AssertionError(dtype);
                }
            }
            buf.limit(len * dtype.byteSize());
            submitEncoded(name, from, buf);
        }

        /**
         * Has {@code buf} (from {@link #buffer}, holding elements {@code from..} encoded in the soup's dtype from index
         * 0 to its limit) hashed and written into the current file; it goes back to the pool after.
         */
        void submitEncoded(String name, long from, ByteBuffer buf) throws IOException {
            thread.execute(() -> {
                int bytes = buf.remaining();
                current.writeEncoded(name, from, buf);
                flushBehind(bytes);
            }, () -> free.give(buf));
        }

        /** On the writer thread: every FLUSH_BYTES, one fdatasync on the flusher unless the last is still running. */
        private void flushBehind(int bytes) throws IOException {
            unflushed += bytes;
            if (flusher != null && unflushed >= FLUSH_BYTES && flushing.tryAcquire()) {
                unflushed = 0;
                SafeTensorsWriter w = current;
                try {
                    flusher.execute(w::flushWritten, flushing::release);
                } catch (IOException | RuntimeException e) {
                    flushing.release();
                    throw e;
                }
            }
        }

        /** Waits until every file is written and committed (and the flusher is idle); throws the first failure. */
        void finish() throws IOException {
            try {
                thread.finish();
            } finally {
                if (flusher != null) {
                    flusher.finish();
                }
            }
        }

        /** Stops both threads; a file left uncommitted (after a failure) is deleted. */
        @Override
        public void close() throws IOException {
            thread.close();
            if (flusher != null) {
                flusher.close();
            }
            if (current != null) {
                SafeTensorsWriter w = current;
                current = null;
                w.close();
            }
        }
    }

    /** A log line every few seconds with rate and ETA, for soups of large models. */
    private static final class Progress {
        private final long total;
        private final long start = System.nanoTime();
        private long done;
        private long lastLog = start;

        Progress(long total) {
            this.total = total;
        }

        void add(long bytes) {
            done += bytes;
            long now = System.nanoTime();
            if (now - lastLog > 5_000_000_000L) {
                lastLog = now;
                double rate = done / ((now - start) / 1e9);
                LOG.info("soup: {} of {} MB read, {} MB/s, ETA {} s", done >> 20, total >> 20, Math.round(rate / 1e6),
                        Math.round((total - done) / rate));
            }
        }
    }
}
