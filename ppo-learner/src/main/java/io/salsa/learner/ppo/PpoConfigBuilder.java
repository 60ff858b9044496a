package io.salsa.learner.ppo;

import io.salsa.model.lm.Precision;

/**
 * Builds a {@link PpoConfig} in code with typed setters named like its components, so callers that set a few
 * hyper-parameters (the demo, the experiment) need no TRL-named strings; {@link #build()} validates as the
 * record's constructor does.
 */
public final class PpoConfigBuilder {

    private int batchSize;
    private int miniBatchSize;
    private int ppoEpochs;
    private double learningRate;
    private double weightDecay;
    private double adamBeta1;
    private double adamBeta2;
    private double adamEpsilon;
    private double maxGradNorm;
    private double cliprange;
    private double cliprangeValue;
    private double vfCoef;
    private double entropyCoef;
    private double gamma;
    private double lam;
    private double initKlCoef;
    private boolean adapKlCtrl;
    private double target;
    private double horizon;
    private KlEstimator klEstimator;
    private boolean whitenRewards;
    private boolean whitenAdvantages;
    private double missingEosPenalty;
    private int maxStaleness;
    private double isTruncation;
    private double temperature;
    private Precision mixedPrecision;
    private double lossScaleInit;
    private int lossScaleGrowthInterval;
    private double lossScaleGrowthFactor;
    private double lossScaleBackoffFactor;
    private int maxConsecutiveSkips;
    private double cliprangeLow;
    private double cliprangeHigh;
    private double dualClip;
    private LossAgg lossAgg;
    private Algorithm algorithm;
    private LoraSettings lora;

    PpoConfigBuilder(PpoConfig c) {
        batchSize = c.batchSize();
        miniBatchSize = c.miniBatchSize();
        ppoEpochs = c.ppoEpochs();
        learningRate = c.learningRate();
        weightDecay = c.weightDecay();
        adamBeta1 = c.adamBeta1();
        adamBeta2 = c.adamBeta2();
        adamEpsilon = c.adamEpsilon();
        maxGradNorm = c.maxGradNorm();
        cliprange = c.cliprange();
        cliprangeValue = c.cliprangeValue();
        vfCoef = c.vfCoef();
        entropyCoef = c.entropyCoef();
        gamma = c.gamma();
        lam = c.lam();
        initKlCoef = c.initKlCoef();
        adapKlCtrl = c.adapKlCtrl();
        target = c.target();
        horizon = c.horizon();
        klEstimator = c.klEstimator();
        whitenRewards = c.whitenRewards();
        whitenAdvantages = c.whitenAdvantages();
        missingEosPenalty = c.missingEosPenalty();
        maxStaleness = c.maxStaleness();
        isTruncation = c.isTruncation();
        temperature = c.temperature();
        mixedPrecision = c.mixedPrecision();
        lossScaleInit = c.lossScaleInit();
        lossScaleGrowthInterval = c.lossScaleGrowthInterval();
        lossScaleGrowthFactor = c.lossScaleGrowthFactor();
        lossScaleBackoffFactor = c.lossScaleBackoffFactor();
        maxConsecutiveSkips = c.maxConsecutiveSkips();
        cliprangeLow = c.cliprangeLow();
        cliprangeHigh = c.cliprangeHigh();
        dualClip = c.dualClip();
        lossAgg = c.lossAgg();
        algorithm = c.algorithm();
        lora = c.lora();
    }

    public PpoConfigBuilder batchSize(int value) {
        batchSize = value;
        return this;
    }

    public PpoConfigBuilder miniBatchSize(int value) {
        miniBatchSize = value;
        return this;
    }

    public PpoConfigBuilder ppoEpochs(int value) {
        ppoEpochs = value;
        return this;
    }

    public PpoConfigBuilder learningRate(double value) {
        learningRate = value;
        return this;
    }

    public PpoConfigBuilder weightDecay(double value) {
        weightDecay = value;
        return this;
    }

    public PpoConfigBuilder adamBeta1(double value) {
        adamBeta1 = value;
        return this;
    }

    public PpoConfigBuilder adamBeta2(double value) {
        adamBeta2 = value;
        return this;
    }

    public PpoConfigBuilder adamEpsilon(double value) {
        adamEpsilon = value;
        return this;
    }

    public PpoConfigBuilder maxGradNorm(double value) {
        maxGradNorm = value;
        return this;
    }

