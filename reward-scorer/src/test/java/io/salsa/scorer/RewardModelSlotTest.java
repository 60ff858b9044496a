package io.salsa.scorer;

import static io.salsa.scorer.TestRollouts.checkpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RewardModelSlotTest {

    @Test
    void shouldNotCloseAModelWhileABatchStillHoldsIt() {
        RewardModelSlot slot = new RewardModelSlot("rm", cp -> new LengthRewardModel("rm", cp.getVersion()),
                Runnable::run);
        LengthRewardModel v1 = new LengthRewardModel("rm", 1);
        slot.install(v1);
        RewardModelSlot.Lease batch = slot.acquire();
        slot.offer(checkpoint("rm", 2, "file:///v2"));
        assertEquals(2, slot.currentVersion(), "the swap does not wait for the batch");
        assertSame(v1, batch.model(), "the running batch keeps its model");
        assertFalse(v1.closed.get(), "not closed under a running batch");
        batch.close();
        assertTrue(v1.closed.get(), "closed once the batch released it");
        slot.close();
    }

    @Test
    void shouldHaveNoModelUntilOneIsInstalledOrLoaded() throws InterruptedException {
        RewardModelSlot slot = new RewardModelSlot("rm", cp -> new LengthRewardModel("rm", cp.getVersion()),
                Runnable::run);
        assertNull(slot.acquire());
        assertFalse(slot.awaitModel(Duration.ofMillis(10)));
        slot.offer(checkpoint("rm", 1, "file:///v1"));
        assertTrue(slot.awaitModel(Duration.ofMillis(10)));
        assertEquals("rm v1", slot.describe());
        slot.close();
        assertNull(slot.acquire(), "a closed slot serves nothing");
    }

    @Test
    void shouldRetryAVersionThatFailedWhenItIsPublishedAgain() {
        int[] attempts = {0};
        RewardModelSlot slot = new RewardModelSlot("rm", cp -> {
            if (attempts[0]++ == 0) {
                throw new java.io.IOException("blob not reachable");
            }
            return new LengthRewardModel("rm", cp.getVersion());
        }, Runnable::run);
        slot.offer(checkpoint("rm", 3, "file:///v3"));
        assertEquals(-1, slot.currentVersion());
        assertTrue(slot.lastFailure().contains("blob not reachable"));
        slot.offer(checkpoint("rm", 3, "file:///v3"));
        assertEquals(3, slot.currentVersion());
        slot.close();
    }
}
