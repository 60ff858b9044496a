package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.runtime.service.ServiceRunner;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServiceStackTest {

    /** A service that records its lifecycle into a shared list and runs until stopped. */
    private static final class Recording implements Service {
        private final String name;
        private final List<String> events;
        final CountDownLatch started = new CountDownLatch(1);
        private final CountDownLatch stop = new CountDownLatch(1);

        Recording(String name, List<String> events) {
            this.name = name;
            this.events = events;
        }

        @Override public String name() { return name; }

        @Override public void run() throws InterruptedException {
            events.add(name + " run");
            started.countDown();
            stop.await();
            events.add(name + " returned");
        }

        @Override public void stop() { stop.countDown(); }

        @Override public Health health() { return stop.getCount() == 0 ? Health.down("stopped") : Health.up(""); }

        @Override public void close() { events.add(name + " closed"); }
    }

    @Test
    void shouldRunServicesOnTheirOwnThreadsAndStopThemNewestFirst() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        ServiceStack stack = new ServiceStack();
        Recording scorer = new Recording("scorer", events);
        Recording generator = new Recording("generator", events);
        ServiceRunner.Background s = stack.start("scorer", scorer);
        ServiceRunner.Background g = stack.start("generator", generator);
        assertTrue(scorer.started.await(10, TimeUnit.SECONDS));
        assertTrue(generator.started.await(10, TimeUnit.SECONDS));
        s.checkHealthy();
        g.checkHealthy();

        stack.close();
        assertFalse(s.running());
        assertFalse(g.running());
        List<String> stopped = events.subList(2, events.size());
        assertEquals(List.of("generator returned", "generator closed", "scorer returned", "scorer closed"), stopped,
                "each service returns from run before it is closed, the newest first");
        assertEquals(Health.Status.DOWN, scorer.health().status());
    }

    @Test
    void shouldCloseWithoutRunningAServiceStartedAfterTheStop() {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        ServiceStack stack = new ServiceStack();
        stack.close();
        assertThrows(IllegalStateException.class, () -> stack.start("late", new Recording("late", events)));
        assertEquals(List.of("late closed"), events);
    }
}
