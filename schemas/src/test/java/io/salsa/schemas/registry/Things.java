package io.salsa.schemas.registry;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;

/** The record the registry tests register: a first version, a backward-compatible second, and an incompatible one. */
final class Things {

    /** {@code t.Thing} with a string {@code a}. */
    static final Schema V1 = SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a").endRecord();
    /** {@link #V1} plus a long {@code b} with a default: backward compatible. */
    static final Schema V2 = SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a")
            .name("b").type().longType().longDefault(1L).endRecord();
    /** {@code a} as an int: incompatible with both. */
    static final Schema INCOMPATIBLE = SchemaBuilder.record("Thing").namespace("t").fields().requiredInt("a")
            .endRecord();

    private Things() {
    }
}
