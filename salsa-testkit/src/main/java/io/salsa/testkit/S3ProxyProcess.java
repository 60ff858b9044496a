package io.salsa.testkit;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link S3ProxyFixture} in a JVM of its own, for tests whose class path cannot hold S3Proxy's Jetty 11 (any module
 * with feedback-ingest's Jetty 12). Its class path is the one salsa-testkit's build writes next to its classes
 * ({@code target/s3proxy-classpath.txt}); this class names no S3Proxy type, so it loads without S3Proxy's jars.
 * The server accepts {@link S3ProxyFixture#ACCESS_KEY} / {@link S3ProxyFixture#SECRET_KEY} only.
 */
public final class S3ProxyProcess implements AutoCloseable {

    private final Process process;
    private final URI endpoint;

    private S3ProxyProcess(Process process, URI endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    /** Starts a server on a free loopback port keeping its objects under {@code dataDir}, with these buckets. */
    public static S3ProxyProcess start(Path dataDir, String... buckets) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dataDir);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classPath(), "io.salsa.testkit.S3ProxyFixture", dataDir.toString(),
                Integer.toString(port)));
        cmd.addAll(List.of(buckets));
        Path log = dataDir.resolveSibling(dataDir.getFileName() + "-s3proxy.log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        CompletableFuture<String> first = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                first.complete(r.readLine());
                while (r.readLine() != null) {
                    // keep draining so the server never blocks on a full pipe
                }
            } catch (IOException e) {
                first.complete(null);
            }
        }, "s3proxy-stdout");
        reader.setDaemon(true);
        reader.start();
        String line;
        try {
            line = first.get(90, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            line = null;
        }
        if (line == null || !line.startsWith("endpoint=")) {
            p.destroyForcibly();
            throw new IOException("S3Proxy did not start (it printed " + line + "); its log: " + log);
        }
        return new S3ProxyProcess(p, URI.create("http://127.0.0.1:" + port));
    }

    /** The server's base URI, e.g. {@code http://127.0.0.1:PORT}. */
    public URI endpoint() {
        return endpoint;
    }

    private static String classPath() throws IOException {
        Path here;
        try {
            here = Path.of(S3ProxyProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        // target/classes or target/salsa-testkit-*.jar: the file is beside it, in target/
        Path file = here.getParent().resolve("s3proxy-classpath.txt");
        if (!Files.isRegularFile(file)) {
            throw new IOException("no " + file + ": build salsa-testkit with Maven first (its process-classes phase "
                    + "writes S3Proxy's class path there)");
        }
        return here + File.pathSeparator + Files.readString(file, StandardCharsets.UTF_8).trim();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
