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
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
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
    private final BrokerSecurity security;
    /** The broker user's password, new at every start; null without security. */
    private final String brokerPassword;
    private KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafkaBroker(Path dataDir, int port, int controllerPort, String clusterId,
                                Map<String, String> overrides, BrokerSecurity security) {
        this.dataDir = dataDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.clusterId = clusterId;
        this.overrides = Map.copyOf(overrides);
        this.security = security;
        this.brokerPassword = security == null ? null : randomPassword();
    }

    /**
     * Starts a broker whose data lives in {@code dataDir}, formatting the folder on first use.
     *
     * @param dataDir    data folder (created if missing)
     * @param port       client port; 0 picks a free one on first start and reuses it afterwards
     * @param overrides  extra broker properties (they win over the defaults)
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port, Map<String, String> overrides) {
        return start(dataDir, port, overrides, null);
    }

    /**
     * Starts a broker as {@link #start(Path, int, Map)}; with {@code security}, its client listener is
     * SASL_PLAINTEXT (SCRAM-SHA-512) and an authorizer enforces ACLs: the users are created and granted their
     * ACLs before this returns.
     *
     * @param security users and grants, or null for the plaintext broker without authorization
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port, Map<String, String> overrides,
                                            BrokerSecurity security) {
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
                    overrides, security);
            broker.startup();
            if (security != null) {
                try {
                    security.users().forEach(broker::addUser);
                    security.grants().forEach(broker::grant);
                } catch (RuntimeException e) {
                    broker.close();
                    throw e;
                }
            }
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
        if (security != null) {
            // it holds the broker user's password
            Files.setPosixFilePermissions(configFile, PosixFilePermissions.fromString("rw-------"));
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
        if (security != null) {
            secure(p);
        }
        overrides.forEach(p::setProperty);
        return p;
    }

    /**
     * One SASL_PLAINTEXT listener for clients (SCRAM-SHA-512) and for the broker itself (PLAIN, its own user only),
     * the controller listener on SASL/PLAIN too, and KRaft's StandardAuthorizer with the broker user as the only
     * super user: nobody reaches the broker without a password, and a user without ACLs can do nothing.
     */
    private void secure(Properties p) {
        String plain = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + BrokerSecurity.BROKER_USER + "\" password=\"" + brokerPassword + "\" user_"
                + BrokerSecurity.BROKER_USER + "=\"" + brokerPassword + "\";";
        p.setProperty("listeners", "SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "SASL_PLAINTEXT://127.0.0.1:" + port);
        p.setProperty("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.setProperty("listener.security.protocol.map", "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT");
        p.setProperty("sasl.mechanism.inter.broker.protocol", "PLAIN");
        p.setProperty("sasl.mechanism.controller.protocol", "PLAIN");
        p.setProperty("listener.name.sasl_plaintext.sasl.enabled.mechanisms", BrokerSecurity.MECHANISM + ",PLAIN");
        p.setProperty("listener.name.sasl_plaintext.plain.sasl.jaas.config", plain);
        p.setProperty("listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        p.setProperty("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
        p.setProperty("listener.name.controller.plain.sasl.jaas.config", plain);
        p.setProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.setProperty("super.users", "User:" + BrokerSecurity.BROKER_USER);
        p.setProperty("allow.everyone.if.no.acl.found", "false");
    }

    /** Whether the client listener requires SASL and ACLs ({@link #start(Path, int, Map, BrokerSecurity)}). */
    public boolean secured() {
        return security != null;
    }

    /**
     * Properties of an admin client logged in as the broker's own super user; empty for a plaintext broker. Only
     * for this process: the password changes at every start.
     */
    public Map<String, String> superUserProperties() {
        if (security == null) {
            return Map.of();
        }
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN", "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                        + BrokerSecurity.BROKER_USER + "\" password=\"" + brokerPassword + "\";");
    }

    /**
     * Creates (or changes the password of) a SCRAM-SHA-512 user and returns once the broker accepts its login.
     *
     * @throws IllegalStateException when the broker is not secured or refuses
     */
    public void addUser(String name, String password) {
        requireSecured();
        new BrokerSecurity(Map.of(name, password), List.of()); // validates the name and password
        try (Admin admin = Admin.create(adminProps(Duration.ofSeconds(30)))) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(name,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot create SCRAM user " + name + " on " + bootstrapServers(), e);
        }
        awaitLogin(name, password, Duration.ofSeconds(30));
        LOG.info("SCRAM-SHA-512 user {} ready at {}", name, bootstrapServers());
    }

    /**
     * Grants {@code grant.user()} all operations on the topics, groups and transactional ids of its prefix.
     *
     * @throws IllegalStateException when the broker is not secured or refuses
     */
    public void grant(BrokerSecurity.Grant grant) {
        requireSecured();
        PatternType type = grant.everything() ? PatternType.LITERAL : PatternType.PREFIXED;
        String name = grant.everything() ? ResourcePattern.WILDCARD_RESOURCE : grant.prefix();
        List<AclBinding> acls = new ArrayList<>();
        for (ResourceType resource : List.of(ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)) {
            acls.add(new AclBinding(new ResourcePattern(resource, name, type), new AccessControlEntry(
                    "User:" + grant.user(), "*", AclOperation.ALL, AclPermissionType.ALLOW)));
        }
        try (Admin admin = Admin.create(adminProps(Duration.ofSeconds(30)))) {
            admin.createAcls(acls).all().get();
            // ACLs reach the authorizer through the metadata log: wait until it lists them
            AclBindingFilter mine = new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter(
                    "User:" + grant.user(), null, AclOperation.ANY, AclPermissionType.ANY));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!admin.describeAcls(mine).values().get().containsAll(acls)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the ACLs of " + grant + " did not appear within 30 s");
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while granting " + grant, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot grant " + grant + " on " + bootstrapServers(), e);
        }
        LOG.info("granted {} all operations on topics, groups and transactional ids {} {}", grant.user(),
                grant.everything() ? "" : "starting with", grant.prefix());
    }

    private void requireSecured() {
        if (security == null) {
            throw new IllegalStateException("the broker at " + bootstrapServers() + " was started without SASL");
        }
    }

    /** A new user's credentials travel through the metadata log; its first logins may be refused until they land. */
    private void awaitLogin(String name, String password, Duration timeout) {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        BrokerSecurity.clientProperties(name, password).forEach(p::setProperty);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Admin admin = Admin.create(p)) {
                admin.describeCluster().clusterId().get();
                return;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("user " + name + " cannot log in to " + bootstrapServers()
                            + " within " + timeout.toSeconds() + " s", e);
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for user " + name, e);
            }
        }
    }

    private Properties adminProps(Duration timeout) {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        superUserProperties().forEach(p::setProperty);
        return p;
    }

    private static String randomPassword() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void awaitReady(Duration timeout) {
        Properties p = adminProps(timeout);
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
