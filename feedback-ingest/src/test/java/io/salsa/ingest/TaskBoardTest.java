package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TaskBoardTest {

    static TaskBoard.PooledRollout rollout(String promptId, String rolloutId, String text) {
        return new TaskBoard.PooledRollout(promptId, "prompt " + promptId,
                new TaskBoard.Response(rolloutId, text, List.of(1, 2), 0L));
    }

    private static String answerNext(TaskBoard board, String rater, long now) {
        TaskBoard.Task t = board.next(rater, now).orElseThrow();
        board.claim(rater, t.taskId(), "k-" + t.taskId(), now);
        board.answered(t);
        return TaskBoard.pairKey(t.a().rolloutId(), t.b().rolloutId());
    }

    /** A board (4 rollouts per prompt, 100 pairs, tasks open {@code taskTtlMs}) with prompt p's r1 = "a", r2 = "b", … */
    private static TaskBoard onePrompt(int responses, long taskTtlMs) {
        TaskBoard board = new TaskBoard(4, 100, taskTtlMs);
        for (int i = 0; i < responses; i++) {
            board.addRollout(rollout("p", "r" + (i + 1), String.valueOf((char) ('a' + i))));
        }
        return board;
    }

    @Test
    void shouldPairDifferentResponsesOfTheSamePromptOnly() {
        TaskBoard board = new TaskBoard(8, 100, 60_000);
        assertEquals(0, board.addRollout(rollout("p1", "r1", "yes")));
        assertEquals(1, board.addRollout(rollout("p1", "r2", "no")));
        assertEquals(0, board.addRollout(rollout("p2", "r3", "yes")));
        assertEquals(1, board.addRollout(rollout("p1", "r4", "yes")), "identical text 'yes' is not paired with r1");
        assertEquals(0, board.addRollout(rollout("p1", "r2", "no")), "a rollout read twice adds nothing");
        TaskBoard.Task t = board.next("alice", 0).orElseThrow();
        assertEquals("p1", t.promptId());
        assertNotEquals(t.a().rolloutId(), t.b().rolloutId());
    }

    @Test
    void shouldNeverGiveARaterTheSamePairTwice() {
        TaskBoard board = new TaskBoard(4, 1000, 60_000);
        for (int p = 0; p < 5; p++) {
            for (int r = 0; r < 4; r++) {
                board.addRollout(rollout("p" + p, "p" + p + "r" + r, "text " + r));
            }
        }
        // 5 prompts x C(4,2) = 30 pairs; a second arrival of the same rollouts forms none
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            assertTrue(seen.add(answerNext(board, "alice", 0)));
        }
        assertTrue(board.next("alice", 0).isEmpty());
        assertEquals(30, board.answeredCount("alice"));
        // bob has his own history
        assertTrue(board.next("bob", 0).isPresent());
    }

    @Test
    void shouldReturnTheOpenTaskUntilItIsAnswered() {
        TaskBoard board = onePrompt(3, 60_000);
        TaskBoard.Task first = board.next("alice", 0).orElseThrow();
        assertSame(first, board.next("alice", 1).orElseThrow(), "a reload shows the same task");
        board.claim("alice", first.taskId(), "k1", 2);
        board.answered(first);
        assertNotEquals(first.taskId(), board.next("alice", 3).orElseThrow().taskId());
    }

    @Test
    void shouldGuardTasksAgainstStrangersAndSecondAnswers() {
        TaskBoard board = onePrompt(2, 60_000);
        TaskBoard.Task t = board.next("alice", 0).orElseThrow();
        assertEquals(404, assertThrows(ApiException.class, () -> board.claim("alice", "nope", "k", 0)).status());
        assertEquals(403, assertThrows(ApiException.class, () -> board.claim("bob", t.taskId(), "k", 0)).status());
        board.claim("alice", t.taskId(), "k1", 0);
        assertEquals(409, assertThrows(ApiException.class, () -> board.claim("alice", t.taskId(), "k2", 0)).status());
        board.release(t, "k1");
        board.claim("alice", t.taskId(), "k2", 0);
        board.answered(t);
        ApiException again = assertThrows(ApiException.class, () -> board.claim("alice", t.taskId(), "k3", 0));
        assertEquals(409, again.status());
        assertEquals("task_answered", again.reason());
    }

    @Test
    void shouldExpireUnansweredTasks() {
        TaskBoard board = onePrompt(3, 1000);
        TaskBoard.Task t = board.next("alice", 0).orElseThrow();
        Optional<TaskBoard.Task> later = board.next("alice", 5000);
        assertNotEquals(t.taskId(), later.orElseThrow().taskId(), "an expired open task is replaced");
        assertEquals(404, assertThrows(ApiException.class, () -> board.claim("alice", t.taskId(), "k", 5000)).status());
    }

    @Test
    void shouldSkipPairsAnsweredBeforeARestart() {
        TaskBoard board = new TaskBoard(4, 100, 60_000);
        board.rememberAnswered("alice", "r2", "r1");
        board.addRollout(rollout("p", "r1", "a"));
        board.addRollout(rollout("p", "r2", "b"));
        assertTrue(board.next("alice", 0).isEmpty());
        assertEquals(1, board.answeredCount("alice"));
        assertTrue(board.next("bob", 0).isPresent());
    }

    @Test
    void shouldDropTheOldestPairsWhenThePoolIsFull() {
        TaskBoard board = new TaskBoard(2, 3, 60_000);
        for (int p = 0; p < 5; p++) {
            board.addRollout(rollout("p" + p, "p" + p + "a", "x"));
            board.addRollout(rollout("p" + p, "p" + p + "b", "y"));
        }
        assertEquals(3, board.pairsInPool());
        assertEquals("p2", board.next("alice", 0).orElseThrow().promptId());
    }

    @Test
    void shouldBoundThePoolInBytesWhateverThePairCapacity() {
        // 1,000-token responses: the pair count alone (10,000 here) would let the pool hold ~400 MB
        List<Integer> tokens = java.util.Collections.nCopies(1000, 7);
        String text = "w".repeat(4000);
        long budget = 1_000_000;
        TaskBoard board = new TaskBoard(2, 10_000, budget, 60_000);
        for (int p = 0; p < 200; p++) {
            board.addRollout(new TaskBoard.PooledRollout("p" + p, "prompt " + p,
                    new TaskBoard.Response("p" + p + "a", text + "a", tokens, 0L)));
            board.addRollout(new TaskBoard.PooledRollout("p" + p, "prompt " + p,
                    new TaskBoard.Response("p" + p + "b", text + "b", tokens, 0L)));
            assertTrue(board.poolBytes() <= budget, "pool " + board.poolBytes() + " B after prompt " + p);
        }
        long pairs = board.pairsInPool();
        assertTrue(pairs >= 10 && pairs < 200, "about budget / 56 kB pairs stay, got " + pairs);
        // the oldest fell off: a rater walks only what is left, newest last
        for (long p = 200 - pairs; p < 200; p++) {
            assertEquals("p" + p, board.next("alice", 0).orElseThrow().promptId());
            answerNext(board, "alice", 0);
        }
        assertTrue(board.next("alice", 0).isEmpty(), "nothing older than the budget is issued");
    }

    @Test
    void shouldBoundTheRolloutsWaitingPerPromptInBytesWhateverThePairCapacity() {
        // one 1,000-token rollout per prompt forms no pair, so only the per-prompt bookkeeping holds it; by count
        // alone (10,000 prompts here) it would keep all 300 of them, ~12 MB
        List<Integer> tokens = java.util.Collections.nCopies(1000, 7);
        String text = "w".repeat(4000);
        long budget = 1_000_000;
        TaskBoard board = new TaskBoard(4, 10_000, budget, 60_000);
        for (int p = 0; p < 300; p++) {
            board.addRollout(new TaskBoard.PooledRollout("p" + p, "prompt " + p,
                    new TaskBoard.Response("p" + p + "a", text, tokens, 0L)));
            assertTrue(board.waitingBytes() <= budget, "waiting " + board.waitingBytes() + " B after prompt " + p);
        }
        int kept = board.waitingPrompts();
        assertTrue(kept >= 10 && kept < 300, "about budget / 28 kB prompts stay, got " + kept);
        assertEquals(0, board.pairsInPool());
        // the newest prompts are the ones kept: a second rollout of the newest pairs, one of the oldest does not
        assertEquals(1, board.addRollout(new TaskBoard.PooledRollout("p299", "prompt 299",
                new TaskBoard.Response("p299b", text + "b", tokens, 0L))));
        assertEquals(0, board.addRollout(new TaskBoard.PooledRollout("p0", "prompt 0",
                new TaskBoard.Response("p0b", text + "b", tokens, 0L))), "p0 was forgotten");
        assertTrue(board.waitingBytes() <= budget);
    }

    @Test
    void shouldStillBoundTheWaitingPromptsByThePairCapacity() {
        TaskBoard board = new TaskBoard(4, 3, 60_000);
        for (int p = 0; p < 10; p++) {
            board.addRollout(new TaskBoard.PooledRollout("p" + p, "prompt " + p,
                    new TaskBoard.Response("p" + p + "a", "a" + p, List.of(1), 0L)));
        }
        assertEquals(3, board.waitingPrompts());
        assertEquals(1, board.addRollout(new TaskBoard.PooledRollout("p9", "prompt 9",
                new TaskBoard.Response("p9b", "b", List.of(2), 0L))));
        assertEquals(0, board.addRollout(new TaskBoard.PooledRollout("p6", "prompt 6",
                new TaskBoard.Response("p6b", "b", List.of(2), 0L))), "p6 was the oldest beyond 3 prompts");
    }

    @Test
    void shouldLeaveASkippedPairToOtherRatersButNeverReissueItToTheSkipper() {
        TaskBoard board = onePrompt(3, 60_000);
        TaskBoard.Task skipped = board.next("alice", 0).orElseThrow();
        String skippedPair = TaskBoard.pairKey(skipped.a().rolloutId(), skipped.b().rolloutId());
        board.skip("alice", skipped.taskId(), 1);
        board.skip("alice", skipped.taskId(), 2);
        assertEquals(0, board.answeredCount("alice"), "a skip is not an answer");

        TaskBoard.Task next = board.next("alice", 3).orElseThrow();
        assertNotEquals(skipped.taskId(), next.taskId(), "the skipped task is no longer the open one");
        Set<String> alicePairs = new HashSet<>();
        alicePairs.add(TaskBoard.pairKey(next.a().rolloutId(), next.b().rolloutId()));
        board.claim("alice", next.taskId(), "k", 3);
        board.answered(next);
        alicePairs.add(answerNext(board, "alice", 4));
        assertTrue(board.next("alice", 5).isEmpty(), "3 pairs: one skipped, two answered");
        assertFalse(alicePairs.contains(skippedPair), "the skipper never gets the skipped pair again");

        Set<String> bobPairs = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            bobPairs.add(answerNext(board, "bob", 6));
        }
        assertTrue(bobPairs.contains(skippedPair), "the skipped pair goes to another rater");
    }

    @Test
    void shouldRefuseToSkipTasksThatAreNotTheRatersOpenOnes() {
        TaskBoard board = onePrompt(3, 60_000);
        TaskBoard.Task t = board.next("alice", 0).orElseThrow();
        assertEquals(404, assertThrows(ApiException.class, () -> board.skip("alice", "nope", 0)).status());
        assertEquals(403, assertThrows(ApiException.class, () -> board.skip("bob", t.taskId(), 0)).status());
        board.claim("alice", t.taskId(), "k1", 0);
        ApiException beingAnswered = assertThrows(ApiException.class, () -> board.skip("alice", t.taskId(), 0));
        assertEquals(409, beingAnswered.status());
        board.answered(t);
        assertEquals(409, assertThrows(ApiException.class, () -> board.skip("alice", t.taskId(), 0)).status());

        TaskBoard.Task u = board.next("alice", 0).orElseThrow();
        board.skip("alice", u.taskId(), 0);
        ApiException late = assertThrows(ApiException.class, () -> board.claim("alice", u.taskId(), "k2", 0));
        assertEquals(409, late.status());
        assertEquals("task_skipped", late.reason());
        assertEquals(404, assertThrows(ApiException.class, () -> board.skip("bob", u.taskId(), 0)).status(),
                "another rater learns nothing about a task that is not theirs");

        TaskBoard expiring = onePrompt(2, 1000);
        TaskBoard.Task old = expiring.next("alice", 0).orElseThrow();
        assertEquals(404, assertThrows(ApiException.class, () -> expiring.skip("alice", old.taskId(), 5000)).status());
    }
}
