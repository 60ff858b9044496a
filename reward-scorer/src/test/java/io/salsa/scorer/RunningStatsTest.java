package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RunningStatsTest {

    @Test
    void shouldMatchATwoPassMeanAndVarianceWhenFedInBatches() {
        Random rng = new Random(7);
        float[] all = new float[1000];
        RunningStats s = RunningStats.EMPTY;
        for (int start = 0; start < all.length; start += 37) {
            float[] batch = new float[Math.min(37, all.length - start)];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = (float) (rng.nextGaussian() * 3 + 100);
                all[start + i] = batch[i];
            }
            s = s.plus(batch);
        }
        double mean = 0;
        for (float v : all) {
            mean += v;
        }
        mean /= all.length;
        double var = 0;
        for (float v : all) {
            var += (v - mean) * (v - mean);
        }
        var /= all.length;
        assertEquals(all.length, s.count());
        assertEquals(mean, s.mean(), 1e-9);
        assertEquals(var, s.variance(), 1e-6);
        assertEquals((float) ((all[0] - mean) / Math.sqrt(var + 1e-8)), s.normalise(all[0], 1e-8), 1e-5f);
    }

    @Test
    void shouldRoundTripThroughBytes() {
        RunningStats s = RunningStats.EMPTY.plus(new float[] {1, 2, 4});
        assertEquals(s, RunningStats.fromBytes(s.toBytes()));
        assertEquals(RunningStats.EMPTY, RunningStats.fromBytes(null));
        assertThrows(IllegalArgumentException.class, () -> RunningStats.fromBytes(new byte[3]));
    }
}
