package io.salsa.model.soup;

/**
 * How a soup is built, validated so a bad value names the setting.
 *
 * @param chunkElements floats averaged per step: small enough for the CPU cache, large enough to amortise calls
 *                      (1024..16,777,216)
 * @param hashFiles     compute the sha256 of every member's and the soup's {@code model.safetensors} for the card
 * @param durable       fsync the soup before it appears (off only for benchmarks)
 */
public record SoupConfig(int chunkElements, boolean hashFiles, boolean durable) {

    public SoupConfig {
        if (chunkElements < 1024 || chunkElements > (1 << 24)) {
            throw new IllegalArgumentException("chunkElements must be in 1024..16777216, got " + chunkElements);
        }
    }

    /** 64 Ki floats per step (256 KiB, within L2), hashes on, durable. */
    public static SoupConfig defaults() {
        return new SoupConfig(1 << 16, true, true);
    }
}
