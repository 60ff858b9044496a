package io.salsa.testkit;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * What a piece of code returned and printed, for tests of commands: results go to stdout, bad input to stderr
 * (with exit code 2). {@code System.out} and {@code System.err} are restored afterwards, also on failure.
 *
 * @param value what the code returned (a command's exit code)
 * @param out what it printed on stdout
 * @param err what it printed on stderr
 */
public record Captured<T>(T value, String out, String err) {

    /** Code whose output a test reads. */
    @FunctionalInterface
    public interface Work<T> {
        T run() throws Exception;
    }

    /** Runs {@code work} with stdout and stderr captured. */
    public static <T> Captured<T> of(Work<T> work) throws Exception {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            T value = work.run();
            return new Captured<>(value, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
