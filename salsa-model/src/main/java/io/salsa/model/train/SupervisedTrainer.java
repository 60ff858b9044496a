package io.salsa.model.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.CausalLm;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The one supervised training loop of salsa-stream, so SFT, pretraining and the reward model share everything but
 * their loss: seeded batching order, linear warm-up and decay, global-norm clipping, {@link AdamW} ({@link
 * AdamW.Arithmetic#SUPERVISED}), the progress line and the {@link NonFinitePolicy}. A task supplies an {@link
 * Objective}: the LM loss on response tokens (SFT, pretraining) or Bradley–Terry (reward model).
 *
 * <p>Each step: forward and backward of one batch, the global gradient norm on the host, then either the update
 * (clip, AdamW, gradients zeroed) or, when the loss or the norm is not finite, a skip (gradients cleared; weights,
 * moments and the AdamW step counter untouched). Skipped steps still count as steps: the schedule and the data
 * order go on as if the step had been taken, so a skip never shifts what later steps see.
 *
 * <p>Deterministic: the data order comes from a Java {@link Random} seeded with the settings' seed (reshuffled
 * every epoch), the models have no dropout, and PyTorch's CPU kernels are deterministic for a fixed thread count,
 * so the same initial weights, data, seed and machine give bit-identical weights.
 *
 * @param <E> one training example (a token sequence, a preference pair …)
 */
public final class SupervisedTrainer<E> implements AutoCloseable {

    /** Progress lines at most this often (plus the first and last step). */
    private static final long PROGRESS_EVERY_NANOS = 2_000_000_000L;

    /**
     * A task's loss, the only part of supervised training that differs between tasks.
     *
     * @param <E> one training example
     */
    public interface Objective<E> {
        /**
         * The mean loss of {@code batch} as a scalar on the autograd path. Called with a GradientCollector open:
         * create inputs in {@code scope} and use no Java-number operands (README, "DJL pitfalls").
         */
        NDArray loss(CausalLm model, NDManager scope, List<E> batch);

        /** Work in {@code batch} for the throughput figure (tokens, pairs …). */
        long units(List<E> batch);
    }

