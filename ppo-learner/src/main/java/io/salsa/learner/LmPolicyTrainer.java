package io.salsa.learner;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import io.salsa.learner.ppo.GradScaler;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoModel;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.Precision;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorSpec;
import io.salsa.model.train.AdamW;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PPO learner on any {@link CausalLm} folder (GPT-2 or the Llama family, chosen from {@code config.json}): the
 * policy is the LM with a TRL value head ({@code v_head.summary.*}), the reference is a second, gradient-free model
 * of the same architecture holding the soup's weights, and the optimiser is our checkpointable AdamW. Dropout is
 * never applied (the models have none), so a step is a deterministic function of weights, batch and seed on CPU.
 * {@code mixed_precision=fp16} is GPT-2 only for now.
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

    private final PpoConfig config;
    private final Device device;
    private final CausalLm policy;
    private CausalLm reference;
    private final List<String> names;
    private final AdamW optimizer;
    private final GradScaler scaler;
    private final PpoStep step;
    private final NDManager stepManager;

    private LmPolicyTrainer(PpoConfig config, Device device, CausalLm policy, CausalLm reference) {
        this.config = config;
        this.device = device;
        this.policy = policy;
        this.reference = reference;
        policy.setTrainable(true);
        reference.setTrainable(false);
        // fp16 runs the policy's and the reference's forward as torch.autocast would; weights and AdamW stay fp32
        policy.setPrecision(config.mixedPrecision());
        reference.setPrecision(config.mixedPrecision());
        this.names = List.copyOf(policy.parameters().keySet());
        List<NDArray> arrays = new ArrayList<>();
        for (Parameter p : policy.parameters().values()) {
            arrays.add(p.getArray());
        }
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
            public NDArray reference(NDArray inputIds) {
                return LmPolicyTrainer.this.reference.run(inputIds, null).logits();
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
     * a missing value head starts from {@link GptModel#HEAD_INIT_SEED}.
     */
    public static LmPolicyTrainer open(PpoConfig config, Path initFolder, Path referenceFolder, Device device)
            throws IOException {
        CausalLm policy = CausalLms.load(initFolder, GptModel.Head.VALUE, device);
        try {
            requireMixedPrecisionSupport(config, policy, initFolder);
            CausalLm reference = CausalLms.load(referenceFolder, GptModel.Head.NONE, device);
            String mismatch = architectureMismatch(reference, policy);
            if (mismatch != null) {
                reference.close();
                throw new IllegalArgumentException("the reference " + referenceFolder + " and the initial policy "
                        + initFolder + " have different architectures: " + mismatch);
            }
            return new LmPolicyTrainer(config, device, policy, reference);
        } catch (IOException | RuntimeException e) {
            policy.close();
            throw e;
        }
    }

    /** fp16 autocast exists for GPT-2 only: refuse it for another architecture naming the setting, before any step. */
    private static void requireMixedPrecisionSupport(PpoConfig config, CausalLm policy, Path folder) {
        if (config.mixedPrecision() != Precision.FP32 && !(policy instanceof GptModel)) {
            throw new IllegalArgumentException("mixed_precision=" + config.mixedPrecision().label()
                    + " is implemented for GPT-2 models only; " + folder + " is a " + policy.modelType()
                    + " model: set mixed_precision=no");
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

    @Override
    public PpoStep.Result step(List<TrainingSample> batch, double klCoef, long seed) {
        // PyTorch's grad mode is per thread and on by default, and DJL turns it off only on the thread that loaded
        // the engine; the step records gradients only inside its GradientCollector and updates the weights in
        // place outside it, so it runs with grad mode off on whichever thread trains (a service's own thread too)
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return step.run(batch, klCoef, seed);
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    @Override
    public PreparedReference prepareReference(Path modelFolder) throws IOException {
        CausalLm loaded = CausalLms.load(modelFolder, GptModel.Head.NONE, device);
        String mismatch = architectureMismatch(loaded, policy);
        if (mismatch != null) {
            loaded.close();
            throw new IllegalArgumentException("soup " + modelFolder + " has another architecture than the policy: "
                    + mismatch);
        }
        loaded.setTrainable(false);
        loaded.setPrecision(config.mixedPrecision());
        return new Prepared(loaded);
    }

    @Override
    public void swapReference(PreparedReference prepared) {
        Prepared p = (Prepared) prepared;
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
        policy.save(folder);
    }

    @Override
    public void saveOptimizer(Path file) throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        for (String name : names) {
            long[] shape = policy.parameters().get(name).getArray().getShape().getShape();
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
        policy.loadWeights(policyFolder);
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

    @Override
    public void close() {
        optimizer.close();
        stepManager.close();
        reference.close();
        policy.close();
    }

    private static final class Prepared implements PreparedReference {
        private CausalLm model;

        Prepared(CausalLm model) {
            this.model = model;
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
