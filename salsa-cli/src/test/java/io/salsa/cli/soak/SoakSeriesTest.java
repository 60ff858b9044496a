package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SoakSeriesTest {

    @Test
    void shouldFitTheSlopePerHourAfterTheWarmUpOnly() {
        // 100 MB flat for the first 10 minutes, then +2 MB per minute = 120 MB per hour
        List<double[]> pairs = new java.util.ArrayList<>();
        for (int s = 0; s <= 3600; s += 60) {
            pairs.add(new double[] {s, s < 600 ? 100 + s : 700 + 2.0 * (s - 600) / 60});
        }
        assertEquals(120.0, SoakSeries.slopePerHour(pairs, 600), 1e-9);
        assertTrue(Double.isNaN(SoakSeries.slopePerHour(pairs.subList(0, 2), 0)), "too few points");
    }

    @Test
    void shouldWriteLongFormatAndSkipUnreadableSamples(@TempDir Path dir) throws Exception {
        try (SoakSeries s = new SoakSeries(dir.resolve("soak.csv"))) {
            s.add(0, "learner", "rss_mb", 12.5);
            s.add(10, "learner", "rss_mb", -1); // the process was restarting
            s.add(10, "data", "disk_mb", 3);
        }
        assertEquals(List.of(SoakSeries.HEADER, "0.0,learner,rss_mb,12.500", "10.0,data,disk_mb,3"),
                Files.readAllLines(dir.resolve("soak.csv")));
    }
}