    /**
     * Hyper-parameters of a run.
     *
     * @param epochs              passes over the examples (≥ 1)
     * @param lr                  peak learning rate (see {@link LrSchedule})
     * @param batchSize           examples per step (≥ 1)
     * @param warmupSteps         linear warm-up steps (≥ 0), capped at the run's length
     * @param maxSteps            stop after this many steps (0 = epochs decide)
     * @param maxGradNorm         global gradient-norm clip (0 = off)
     * @param weightDecay         AdamW decoupled decay of matrices (≥ 0)
     * @param seed                data order
     * @param maxConsecutiveSkips non-finite steps in a row that halt training (≥ 1)
     */
    public record Settings(int epochs, double lr, int batchSize, int warmupSteps, int maxSteps, double maxGradNorm,
                           double weightDecay, long seed, int maxConsecutiveSkips) {

        public Settings {
            if (epochs < 1 || batchSize < 1 || warmupSteps < 0 || maxSteps < 0) {
                throw new IllegalArgumentException("epochs and batch size must be >= 1, warm-up and max steps >= 0; got "
                        + epochs + ", " + batchSize + ", " + warmupSteps + ", " + maxSteps);
            }
            if (!(maxGradNorm >= 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("max gradient norm and weight decay must be >= 0, got "
                        + maxGradNorm + ", " + weightDecay);
            }
            if (maxConsecutiveSkips < 1) {
                throw new IllegalArgumentException("max consecutive skips must be >= 1, got " + maxConsecutiveSkips);
            }
        }

        /** The same settings halting after {@code n} non-finite steps in a row. */
        public Settings withMaxConsecutiveSkips(int n) {
            return new Settings(epochs, lr, batchSize, warmupSteps, maxSteps, maxGradNorm, weightDecay, seed, n);
        }
    }

    /**
     * How a task's progress line names its loss and its throughput: {@code step i/n  epoch e  <loss> …  lr …
     * grad-norm …  <rate> <unit>  ETA …}.
     *
     * @param lossName     label of the loss ("loss", "bt-loss")
     * @param rateUnit     unit of the throughput ("tok/s", "pairs/s")
     * @param rateDecimals decimals of the throughput
     * @param etaMinutes   ETA as {@code 1m05s} (true) or as seconds {@code 65s} (false)
     */
    public record ProgressFormat(String lossName, String rateUnit, int rateDecimals, boolean etaMinutes) {
        /** Language-model training: loss, tokens per second, ETA in minutes and seconds. */
        public static final ProgressFormat TOKENS = new ProgressFormat("loss", "tok/s", 0, true);
    }

    /**
     * What a run did.
     *
     * @param steps     steps run, including skipped ones
     * @param skipped   steps skipped because the loss or the gradient was not finite
     * @param units     work units of the steps taken (see {@link Objective#units})
     * @param finalLoss loss of the last step
     * @param seconds   wall time of the loop
     */
    public record Result(int steps, int skipped, long units, double finalLoss, double seconds) {
    }

    /**
     * One step's outcome.
     *
     * @param loss     the batch loss
     * @param gradNorm the global gradient norm before clipping
     * @param taken    whether the weights were updated (false: skipped as non-finite)
     */
    public record Step(double loss, double gradNorm, boolean taken) {
    }

    private final CausalLm model;
    private final Objective<E> objective;
    private final Settings settings;
    private final ProgressFormat format;
    private final Consumer<String> progress;
    private final Collection<Parameter> parameters;
    private final boolean wasTrainable;
    private final List<Parameter> subset; // trained instead of the model's weights; null = the whole model
    private final AdamW optimizer;
    private final NonFinitePolicy nonFinite;
    private long stepsRun;
    private boolean gradientsDirty;

    /** Makes {@code model} trainable (until {@link #close()}) and gives it a fresh optimiser. */
    public SupervisedTrainer(CausalLm model, Objective<E> objective, Settings settings, ProgressFormat format,
                             Consumer<String> progress) {
        this(model, null, objective, settings, format, progress);
    }

    /**
     * Trains only {@code trainable} (LoRA's A and B, a score head …): the model's own weights are frozen until
     * {@link #close()}, the optimiser, clipping and gradient norm see {@code trainable} alone; null trains the whole
     * model as the other constructor does.
     */
    public SupervisedTrainer(CausalLm model, Map<String, Parameter> trainable, Objective<E> objective,
                             Settings settings, ProgressFormat format, Consumer<String> progress) {
        this.model = model;
        this.objective = objective;
        this.settings = settings;
        this.format = format;
        this.progress = progress;
        this.wasTrainable = model.isTrainable();
        Map<String, Parameter> params = trainable == null ? model.parameters() : trainable;
        if (params.isEmpty()) {
            throw new IllegalArgumentException("nothing to train: no trainable parameters");
        }
        model.setTrainable(trainable == null);
        this.subset = trainable == null ? null : List.copyOf(params.values());
        if (subset != null) {
            subset.forEach(p -> p.getArray().setRequiresGradient(true));
        }
        this.parameters = params.values();
        this.optimizer = AdamW.withDefaults(params, settings.weightDecay());
        this.nonFinite = new NonFinitePolicy(settings.maxConsecutiveSkips());
    }

    /** Steps a run over {@code examples} examples will take. */
    public static int plannedSteps(int examples, Settings s) {
        long perEpoch = (examples + s.batchSize() - 1) / s.batchSize();
        long total = perEpoch * s.epochs();
        if (s.maxSteps() > 0) {
            total = Math.min(total, s.maxSteps());
        }
        return (int) Math.min(Integer.MAX_VALUE, total);
    }

    /** Trains on {@code examples} for the settings' epochs (or max steps), printing progress lines. */
    public Result train(List<E> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        int total = plannedSteps(examples.size(), settings);
        LrSchedule schedule = LrSchedule.linear(settings.lr(), Math.min(settings.warmupSteps(), total), total);
        Random order = new Random(settings.seed());
        long skippedBefore = nonFinite.skippedSteps();
        long t0 = System.nanoTime();
        long lastReport = 0;
        long units = 0;
        double lastLoss = Double.NaN;
        int step = 0;
        outer:
        for (int epoch = 0; epoch < settings.epochs(); epoch++) {
            List<E> shuffled = new ArrayList<>(examples);
            Collections.shuffle(shuffled, order);
            for (int from = 0; from < shuffled.size(); from += settings.batchSize()) {
                if (step >= total) {
                    break outer;
                }
                List<E> batch = shuffled.subList(from, Math.min(shuffled.size(), from + settings.batchSize()));
                double lr = schedule.lr(step);
                Step s = step(batch, lr);
                step++;
                lastLoss = s.loss();
                if (!s.taken()) {
                    continue;
                }
                units += objective.units(batch);
                long now = System.nanoTime();
                if (step == 1 || step == total || now - lastReport >= PROGRESS_EVERY_NANOS) {
                    lastReport = now;
                    progress.accept(progressLine(step, total, epoch + 1, s, lr, units, (now - t0) / 1e9));
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Result(step, (int) (nonFinite.skippedSteps() - skippedBefore), units, lastLoss, seconds);
    }

    /**
     * One step on {@code batch} with learning rate {@code lr}: forward, backward, then the update or, for a
     * non-finite loss or gradient, a skip under the {@link NonFinitePolicy}.
     *
     * @throws NonFinitePolicy.NonFiniteTrainingException when too many steps in a row were skipped
     */
    public Step step(List<E> batch, double lr) {
        // on whichever thread trains, as the PPO learner's step does
        return Gradients.withGradModeOff(() -> stepWithGradModeOff(batch, lr));
    }

    private Step stepWithGradModeOff(List<E> batch, double lr) {
        stepsRun++;
        gradientsDirty = true;
        double loss = lossAndGradients(batch);
        double norm = Gradients.globalNorm(parameters);
        if (!NonFinitePolicy.finite(loss, norm)) {
            optimizer.discardGradients();
            gradientsDirty = false;
            nonFinite.skipped(stepsRun, loss, norm, settings.lr(), progress);
            return new Step(loss, norm, false);
        }
        nonFinite.taken();
        Gradients.clipToNorm(parameters, norm, settings.maxGradNorm());
        optimizer.step(lr);
        Gradients.zero(parameters);
        gradientsDirty = false;
        return new Step(loss, norm, true);
    }

    /** The optimiser (its moments and step counter), for tests and diagnostics. */
    public AdamW optimizer() {
        return optimizer;
    }

    /** The non-finite policy's counters. */
    public NonFinitePolicy nonFinite() {
        return nonFinite;
    }

    /** Frees the optimiser, clears gradients a failed step left behind and restores the model's trainability. */
    @Override
    public void close() {
        try {
            if (gradientsDirty) {
                optimizer.discardGradients(); // a fill: they may hold inf or NaN
            }
            optimizer.close();
        } finally {
            if (subset != null) {
                subset.forEach(p -> p.getArray().setRequiresGradient(false));
            }
            model.setTrainable(wasTrainable);
        }
    }

    /** Forward and backward of one batch in a scope of its own; returns the loss, leaves the gradients. */
    private double lossAndGradients(List<E> batch) {
        try (NDManager scope = model.newScope()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = objective.loss(model, scope, batch);
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    private String progressLine(int step, int total, int epoch, Step s, double lr, long units, double secs) {
        double eta = secs / step * (total - step);
        String etaText = format.etaMinutes() ? duration(eta) : String.format(Locale.ROOT, "%.0fs", eta);
        return String.format(Locale.ROOT,
                "step %d/%d  epoch %d  %s %.4f  lr %.2e  grad-norm %.3f  %." + format.rateDecimals() + "f %s  ETA %s",
                step, total, epoch, format.lossName(), s.loss(), lr, s.gradNorm(), units / Math.max(secs, 1e-9),
                format.rateUnit(), etaText);
    }

    /** {@code 1m05s} from 65 seconds; plain seconds under a minute. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + String.format("%02d", s % 60) + "s" : s + "s";
    }
}
