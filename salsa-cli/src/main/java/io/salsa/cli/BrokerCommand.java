package io.salsa.cli;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.runtime.cli.SalsaSubcommand;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa broker}: a real single-node Kafka broker for one machine, until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Start a single-node KRaft Kafka broker (no Docker); its data survives restarts.")
public final class BrokerCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--dir", defaultValue = "salsa-data/kafka",
            description = "Data folder; formatted on first start, reused after (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--port", defaultValue = "0",
            description = "Client port; 0 = a free port on first start, the same one afterwards.")
    int port;

    @Option(names = "--set", description = "Extra broker property, e.g. --set log.retention.hours=-1 (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            System.err.println("salsa broker: --port must be between 0 and 65535, got " + port);
            return 2;
        }
        long t0 = System.nanoTime();
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir, port, overrides);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stopped.countDown();
        }, "salsa-broker-shutdown"));
        System.out.printf("Kafka broker ready in %.1f s%nbootstrap.servers=%s%ndata: %s%nPress Ctrl-C to stop.%n",
                (System.nanoTime() - t0) / 1e9, broker.bootstrapServers(), dir.toAbsolutePath());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
