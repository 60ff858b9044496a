package io.salsa.ingest;

import io.salsa.events.Preference;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the whole feedback topic and checks it against what clients were told, so "no acknowledged event lost,
 * none duplicated" is counted from the log itself (by the benchmark and the outage test alike).
 */
public final class FeedbackAudit {

    /** How the topic compares with the ids clients received 201s for. */
    public record Result(long records, long acknowledged, long lost, long duplicated, long unacknowledged) { }

    private FeedbackAudit() {
    }

    /** Every preference on the feedback topic up to its end now, in offset order per partition. */
    public static List<Preference> readAll(KafkaSettings settings) {
        return KafkaLog.readValues(settings, Topics.FEEDBACK, Duration.ofSeconds(30), KafkaLog::skipUndecodable);
    }

    /**
     * Compares the topic with the acknowledged ids.
     *
     * @param acknowledged preference ids for which a client received 201
     */
    public static Result check(KafkaSettings settings, Set<String> acknowledged) {
        Map<String, Integer> counts = new HashMap<>();
        List<Preference> all = readAll(settings);
        all.forEach(p -> counts.merge(p.getPreferenceId(), 1, Integer::sum));
        long lost = acknowledged.stream().filter(id -> !counts.containsKey(id)).count();
        long duplicated = counts.values().stream().filter(n -> n > 1).mapToLong(n -> n - 1).sum();
        long unacknowledged = counts.keySet().stream().filter(id -> !acknowledged.contains(id)).count();
        return new Result(all.size(), acknowledged.size(), lost, duplicated, unacknowledged);
    }
}
