package io.salsa.model.lm.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.GptLayers;
import io.salsa.model.lm.LinearAdapter;
import io.salsa.model.lm.Scalars;
import io.salsa.model.safetensors.DirectFloats;
import io.salsa.model.safetensors.F32Tensor;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsException;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A LoRA adapter attached to a model: for every linear layer whose module name (the last name before
 * {@code .weight}, e.g. {@code q_proj}) is a target, {@code y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ} with A [r, in],
 * B [out, r] and s = {@link LoraConfig#scaling()}. A and B live in the model's manager next to the base weights
 * (which are shared, never copied): {@link #setEnabled(boolean) disabled} the model computes exactly its base, so one
 * copy of the base serves a policy and its KL reference. {@link #setTrainable(boolean)} switches gradients for A and
 * B only; keep the base frozen ({@code model.setTrainable(false)}).
 *
 * <p>Files are PEFT's: {@code adapter_config.json} + {@code adapter_model.safetensors} with the keys
 * {@code base_model.model.<module>.lora_A.weight} / {@code .lora_B.weight}. Not thread-safe.
 */
public final class LoraAdapter implements AutoCloseable {

    /** PEFT's adapter weights file. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** What PEFT puts before a module's name in its keys. */
    public static final String KEY_PREFIX = "base_model.model.";
    /** Our optional {@code __metadata__} entry in the weights file: sha256 of the base's weights. */
    public static final String BASE_SHA256 = "salsa_base_sha256";

    private final Adaptable model;
    private final LoraConfig config;
    private final Map<String, Module> modules;        // by base weight name
    private final Map<String, Parameter> parameters;  // by PEFT key, A then B per module
    private boolean enabled = true;
    private boolean training;
    private boolean attached = true;
    private String baseSha256;
    private boolean seededDropout;
    private long dropoutSeed;
    private long dropoutDraws;

    /** One adapted projection. */
    private final class Module implements LinearAdapter {
        final String weightName;
        final boolean fanInFanOut;
        final Parameter a;
        final Parameter b;

        Module(String weightName, boolean fanInFanOut, Parameter a, Parameter b) {
            this.weightName = weightName;
            this.fanInFanOut = fanInFanOut;
            this.a = a;
            this.b = b;
        }

        @Override
        public boolean active() {
            return enabled;
        }

        @Override
        public NDArray delta(NDArray x) {
            NDArray in = x;
            if (training && config.dropout() > 0) {
                in = seededDropout ? x.mul(dropoutMask(x)) : Dropout.dropout(x, (float) config.dropout(), true).get(0);
            }
            NDArray d = Linear.linear(Linear.linear(in, a.getArray()).singletonOrThrow(), b.getArray()).singletonOrThrow();
            return d.mul(Scalars.of(d, config.scaling()));
        }
    }

    private LoraAdapter(Adaptable model, LoraConfig config) {
        this.model = Objects.requireNonNull(model, "model");
        Map<String, Boolean> adaptable = model.adaptableWeights();
        this.config = withModelLayout(Objects.requireNonNull(config, "config"), adaptable);
        Map<String, Module> byWeight = new LinkedHashMap<>();
        Map<String, Parameter> byKey = new LinkedHashMap<>();
        TreeSet<String> known = new TreeSet<>();
        adaptable.keySet().forEach(w -> known.add(moduleName(w)));
        for (String target : config.targetModules()) {
            if (!known.contains(target)) {
                throw new IllegalArgumentException("unknown LoRA target module '" + target + "' for a " + model.modelType()
                        + " model; its linear modules are " + known);
            }
        }
        int r = this.config.r();
        for (Map.Entry<String, Boolean> e : adaptable.entrySet()) {
            String weight = e.getKey();
            if (!config.targetModules().contains(moduleName(weight))) {
                continue;
            }
            if (e.getValue() != this.config.fanInFanOut()) {
                throw new IllegalArgumentException("'" + weight + "' is stored " + (e.getValue() ? "[in, out]" : "[out, in]")
                        + " but the adapter says fan_in_fan_out=" + config.fanInFanOut());
            }
            long[] shape = model.parameters().get(weight).getArray().getShape().getShape();
            long in = e.getValue() ? shape[0] : shape[1];
            long out = e.getValue() ? shape[1] : shape[0];
            String key = keyPrefix(weight);
            Parameter a = GptLayers.parameter(model.manager(), key + ".lora_A.weight", Parameter.Type.WEIGHT, r, in);
            Parameter b = GptLayers.parameter(model.manager(), key + ".lora_B.weight", Parameter.Type.WEIGHT, out, r);
            a.getArray().setRequiresGradient(false);
            b.getArray().setRequiresGradient(false);
            byKey.put(key + ".lora_A.weight", a);
            byKey.put(key + ".lora_B.weight", b);
            byWeight.put(weight, new Module(weight, e.getValue(), a, b));
        }
        this.modules = Collections.unmodifiableMap(byWeight);
        this.parameters = Collections.unmodifiableMap(byKey);
        modules.forEach(model::setLinearAdapter);
    }

    /**
     * {@code fan_in_fan_out} as the model stores its targets, as PEFT does: it sets {@code fan_in_fan_out=True} for
     * GPT-2's Conv1D (with a warning) whatever the config said, and False for {@code nn.Linear}. Targets stored both
     * ways in one model stay refused per weight.
     */
    private static LoraConfig withModelLayout(LoraConfig config, Map<String, Boolean> adaptable) {
        TreeSet<Boolean> layouts = new TreeSet<>();
        adaptable.forEach((w, fanInFanOut) -> {
            if (config.targetModules().contains(moduleName(w))) {
                layouts.add(fanInFanOut);
            }
        });
        return layouts.size() == 1 && layouts.first() != config.fanInFanOut()
                ? config.withFanInFanOut(layouts.first()) : config;
    }

    /** {@code model.layers.0.self_attn.q_proj.weight} → {@code q_proj}. */
    static String moduleName(String weightName) {
        String module = weightName.substring(0, weightName.length() - ".weight".length());
        return module.substring(module.lastIndexOf('.') + 1);
    }

    /** {@code model.layers.0.self_attn.q_proj.weight} → {@code base_model.model.model.layers.0.self_attn.q_proj}. */
    static String keyPrefix(String weightName) {
        return KEY_PREFIX + weightName.substring(0, weightName.length() - ".weight".length());
    }

    /**
     * A new adapter initialised as PEFT does ({@code init_lora_weights=True}): A ~ U(−1/√in, 1/√in) (Kaiming-uniform
     * with a = √5), B = 0, so the model starts exactly at its base. Deterministic for a seed (Java RNG).
     *
     * @throws IllegalArgumentException a target module the model does not have, naming it and the ones it has
     */
    public static LoraAdapter create(Adaptable model, LoraConfig config, long seed) {
        LoraAdapter adapter = new LoraAdapter(model, config);
        SplittableRandom rng = new SplittableRandom(seed);
        for (Module m : adapter.modules.values()) {
            long[] s = m.a.getArray().getShape().getShape();
            double bound = 1.0 / Math.sqrt(s[1]);
            SplittableRandom local = rng.split();
            float[] a = new float[Math.toIntExact(s[0] * s[1])];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) local.nextDouble(-bound, bound);
            }
            m.a.getArray().set(a);
            m.b.getArray().set(new float[Math.toIntExact(m.b.getArray().size())]);
        }
        return adapter;
    }

    /**
     * Loads a PEFT adapter folder onto {@code model}. Refused, naming file and tensor: a missing file, a missing,
     * extra or mis-shaped tensor (an adapter made for another base shape), a non-float tensor, unknown targets.
     */
    public static LoraAdapter load(Adaptable model, Path dir) throws IOException {
        LoraConfig config = LoraConfig.read(dir);
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (the adapter's weights)");
        }
        LoraAdapter adapter;
        try {
            adapter = new LoraAdapter(model, config);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir.resolve(LoraConfig.FILE) + ": " + e.getMessage(), e);
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            for (Map.Entry<String, TensorInfo> e : st.tensors().entrySet()) {
                Parameter p = adapter.parameters.get(e.getKey());
                if (p == null) {
                    throw new SafeTensorsException(file + ": unexpected tensor '" + e.getKey() + "' for targets "
                            + config.targetModules() + " on this " + model.modelType() + " model");
                }
                long[] want = p.getArray().getShape().getShape();
                if (!Arrays.equals(want, e.getValue().shape())) {
                    throw new SafeTensorsException(file + ": tensor '" + e.getKey() + "' has shape "
                            + Arrays.toString(e.getValue().shape()) + ", the base model and r=" + config.r() + " need "
                            + Arrays.toString(want));
                }
                if (!e.getValue().dtype().isFloatConvertible()) {
                    throw new SafeTensorsException(file + ": tensor '" + e.getKey() + "' has dtype " + e.getValue().dtype()
                            + ", expected a float type");
                }
                try (DirectFloats values = st.readDirect(e.getKey())) {
                    p.getArray().set(values.floats());
                }
            }
            for (String key : adapter.parameters.keySet()) {
                if (!st.tensors().containsKey(key)) {
                    throw new SafeTensorsException(file + ": missing tensor '" + key + "' that target_modules "
                            + config.targetModules() + " needs");
                }
            }
            adapter.baseSha256 = st.metadata().get(BASE_SHA256);
        } catch (IOException | RuntimeException e) {
            adapter.close();
            throw e;
        }
        return adapter;
    }

    /**
     * Hot swap: overwrites this adapter's A and B in place from the PEFT folder {@code dir} (the arrays keep their
     * identity, so optimisers and graphs stay valid); {@link #readWeights} then {@link #setWeights}.
     */
    public void loadWeights(Path dir, String expectedBaseSha256) throws IOException {
        setWeights(readWeights(dir, expectedBaseSha256));
    }

    /**
     * The base sha256 an adapter folder's weights file records ({@link #BASE_SHA256} in its metadata), or null when
     * it records none (an adapter PEFT wrote).
     */
    public static String recordedBaseSha256(Path dir) throws IOException {
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (the adapter's weights)");
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.metadata().get(BASE_SHA256);
        }
    }

    /** A and B read from a PEFT folder for this adapter, not applied yet; with the base sha256 the file records. */
    public record Weights(Map<String, float[]> values, String baseSha256) {
    }

    /**
     * Reads and checks the PEFT folder {@code dir} for this adapter without touching the model (safe on another
     * thread than the one using it). Refused, naming the file and what differs: settings other than this adapter's
     * ({@code r}, {@code lora_alpha}, {@code target_modules}, {@code use_rslora}), a missing, extra or mis-shaped
     * tensor, and, when {@code expectedBaseSha256} is given, a file that records another base sha256 or none.
     */
    public Weights readWeights(Path dir, String expectedBaseSha256) throws IOException {
        requireAttached();
        LoraConfig other = LoraConfig.read(dir);
        Path file = dir.resolve(WEIGHTS_FILE);
        if (other.r() != config.r() || other.alpha() != config.alpha() || other.useRslora() != config.useRslora()
                || !other.targetModules().equals(config.targetModules())) {
            throw new IOException(dir.resolve(LoraConfig.FILE) + ": r=" + other.r() + ", lora_alpha=" + other.alpha()
                    + ", target_modules=" + other.targetModules() + ", use_rslora=" + other.useRslora()
                    + " do not match the adapter in use (r=" + config.r() + ", lora_alpha=" + config.alpha()
                    + ", target_modules=" + config.targetModules() + ", use_rslora=" + config.useRslora() + ")");
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (the adapter's weights)");
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            String recorded = st.metadata().get(BASE_SHA256);
            if (expectedBaseSha256 != null && !expectedBaseSha256.equals(recorded)) {
                throw new IOException(file + ": the adapter was trained on the base with sha256 "
                        + (recorded == null ? "(not recorded: " + BASE_SHA256 + " missing)" : recorded)
                        + ", but the model holds the base with sha256 " + expectedBaseSha256);
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, TensorInfo> e : st.tensors().entrySet()) {
                Parameter p = parameters.get(e.getKey());
                if (p == null) {
                    throw new SafeTensorsException(file + ": unexpected tensor '" + e.getKey() + "' for targets "
                            + config.targetModules() + " on this " + model.modelType() + " model");
                }
                if (!Arrays.equals(p.getArray().getShape().getShape(), e.getValue().shape())) {
                    throw new SafeTensorsException(file + ": tensor '" + e.getKey() + "' has shape "
                            + Arrays.toString(e.getValue().shape()) + ", the adapter in use has "
                            + Arrays.toString(p.getArray().getShape().getShape()));
                }
                if (!e.getValue().dtype().isFloatConvertible()) {
                    throw new SafeTensorsException(file + ": tensor '" + e.getKey() + "' has dtype "
                            + e.getValue().dtype() + ", expected a float type");
                }
                values.put(e.getKey(), st.readFloats(e.getKey()));
            }
            for (String key : parameters.keySet()) {
                if (!values.containsKey(key)) {
                    throw new SafeTensorsException(file + ": missing tensor '" + key + "' that target_modules "
                            + config.targetModules() + " needs");
                }
            }
            return new Weights(values, recorded);
        }
    }

    /** Overwrites A and B in place with weights {@link #readWeights read} for this adapter. */
    public void setWeights(Weights weights) {
        requireAttached();
        weights.values().forEach((key, v) -> parameters.get(key).getArray().set(v));
        baseSha256 = weights.baseSha256();
    }

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (F32, PEFT's keys, HF layout; with
     * {@link #BASE_SHA256} in the metadata when {@link #setBaseSha256 known}).
     */
    public void save(Path dir) throws IOException {
        requireAttached();
        Files.createDirectories(dir);
        Map<String, F32Tensor> tensors = new TreeMap<>();
        parameters.forEach((key, p) -> {
            long[] s = p.getArray().getShape().getShape();
            tensors.put(key, F32Tensor.of(p.getArray().toFloatArray(), Math.toIntExact(s[0]), Math.toIntExact(s[1])));
        });
        Map<String, String> metadata = new TreeMap<>(SafeTensorsWriter.PT_METADATA);
        if (baseSha256 != null) {
            metadata.put(BASE_SHA256, baseSha256);
        }
        SafeTensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, metadata);
        config.write(dir);
    }

    public LoraConfig config() {
        return config;
    }

    /** A and B of every adapted module by PEFT key ({@code …q_proj.lora_A.weight}, {@code …lora_B.weight}). */
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /**
     * Overwrites A and B with N(0, std²) values drawn from {@code seed}, in {@link #parameters()} order: a
     * trained-looking adapter that changes the model (a new one has B = 0 and changes nothing), for fixtures and
     * benchmarks that need one without training it.
     */
    public void randomise(long seed, double std) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (Parameter p : parameters.values()) {
            float[] v = new float[Math.toIntExact(p.getArray().size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rng.nextGaussian() * std);
            }
            p.getArray().set(v);
        }
    }

    /** The base weights this adapter changes, by name. */
    public List<String> adaptedWeights() {
        return List.copyOf(modules.keySet());
    }

    /** Floats in A and B (what an adapter checkpoint holds). */
    public long parameterCount() {
        return parameters.values().stream().mapToLong(p -> p.getArray().size()).sum();
    }

    /** Whether the adapter changes the model's output (disabled: the model is exactly its base). */
    public void setEnabled(boolean enabled) {
        requireAttached();
        this.enabled = enabled;
    }

    public boolean isEnabled() {
        return enabled && attached;
    }

    /** Gradients for A and B on or off; the base's are the model's ({@code model.setTrainable(false)} freezes it). */
    public void setTrainable(boolean trainable) {
        requireAttached();
        parameters.values().forEach(p -> p.getArray().setRequiresGradient(trainable));
    }

    /** Dropout on the adapter's input ({@code lora_dropout}) on or off; off by default (evaluation, generation). */
    public void setTraining(boolean training) {
        this.training = training;
    }

    /**
     * Makes dropout's masks ({@code lora_dropout}, only while {@link #setTraining training}) a function of
     * {@code seed} and of the order of the adapted projections' calls since this call, drawn in Java rather than from
     * torch's global generator: the same seed over the same forward passes gives the same masks, in any process and
     * whatever else drew from torch meanwhile, so a training step that calls this with its own seed first is
     * repeated bit for bit by a replay. Call it again before each step.
     */
    public void seedDropout(long seed) {
        seededDropout = true;
        dropoutSeed = seed;
        dropoutDraws = 0;
    }

    /**
     * The next mask in the seeded stream, shaped and typed as {@code x}: each element 1/(1−p) with probability 1−p,
     * else 0 (inverted dropout, as {@code torch.nn.Dropout} in training). Every call is one draw of its own.
     */
    private NDArray dropoutMask(NDArray x) {
        double p = config.dropout();
        float keep = (float) (1.0 / (1.0 - p));
        SplittableRandom random = new SplittableRandom(mixSeed(dropoutSeed, ++dropoutDraws));
        float[] mask = new float[Math.toIntExact(x.size())];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = random.nextDouble() < p ? 0f : keep;
        }
        NDArray m = x.getManager().create(mask, x.getShape());
        return m.getDataType() == x.getDataType() ? m : m.toType(x.getDataType(), false);
    }

    /** A stream seed for draw {@code draw} of {@code seed}: the two mixed (SplitMix64's finaliser) so nearby seeds differ. */
    static long mixSeed(long seed, long draw) {
        long z = seed + draw * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** sha256 of the base's weights, recorded in the saved file; null when unknown. */
    public String baseSha256() {
        return baseSha256;
    }

    public void setBaseSha256(String sha256) {
        this.baseSha256 = sha256;
    }

    /**
     * PEFT's {@code merge_and_unload}: writes W + s·B·A (see {@link #mergedWeight}) into every adapted base weight in
     * place and detaches the adapter (closing A and B), so the model alone now computes what base + adapter did.
     */
    public void merge() {
        requireAttached();
        for (Module m : modules.values()) {
            float[] merged = mergedWeight(model.weights(m.weightName), m.fanInFanOut, m.a.getArray().toFloatArray(),
                    m.b.getArray().toFloatArray(), config.r(), config.scaling());
            model.setWeights(m.weightName, merged);
        }
        close();
    }

    /**
     * The merged weight W + s·B·A in the order tests can reproduce: each element is
     * {@code (float) (W[o, i] + s · Σ_k B[o, k]·A[k, i])} with the sum over k in double, ascending k. W is [out, in],
     * or [in, out] with {@code fanInFanOut}; A [r, in], B [out, r] row-major.
     */
    public static float[] mergedWeight(float[] w, boolean fanInFanOut, float[] a, float[] b, int r, double scaling) {
        int in = a.length / r;
        int out = b.length / r;
        if (w.length != (long) in * out || a.length != r * in || b.length != out * r) {
            throw new IllegalArgumentException("shapes disagree: W has " + w.length + " values, A " + a.length + " (r=" + r
                    + "), B " + b.length);
        }
        float[] merged = new float[w.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int k = 0; k < r; k++) {
                    sum += (double) b[o * r + k] * a[k * in + i];
                }
                int idx = fanInFanOut ? i * out + o : o * in + i;
                merged[idx] = (float) (w[idx] + scaling * sum);
            }
        }
        return merged;
    }

    /** Detaches the adapter from the model (which becomes its base again) and frees A and B. */
    @Override
    public void close() {
        if (!attached) {
            return;
        }
        attached = false;
        for (Module m : modules.values()) {
            model.setLinearAdapter(m.weightName, null);
        }
        parameters.values().forEach(p -> p.getArray().close());
    }

    private void requireAttached() {
        if (!attached) {
            throw new IllegalStateException("the adapter was merged or closed");
        }
    }
}
