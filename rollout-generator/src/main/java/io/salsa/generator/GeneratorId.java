package io.salsa.generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;

/**
 * Gives each generator instance a stable id across restarts — the host name plus a random suffix persisted in
 * the instance's state folder — so rollouts can be traced to the instance that produced them.
 */
public final class GeneratorId {

    static final String FILE_NAME = "generator-id";

    private GeneratorId() {
    }

    /** The id stored in {@code stateDir}, created (host name + 8 random hex digits) on first use. */
    public static String resolve(Path stateDir) {
        Path file = stateDir.resolve(FILE_NAME);
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (!id.isEmpty()) {
                    return id;
                }
            }
            Files.createDirectories(stateDir);
            String id = hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
            Path tmp = Files.createTempFile(stateDir, FILE_NAME, ".tmp");
            Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the generator id file " + file, e);
        }
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return sanitize(env);
        }
        try {
            return sanitize(InetAddress.getLocalHost().getHostName());
        } catch (UnknownHostException e) {
            return "host";
        }
    }

    private static String sanitize(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
    }
}
