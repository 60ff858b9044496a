package io.salsa.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConditionsTest {

    @Test
    void awaitReturnsOnceTheConditionIsTrue() throws InterruptedException {
        AtomicInteger calls = new AtomicInteger();
        Conditions.await("the third evaluation", Duration.ofSeconds(30), () -> calls.incrementAndGet() >= 3);
        assertEquals(3, calls.get(), "evaluated until true, then not again");
    }

    @Test
    void awaitFailsNamingWhatNeverHappened() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> Conditions.await("something impossible", Duration.ofMillis(50), () -> false));
        assertTrue(e.getMessage().contains("something impossible"), e.getMessage());
    }

    @Test
    void holdsFailsTheFirstTimeTheConditionIsFalse() {
        AtomicInteger calls = new AtomicInteger();
        AssertionError e = assertThrows(AssertionError.class, () -> Conditions.holds("a state that breaks",
                Duration.ofSeconds(30), () -> calls.incrementAndGet() < 3));
        assertTrue(e.getMessage().contains("a state that breaks"), e.getMessage());
        assertEquals(3, calls.get(), "no evaluation after the first false");
    }

    @Test
    void holdsChecksMoreThanOnceOverItsWindow() throws InterruptedException {
        AtomicInteger calls = new AtomicInteger();
        Conditions.holds("a state that lasts", Duration.ofMillis(100), () -> calls.incrementAndGet() > 0);
        assertTrue(calls.get() >= 2, "checked " + calls.get() + " times");
    }
}
