package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class ScorerConfigTest {

    private static final Map<String, String> BASE = Map.of("SALSA_KAFKA_BOOTSTRAP", "127.0.0.1:9092");

    private static Map<String, String> with(String key, String value) {
        Map<String, String> env = new java.util.HashMap<>(BASE);
        env.put(key, value);
        return env;
    }

    @Test
    void shouldReadSettingsFromTheEnvironment() {
        Map<String, String> env = new java.util.HashMap<>(BASE);
        env.put(ScorerConfig.BATCH_SIZE_ENV, "64");
        env.put(ScorerConfig.BATCH_WAIT_ENV, "250");
        env.put(ScorerConfig.NORMALIZE_ENV, "true");
        env.put(ScorerConfig.MODEL_NAME_ENV, "rm-main");
        env.put(ScorerConfig.BLOB_STORE_ENV, "file:///tmp/blobs");
        ScorerConfig c = ScorerConfig.fromEnv(env);
        assertEquals(64, c.batchSize());
        assertEquals(Duration.ofMillis(250), c.batchMaxWait());
        assertTrue(c.normalize());
        assertEquals("rm-main", c.rewardModelName());
        assertEquals("file:///tmp/blobs", c.blobStore());
        assertEquals(io.salsa.model.lm.Precision.FP32, c.precision(), "float32 unless asked");
        env.put(ScorerConfig.PRECISION_ENV, "fp16");
        assertEquals(io.salsa.model.lm.Precision.FP16, ScorerConfig.fromEnv(env).precision());
        assertEquals(io.salsa.model.lm.Precision.FP16, ScorerConfig.fromEnv(env).withBatching(8,
                Duration.ofMillis(5)).precision(), "kept by the with… copies");
    }

    @Test
    void shouldNameTheSettingAndRangeOfABadValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScorerConfig.fromEnv(with(ScorerConfig.BATCH_SIZE_ENV, "0")));
        assertTrue(e.getMessage().contains(ScorerConfig.BATCH_SIZE_ENV) && e.getMessage().contains("1-1024"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ScorerConfig.fromEnv(with(ScorerConfig.BATCH_WAIT_ENV, "soon")));
        assertTrue(e.getMessage().contains(ScorerConfig.BATCH_WAIT_ENV), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ScorerConfig.fromEnv(with(ScorerConfig.NORMALIZE_ENV, "maybe")));
        assertTrue(e.getMessage().contains(ScorerConfig.NORMALIZE_ENV), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ScorerConfig.fromEnv(with(ScorerConfig.BLOB_STORE_ENV, "ftp://x")));
        assertTrue(e.getMessage().contains(ScorerConfig.BLOB_STORE_ENV), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ScorerConfig.fromEnv(with(ScorerConfig.PRECISION_ENV, "bf16")));
        assertTrue(e.getMessage().contains(ScorerConfig.PRECISION_ENV) && e.getMessage().contains("no or fp16"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ScorerConfig.fromEnv(Map.of()));
        assertTrue(e.getMessage().contains("SALSA_KAFKA_BOOTSTRAP"), e.getMessage());
    }

    @Test
    void shouldRunExactlyOnce() {
        Properties p = RewardScorerApp.streamsConfig(ScorerConfig.fromEnv(BASE));
        assertEquals(StreamsConfig.EXACTLY_ONCE_V2, p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
        assertEquals(ScorerConfig.DEFAULT_APP_ID, p.get(StreamsConfig.APPLICATION_ID_CONFIG));
    }
}
