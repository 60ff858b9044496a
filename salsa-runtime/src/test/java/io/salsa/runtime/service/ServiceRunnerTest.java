package io.salsa.runtime.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServiceRunnerTest {

    /** Works in units; a stop is honoured only between units, as the real services do. */
    static final class UnitService implements Service {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch firstUnit = new CountDownLatch(1);
        volatile boolean stop;
        final RuntimeException failAfterFirst;

        UnitService(RuntimeException failAfterFirst) {
            this.failAfterFirst = failAfterFirst;
        }

        @Override public String name() { return "unit-service"; }

        @Override public void run() throws Exception {
            while (!stop) {
                events.add("unit-start");
                Thread.sleep(20);
                events.add("unit-end");
                firstUnit.countDown();
                if (failAfterFirst != null) {
                    throw failAfterFirst;
                }
            }
        }

        @Override public void stop() { stop = true; }

        @Override public Health health() { return stop ? Health.down("stopping") : Health.up("working"); }

        @Override public void close() { events.add("closed"); }
    }

    @Test
    void shouldFinishTheCurrentUnitThenCloseWhenABackgroundServiceIsClosed() throws Exception {
        UnitService s = new UnitService(null);
        ServiceRunner.Background running = ServiceRunner.start(s);
        assertTrue(s.firstUnit.await(10, TimeUnit.SECONDS));
        running.checkHealthy();
        assertTrue(s.health().isUp());
        running.close();
        assertFalse(running.running());
        List<String> events = List.copyOf(s.events);
        assertEquals("closed", events.get(events.size() - 1));
        assertEquals("unit-end", events.get(events.size() - 2), "a stop never cuts a unit in half: " + events);
        assertEquals(Health.Status.DOWN, s.health().status());
    }

    @Test
    void shouldReportAServiceWhoseRunDiedWithItsName() throws Exception {
        UnitService s = new UnitService(new IllegalStateException("disk full"));
        ServiceRunner.Background running = ServiceRunner.start(s);
        assertTrue(running.await(Duration.ofSeconds(10)));
        IllegalStateException e = assertThrows(IllegalStateException.class, running::checkHealthy);
        assertTrue(e.getMessage().contains("unit-service") && e.getMessage().contains("disk full"), e.getMessage());
        running.close();
        assertTrue(s.events.contains("closed"));
    }

    @Test
    void shouldCloseAndRethrowWhenAForegroundServiceFails() {
        UnitService s = new UnitService(new IllegalStateException("bad batch"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ServiceRunner.runUntilStopped(s));
        assertEquals("bad batch", e.getMessage());
        assertTrue(s.events.contains("closed"));
    }

    @Test
    void shouldRefuseAHealthWithoutStatus() {
        assertThrows(IllegalArgumentException.class, () -> new Health(null, "x"));
        assertEquals("", Health.up(null).detail());
    }
}
