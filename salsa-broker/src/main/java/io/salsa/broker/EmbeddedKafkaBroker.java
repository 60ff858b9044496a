package io.salsa.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, broker + controller in one process) for the embedded default and
 * for tests, so nothing here needs Docker.
 *
 * <p>Kafka's server classes are internal API; this is the only class of ours that touches them. The data
 * folder is formatted on first start and reused afterwards, so topics and records survive a restart. The
 * cluster id and the ports chosen on first start are kept in {@code salsa-broker.properties} inside the data
 * folder and reused, so clients that remember the bootstrap address still find the broker after a restart.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final String STATE_FILE = "salsa-broker.properties";

    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final String clusterId;
    private final Map<String, String> overrides;
    private KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafkaBroker(Path dataDir, int port, int controllerPort, String clusterId,
                                Map<String, String> overrides) {
        this.dataDir = dataDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.clusterId = clusterId;
        this.overrides = Map.copyOf(overrides);
    }

    /**
     * Starts a broker whose data lives in {@code dataDir}, formatting the folder on first use.
     *
     * @param dataDir    data folder (created if missing)
     * @param port       client port; 0 picks a free one on first start and reuses it afterwards
     * @param overrides  extra broker properties (they win over the defaults)
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port, Map<String, String> overrides) {
        Objects.requireNonNull(dataDir, "dataDir");
        try {
            Files.createDirectories(dataDir);
            Properties state = loadState(dataDir);
            String clusterId = state.getProperty("cluster.id", Uuid.randomUuid().toString());
            int clientPort = port != 0 ? port : reusablePort(state.getProperty("port"));
            int controllerPort = reusablePort(state.getProperty("controller.port"));
            if (controllerPort == clientPort) {
                controllerPort = freePort();
            }
            state.setProperty("cluster.id", clusterId);
            state.setProperty("port", Integer.toString(clientPort));
            state.setProperty("controller.port", Integer.toString(controllerPort));
            saveState(dataDir, state);

            EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(dataDir, clientPort, controllerPort, clusterId,
                    overrides);
            broker.startup();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare Kafka data folder " + dataDir, e);
        }
    }

    /** Starts a broker on a free port with default settings. */
    public static EmbeddedKafkaBroker start(Path dataDir) {
        return start(dataDir, 0, Map.of());
    }

    private void startup() throws IOException {
        long t0 = System.nanoTime();
        Path logDir = dataDir.resolve("kafka-logs");
        Path configFile = dataDir.resolve("server.properties");
        Properties props = serverProperties(logDir);
        try (Writer w = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
            props.store(w, "written by salsa-stream EmbeddedKafkaBroker; regenerated at every start");
        }
        if (!Files.exists(logDir.resolve("meta.properties"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int rc = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", configFile.toString()},
                    new PrintStream(out, true, StandardCharsets.UTF_8));
            if (rc != 0) {
                throw new IllegalStateException("formatting Kafka storage in " + logDir + " failed (exit " + rc
                        + "): " + out.toString(StandardCharsets.UTF_8));
            }
            LOG.info("Formatted Kafka storage {} for cluster {}", logDir, clusterId);
        }
        server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
        server.startup();
        awaitReady(Duration.ofSeconds(60));
        LOG.info("Kafka broker ready at {} in {} ms (data {})", bootstrapServers(),
                (System.nanoTime() - t0) / 1_000_000, dataDir);
    }

    private Properties serverProperties(Path logDir) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        p.setProperty("log.dirs", logDir.toAbsolutePath().toString());
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "4");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("transaction.state.log.num.partitions", "4");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        p.setProperty("num.partitions", "1");
        p.setProperty("default.replication.factor", "1");
        p.setProperty("min.insync.replicas", "1");
        p.setProperty("auto.create.topics.enable", "false");
        // model checkpoints never travel in records, but rollouts of long responses can be a few hundred KB
        p.setProperty("message.max.bytes", Integer.toString(8 * 1024 * 1024));
        p.setProperty("log.cleaner.backoff.ms", "1000");
        overrides.forEach(p::setProperty);
        return p;
    }

    private void awaitReady(Duration timeout) {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().nodes().get();
        } catch (Exception e) {
            throw new IllegalStateException("Kafka broker at " + bootstrapServers() + " did not become ready", e);
        }
    }

    /** The address clients connect to, e.g. {@code 127.0.0.1:39092}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public String clusterId() {
        return clusterId;
    }

    /** Stops the broker and waits until it has released its ports and files; safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            LOG.info("Kafka broker at {} stopped", bootstrapServers());
        }
    }

    private static Properties loadState(Path dataDir) throws IOException {
        Properties state = new Properties();
        Path file = dataDir.resolve(STATE_FILE);
        if (Files.exists(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                state.load(r);
            }
        }
        return state;
    }

    private static void saveState(Path dataDir, Properties state) throws IOException {
        try (Writer w = Files.newBufferedWriter(dataDir.resolve(STATE_FILE), StandardCharsets.UTF_8)) {
            state.store(w, "salsa-stream embedded broker identity: cluster id and ports, reused across restarts");
        }
    }

    private static int reusablePort(String remembered) throws IOException {
        if (remembered != null) {
            int p = Integer.parseInt(remembered);
            if (isFree(p)) {
                return p;
            }
        }
        return freePort();
    }

    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
