package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.Autocast;
import io.salsa.model.lm.Scalars;
import io.salsa.model.train.AdamW;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link GradScaler} follows torch.cuda.amp.GradScaler exactly: unscale, skip on overflow, back off, grow. */
class GradScalerTest {

    private static NDArray param(NDManager m, float... values) {
        NDArray p = m.create(values);
        p.setRequiresGradient(true);
        return p;
    }

    /** Backward of S · sum(c ⊙ p) with the float16 product, as a mixed-precision forward computes it. */
    private static void backwardHalf(GradScaler scaler, NDArray p, float c) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray half = Autocast.half(p);
            NDArray y = Autocast.toFloat32(half.mul(Scalars.of(half, c))).sum();
            gc.backward(scaler.scale(y));
        }
    }

    @Test
    void unscaleDividesTheGradientsBySAndFindsNoOverflow() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = param(m, 1f, 2f, 3f);
            GradScaler scaler = new GradScaler(true, 1024, 2, 0.5, 2000);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = p.mul(m.create(new float[] {0.5f, -1f, 4f})).sum();
                gc.backward(scaler.scale(y));
            }
            assertArrayEquals(new float[] {512f, -1024f, 4096f}, p.getGradient().toFloatArray(), 0f,
                    "backward of the scaled loss gives S·grad");
            assertFalse(scaler.unscale(List.of(p)));
            assertArrayEquals(new float[] {0.5f, -1f, 4f}, p.getGradient().toFloatArray(), 0f, "grad / S, exactly");
        }
    }

    @Test
    void anOverflowSkipsTheStepKeepsTheWeightsAndHalvesTheScale() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = param(m, 1f, -2f);
            try (AdamW adam = new AdamW(List.of(p), 0.9, 0.999, 1e-8, 0.01, AdamW.Arithmetic.TORCH)) {
                GradScaler scaler = new GradScaler(true, 65536, 2, 0.5, 2000);
                // the gradient reaching the float16 product is S = 65536 > 65504, the float16 maximum: inf
                backwardHalf(scaler, p, 1.5f);
                Optional<NDArray> norm = scaler.step(adam, 0.1, 1.0);
                assertTrue(norm.isEmpty(), "the step is skipped");
                assertArrayEquals(new float[] {1f, -2f}, p.toFloatArray(), 0f, "weights untouched (no decay either)");
                assertEquals(0, adam.steps(), "AdamW's step counter does not advance");
                assertArrayEquals(new float[] {0f, 0f}, adam.firstMoments().get(0).toFloatArray(), 0f);
                assertArrayEquals(new float[] {0f, 0f}, p.getGradient().toFloatArray(), 0f,
                        "the inf gradients are discarded, not turned into NaN");
                assertEquals(32768f, scaler.lossScale(), 0f);
                assertEquals(0, scaler.growthTracker());
                assertEquals(1, scaler.skippedSteps());

                // with S = 32768 the float16 gradients 32768 and 1.5·32768 = 49152 fit: the step is taken, grad 1.5
                backwardHalf(scaler, p, 1.5f);
                norm = scaler.step(adam, 0.1, 100.0);
                assertTrue(norm.isPresent());
                assertEquals(Math.sqrt(2 * 1.5 * 1.5), norm.get().getFloat(), 1e-6, "norm of the unscaled gradient");
                assertEquals(1, adam.steps());
                // AdamW's first step moves each weight by lr·g/(|g|+ε) ≈ lr after decay p·(1 − lr·wd)
                float[] w = p.toFloatArray();
                assertEquals(1f * (1 - 0.1f * 0.01f) - 0.1f, w[0], 1e-6);
                assertEquals(-2f * (1 - 0.1f * 0.01f) - 0.1f, w[1], 1e-6);
                assertEquals(32768f, scaler.lossScale(), 0f);
                assertEquals(1, scaler.growthTracker());
                assertEquals(1, scaler.skippedSteps());
            }
        }
    }

    @Test
    void theScaleGrowsAfterGrowthIntervalGoodStepsAndBacksOffOnOverflow() {
        GradScaler scaler = new GradScaler(true, 4, 2, 0.5, 3);
        scaler.update(false);
        scaler.update(false);
        assertEquals(4f, scaler.lossScale(), 0f);
        assertEquals(2, scaler.growthTracker());
        scaler.update(false);
        assertEquals(8f, scaler.lossScale(), 0f, "third good step: S·2");
        assertEquals(0, scaler.growthTracker());
        scaler.update(false);
        scaler.update(true);
        assertEquals(4f, scaler.lossScale(), 0f, "overflow: S·0.5");
        assertEquals(0, scaler.growthTracker(), "an overflow restarts the count");
        assertEquals(1, scaler.skippedSteps());
        scaler.update(false);
        scaler.update(false);
        assertEquals(4f, scaler.lossScale(), 0f);
        scaler.update(false);
        assertEquals(8f, scaler.lossScale(), 0f);
    }

    @Test
    void theScaleNeverGrowsToInfinity() {
        GradScaler scaler = new GradScaler(true, 0x1p127, 2, 0.5, 1);
        scaler.update(false);
        assertEquals(0x1p127f, scaler.lossScale(), 0f, "2^128 is not a float: S stays, the count restarts");
        assertEquals(0, scaler.growthTracker());
    }

    @Test
    void aDisabledScalerIsThePlainFloat32Step() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = param(m, 1f, -2f);
            NDArray q = param(m, 1f, -2f);
            GradScaler off = GradScaler.fromConfig(PpoConfig.defaults());
            assertFalse(off.enabled());
            assertEquals(1f, off.lossScale(), 0f);
            try (AdamW a = new AdamW(List.of(p), 0.9, 0.999, 1e-8, 0, AdamW.Arithmetic.TORCH);
                 AdamW b = new AdamW(List.of(q), 0.9, 0.999, 1e-8, 0, AdamW.Arithmetic.TORCH)) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray y = p.mul(p).sum();
                    assertSame(y, off.scale(y), "no multiplication by 1 in float32");
                    gc.backward(off.scale(y));
                }
                off.step(a, 0.1, 1.0);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(q.mul(q).sum());
                }
                b.clipAndStep(0.1, 1.0);
                assertArrayEquals(q.toFloatArray(), p.toFloatArray(), 0f);
            }
        }
    }

    @Test
    void restoreRefusesAnImpossibleState() {
        GradScaler scaler = new GradScaler(true, 65536, 2, 0.5, 2000);
        scaler.restore(1024f, 17, 3);
        assertEquals(1024f, scaler.lossScale(), 0f);
        assertEquals(17, scaler.growthTracker());
        assertEquals(3, scaler.skippedSteps());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> scaler.restore(Float.POSITIVE_INFINITY, 0, 0));
    }

    /** Backward of sum(c ⊙ p) in float32: the gradient is exactly c. */
    private static void backward(NDArray p, float... c) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(p.mul(p.getManager().create(c)).sum());
        }
    }

    @Test
    void aNonFiniteFloat32GradientSkipsTheStepWithWeightsAndAdamWStateUntouched() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = param(m, 1f, -2f);
            try (AdamW adam = new AdamW(List.of(p), 0.9, 0.999, 1e-8, 0.01, AdamW.Arithmetic.TORCH)) {
                GradScaler off = new GradScaler(false, 65536, 2, 0.5, 2000, 3);
                backward(p, 0.5f, 1f);
                assertTrue(off.step(adam, 0.1, 1.0).isPresent(), "a finite gradient is stepped");
                float[] after1 = p.toFloatArray();
                float[] m1 = adam.firstMoments().get(0).toFloatArray();
                float[] v1 = adam.secondMoments().get(0).toFloatArray();

                backward(p, Float.NaN, 1f);
                assertTrue(off.step(adam, 0.1, 1.0).isEmpty(), "a NaN gradient is not stepped");
                assertArrayEquals(after1, p.toFloatArray(), 0f, "weights untouched (no decay either)");
                assertEquals(1, adam.steps(), "AdamW's step counter does not advance");
                assertArrayEquals(m1, adam.firstMoments().get(0).toFloatArray(), 0f);
                assertArrayEquals(v1, adam.secondMoments().get(0).toFloatArray(), 0f);
                assertArrayEquals(new float[] {0f, 0f}, p.getGradient().toFloatArray(), 0f, "gradients discarded");
                assertEquals(1, off.nonFiniteSkips());
                assertEquals(1, off.consecutiveNonFiniteSkips());
                assertEquals(0, off.skippedSteps(), "not an fp16 overflow");

                backward(p, Float.POSITIVE_INFINITY, 1f);
                assertTrue(off.step(adam, 0.1, 1.0).isEmpty(), "an inf gradient is not stepped either");
                assertEquals(2, off.consecutiveNonFiniteSkips());

                backward(p, 0.5f, 1f);
                assertTrue(off.step(adam, 0.1, 1.0).isPresent());
                assertEquals(2, adam.steps());
                assertEquals(2, off.nonFiniteSkips(), "the run total stays");
                assertEquals(0, off.consecutiveNonFiniteSkips(), "a taken step ends the run of skips");
            }
        }
    }

    @Test
    void maxConsecutiveSkipsInARowHaltWithAClearMessage() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = param(m, 1f, -2f);
            try (AdamW adam = new AdamW(List.of(p), 0.9, 0.999, 1e-8, 0, AdamW.Arithmetic.TORCH)) {
                GradScaler off = GradScaler.fromConfig(PpoConfig.builder().maxConsecutiveSkips(2).build());
                backward(p, Float.NaN, 1f);
                assertTrue(off.step(adam, 0.1, 1.0).isEmpty());
                backward(p, Float.NaN, 1f);
                GradScaler.NonFiniteGradientsException e = assertThrows(GradScaler.NonFiniteGradientsException.class,
                        () -> off.step(adam, 0.1, 1.0));
                assertTrue(e.getMessage().startsWith("2 optimiser steps in a row had a non-finite (NaN or inf) "
                        + "gradient and were skipped (max_consecutive_skips=2)"), e.getMessage());
                assertTrue(e.getMessage().contains("lower learning_rate (now 0.1)"), e.getMessage());
                assertArrayEquals(new float[] {1f, -2f}, p.toFloatArray(), 0f, "nothing was applied");
                assertEquals(0, adam.steps());
                assertArrayEquals(new float[] {0f, 0f}, p.getGradient().toFloatArray(), 0f, "gradients discarded");
            }
        }
    }

    @Test
    void theNonFiniteCountersRestoreAndRefuseAnImpossibleState() {
        GradScaler off = new GradScaler(false, 65536, 2, 0.5, 2000, 3);
        off.restoreNonFinite(5, 2);
        assertEquals(5, off.nonFiniteSkips());
        assertEquals(2, off.consecutiveNonFiniteSkips());
        assertThrows(IllegalArgumentException.class, () -> off.restoreNonFinite(1, 2));
        assertThrows(IllegalArgumentException.class, () -> off.restoreNonFinite(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(false, 1, 2, 0.5, 1, 0));
    }
}