    public PpoConfigBuilder cliprange(double value) {
        cliprange = value;
        return this;
    }

    public PpoConfigBuilder cliprangeValue(double value) {
        cliprangeValue = value;
        return this;
    }

    public PpoConfigBuilder vfCoef(double value) {
        vfCoef = value;
        return this;
    }

    public PpoConfigBuilder entropyCoef(double value) {
        entropyCoef = value;
        return this;
    }

    public PpoConfigBuilder gamma(double value) {
        gamma = value;
        return this;
    }

    public PpoConfigBuilder lam(double value) {
        lam = value;
        return this;
    }

    public PpoConfigBuilder initKlCoef(double value) {
        initKlCoef = value;
        return this;
    }

    public PpoConfigBuilder adapKlCtrl(boolean value) {
        adapKlCtrl = value;
        return this;
    }

    public PpoConfigBuilder target(double value) {
        target = value;
        return this;
    }

    public PpoConfigBuilder horizon(double value) {
        horizon = value;
        return this;
    }

    public PpoConfigBuilder klEstimator(KlEstimator value) {
        klEstimator = value;
        return this;
    }

    public PpoConfigBuilder whitenRewards(boolean value) {
        whitenRewards = value;
        return this;
    }

    public PpoConfigBuilder whitenAdvantages(boolean value) {
        whitenAdvantages = value;
        return this;
    }

    public PpoConfigBuilder missingEosPenalty(double value) {
        missingEosPenalty = value;
        return this;
    }

    public PpoConfigBuilder maxStaleness(int value) {
        maxStaleness = value;
        return this;
    }

    public PpoConfigBuilder isTruncation(double value) {
        isTruncation = value;
        return this;
    }

    public PpoConfigBuilder temperature(double value) {
        temperature = value;
        return this;
    }

    public PpoConfigBuilder mixedPrecision(Precision value) {
        mixedPrecision = value;
        return this;
    }

    public PpoConfigBuilder lossScaleInit(double value) {
        lossScaleInit = value;
        return this;
    }

    public PpoConfigBuilder lossScaleGrowthInterval(int value) {
        lossScaleGrowthInterval = value;
        return this;
    }

    public PpoConfigBuilder lossScaleGrowthFactor(double value) {
        lossScaleGrowthFactor = value;
        return this;
    }

    public PpoConfigBuilder lossScaleBackoffFactor(double value) {
        lossScaleBackoffFactor = value;
        return this;
    }

    public PpoConfigBuilder maxConsecutiveSkips(int value) {
        maxConsecutiveSkips = value;
        return this;
    }

    /** ε_low; {@code Double.NaN} follows {@code cliprange}. */
    public PpoConfigBuilder cliprangeLow(double value) {
        cliprangeLow = value;
        return this;
    }

    /** ε_high; {@code Double.NaN} follows {@code cliprange}. */
    public PpoConfigBuilder cliprangeHigh(double value) {
        cliprangeHigh = value;
        return this;
    }

    public PpoConfigBuilder dualClip(double value) {
        dualClip = value;
        return this;
    }

    public PpoConfigBuilder lossAgg(LossAgg value) {
        lossAgg = value;
        return this;
    }

    public PpoConfigBuilder algorithm(Algorithm value) {
        algorithm = value;
        return this;
    }

    /** LoRA mode ({@code lora_*}); {@link LoraSettings#off()} trains full weights. */
    public PpoConfigBuilder lora(LoraSettings value) {
        lora = value;
        return this;
    }

    /** The config with every setting made so far; throws naming the setting when one is out of range. */
    public PpoConfig build() {
        return new PpoConfig(batchSize, miniBatchSize, ppoEpochs, learningRate, weightDecay, adamBeta1, adamBeta2,
                adamEpsilon, maxGradNorm, cliprange, cliprangeValue, vfCoef, entropyCoef, gamma, lam, initKlCoef,
                adapKlCtrl, target, horizon, klEstimator, whitenRewards, whitenAdvantages, missingEosPenalty,
                maxStaleness, isTruncation, temperature, mixedPrecision, lossScaleInit, lossScaleGrowthInterval,
                lossScaleGrowthFactor, lossScaleBackoffFactor, maxConsecutiveSkips, cliprangeLow, cliprangeHigh,
                dualClip, lossAgg, algorithm, lora);
    }
}
