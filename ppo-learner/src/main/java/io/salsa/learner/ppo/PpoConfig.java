package io.salsa.learner.ppo;

import io.salsa.model.lm.Precision;
import io.salsa.model.train.NonFinitePolicy;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * PPO hyper-parameters under TRL's names ({@code batch_size}, {@code cliprange}, {@code vf_coef}, …), immutable
 * and validated at construction so a bad value fails at start with the setting's name and allowed range.
 *
 * @param batchSize rollouts per PPO step ({@code batch_size})
 * @param miniBatchSize rollouts per optimiser step; divides batch_size ({@code mini_batch_size})
 * @param ppoEpochs passes over each batch ({@code ppo_epochs})
 * @param learningRate AdamW learning rate ({@code learning_rate})
 * @param weightDecay AdamW decoupled weight decay ({@code weight_decay})
 * @param adamBeta1 AdamW β1 ({@code adam_beta1})
 * @param adamBeta2 AdamW β2 ({@code adam_beta2})
 * @param adamEpsilon AdamW ε ({@code adam_epsilon})
 * @param maxGradNorm global gradient-norm clip ({@code max_grad_norm})
 * @param cliprange policy ratio clip ε ({@code cliprange})
 * @param cliprangeValue value clip ε_v ({@code cliprange_value})
 * @param vfCoef value-loss weight ({@code vf_coef})
 * @param entropyCoef entropy bonus weight, 0 = off ({@code entropy_coef}, OpenRLHF)
 * @param gamma discount ({@code gamma})
 * @param lam GAE λ ({@code lam})
 * @param initKlCoef initial (or fixed) β ({@code init_kl_coef})
 * @param adapKlCtrl adaptive KL controller on/off ({@code adap_kl_ctrl})
 * @param target adaptive controller's target sequence KL ({@code target})
 * @param horizon adaptive controller's horizon ({@code horizon})
 * @param klEstimator per-token KL estimator ({@code kl_estimator})
 * @param whitenRewards whiten rewards before GAE ({@code whiten_rewards})
 * @param whitenAdvantages whiten advantages after GAE ({@code whiten_advantages})
 * @param missingEosPenalty subtracted from the score of responses without EOS, 0 = off ({@code missing_eos_penalty})
 * @param maxStaleness drop rollouts more than this many policy versions old ({@code max_staleness})
 * @param isTruncation cap of the truncated importance weights, 0 = no off-policy correction ({@code is_truncation})
 * @param temperature sampling temperature the logits are divided by ({@code temperature})
 * @param mixedPrecision {@code no} (float32) or {@code fp16} (autocast-style mixed precision with dynamic loss
 *     scaling; float32 master weights and optimiser state) ({@code mixed_precision})
 * @param lossScaleInit initial loss scale under fp16 ({@code loss_scale_init}, torch's {@code init_scale})
 * @param lossScaleGrowthInterval overflow-free optimiser steps before the scale grows
 *     ({@code loss_scale_growth_interval}, torch's {@code growth_interval})
 * @param lossScaleGrowthFactor scale multiplier after that many good steps ({@code loss_scale_growth_factor})
 * @param lossScaleBackoffFactor scale multiplier after an overflow ({@code loss_scale_backoff_factor})
 * @param maxConsecutiveSkips optimiser steps in a row skipped for a non-finite float32 gradient after which the
 *     learner halts ({@code max_consecutive_skips}, ≥ 1)
 * @param cliprangeLow lower ratio clip ε_low, ratio ≥ 1 − ε_low; NaN = {@code cliprange}
 *     ({@code cliprange_low}, OpenRLHF's {@code eps_clip_low_high})
 * @param cliprangeHigh upper ratio clip ε_high, ratio ≤ 1 + ε_high; NaN = {@code cliprange}; larger than ε_low
 *     is DAPO's "clip-higher" ({@code cliprange_high})
 * @param dualClip dual-clip bound c &gt; 1 capping a negative-advantage token's loss at c·|A|, 0 = off
 *     ({@code dual_clip}, OpenRLHF)
 * @param lossAgg how per-token policy losses are averaged ({@code loss_agg}: token_mean or seq_mean)
 * @param lora LoRA mode ({@code lora_r}, {@code lora_alpha}, {@code lora_dropout}, {@code lora_targets}; r = 0:
 *     full weights)
 * @param algorithm {@code ppo} (value head, GAE), {@code grpo} or {@code rloo} (critic-free, baselines from the
 *     prompt group) ({@code algorithm})
 */
public record PpoConfig(
        int batchSize,
        int miniBatchSize,
        int ppoEpochs,
        double learningRate,
        double weightDecay,
        double adamBeta1,
        double adamBeta2,
        double adamEpsilon,
        double maxGradNorm,
        double cliprange,
        double cliprangeValue,
        double vfCoef,
        double entropyCoef,
        double gamma,
        double lam,
        double initKlCoef,
        boolean adapKlCtrl,
        double target,
        double horizon,
        KlEstimator klEstimator,
        boolean whitenRewards,
        boolean whitenAdvantages,
        double missingEosPenalty,
        int maxStaleness,
        double isTruncation,
        double temperature,
        Precision mixedPrecision,
        double lossScaleInit,
        int lossScaleGrowthInterval,
        double lossScaleGrowthFactor,
        double lossScaleBackoffFactor,
        int maxConsecutiveSkips,
        double cliprangeLow,
        double cliprangeHigh,
        double dualClip,
        LossAgg lossAgg,
        Algorithm algorithm,
        LoraSettings lora) {

    /** Every accepted key, in declaration order. */
    public static final Set<String> KEYS = defaults().toMap().keySet();

    public PpoConfig {
        atLeast("batch_size", batchSize, 1);
        atLeast("mini_batch_size", miniBatchSize, 1);
        if (miniBatchSize > batchSize || batchSize % miniBatchSize != 0) {
            throw new IllegalArgumentException("mini_batch_size must divide batch_size (got mini_batch_size="
                    + miniBatchSize + ", batch_size=" + batchSize + ")");
        }
        atLeast("ppo_epochs", ppoEpochs, 1);
        positive("learning_rate", learningRate);
        range("weight_decay", weightDecay, 0, 1);
        rangeOpen("adam_beta1", adamBeta1);
        rangeOpen("adam_beta2", adamBeta2);
        positive("adam_epsilon", adamEpsilon);
        positive("max_grad_norm", maxGradNorm);
        if (!(cliprange > 0 && cliprange < 1)) {
            throw new IllegalArgumentException("cliprange must be in (0, 1) (got " + cliprange + ")");
        }
        positive("cliprange_value", cliprangeValue);
        range("vf_coef", vfCoef, 0, Double.MAX_VALUE);
        range("entropy_coef", entropyCoef, 0, Double.MAX_VALUE);
        range("gamma", gamma, 0, 1);
        range("lam", lam, 0, 1);
        range("init_kl_coef", initKlCoef, 0, Double.MAX_VALUE);
        positive("target", target);
        positive("horizon", horizon);
        if (klEstimator == null) {
            throw new IllegalArgumentException("kl_estimator must be one of k1, k2, k3 (got null)");
        }
        range("missing_eos_penalty", missingEosPenalty, 0, Double.MAX_VALUE);
        atLeast("max_staleness", maxStaleness, 0);
        range("is_truncation", isTruncation, 0, Double.MAX_VALUE);
        positive("temperature", temperature);
        if (mixedPrecision == null) {
            throw new IllegalArgumentException("mixed_precision must be no or fp16 (got null)");
        }
        if (!(lossScaleInit >= 1e-30 && lossScaleInit <= 1e30)) {
            // the scale is a float32 like torch's: keep it and its reciprocal finite and normal
            throw new IllegalArgumentException("loss_scale_init must be in [1e-30, 1e30] (got " + lossScaleInit + ")");
        }
        atLeast("loss_scale_growth_interval", lossScaleGrowthInterval, 1);
        if (!(lossScaleGrowthFactor > 1 && lossScaleGrowthFactor <= 1e6)) {
            throw new IllegalArgumentException("loss_scale_growth_factor must be in (1, 1e6] (got " + lossScaleGrowthFactor + ")");
        }
        if (!(lossScaleBackoffFactor > 0 && lossScaleBackoffFactor < 1)) {
            throw new IllegalArgumentException("loss_scale_backoff_factor must be in (0, 1) (got " + lossScaleBackoffFactor + ")");
        }
        atLeast("max_consecutive_skips", maxConsecutiveSkips, 1);
        if (!Double.isNaN(cliprangeLow) && !(cliprangeLow > 0 && cliprangeLow < 1)) {
            throw new IllegalArgumentException("cliprange_low must be in (0, 1) or 'cliprange' (got " + cliprangeLow + ")");
        }
        if (!Double.isNaN(cliprangeHigh) && !(cliprangeHigh > 0 && cliprangeHigh <= 10)) {
            throw new IllegalArgumentException("cliprange_high must be in (0, 10] or 'cliprange' (got " + cliprangeHigh + ")");
        }
        if (!(dualClip == 0 || (dualClip > 1 && dualClip <= 1e6))) {
            throw new IllegalArgumentException("dual_clip must be 0 (off) or in (1, 1e6] (got " + dualClip + ")");
        }
        if (lossAgg == null) {
            throw new IllegalArgumentException("loss_agg must be token_mean or seq_mean (got null)");
        }
        if (algorithm == null) {
            throw new IllegalArgumentException("algorithm must be ppo, grpo or rloo (got null)");
        }
        if (lora == null) {
            throw new IllegalArgumentException("lora settings must not be null (LoraSettings.off() = full weights)");
        }
    }

    /** ε_low the policy loss uses: {@code cliprange_low}, or {@code cliprange} when that is unset. */
    public double clipLow() {
        return Double.isNaN(cliprangeLow) ? cliprange : cliprangeLow;
    }

    /** ε_high the policy loss uses: {@code cliprange_high}, or {@code cliprange} when that is unset. */
    public double clipHigh() {
        return Double.isNaN(cliprangeHigh) ? cliprange : cliprangeHigh;
    }

    /** TRL's defaults where TRL has them (legacy PPOConfig for the KL controller), OpenRLHF's otherwise. */
    public static PpoConfig defaults() {
        return new PpoConfig(64, 16, 4, 1.41e-5, 0.0, 0.9, 0.999, 1e-8, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95,
                0.05, true, 6.0, 10000, KlEstimator.K1, false, true, 0.0, 4, 2.0, 1.0,
                Precision.FP32, 65536.0, 2000, 2.0, 0.5, NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS,
                Double.NaN, Double.NaN, 0.0, LossAgg.TOKEN_MEAN, Algorithm.PPO, LoraSettings.off());
    }

    /** A builder starting from {@link #defaults()}. */
    public static PpoConfigBuilder builder() {
        return new PpoConfigBuilder(defaults());
    }

    /** A builder starting from these settings. */
    public PpoConfigBuilder toBuilder() {
        return new PpoConfigBuilder(this);
    }

    /** The number of optimiser steps per PPO step. */
    public int optimizerStepsPerBatch() {
        return ppoEpochs * (batchSize / miniBatchSize);
    }

    /** The settings as TRL-named strings, e.g. for a run descriptor or the README table. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("batch_size", Integer.toString(batchSize));
        m.put("mini_batch_size", Integer.toString(miniBatchSize));
        m.put("ppo_epochs", Integer.toString(ppoEpochs));
        m.put("learning_rate", Double.toString(learningRate));
        m.put("weight_decay", Double.toString(weightDecay));
        m.put("adam_beta1", Double.toString(adamBeta1));
        m.put("adam_beta2", Double.toString(adamBeta2));
        m.put("adam_epsilon", Double.toString(adamEpsilon));
        m.put("max_grad_norm", Double.toString(maxGradNorm));
        m.put("cliprange", Double.toString(cliprange));
        m.put("cliprange_value", Double.toString(cliprangeValue));
        m.put("vf_coef", Double.toString(vfCoef));
        m.put("entropy_coef", Double.toString(entropyCoef));
        m.put("gamma", Double.toString(gamma));
        m.put("lam", Double.toString(lam));
        m.put("init_kl_coef", Double.toString(initKlCoef));
        m.put("adap_kl_ctrl", Boolean.toString(adapKlCtrl));
        m.put("target", Double.toString(target));
        m.put("horizon", Double.toString(horizon));
        m.put("kl_estimator", klEstimator.name().toLowerCase(Locale.ROOT));
        m.put("whiten_rewards", Boolean.toString(whitenRewards));
        m.put("whiten_advantages", Boolean.toString(whitenAdvantages));
        m.put("missing_eos_penalty", Double.toString(missingEosPenalty));
        m.put("max_staleness", Integer.toString(maxStaleness));
        m.put("is_truncation", Double.toString(isTruncation));
        m.put("temperature", Double.toString(temperature));
        m.put("mixed_precision", mixedPrecision.label());
        m.put("loss_scale_init", Double.toString(lossScaleInit));
        m.put("loss_scale_growth_interval", Integer.toString(lossScaleGrowthInterval));
        m.put("loss_scale_growth_factor", Double.toString(lossScaleGrowthFactor));
        m.put("loss_scale_backoff_factor", Double.toString(lossScaleBackoffFactor));
        m.put("max_consecutive_skips", Integer.toString(maxConsecutiveSkips));
        m.put("cliprange_low", clipSetting(cliprangeLow));
        m.put("cliprange_high", clipSetting(cliprangeHigh));
        m.put("dual_clip", Double.toString(dualClip));
        m.put("loss_agg", lossAgg.label());
        m.put("algorithm", algorithm.label());
        m.put("lora_r", Integer.toString(lora.r()));
        m.put("lora_alpha", Double.toString(lora.alpha()));
        m.put("lora_dropout", Double.toString(lora.dropout()));
        m.put("lora_targets", lora.targetsSetting());
        return m;
    }

    /**
     * The defaults overridden by TRL-named settings; an unknown key or an unparsable value is an error naming it.
     */
    public static PpoConfig fromMap(Map<String, String> settings) {
        Map<String, String> m = new LinkedHashMap<>(defaults().toMap());
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey().trim().toLowerCase(Locale.ROOT);
            if (!m.containsKey(key)) {
                throw new IllegalArgumentException("unknown PPO setting '" + e.getKey() + "'; known: " + m.keySet());
            }
            m.put(key, e.getValue().trim());
        }
        return new PpoConfig(
                parse(m, "batch_size", Integer::parseInt),
                parse(m, "mini_batch_size", Integer::parseInt),
                parse(m, "ppo_epochs", Integer::parseInt),
                parse(m, "learning_rate", Double::parseDouble),
                parse(m, "weight_decay", Double::parseDouble),
                parse(m, "adam_beta1", Double::parseDouble),
                parse(m, "adam_beta2", Double::parseDouble),
                parse(m, "adam_epsilon", Double::parseDouble),
                parse(m, "max_grad_norm", Double::parseDouble),
                parse(m, "cliprange", Double::parseDouble),
                parse(m, "cliprange_value", Double::parseDouble),
                parse(m, "vf_coef", Double::parseDouble),
                parse(m, "entropy_coef", Double::parseDouble),
                parse(m, "gamma", Double::parseDouble),
                parse(m, "lam", Double::parseDouble),
                parse(m, "init_kl_coef", Double::parseDouble),
                parse(m, "adap_kl_ctrl", PpoConfig::parseBoolean),
                parse(m, "target", Double::parseDouble),
                parse(m, "horizon", Double::parseDouble),
                KlEstimator.parse(m.get("kl_estimator")),
                parse(m, "whiten_rewards", PpoConfig::parseBoolean),
                parse(m, "whiten_advantages", PpoConfig::parseBoolean),
                parse(m, "missing_eos_penalty", Double::parseDouble),
                parse(m, "max_staleness", Integer::parseInt),
                parse(m, "is_truncation", Double::parseDouble),
                parse(m, "temperature", Double::parseDouble),
                parse(m, "mixed_precision", Precision::parse),
                parse(m, "loss_scale_init", Double::parseDouble),
                parse(m, "loss_scale_growth_interval", Integer::parseInt),
                parse(m, "loss_scale_growth_factor", Double::parseDouble),
                parse(m, "loss_scale_backoff_factor", Double::parseDouble),
                parse(m, "max_consecutive_skips", Integer::parseInt),
                parse(m, "cliprange_low", PpoConfig::parseClip),
                parse(m, "cliprange_high", PpoConfig::parseClip),
                parse(m, "dual_clip", Double::parseDouble),
                parse(m, "loss_agg", LossAgg::parse),
                parse(m, "algorithm", Algorithm::parse),
                new LoraSettings(parse(m, "lora_r", Integer::parseInt), parse(m, "lora_alpha", Double::parseDouble),
                        parse(m, "lora_dropout", Double::parseDouble),
                        LoraSettings.parseTargets(m.get("lora_targets"))));
    }

    private static <T> T parse(Map<String, String> m, String key, Function<String, T> parser) {
        String raw = m.get(key);
        try {
            return parser.apply(raw);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + ": cannot parse '" + raw + "' (" + e.getMessage() + ")");
        }
    }

    /** An unset asymmetric clip follows {@code cliprange}; it is written and read as the word "cliprange". */
    private static String clipSetting(double value) {
        return Double.isNaN(value) ? "cliprange" : Double.toString(value);
    }

    private static double parseClip(String raw) {
        if (raw.equalsIgnoreCase("cliprange")) {
            return Double.NaN;
        }
        double value = Double.parseDouble(raw);
        if (Double.isNaN(value)) {
            throw new IllegalArgumentException("expected a number or 'cliprange'");
        }
        return value;
    }

    private static boolean parseBoolean(String raw) {
        if (raw.equalsIgnoreCase("true")) {
            return true;
        }
        if (raw.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("expected true or false");
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(key + " must be >= " + min + " (got " + value + ")");
        }
    }

    private static void positive(String key, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(key + " must be a finite number > 0 (got " + value + ")");
        }
    }

    private static void range(String key, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", "
                    + (max == Double.MAX_VALUE ? "∞" : Double.toString(max)) + "] (got " + value + ")");
        }
    }

    private static void rangeOpen(String key, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(key + " must be in [0, 1) (got " + value + ")");
        }
    }
}
