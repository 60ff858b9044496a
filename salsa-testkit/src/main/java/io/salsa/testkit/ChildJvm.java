package io.salsa.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code main} class of the test's own classpath run in a child JVM with its output collected, for the tests
 * that need what only a separate process has: a real SIGTERM through the shutdown hook, or a SIGKILL.
 */
public final class ChildJvm implements AutoCloseable {

    private final Process process;
    private final StringBuffer out = new StringBuffer();
    private final Thread reader;

    private ChildJvm(Process process) {
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    out.append(line).append('\n');
                }
            } catch (IOException e) {
                out.append("[reader: ").append(e).append("]\n");
            }
        }, "child-jvm-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code java -Xmx128m -cp <this classpath> mainClass args…}, stderr merged into stdout. */
    public static ChildJvm start(Class<?> mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-cp", System.getProperty("java.class.path"), mainClass.getName()));
        cmd.addAll(List.of(args));
        try {
            return new ChildJvm(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Everything the child printed so far. */
    public String output() {
        return out.toString();
    }

    /** Waits until the child's output contains {@code text}; fails (with the output) after {@code timeout}. */
    public void awaitOutput(String text, Duration timeout) throws InterruptedException {
        Conditions.await("the child printing '" + text + "'", timeout, () -> out.toString().contains(text));
    }

    /**
     * Sends SIGTERM (as {@code docker stop} does; {@code Process.destroy} would also close our end of its output),
     * waits up to {@code timeout} for the exit and for its last output; returns the exit code, or null if it is
     * still running.
     */
    public Integer sigterm(Duration timeout) throws InterruptedException {
        if (!process.toHandle().destroy()) {
            throw new IllegalStateException("SIGTERM could not be sent to pid " + process.pid());
        }
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return null;
        }
        reader.join(timeout.toMillis());
        return process.exitValue();
    }

    /** Kills the child if it still runs. */
    @Override
    public void close() {
        process.destroyForcibly();
    }
}
