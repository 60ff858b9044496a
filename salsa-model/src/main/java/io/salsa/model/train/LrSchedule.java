package io.salsa.model.train;

/**
 * Learning rate per step: linear warm-up from 0 to the peak, then linear decay to 0 at the last step, the
 * schedule Hugging Face's {@code get_linear_schedule_with_warmup} uses.
 *
 * @param peakLr      the rate reached after warm-up (> 0)
 * @param warmupSteps steps of warm-up (≥ 0)
 * @param totalSteps  steps in the run (≥ 1)
 */
public record LrSchedule(double peakLr, int warmupSteps, int totalSteps) {

    public LrSchedule {
        if (!(peakLr > 0 && peakLr < 10)) {
            throw new IllegalArgumentException("learning rate must be in (0, 10), got " + peakLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
    }

    /** Same as the constructor, reading as a schedule name. */
    public static LrSchedule linear(double peakLr, int warmupSteps, int totalSteps) {
        return new LrSchedule(peakLr, warmupSteps, totalSteps);
    }

    /** The rate for 0-based step {@code step}. */
    public double lr(int step) {
        if (step < warmupSteps) {
            return peakLr * (step + 1) / warmupSteps;
        }
        int decaySteps = Math.max(1, totalSteps - warmupSteps);
        return peakLr * Math.max(0.0, (double) (totalSteps - step) / decaySteps);
    }
}
