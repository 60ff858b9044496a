package io.salsa.model.soup;

import io.salsa.model.safetensors.DType;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How a soup is built, validated so a bad value names the setting.
 *
 * @param chunkElements floats averaged per step: small enough for the CPU cache, large enough to amortise calls
 *                      (1024..16,777,216)
 * @param hashFiles     compute the sha256 of every member's and the soup's weights for the card
 * @param durable       fsync the soup before it appears (off only for benchmarks)
 * @param dtype         the soup's storage type ({@link OutputDtype#AUTO}: the members' shared one)
 */
public record SoupConfig(int chunkElements, boolean hashFiles, boolean durable, OutputDtype dtype) {

    /**
     * The dtype a soup is stored in; the average is always computed in float32 and rounded once at the end.
     * {@code AUTO} is the members' dtype when every tensor of every member has the same one (F32, F16 or BF16),
     * else float32.
     */
    public enum OutputDtype {
        AUTO(null), FLOAT32(DType.F32), BFLOAT16(DType.BF16), FLOAT16(DType.F16);

        private final DType dtype;

        OutputDtype(DType dtype) {
            this.dtype = dtype;
        }

        /** The safetensors dtype, or null for {@code AUTO}. */
        public DType dtype() {
            return dtype;
        }

        /** The spelling of {@code --dtype} and of {@code config.json}'s {@code torch_dtype}: {@code bfloat16}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses {@code auto|float32|bfloat16|float16}; anything else is refused naming the allowed values. */
        public static OutputDtype parse(String s) {
            for (OutputDtype d : values()) {
                if (d.label().equals(s)) {
                    return d;
                }
            }
            throw new IllegalArgumentException("--dtype must be one of " + Arrays.stream(values()).map(OutputDtype::label)
                    .toList() + ", got '" + s + "'");
        }

        /** {@code transformers}' name of a storage dtype ({@code torch_dtype} / {@code dtype} in config.json). */
        public static String torchName(DType d) {
            return switch (d) {
                case F32 -> "float32";
                case BF16 -> "bfloat16";
                case F16 -> "float16";
                default -> throw new IllegalArgumentException("soups are not stored as " + d);
            };
        }
    }

    public SoupConfig {
        if (chunkElements < 1024 || chunkElements > (1 << 24)) {
            throw new IllegalArgumentException("chunkElements must be in 1024..16777216, got " + chunkElements);
        }
        Objects.requireNonNull(dtype, "dtype");
    }

    /** With the members' shared dtype ({@link OutputDtype#AUTO}). */
    public SoupConfig(int chunkElements, boolean hashFiles, boolean durable) {
        this(chunkElements, hashFiles, durable, OutputDtype.AUTO);
    }

    /** 64 Ki floats per step (256 KiB, within L2), hashes on, durable, the members' dtype. */
    public static SoupConfig defaults() {
        return new SoupConfig(1 << 16, true, true);
    }

    /** This config with another output dtype. */
    public SoupConfig withDtype(OutputDtype d) {
        return new SoupConfig(chunkElements, hashFiles, durable, d);
    }
}
