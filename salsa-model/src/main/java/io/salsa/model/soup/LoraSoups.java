package io.salsa.model.soup;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.runtime.blob.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Soups of LoRA members trained from one base: each member's ΔW = s·B·A (s = alpha/r, or alpha/√r with rsLoRA) is
 * merged into the base ({@link LoraAdapter#mergedWeight}) and the merged weights are averaged with {@link Soups}'
 * arithmetic (float32, members in order: {@code m = w1·x1; m += wk·xk}, {@code w = (float) (1 / n)} for a uniform
 * soup, {@code wk = (float) (weight_k / Σ weight)} for a weighted one). Tensors
 * no member adapts are the base's, copied unchanged (the exact mean of identical values). The result is a full model
 * folder (the base's {@code config.json} and tokenizer files, {@code model.safetensors}, {@code card.json}).
 *
 * <p>Averaging A and B separately would be wrong: the soup must be W + (1/n)·Σ s·BₖAₖ, but
 * ((1/n)ΣBₖ)((1/n)ΣAₖ) = (1/n²)Σₖ Σⱼ BₖAⱼ contains the cross terms BₖAⱼ (k ≠ j), which neither member learned.
 */
public final class LoraSoups {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private LoraSoups() {
    }

    /** What was written. */
    public record Result(Path dir, int members, int mergedTensors, String sha256) {
    }

    /** The identity of a base checkpoint as LoRA adapters record it: {@link Checkpoint#weightsSha256}. */
    public static String baseSha256(Path baseDir) throws IOException {
        return Checkpoint.weightsSha256(baseDir);
    }

    /**
     * Merges every adapter folder into {@code baseDir} and writes the uniform soup to {@code outDir}.
     *
     * @throws SoupException fewer than one member; members whose {@code base_model_name_or_path} or recorded base
     *                       sha256 differ (naming both members and values), or whose sha256 is not the given base's;
     *                       an adapter tensor that names no base tensor or has the wrong shape; {@code outDir} = base
     */
    public static Result build(Path baseDir, List<Path> adapters, Path outDir) throws IOException {
        return build(baseDir, adapters, null, outDir);
    }

    /**
     * As {@link #build(Path, List, Path)}, averaging with weights: {@code w_k = (float) (weight_k / Σ weight)}, the
     * arithmetic of {@link Soups} (weights all 1 give exactly the uniform soup).
     *
     * @param weights one positive finite weight per adapter (normalised here), or null for a uniform soup
     */
    public static Result build(Path baseDir, List<Path> adapters, List<Double> weights, Path outDir)
            throws IOException {
        Objects.requireNonNull(baseDir, "baseDir");
        if (adapters.isEmpty()) {
            throw new SoupException("a LoRA soup needs at least one adapter");
        }
        float[] w = weights(adapters, weights);
        if (outDir.toAbsolutePath().normalize().equals(baseDir.toAbsolutePath().normalize())) {
            throw new SoupException("--out " + outDir + " is the base folder");
        }
        if (!Files.isDirectory(baseDir)) {
            throw new NoSuchFileException(baseDir + " (the base model folder)");
        }
        List<LoraConfig> configs = new ArrayList<>();
        List<String> shas = new ArrayList<>();
        for (Path a : adapters) {
            configs.add(LoraConfig.read(a));
            shas.add(LoraAdapter.recordedBaseSha256(a));
        }
        for (int k = 1; k < adapters.size(); k++) {
            if (!Objects.equals(configs.get(0).baseModel(), configs.get(k).baseModel())) {
                throw new SoupException("LoRA members have different bases: member 1 (" + adapters.get(0) + ") has "
                        + "base_model_name_or_path " + configs.get(0).baseModel() + ", member " + (k + 1) + " ("
                        + adapters.get(k) + ") has " + configs.get(k).baseModel());
            }
            if (shas.get(0) != null && shas.get(k) != null && !shas.get(0).equals(shas.get(k))) {
                throw new SoupException("LoRA members have different bases: member 1 (" + adapters.get(0) + ") was trained "
                        + "on base sha256 " + shas.get(0) + ", member " + (k + 1) + " (" + adapters.get(k) + ") on " + shas.get(k));
            }
        }
        String baseSha = baseSha256(baseDir);
        for (int k = 0; k < adapters.size(); k++) {
            if (shas.get(k) != null && !shas.get(k).equals(baseSha)) {
                throw new SoupException("member " + (k + 1) + " (" + adapters.get(k) + ") was trained on base sha256 "
                        + shas.get(k) + ", but " + baseDir + " has " + baseSha);
            }
        }

        Map<String, long[]> shapes = new LinkedHashMap<>();
        int merged;
        try (Checkpoint base = Checkpoint.open(baseDir)) {
            for (String name : base.names()) {
                shapes.put(name, base.info(name).shape());
            }
            List<Map<String, float[][]>> deltas = new ArrayList<>(); // per member: base weight name → {A, B}
            for (int k = 0; k < adapters.size(); k++) {
                deltas.add(readMember(adapters.get(k), k + 1, configs.get(k), shapes));
            }
            merged = (int) deltas.stream().flatMap(d -> d.keySet().stream()).distinct().count();
            CheckpointWriter.write(outDir, shapes, name -> {
                float[] x = base.readFloats(name);
                if (deltas.stream().noneMatch(d -> d.containsKey(name))) {
                    return x;
                }
                float[] soup = null;
                for (int k = 0; k < deltas.size(); k++) {
                    float[][] ab = deltas.get(k).get(name);
                    LoraConfig c = configs.get(k);
                    float[] m = ab == null ? x : LoraAdapter.mergedWeight(x, c.fanInFanOut(), ab[0], ab[1], c.r(), c.scaling());
                    if (soup == null) {
                        soup = new float[m.length];
                        for (int i = 0; i < m.length; i++) {
                            soup[i] = w[k] * m[i];
                        }
                    } else {
                        for (int i = 0; i < m.length; i++) {
                            soup[i] += w[k] * m[i];
                        }
                    }
                }
                return soup;
            }, CheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
        }
        for (String file : Soups.COPIED_FILES) {
            Path src = baseDir.resolve(file);
            if (Files.exists(src)) {
                Files.copy(src, outDir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        String sha = baseSha256(outDir);
        ObjectNode card = JSON.createObjectNode();
        card.put("type", "soup");
        card.put("method", weights == null ? "lora-merge-uniform" : "lora-merge-weighted");
        card.put("base", baseDir.toString());
        card.put("base_sha256", baseSha);
        ArrayNode members = card.putArray("members");
        for (int k = 0; k < adapters.size(); k++) {
            ObjectNode m = members.addObject();
            m.put("path", adapters.get(k).toString());
            m.put("sha256", Sha256.of(adapters.get(k).resolve(LoraAdapter.WEIGHTS_FILE)));
            m.put("r", configs.get(k).r());
            m.put("lora_alpha", configs.get(k).alpha());
            m.put("scaling", configs.get(k).scaling());
            ArrayNode t = m.putArray("target_modules");
            configs.get(k).targetModules().forEach(t::add);
            m.put("weight", w[k]);
        }
        card.put("sha256", sha);
        card.put("merged_tensors", merged);
        card.put("arithmetic", "merged_k = (float)(W + s_k * sum_r(B_k A_k) in double); soup = w_1*merged_1; soup += w_k*merged_k;"
                + " w_k = (float)(weight_k / sum(weight)), 1/n when uniform; unadapted tensors copied from the base");
        Files.writeString(outDir.resolve(Soups.CARD_FILE), JSON.writeValueAsString(card) + "\n");
        return new Result(outDir, adapters.size(), merged, sha);
    }

    private static float[] weights(List<Path> adapters, List<Double> weights) throws SoupException {
        float[] w = new float[adapters.size()];
        if (weights == null) {
            Arrays.fill(w, (float) (1.0 / adapters.size()));
            return w;
        }
        if (weights.size() != adapters.size()) {
            throw new SoupException(weights.size() + " weights for " + adapters.size() + " LoRA members");
        }
        double total = 0;
        for (int k = 0; k < w.length; k++) {
            Double x = weights.get(k);
            if (x == null || !(x > 0) || x.isInfinite()) {
                throw new SoupException("member " + (k + 1) + " (" + adapters.get(k) + "): weight must be a positive "
                        + "finite number, got " + x);
            }
            total += x;
        }
        for (int k = 0; k < w.length; k++) {
            w[k] = (float) (weights.get(k) / total);
        }
        return w;
    }

    private static Map<String, float[][]> readMember(Path dir, int number, LoraConfig config, Map<String, long[]> shapes)
            throws IOException {
        Path file = dir.resolve(LoraAdapter.WEIGHTS_FILE);
        Map<String, float[][]> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String key : st.tensors().keySet()) {
                boolean isA = key.endsWith(".lora_A.weight");
                if (!key.startsWith(LoraAdapter.KEY_PREFIX) || !(isA || key.endsWith(".lora_B.weight"))) {
                    throw new SoupException("member " + number + " (" + file + "): tensor '" + key + "' is not a LoRA A/B weight");
                }
                String weight = key.substring(LoraAdapter.KEY_PREFIX.length(), key.length() - ".lora_A.weight".length())
                        + ".weight";
                long[] shape = shapes.get(weight);
                if (shape == null) {
                    throw new SoupException("member " + number + " (" + file + "): tensor '" + key + "' adapts '" + weight
                            + "', which the base does not have");
                }
                long in = config.fanInFanOut() ? shape[0] : shape[1];
                long out0 = config.fanInFanOut() ? shape[1] : shape[0];
                long[] want = isA ? new long[] {config.r(), in} : new long[] {out0, config.r()};
                if (!Arrays.equals(want, st.tensors().get(key).shape())) {
                    throw new SoupException("member " + number + " (" + file + "): tensor '" + key + "' has shape "
                            + Arrays.toString(st.tensors().get(key).shape()) + ", the base and r=" + config.r()
                            + " need " + Arrays.toString(want));
                }
                out.computeIfAbsent(weight, x -> new float[2][])[isA ? 0 : 1] = st.readFloats(key);
            }
        }
        for (Map.Entry<String, float[][]> e : out.entrySet()) {
            if (e.getValue()[0] == null || e.getValue()[1] == null) {
                throw new SoupException("member " + number + " (" + file + "): '" + e.getKey() + "' has only one of lora_A/lora_B");
            }
        }
        return out;
    }
}
