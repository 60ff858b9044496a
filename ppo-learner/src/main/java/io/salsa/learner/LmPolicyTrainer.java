package io.salsa.learner;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.salsa.learner.ppo.GradScaler;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoModel;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.safetensors.F32Tensor;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorSpec;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.Gradients;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PPO learner on any {@link CausalLm} folder (GPT-2 or the Llama family, chosen from {@code config.json}): the
 * policy is the LM with a TRL value head ({@code v_head.summary.*}), the reference is a second, gradient-free model
 * of the same architecture holding the soup's weights, and the optimiser is our checkpointable AdamW. The models
 * have no dropout and a LoRA adapter's {@code lora_dropout} draws its masks from the step's seed, so a step is a
 * deterministic function of weights, batch and seed on CPU.
 * {@code mixed_precision=fp16} runs policy, value head and reference with fp16 autocast on every family (float32
 * master weights and AdamW state, dynamic loss scaling); the reference, which nothing trains, then holds its weights
 * in float16 ({@link CausalLms#loadFrozen}: half the memory, no cast per forward).
 *
 * <p>LoRA mode ({@code lora_r} &gt; 0): the policy is the base (frozen: the soup, or the SFT model of
 * {@code init_from=sft:<id>}, which the caller passes as the reference folder) plus a fresh {@link LoraAdapter}
 * (seed {@link #LORA_INIT_SEED}) and the full value head on the shared backbone; the reference is the same model with
 * the adapter switched off, so no second copy of the weights exists. Only A, B and the value head are trained and
 * kept in the optimiser. A policy folder is then the adapter's PEFT files plus {@link #VALUE_HEAD_FILE}. A new soup
 * becomes the base (and so the reference) in place; the adapter, the value head and the optimiser state are kept.
 */
public final class LmPolicyTrainer implements PolicyTrainer {

    private static final String MOMENT1 = "adam.m.";
    private static final String MOMENT2 = "adam.v.";
    private static final String STEPS_KEY = "adam_steps";
    private static final String SCALE_KEY = "amp_loss_scale";
    private static final String GROWTH_KEY = "amp_growth_tracker";
    private static final String SKIPPED_KEY = "amp_skipped_steps";
    private static final String NON_FINITE_KEY = "non_finite_skipped_steps";
    private static final String NON_FINITE_RUN_KEY = "non_finite_consecutive_skips";
    /** The value head's file in a LoRA policy folder (beside the adapter's PEFT files). */
    public static final String VALUE_HEAD_FILE = "value_head.safetensors";
    /** Seed of a fresh LoRA adapter's A (B starts at 0, so the policy starts exactly at the soup). */
    public static final long LORA_INIT_SEED = 0x5A15AL;
    /** Keeps the dropout masks' stream apart from the mini-batch shuffle that the same step seed drives. */
    private static final long DROPOUT_SEED_SALT = 0xD50F_0D15L;

    private final PpoConfig config;
    private final Device device;
    private final CausalLm policy;
    private CausalLm reference;
    private final LoraAdapter lora;
    private String baseSha256;
    private final List<String> names;
    private final List<NDArray> arrays;
    private final AdamW optimizer;
    private final GradScaler scaler;
    private final PpoStep step;
    private final NDManager stepManager;

    private LmPolicyTrainer(PpoConfig config, Device device, CausalLm policy, CausalLm reference, LoraAdapter lora,
            String baseSha256) {
        this.config = config;
        this.device = device;
        this.policy = policy;
        this.reference = reference;
        this.lora = lora;
        this.baseSha256 = baseSha256;
        // fp16 runs the policy's and the reference's forward as torch.autocast would; weights and AdamW stay fp32
        policy.setPrecision(config.mixedPrecision());
        List<String> trained = new ArrayList<>();
        List<NDArray> arrays = new ArrayList<>();
        if (lora == null) {
            policy.setTrainable(true);
            reference.setTrainable(false);
            reference.setPrecision(config.mixedPrecision());
            trained.addAll(policy.parameters().keySet());
            for (Parameter p : policy.parameters().values()) {
                arrays.add(p.getArray());
            }
        } else {
            policy.setTrainable(false);
            lora.setTrainable(true);
            lora.parameters().forEach((key, p) -> {
                trained.add(key);
                arrays.add(p.getArray());
            });
            for (String head : List.of(GptModel.VALUE_WEIGHT, GptModel.VALUE_BIAS)) {
                NDArray a = policy.parameters().get(head).getArray();
                a.setRequiresGradient(true);
                trained.add(head);
                arrays.add(a);
            }
        }
        this.names = List.copyOf(trained);
        this.arrays = List.copyOf(arrays);
        this.optimizer = PpoStep.optimizer(arrays, config);
        this.scaler = GradScaler.fromConfig(config);
        this.stepManager = policy.newScope();
        PpoModel model = new PpoModel() {
            @Override
            public NDList policy(NDArray inputIds) {
                GptOutput out = LmPolicyTrainer.this.policy.run(inputIds, null);
                return new NDList(out.logits(), out.values());
            }

            @Override
            public NDList trainingPolicy(NDArray inputIds) {
                LoraAdapter adapter = LmPolicyTrainer.this.lora;
                if (adapter == null) {
                    return policy(inputIds);
                }
                adapter.setTraining(true); // lora_dropout, with the masks the step's seed draws
                try {
                    return policy(inputIds);
                } finally {
                    adapter.setTraining(false);
                }
            }

            @Override
            public NDArray reference(NDArray inputIds) {
                if (LmPolicyTrainer.this.lora == null) {
                    return LmPolicyTrainer.this.reference.run(inputIds, null).logits();
                }
                // the soup is the policy's own base: the same weights with the adapter switched off
                LmPolicyTrainer.this.lora.setEnabled(false);
                try {
                    return LmPolicyTrainer.this.policy.run(inputIds, null).logits();
                } finally {
                    LmPolicyTrainer.this.lora.setEnabled(true);
                }
            }

            @Override
            public List<NDArray> parameters() {
                return arrays;
            }
        };
        this.step = new PpoStep(config, model, optimizer, scaler, stepManager);
    }

    /**
     * A trainer whose policy starts from {@code initFolder} (the soup by default, or one SFT model) and whose
     * reference is {@code referenceFolder} (the soup), both of the same architecture (any {@link CausalLms} folder);
     * a missing value head starts from {@link GptModel#HEAD_INIT_SEED}. In LoRA mode {@code referenceFolder} is the
     * base, loaded once for both (the soup, or the SFT model when {@code init_from=sft:<id>}), and {@code initFolder}
     * is not read: the adapter starts fresh, a resumed one comes in through {@link #restore}.
     */
    public static LmPolicyTrainer open(PpoConfig config, Path initFolder, Path referenceFolder, Device device)
            throws IOException {
        if (config.lora().enabled()) {
            return openLora(config, referenceFolder, device);
        }
        CausalLm policy = CausalLms.load(initFolder, GptModel.Head.VALUE, device);
        try {
            CausalLm reference = CausalLms.loadFrozen(referenceFolder, GptModel.Head.NONE, device,
                    config.mixedPrecision());
            String mismatch = architectureMismatch(reference, policy);
            if (mismatch != null) {
                reference.close();
                throw new IllegalArgumentException("the reference " + referenceFolder + " and the initial policy "
                        + initFolder + " have different architectures: " + mismatch);
            }
            return new LmPolicyTrainer(config, device, policy, reference, null, null);
        } catch (IOException | RuntimeException e) {
            policy.close();
            throw e;
        }
    }

    /**
     * LoRA mode: the soup {@code baseFolder} loaded once with a value head, plus a fresh adapter; a resumed run's
     * adapter and value head come in through {@link #restore}.
     */
    private static LmPolicyTrainer openLora(PpoConfig config, Path baseFolder, Device device) throws IOException {
        CausalLm policy = CausalLms.load(baseFolder, GptModel.Head.VALUE, device);
        LoraAdapter lora = null;
        try {
            if (!(policy instanceof Adaptable adaptable)) {
                throw new IllegalArgumentException("lora_r=" + config.lora().r() + ": " + baseFolder + " is a "
                        + policy.modelType() + " model, which takes no LoRA adapter");
            }
            LoraConfig loraConfig = LoraConfig.of(config.lora().r(), config.lora().alpha(), config.lora().dropout(),
                    config.lora().targets(), null);
            try {
                lora = LoraAdapter.create(adaptable, loraConfig, LORA_INIT_SEED);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("lora_targets=" + config.lora().targetsSetting() + ": "
                        + e.getMessage(), e);
            }
            return new LmPolicyTrainer(config, device, policy, null, lora, LoraSoups.baseSha256(baseFolder));
        } catch (IOException | RuntimeException e) {
            if (lora != null) {
                lora.close();
            }
            policy.close();
            throw e;
        }
    }

    /**
     * Why {@code candidate} cannot stand for the policy's reference (another model type, a tensor missing or shaped
     * differently; for GPT-2 any config difference, as before), or null when it can.
     */
    static String architectureMismatch(CausalLm candidate, CausalLm policy) {
        if (candidate instanceof GptModel a && policy instanceof GptModel b) {
            return a.config().equals(b.config()) ? null : a.config() + " vs " + b.config();
        }
        if (!candidate.modelType().equals(policy.modelType())) {
            return "model_type " + candidate.modelType() + " vs " + policy.modelType();
        }
        if (candidate.maxPositions() != policy.maxPositions()) {
            return "max positions " + candidate.maxPositions() + " vs " + policy.maxPositions();
        }
        for (Map.Entry<String, Parameter> e : candidate.parameters().entrySet()) {
            ai.djl.ndarray.types.Shape mine = policy.shapeOf(e.getKey());
            if (mine == null) {
                return "tensor " + e.getKey() + " is not in the policy";
            }
            if (!mine.equals(e.getValue().getArray().getShape())) {
                return "tensor " + e.getKey() + " is " + e.getValue().getArray().getShape() + " vs " + mine;
            }
        }
        return null;
    }

    /** The loss scaler (disabled unless {@code mixed_precision=fp16}), for tests and diagnostics. */
    public GradScaler scaler() {
        return scaler;
    }

    /** Fault injection for tests: {@code hook} sees the gradients of every mini-batch before they are checked. */
    void gradientHook(PpoStep.GradientHook hook) {
        step.gradientHook(hook);
    }

    /** The policy model, for evaluation and benchmarks. */
    public CausalLm policy() {
        return policy;
    }

    /** The model the KL reference runs on: a second model, or in LoRA mode the policy itself (adapter off). */
    CausalLm referenceModel() {
        return lora == null ? reference : policy;
    }

    /** The trained adapter in LoRA mode, else null. */
    LoraAdapter lora() {
        return lora;
    }

    /** In LoRA mode sha256 of the base (the soup) the adapter applies to ({@link LoraSoups#baseSha256}), else null. */
    String baseSha256() {
        return baseSha256;
    }

    @Override
    public PpoStep.Result step(List<TrainingSample> batch, double klCoef, long seed) {
        // on whichever thread trains, a service's own thread too (Gradients.withGradModeOff)
        return Gradients.withGradModeOff(() -> {
            if (lora != null) {
                // lora_dropout's masks come from the step's seed (in the manifest), so a replay draws the same ones
                lora.seedDropout(seed ^ DROPOUT_SEED_SALT);
            }
            return step.run(batch, klCoef, seed);
        });
    }


    @Override
    public PreparedReference prepareReference(Path modelFolder) throws IOException {
        String sha = lora == null ? null : LoraSoups.baseSha256(modelFolder);
        // the reference model is frozen (float16 weights at fp16); in LoRA mode the soup is copied into the policy's
        // float32 base, so it is read in float32
        CausalLm loaded = lora == null
                ? CausalLms.loadFrozen(modelFolder, GptModel.Head.NONE, device, config.mixedPrecision())
                : CausalLms.load(modelFolder, GptModel.Head.NONE, device);
        String mismatch = architectureMismatch(loaded, policy);
        if (mismatch != null) {
            loaded.close();
            throw new IllegalArgumentException("soup " + modelFolder + " has another architecture than the policy: "
                    + mismatch);
        }
        loaded.setTrainable(false);
        loaded.setPrecision(config.mixedPrecision());
        return new Prepared(loaded, sha);
    }

    @Override
    public void swapReference(PreparedReference prepared) {
        Prepared p = (Prepared) prepared;
        if (lora != null) {
            // the new soup becomes the base in place (and with it the reference); adapter, value head and AdamW stay
            policy.copyWeightsFrom(p.model);
            baseSha256 = p.sha256;
            p.close();
            return;
        }
        CausalLm old = reference;
        reference = p.model;
        p.model = null;
        old.close();
    }

    @Override
    public int vocabSize() {
        return policy.vocabSize();
    }

    @Override
    public int maxLength() {
        return policy.maxPositions();
    }

    @Override
    public void savePolicy(Path folder) throws IOException {
        if (lora == null) {
            policy.save(folder);
            return;
        }
        lora.setBaseSha256(baseSha256);
        lora.save(folder);
        Map<String, F32Tensor> head = new LinkedHashMap<>();
        for (String name : List.of(GptModel.VALUE_WEIGHT, GptModel.VALUE_BIAS)) {
            NDArray a = policy.parameters().get(name).getArray();
            head.put(name, F32Tensor.of(a.toFloatArray(), Math.toIntExact(a.size())));
        }
        io.salsa.model.safetensors.SafeTensorsWriter.write(folder.resolve(VALUE_HEAD_FILE), head,
                io.salsa.model.safetensors.SafeTensorsWriter.PT_METADATA);
    }

    @Override
    public void saveOptimizer(Path file) throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        for (String name : names) {
            long[] shape = arrays.get(names.indexOf(name)).getShape().getShape();
            specs.add(new TensorSpec(MOMENT1 + name, shape));
            specs.add(new TensorSpec(MOMENT2 + name, shape));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(STEPS_KEY, Long.toString(optimizer.steps()));
        // skips in a row decide where a later run halts: a resumed run and a replay must count on from here
        metadata.put(NON_FINITE_KEY, Long.toString(scaler.nonFiniteSkips()));
        metadata.put(NON_FINITE_RUN_KEY, Integer.toString(scaler.consecutiveNonFiniteSkips()));
        if (scaler.enabled()) {
            // the loss scaler decides which future steps are skipped: a resumed run needs its exact state
            metadata.put(SCALE_KEY, Float.toString(scaler.lossScale()));
            metadata.put(GROWTH_KEY, Integer.toString(scaler.growthTracker()));
            metadata.put(SKIPPED_KEY, Long.toString(scaler.skippedSteps()));
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(file, specs, metadata)) {
            for (int i = 0; i < names.size(); i++) {
                w.write(MOMENT1 + names.get(i), optimizer.firstMoments().get(i).toFloatArray());
                w.write(MOMENT2 + names.get(i), optimizer.secondMoments().get(i).toFloatArray());
            }
            w.commit();
        }
    }

    @Override
    public void restore(Path policyFolder, Path optimizerFile) throws IOException {
        if (lora == null) {
            policy.loadWeights(policyFolder);
        } else {
            restoreAdapter(policyFolder);
        }
        try (SafeTensors st = SafeTensors.open(optimizerFile)) {
            for (int i = 0; i < names.size(); i++) {
                optimizer.firstMoments().get(i).set(st.readFloatBuffer(MOMENT1 + names.get(i)));
                optimizer.secondMoments().get(i).set(st.readFloatBuffer(MOMENT2 + names.get(i)));
            }
            String steps = st.metadata().get(STEPS_KEY);
            if (steps == null) {
                throw new IOException(optimizerFile + ": no " + STEPS_KEY + " in the metadata");
            }
            optimizer.restoreSteps(Long.parseLong(steps));
            String nonFinite = st.metadata().get(NON_FINITE_KEY);
            String nonFiniteRun = st.metadata().get(NON_FINITE_RUN_KEY);
            try {
                // absent in checkpoints written before the float32 check: nothing was skipped then
                scaler.restoreNonFinite(nonFinite == null ? 0 : Long.parseLong(nonFinite),
                        nonFiniteRun == null ? 0 : Integer.parseInt(nonFiniteRun));
            } catch (IllegalArgumentException e) {
                throw new IOException(optimizerFile + ": bad non-finite skip counters: " + e.getMessage(), e);
            }
            if (scaler.enabled()) {
                String scale = st.metadata().get(SCALE_KEY);
                String growth = st.metadata().get(GROWTH_KEY);
                String skipped = st.metadata().get(SKIPPED_KEY);
                if (scale == null || growth == null || skipped == null) {
                    throw new IOException(optimizerFile + ": mixed_precision=fp16 needs the loss-scaler state ("
                            + SCALE_KEY + ", " + GROWTH_KEY + ", " + SKIPPED_KEY + ") in the metadata; this checkpoint "
                            + "was written without it");
                }
                try {
                    scaler.restore(Float.parseFloat(scale), Integer.parseInt(growth), Long.parseLong(skipped));
                } catch (IllegalArgumentException e) {
                    throw new IOException(optimizerFile + ": bad loss-scaler state: " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * Loads a LoRA policy folder's adapter (refused when it was trained on another base than the one held) and value
     * head into the model in use.
     */
    private void restoreAdapter(Path folder) throws IOException {
        Path headFile = folder.resolve(VALUE_HEAD_FILE);
        if (!Files.isRegularFile(headFile)) {
            throw new NoSuchFileException(headFile + " (a LoRA policy checkpoint's value head)");
        }
        try (SafeTensors st = SafeTensors.open(headFile)) {
            for (String name : List.of(GptModel.VALUE_WEIGHT, GptModel.VALUE_BIAS)) {
                if (!st.tensors().containsKey(name)) {
                    throw new IOException(headFile + ": missing tensor '" + name + "'");
                }
            }
            lora.loadWeights(folder, baseSha256);
            for (String name : List.of(GptModel.VALUE_WEIGHT, GptModel.VALUE_BIAS)) {
                policy.setWeights(name, st.readFloatBuffer(name));
            }
        }
    }

    @Override
    public void close() {
        optimizer.close();
        stepManager.close();
        if (reference != null) {
            reference.close();
        }
        if (lora != null) {
            lora.close();
        }
        policy.close();
    }

    private static final class Prepared implements PreparedReference {
        private CausalLm model;
        private final String sha256;

        Prepared(CausalLm model, String sha256) {
            this.model = model;
            this.sha256 = sha256;
        }

        @Override
        public void close() {
            if (model != null) {
                model.close();
                model = null;
            }
        }
    }
}
