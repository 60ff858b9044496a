package io.salsa.bench;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/** Runs a command with {@code System.out} captured, because the bench commands print their results there. */
final class StdOut {

    /** What a command printed and the exit code it returned. */
    record Run(int exitCode, String out) { }

    private StdOut() {
    }

    static Run capture(Callable<Integer> command) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            int code = command.call();
            return new Run(code, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(original);
        }
    }

    /** Runs {@code command} with {@code System.err} captured: what a refused command says. */
    static Run captureErr(Callable<Integer> command) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            int code = command.call();
            return new Run(code, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }
}
