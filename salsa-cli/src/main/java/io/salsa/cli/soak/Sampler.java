package io.salsa.cli.soak;

import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Takes one sample of everything the soak watches: each service process's memory, threads and open files, the data
 * folder's disk use, the loop's throughput counted from the topics' end offsets, and the machine's load.
 */
final class Sampler {

    /** Service name of the rows about the whole loop (throughput), the data folder and the machine. */
    static final String LOOP = "loop";
    static final String DISK = "data";
    static final String MACHINE = "machine";
    static final String DRIVER = "soak-driver";

    /** Throughput metrics and the topic each is counted from. */
    private static final Map<String, Topic<?, ?>> COUNTED = new LinkedHashMap<>();

    static {
        COUNTED.put("learner_steps", Topics.LEARNER_BATCHES);
        COUNTED.put("policy_checkpoints", Topics.POLICY);
        // end offsets: the generators and the scorer write in transactions, so each transaction's commit marker
        // takes an offset too (and an aborted transaction's records stay in the log)
        COUNTED.put("rollout_offsets", Topics.ROLLOUTS);
        COUNTED.put("scored_offsets", Topics.SCORED_ROLLOUTS);
        COUNTED.put("preferences", Topics.FEEDBACK);
        COUNTED.put("dead_letters", Topics.DEAD_LETTERS);
    }

    private final SoakSeries series;
    private final Map<String, ServiceProcess> services;
    private final Path data;
    private final KafkaSettings kafka;
    private final Map<String, Long> baseline = new LinkedHashMap<>();
    private final Map<String, Long> last = new LinkedHashMap<>();
    private final Map<String, Double> lastRss = new LinkedHashMap<>();
    private double load = -1;

    Sampler(SoakSeries series, Map<String, ServiceProcess> services, Path data, KafkaSettings kafka,
            long rolloutsBefore, long feedbackBefore) {
        this.series = series;
        this.services = services;
        this.data = data;
        this.kafka = kafka;
        // the preparation's own rollouts and preferences are not the loop's throughput
        baseline.put("rollout_offsets", rolloutsBefore);
        baseline.put("preferences", feedbackBefore);
    }

    void sample(double t, boolean brokerDown) {
        for (ServiceProcess s : services.values()) {
            boolean alive = s.alive();
            series.add(t, s.name(), "alive", alive ? 1 : 0);
            series.add(t, s.name(), "starts", s.starts());
            if (alive) {
                memory(t, s.name(), s.pid());
            }
        }
        memory(t, DRIVER, ProcessHandle.current().pid());
        series.add(t, DISK, "disk_mb", mb(JvmMemory.diskUse(data)));
        for (String part : List.of("kafka", "blobs", "cache", "services")) {
            series.add(t, DISK, part + "_mb", mb(JvmMemory.diskUse(data.resolve(part))));
        }
        if (!brokerDown) {
            for (Map.Entry<String, Topic<?, ?>> e : COUNTED.entrySet()) {
                try {
                    long n = KafkaLog.endOffsetSum(kafka, kafka.topic(e.getValue()))
                            - baseline.getOrDefault(e.getKey(), 0L);
                    last.put(e.getKey(), n);
                    series.add(t, LOOP, e.getKey(), n);
                } catch (RuntimeException unreachable) {
                    // the broker is restarting or busy: no sample this time
                }
            }
        }
        try {
            load = Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split("\\s+")[0]);
            series.add(t, MACHINE, "load1", load);
        } catch (IOException | RuntimeException e) {
            load = -1;
        }
    }

    private void memory(double t, String service, long pid) {
        JvmMemory.Sample m = JvmMemory.sample(pid);
        series.add(t, service, "rss_mb", m.rssMb());
        series.add(t, service, "heap_used_mb", m.heapUsedMb());
        series.add(t, service, "old_gen_used_mb", m.oldGenUsedMb());
        series.add(t, service, "heap_committed_mb", m.heapCommittedMb());
        series.add(t, service, "threads", m.threads());
        series.add(t, service, "open_files", m.openFiles());
        lastRss.put(service, m.rssMb());
    }

    private static double mb(long bytes) {
        return bytes < 0 ? -1 : bytes / 1048576.0;
    }

    long last(String metric) {
        return last.getOrDefault(metric, 0L);
    }

    double lastRss(String service) {
        return lastRss.getOrDefault(service, -1.0);
    }

    double loadAverage() {
        return load;
    }
}
