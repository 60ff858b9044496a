package io.salsa.cli.soak;

import io.salsa.cli.Salsa;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One service of the soak as its own JVM running a real {@code salsa} subcommand, restartable with the same
 * command: its output is appended to one log file across restarts, so the error scan sees every incarnation.
 */
final class ServiceProcess {

    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path log;
    private Process process;
    private int starts;
    private int kills;
    private long lastStartNanos;

    /**
     * @param name      service name (CSV {@code service} column, log file name)
     * @param salsaArgs the subcommand and its arguments, e.g. {@code score --model-name demo-rm}
     * @param jvmArgs   JVM options, e.g. {@code -Xmx512m}
     * @param env       extra environment
     * @param log       the log file (appended)
     */
    ServiceProcess(String name, List<String> salsaArgs, List<String> jvmArgs, Map<String, String> env, Path log) {
        this.name = name;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        String djlOffline = System.getProperty("ai.djl.offline");
        if (djlOffline != null) {
            cmd.add("-Dai.djl.offline=" + djlOffline); // the children find DJL's native library as this JVM does
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Salsa.class.getName());
        cmd.addAll(salsaArgs);
        this.command = List.copyOf(cmd);
        this.env = Map.copyOf(env);
        this.log = log;
    }

    String name() {
        return name;
    }

    Path log() {
        return log;
    }

    /** The {@code salsa …} part of the command, for people. */
    String describe() {
        int i = command.indexOf(Salsa.class.getName());
        return "salsa " + String.join(" ", command.subList(i + 1, command.size()));
    }

    synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running (pid " + process.pid() + ")");
        }
        Files.createDirectories(log.getParent());
        Files.writeString(log, String.format("==== soak: start #%d of %s: %s%n", starts + 1, name, describe()),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        lastStartNanos = System.nanoTime();
        starts++;
    }

    /** SIGKILL: no shutdown hook, no final commit; waits until the process is gone. */
    synchronized void kill9() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(60, TimeUnit.SECONDS);
            kills++;
        }
    }

    /** SIGTERM (the service's shutdown hook stops it cleanly), SIGKILL after {@code seconds}; true if it was clean. */
    synchronized boolean stop(long seconds) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return true;
        }
        process.destroy();
        if (process.waitFor(seconds, TimeUnit.SECONDS)) {
            return true;
        }
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        return false;
    }

    synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** The JVM's pid, or -1 before the first start. */
    synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** The exit code of the last incarnation, or null while it runs. */
    synchronized Integer exitCode() {
        return process == null || process.isAlive() ? null : process.exitValue();
    }

    /** Seconds since the last start (0 before the first). */
    synchronized double upSeconds() {
        return starts == 0 ? 0 : (System.nanoTime() - lastStartNanos) / 1e9;
    }

    synchronized int starts() {
        return starts;
    }

    synchronized int kills() {
        return kills;
    }
}
