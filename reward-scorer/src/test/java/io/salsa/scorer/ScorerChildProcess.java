package io.salsa.scorer;

import java.nio.file.Path;
import org.apache.kafka.streams.KafkaStreams;

/**
 * A scorer instance in its own JVM, so a test can kill it with SIGKILL (no shutdown hook, no commit, an open
 * transaction left behind) — a real crash, unlike {@code KafkaStreams.close()}.
 *
 * <p>Arguments: bootstrap servers, topic prefix, scorer id, state dir, model delay per batch (ms).
 */
public final class ScorerChildProcess {

    static final String READY = "SCORER-CHILD-RUNNING";

    private ScorerChildProcess() {
    }

    public static void main(String[] args) throws Exception {
        ScorerCluster cluster = new ScorerCluster(args[0], args[1]);
        KafkaStreams streams = cluster.startInstance(args[2], Path.of(args[3]), Long.parseLong(args[4]),
                new ScorerMetrics());
        while (streams.state() != KafkaStreams.State.RUNNING) {
            Thread.sleep(20);
        }
        System.out.println(READY);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
