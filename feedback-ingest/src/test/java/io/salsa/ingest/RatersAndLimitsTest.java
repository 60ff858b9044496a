package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RatersAndLimitsTest {

    @Test
    void shouldAuthenticateByTokenHashFromFileAndInlineList(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("raters.txt");
        Files.writeString(file, "# raters\nalice " + Raters.sha256Hex("alice-secret") + "\n\n"
                + "bob:" + Raters.sha256Hex("bob-secret").toUpperCase() + "\n");
        Raters raters = Raters.load(file, "carol:" + Raters.sha256Hex("carol-secret"));
        assertEquals(3, raters.size());
        assertEquals(Optional.of("alice"), raters.authenticate("alice-secret"));
        assertEquals(Optional.of("bob"), raters.authenticate("bob-secret"));
        assertEquals(Optional.of("carol"), raters.authenticate("carol-secret"));
        assertEquals(Optional.empty(), raters.authenticate("alice-secret "));
        assertEquals(Optional.empty(), raters.authenticate(""));
    }

    @Test
    void shouldNameTheBadLineOfARatersFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("raters.txt");
        Files.writeString(file, "alice " + Raters.sha256Hex("x") + "\nbob not-a-hash\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Raters.load(file, ""));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void shouldRefillTokensAtTheConfiguredRate() {
        AtomicLong now = new AtomicLong();
        RateLimiter limiter = new RateLimiter(2.0, 3, now::get);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, limiter.tryAcquire("alice"));
        }
        assertEquals(1, limiter.tryAcquire("alice"), "burst used up: retry after about a second");
        assertEquals(0, limiter.tryAcquire("bob"), "raters do not share a bucket");
        now.addAndGet(500_000_000L);
        assertEquals(0, limiter.tryAcquire("alice"), "half a second at 2/s refills one token");
        assertTrue(limiter.tryAcquire("alice") > 0);
    }

    @Test
    void shouldValidateConfigWithTheSettingsName() {
        Map<String, String> ok = Map.of(IngestConfig.RATERS, "a:" + Raters.sha256Hex("t"));
        IngestConfig c = IngestConfig.fromEnv(ok);
        assertEquals(8080, c.port());
        IllegalArgumentException port = assertThrows(IllegalArgumentException.class, () -> IngestConfig.fromEnv(
                Map.of(IngestConfig.RATERS, "a:b", IngestConfig.PORT, "70000")));
        assertTrue(port.getMessage().startsWith(IngestConfig.PORT), port.getMessage());
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> IngestConfig.fromEnv(
                Map.of(IngestConfig.RATERS, "a:b", IngestConfig.MAX_IN_FLIGHT, "lots")));
        assertTrue(nan.getMessage().contains(IngestConfig.MAX_IN_FLIGHT), nan.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> IngestConfig.fromEnv(Map.of()));
        assertTrue(none.getMessage().contains(IngestConfig.RATERS_FILE), none.getMessage());
    }
}
