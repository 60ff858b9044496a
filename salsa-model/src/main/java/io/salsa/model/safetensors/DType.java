package io.salsa.model.safetensors;

/** The element types a safetensors header may name, with their byte widths, so a header can be checked against its byte ranges. */
public enum DType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1),
    I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4),
    F64(8), I64(8), U64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether {@link SafeTensors#readFloats} can convert this type to {@code float}. */
    public boolean isFloatConvertible() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** Whether {@link SafeTensors#readLongs} can convert this type to {@code long} without loss. */
    public boolean isIntegral() {
        return switch (this) {
            case BOOL, U8, I8, I16, U16, I32, U32, I64 -> true;
            default -> false;
        };
    }

    /** Parses the header spelling ({@code "F32"}), or returns {@code null} for a name safetensors does not define. */
    public static DType parse(String name) {
        if (name == null) {
            return null;
        }
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
