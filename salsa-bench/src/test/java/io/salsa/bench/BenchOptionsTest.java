package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class BenchOptionsTest {

    /** A bench command with the shape of the real ones: documented flag names, a broker. */
    @Command(name = "probe", modelTransformer = BenchOptions.Install.class)
    static final class Probe extends BenchCommand {
        Probe(BenchOptions.Kafka kafka) {
            super(BenchOptions.warmup("--warmup", 2, "Warm-up runs").measured("--runs", 5, 1, 10, "Measured runs")
                    .kafka(kafka));
        }

        @Override
        public Integer call() {
            return 0;
        }
    }

    @Test
    void shouldAddTheCommandsOwnFlagNamesWithTheirDefaults() {
        Probe probe = new Probe(BenchOptions.Kafka.EMBEDDED);
        CommandLine cl = new CommandLine(probe);
        for (String flag : new String[] {"--warmup", "--runs", "--output", "--bootstrap"}) {
            assertNotNull(cl.getCommandSpec().findOption(flag), flag);
        }
        assertNotNull(cl.getCommandSpec().mixins().get(BenchOptions.MIXIN_NAME));
        cl.parseArgs();
        assertEquals(2, probe.bench().warmup());
        assertEquals(5, probe.bench().measured());
        assertTrue(probe.bench().output().isEmpty());
        String usage = cl.getUsageMessage();
        assertTrue(usage.contains("Measured runs (default: 5)."), usage);
        assertTrue(usage.contains("Warm-up runs (default: 2)."), usage);

        cl.parseArgs("--warmup", "0", "--runs", "7", "--output", "results.csv");
        assertEquals(0, probe.bench().warmup());
        assertEquals(7, probe.bench().measured());
        assertEquals(Path.of("results.csv"), probe.bench().output().orElseThrow());
    }

    @Test
    void shouldOfferNoBootstrapToABenchWithoutKafka() {
        CommandLine cl = new CommandLine(new Probe(BenchOptions.Kafka.NONE));
        assertNull(cl.getCommandSpec().findOption("--bootstrap"));
        assertEquals(2, cl.execute("--bootstrap", "127.0.0.1:9092"), "an unknown option is a usage error");
    }

    @Test
    void shouldNameTheFlagThatIsOutOfRange() {
        Probe probe = new Probe(BenchOptions.Kafka.NONE);
        CommandLine cl = new CommandLine(probe);
        cl.parseArgs("--runs", "11");
        assertEquals("--runs must be 1-10, got 11", probe.bench().problem());
        cl.parseArgs("--warmup", "-1");
        assertEquals("--warmup must be >= 0, got -1", probe.bench().problem());
        cl.parseArgs("--runs", "10", "--warmup", "0");
        assertNull(probe.bench().problem());
    }

    @Test
    void shouldRunTheWarmUpFirstAndKeepOnlyTheMeasuredPasses() throws Exception {
        List<String> calls = new ArrayList<>();
        List<Integer> kept = BenchOptions.repeat(2, 3, (measured, number, of) -> {
            calls.add((measured ? "m" : "w") + number + "/" + of);
            return measured ? number * 10 : -1;
        });
        assertEquals(List.of("w1/2", "w2/2", "m1/3", "m2/3", "m3/3"), calls);
        assertEquals(List.of(10, 20, 30), kept);
    }

    @Test
    void shouldTimeTheBestOfTheMeasuredRunsAfterTheWarmUp() throws Exception {
        Probe probe = new Probe(BenchOptions.Kafka.NONE);
        new CommandLine(probe).parseArgs("--warmup", "1", "--runs", "3");
        int[] runs = {0};
        double best = probe.bench().bestSeconds(() -> runs[0]++);
        assertEquals(4, runs[0], "one warm-up + three measured runs");
        assertTrue(best >= 0);
    }

    @Test
    void shouldWriteTheResultsFileOnlyWhenOneIsNamed(@TempDir Path dir) throws Exception {
        ResultTable table = new ResultTable("probe").text("measurement", 10).number("value", 6, 1)
                .row("speed", 12.5);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        Probe quiet = new Probe(BenchOptions.Kafka.NONE);
        new CommandLine(quiet).parseArgs();
        quiet.bench().save(table, out);
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));

        Path file = dir.resolve("out").resolve("probe.csv");
        Probe saving = new Probe(BenchOptions.Kafka.NONE);
        new CommandLine(saving).parseArgs("--output", file.toString());
        saving.bench().save(table, out);
        assertEquals(List.of("bench,measurement,value", "probe,speed,12.5"), Files.readAllLines(file));
        assertEquals("results written to " + file + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldUseTheEnvironmentsKafkaWithItsPrefixWhenTheBenchReadsIt(@TempDir Path dir) throws Exception {
        Probe probe = new Probe(BenchOptions.Kafka.ENVIRONMENT_ELSE_EMBEDDED);
        new CommandLine(probe).parseArgs();
        List<String> log = new ArrayList<>();
        try (BenchBroker broker = probe.bench().broker(dir, Map.of("SALSA_KAFKA_BOOTSTRAP", "kafka-1:9092",
                "SALSA_TOPIC_PREFIX", "prod."), log::add)) {
            assertFalse(broker.inProcess());
            assertEquals("kafka-1:9092", broker.bootstrapServers());
            assertEquals("prod.bench-1.", broker.settings("bench-1.").topicPrefix());
        }
        assertEquals(List.of(), log, "no in-process broker was started");

        new CommandLine(probe).parseArgs("--bootstrap", "kafka-2:9093");
        try (BenchBroker broker = probe.bench().broker(dir, Map.of("SALSA_KAFKA_BOOTSTRAP", "kafka-1:9092"),
                log::add)) {
            assertEquals("kafka-2:9093", broker.bootstrapServers(), "the flag wins over the environment");
        }
    }

    @Test
    void shouldRefuseAnUnusableBootstrapNamingTheFlag(@TempDir Path dir) throws Exception {
        Probe probe = new Probe(BenchOptions.Kafka.EMBEDDED);
        new CommandLine(probe).parseArgs("--bootstrap", "no-port");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> probe.bench().broker(dir, Map.of(), s -> { }));
        assertTrue(e.getMessage().startsWith("--bootstrap: "), e.getMessage());

        PrintStream stderr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertTrue(probe.bench().brokerOrRefuse(dir, Map.of(), s -> { }).isEmpty(), "refused: no broker");
        } finally {
            System.setErr(stderr);
        }
        assertEquals("salsa bench probe: " + e.getMessage(), err.toString(StandardCharsets.UTF_8).strip());
    }
}
