package io.salsa.model.train;

import io.salsa.runtime.cli.OptionSlot;
import java.lang.reflect.Field;
import java.util.Objects;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The optimiser options every training command shares ({@code --epochs}, {@code --lr}, {@code --batch-size}, the
 * warm-up, {@code --max-steps}, {@code --max-grad-norm}, {@code --weight-decay}), as one picocli mixin.
 *
 * <p>Each command keeps its own defaults and help text (a pretrain runs 12 epochs at 2e-3, an SFT 3 at 5e-4), so the
 * mixin is built per command rather than from fixed annotations: the command holds it in a field, and
 * {@link Install} adds it to the command's picocli model when the command line is created. A command without
 * {@code --max-grad-norm} or {@code --weight-decay} passes its fixed value to {@link #sftConfig}.
 */
public final class TrainingOptions {

    /** The name under which the mixin appears in the command's picocli model. */
    public static final String MIXIN_NAME = "training";

    private final CommandSpec mixin = CommandSpec.wrapWithoutInspection(this);
    private final OptionSlot epochs = new OptionSlot(0);
    private final OptionSlot lr = new OptionSlot(0.0);
    private final OptionSlot batchSize = new OptionSlot(0);
    private final OptionSlot warmup = new OptionSlot(0);
    private final OptionSlot maxSteps = new OptionSlot(0);
    private final OptionSlot maxGradNorm = new OptionSlot(null);
    private final OptionSlot weightDecay = new OptionSlot(null);

    private TrainingOptions() {
    }

    /** Starts the options with {@code --epochs}: its default and what it counts ({@code null}: "Default: N."). */
    public static Builder epochs(int defaultValue, String description) {
        Builder b = new Builder();
        b.add("--epochs", "<epochs>", int.class, Integer.toString(defaultValue), description, b.options.epochs);
        return b;
    }

    public int epochs() {
        return epochs.get();
    }

    public double lr() {
        return lr.get();
    }

    public int batchSize() {
        return batchSize.get();
    }

    /** Linear warm-up steps. */
    public int warmup() {
        return warmup.get();
    }

    public int maxSteps() {
        return maxSteps.get();
    }

    /** {@code --max-grad-norm}, or {@code fixed} for a command without the flag. */
    public double maxGradNorm(double fixed) {
        Double v = maxGradNorm.get();
        return v == null ? fixed : v;
    }

    /** {@code --weight-decay}, or {@code fixed} for a command without the flag. */
    public double weightDecay(double fixed) {
        Double v = weightDecay.get();
        return v == null ? fixed : v;
    }

    /** The options as an {@link SftConfig} with {@code seed} (fixed clip and decay where the command has no flag). */
    public SftConfig sftConfig(long seed, double fixedMaxGradNorm, double fixedWeightDecay) {
        return new SftConfig(epochs(), lr(), batchSize(), warmup(), maxSteps(), maxGradNorm(fixedMaxGradNorm),
                weightDecay(fixedWeightDecay), seed);
    }

    /**
     * Declares one command's training options; each takes its default as written in the help ({@code "5e-4"}) and
     * what it means, {@code null} for a bare "Default: N.".
     */
    public static final class Builder {
        private final TrainingOptions options = new TrainingOptions();

        private Builder() {
        }

        public Builder lr(String defaultValue, String description) {
            return add("--lr", "<lr>", double.class, defaultValue, description, options.lr);
        }

        public Builder batchSize(int defaultValue, String description) {
            return add("--batch-size", "<batchSize>", int.class, Integer.toString(defaultValue), description,
                    options.batchSize);
        }

        /** The warm-up flag ({@code --warmup} or {@code --warmup-steps}) and its field name in the help. */
        public Builder warmup(String flag, String paramLabel, int defaultValue, String description) {
            return add(flag, paramLabel, int.class, Integer.toString(defaultValue), description, options.warmup);
        }

        public Builder maxSteps(String description) {
            return add("--max-steps", "<maxSteps>", int.class, "0", description, options.maxSteps);
        }

        public Builder maxGradNorm(String defaultValue, String description) {
            return add("--max-grad-norm", "<maxGradNorm>", double.class, defaultValue, description,
                    options.maxGradNorm);
        }

        public Builder weightDecay(String defaultValue, String description) {
            return add("--weight-decay", "<weightDecay>", double.class, defaultValue, description,
                    options.weightDecay);
        }

        public TrainingOptions build() {
            return options;
        }

        private Builder add(String flag, String paramLabel, Class<?> type, String defaultValue, String description,
                OptionSlot slot) {
            String help = description == null ? "Default: ${DEFAULT-VALUE}."
                    : description + " (default: ${DEFAULT-VALUE}).";
            options.mixin.addOption(OptionSpec.builder(flag).type(type).paramLabel(paramLabel)
                    .defaultValue(Objects.requireNonNull(defaultValue, flag)).description(help)
                    .getter(slot).setter(slot).build());
            return this;
        }
    }

    /**
     * Adds the training options a command holds in a field to its picocli model when its {@code CommandLine} is
     * created (name it in {@code @Command(modelTransformer = TrainingOptions.Install.class)}).
     */
    public static final class Install implements IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            Object command = spec.userObject();
            for (Field f : command.getClass().getDeclaredFields()) {
                if (f.getType() == TrainingOptions.class) {
                    try {
                        f.setAccessible(true);
                        spec.addMixin(MIXIN_NAME, ((TrainingOptions) f.get(command)).mixin);
                        return spec;
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException("cannot read " + f, e);
                    }
                }
            }
            throw new IllegalStateException(command.getClass().getName() + " has no TrainingOptions field");
        }
    }
}
