package io.salsa.runtime.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads JSONL files line by line with line numbers, so every reader of our data files reports errors the same way. */
public final class JsonLines {

    /** Turns one non-blank line (1-based number {@code lineNo}) into a value; may throw to reject the line. */
    @FunctionalInterface
    public interface LineParser<T> {
        T parse(int lineNo, String line) throws IOException;
    }

    private JsonLines() {
    }

    /** Every non-blank line of {@code file} through {@code parser}, in order; a file that is not UTF-8 is an IOException naming it. */
    public static <T> List<T> read(Path file, LineParser<T> parser) throws IOException {
        List<T> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (!line.isBlank()) {
                    out.add(parser.parse(n, line));
                }
            }
        } catch (MalformedInputException e) {
            throw new IOException(file + ": not UTF-8 text", e);
        }
        return out;
    }
}
