package io.salsa.ingest;

import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.KafkaOptions;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa ingest}: runs the raters' HTTP API and page until Ctrl-C. */
@Command(name = "ingest", mixinStandardHelpOptions = true, defaultValueProvider = EnvDefaults.class,
        description = {"Run feedback-ingest: the raters' HTTP API and web page; every answer becomes a Preference"
                + " event on the feedback topic, acknowledged by Kafka before the rater is told it is saved.",
                "Every option can also be given as the environment variable in brackets; flags win."})
public final class IngestCommand extends SalsaCommand {

    @Mixin
    KafkaOptions kafkaOptions = new KafkaOptions();

    @Option(names = "--host", description = "Interface to bind (default 127.0.0.1) [SALSA_INGEST_HOST].")
    String host;

    @Option(names = "--port", description = "HTTP port, 0 = any free one (default 8080) [SALSA_INGEST_PORT].")
    Integer port;

    @Option(names = "--raters-file", description = "File of 'raterId sha256(token)' lines [SALSA_INGEST_RATERS_FILE].")
    Path ratersFile;

    @Option(names = "--raters", description = "Inline raterId:sha256hex,... list [SALSA_INGEST_RATERS].")
    String raters;

    @Option(names = "--rate", description = "Requests per second per rater (default 5) [SALSA_INGEST_RATE_PER_SECOND].")
    Double rate;

    @Option(names = "--burst", description = "Burst per rater (default 20) [SALSA_INGEST_RATE_BURST].")
    Integer burst;

    @Option(names = "--max-in-flight", description = "Unacknowledged answers at once (default 2048)"
            + " [SALSA_INGEST_MAX_IN_FLIGHT].")
    Integer maxInFlight;

    @Option(names = "--ack-timeout-ms", description = "Wait for Kafka's ack before answering 503 (default 2000)"
            + " [SALSA_INGEST_ACK_TIMEOUT_MS].")
    Integer ackTimeoutMs;

    @Override
    public Integer call() throws Exception {
        Map<String, String> env = withOwnOptions(kafkaOptions.applyTo(System.getenv()));
        IngestConfig config;
        KafkaSettings kafka;
        try {
            config = IngestConfig.fromEnv(env);
            kafka = KafkaSettings.fromEnv(env);
            if (config.ratersFile() != null && !Files.isReadable(config.ratersFile())) {
                throw new IllegalArgumentException(IngestConfig.RATERS_FILE + ": cannot read " + config.ratersFile());
            }
            Raters.load(config.ratersFile(), config.raters());
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            return refuse(e.getMessage());
        }
        // the broker wait happens inside run(), after ServiceRunner installed its shutdown hook, so Ctrl-C or
        // SIGTERM during the wait ends it like any stop
        IngestApp app = new IngestApp(config, new IngestKafka(kafka)).onServing(port -> {
            System.out.printf("feedback-ingest: http://%s:%d/  (Ctrl-C to stop)%n", config.host(), port);
            System.out.flush();
        });
        try {
            ServiceRunner.runUntilStopped(app);
        } catch (IllegalStateException e) {
            System.err.println("salsa ingest: cannot start: " + e.getMessage());
            return 1;
        } finally {
            kafka.closeRegistry();
        }
        return 0;
    }
}
