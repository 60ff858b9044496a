package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IngestMetricsTest {

    @Test
    void shouldRenderEveryCounterWithItsHelpTypeAndValue() {
        IngestMetrics m = new IngestMetrics();
        m.published();
        m.published();
        m.replayed();
        m.rolloutSeen();
        m.rolloutSkipped();
        m.reject("rate_limited");
        m.request("/api/tasks/next", "GET", 200, 2_000_000);
        String text = m.render();
        for (String expected : new String[] {
            "# HELP salsa_ingest_requests_total HTTP requests by route, method and status.\n"
                    + "# TYPE salsa_ingest_requests_total counter\n"
                    + "salsa_ingest_requests_total{route=\"/api/tasks/next\",method=\"GET\",status=\"200\"} 1\n",
            "# HELP salsa_ingest_request_duration_seconds HTTP request latency by route.\n"
                    + "# TYPE salsa_ingest_request_duration_seconds histogram\n",
            "# HELP salsa_ingest_events_published_total Preference events acknowledged by Kafka.\n"
                    + "# TYPE salsa_ingest_events_published_total counter\n"
                    + "salsa_ingest_events_published_total 2\n",
            "# HELP salsa_ingest_idempotent_replays_total Requests answered from the idempotency store.\n"
                    + "# TYPE salsa_ingest_idempotent_replays_total counter\n"
                    + "salsa_ingest_idempotent_replays_total 1\n",
            "# HELP salsa_ingest_rejects_total Requests refused, by reason.\n"
                    + "# TYPE salsa_ingest_rejects_total counter\n"
                    + "salsa_ingest_rejects_total{reason=\"rate_limited\"} 1\n",
            "# HELP salsa_ingest_rollouts_consumed_total Rollouts read from the rollouts topic.\n"
                    + "# TYPE salsa_ingest_rollouts_consumed_total counter\n"
                    + "salsa_ingest_rollouts_consumed_total 1\n",
            "# HELP salsa_ingest_rollouts_skipped_total Rollouts without prompt or response text.\n"
                    + "# TYPE salsa_ingest_rollouts_skipped_total counter\n"
                    + "salsa_ingest_rollouts_skipped_total 1\n"}) {
            assertTrue(text.contains(expected), expected + " in:\n" + text);
        }
    }
}
