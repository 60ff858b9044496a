package io.salsa.schemas.registry;

import java.util.List;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * The one compatibility rule of salsa-stream, BACKWARD: a new schema must read everything written with the old
 * one. Used by the registries, the serde and the schema-evolution guard test, so all three agree.
 */
public final class Compatibility {

    private Compatibility() {
    }

    /**
     * Why {@code reader} cannot read data written with {@code writer}, one line per problem naming the kind, the
     * location (JSON pointer into the reader schema, e.g. {@code /fields/3/type}) and the field; empty if it can.
     */
    public static List<String> problems(Schema reader, Schema writer) {
        return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getResult().getIncompatibilities()
                .stream()
                .map(i -> i.getType() + " at " + i.getLocation() + ": " + i.getMessage())
                .collect(Collectors.toList());
    }
}
