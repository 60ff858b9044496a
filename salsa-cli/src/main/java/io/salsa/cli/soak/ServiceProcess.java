package io.salsa.cli.soak;

import io.salsa.cli.Salsa;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    /** Where the current incarnation's output starts in the log. */
    private long logOffset;

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
        logOffset = Files.exists(log) ? Files.size(log) : 0;
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

    /** SIGTERM without waiting (the service's shutdown hook stops it cleanly); {@link #stop} then waits. */
    synchronized void terminate() {
        if (process != null && process.isAlive()) {
            process.destroy();
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

    /**
     * Whether the current incarnation is past its start-up: it answers {@code GET /readyz} with 200 on the port it
     * announced in its log since its last start (its probe endpoint, or ingest's own port). A service that is ready
     * has done its start-up Kafka work (topics ensured, group joined, backlog read), so it rides out a broker restart
     * instead of failing in an admin call of its start-up.
     */
    boolean ready() {
        Integer port;
        synchronized (this) {
            if (!alive()) {
                return false;
            }
            port = advertisedPort(logSinceStart());
        }
        return port != null && readyz(port);
    }

    private String logSinceStart() {
        try (var ch = Files.newByteChannel(log)) {
            ch.position(logOffset);
            return new String(Channels.newInputStream(ch).readAllBytes(),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static final Pattern ANNOUNCED = Pattern.compile(
            "(?:metrics and health on|feedback-ingest listening on) http://[^/\\s]+:(\\d+)/");

    /** The port a service's log announces for its probes (or ingest's HTTP port), the last one; null if none yet. */
    static Integer advertisedPort(String log) {
        Matcher m = ANNOUNCED.matcher(log);
        Integer port = null;
        while (m.find()) {
            port = Integer.valueOf(m.group(1));
        }
        return port;
    }

    /** True when {@code GET http://127.0.0.1:port/readyz} answers 200 within two seconds. */
    static boolean readyz(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(
                    "http://127.0.0.1:" + port + "/readyz").toURL().openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(2000);
            try {
                return c.getResponseCode() == 200;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    synchronized int starts() {
        return starts;
    }

    synchronized int kills() {
        return kills;
    }
}
