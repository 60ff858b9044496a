package io.salsa.ingest;

import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The comparison work handed to raters: pairs of different responses to the same prompt, formed from the most
 * recent rollouts, issued so that no rater ever sees the same pair twice, and claimed by exactly one answer (or
 * skipped by its rater, which leaves the pair to the others).
 *
 * <p>Pairs are appended to a log in arrival order, bounded both in pairs and in (estimated) bytes — the oldest
 * fall off first — so responses of a thousand tokens cannot grow the pool to gigabytes (the rollouts waiting per
 * prompt to be paired are bounded the same way: at most as many prompts as pairs, within the same byte budget,
 * oldest prompt forgotten first); each rater walks that log
 * with a cursor and skips pairs it has already seen, so finding the next task costs amortised O(1) however many
 * tasks the rater has done. All state is in memory and guarded by this object's lock: every operation is a few
 * map look-ups, far cheaper than the Kafka round trip each answer waits for.
 */
public final class TaskBoard {

    /** What a rater is shown of one rollout. */
    public record Response(String rolloutId, String text, List<Integer> tokenIds, Long policyVersion) { }

    /** One rollout as kept in the pool. */
    public record PooledRollout(String promptId, String promptText, Response response) { }

    /** A comparison issued to one rater; A/B order is randomised per issue against position bias. */
    public static final class Task {
        private final String taskId;
        private final String raterId;
        private final String promptId;
        private final String promptText;
        private final Response a;
        private final Response b;
        private final long expiresAtMs;
        private String claimKey;
        private boolean answered;

        Task(String taskId, String raterId, String promptId, String promptText, Response a, Response b,
             long expiresAtMs) {
            this.taskId = taskId;
            this.raterId = raterId;
            this.promptId = promptId;
            this.promptText = promptText;
            this.a = a;
            this.b = b;
            this.expiresAtMs = expiresAtMs;
        }

        public String taskId() {
            return taskId;
        }

        public String raterId() {
            return raterId;
        }

        public String promptId() {
            return promptId;
        }

        public String promptText() {
            return promptText;
        }

        public Response a() {
            return a;
        }

        public Response b() {
            return b;
        }
    }

    private record Pair(String promptId, String promptText, Response first, Response second) {
        String key() {
            return pairKey(first.rolloutId(), second.rolloutId());
        }

        /**
         * A conservative estimate of the heap this pair holds: strings at two bytes a character, boxed token ids at
         * 20 bytes each (Integer + reference), object headers. Responses shared with other pairs are counted in
         * each, so the pool holds at most its budget.
         */
        long bytes() {
            return 64 + string(promptId) + string(promptText) + bytes(first) + bytes(second);
        }

        static long bytes(Response r) {
            return 48 + string(r.rolloutId()) + string(r.text()) + 40 + 20L * r.tokenIds().size();
        }

        /** The same estimate for a rollout waiting to be paired (its prompt text counted with each rollout). */
        static long bytes(PooledRollout r) {
            return 32 + string(r.promptId()) + string(r.promptText()) + bytes(r.response());
        }

        private static long string(String s) {
            return s == null ? 0 : 40 + 2L * s.length();
        }
    }

    private static final class RaterState {
        long cursor;
        final Set<String> seen = new HashSet<>();
        Task open;
        long answered;
    }

    /**
     * Task ids are this instance's random prefix plus a counter: unique across restarts and instances without
     * a SecureRandom call per task (ownership, not secrecy, protects a task: see {@link #claim}).
     */
    private final String idPrefix = Long.toString(new SecureRandom().nextLong() & Long.MAX_VALUE, 36) + "-";
    private long issued;
    private final int rolloutsPerPrompt;
    private final long taskTtlMs;
    private final Pair[] ring;
    private long nextSeq;
    /** Oldest sequence still in the pool (below it: fallen off for the byte budget or the pair capacity). */
    private long firstSeq;
    private final long poolBudgetBytes;
    private long poolBytes;
    /** The rollouts waiting to be paired, per prompt, oldest prompt first; bounded in prompts and in bytes. */
    private final LinkedHashMap<String, ArrayDeque<PooledRollout>> prompts = new LinkedHashMap<>();
    private final int maxPrompts;
    private long waitingBytes;
    private final Map<String, RaterState> raters = new HashMap<>();
    /** Open tasks in issue order, which is also expiry order since every task gets the same TTL. */
    private final LinkedHashMap<String, Task> tasks = new LinkedHashMap<>();
    /** How a task left the board without expiring: answered, or skipped by its rater. */
    private record Closed(String raterId, boolean skipped) { }

    /**
     * Recently answered or skipped task ids, so a late second answer gets a precise 409 rather than a 404 and a
     * retried skip (its first response lost with the connection) succeeds again.
     */
    private final LinkedHashMap<String, Closed> recentlyClosed = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Closed> eldest) {
            return size() > RECENTLY_CLOSED;
        }
    };
    private static final int RECENTLY_CLOSED = 100_000;

    /** A board whose pool is bounded by {@code pairCapacity} pairs only. */
    public TaskBoard(int rolloutsPerPrompt, int pairCapacity, long taskTtlMs) {
        this(rolloutsPerPrompt, pairCapacity, Long.MAX_VALUE, taskTtlMs);
    }

    /**
     * A board whose pool holds at most {@code pairCapacity} pairs and about {@code poolBudgetBytes} of them
     * ({@link Pair#bytes}); the newest pair always stays, whatever its size.
     */
    public TaskBoard(int rolloutsPerPrompt, int pairCapacity, long poolBudgetBytes, long taskTtlMs) {
        if (poolBudgetBytes < 1) {
            throw new IllegalArgumentException("the pair pool's byte budget must be >= 1, got " + poolBudgetBytes);
        }
        this.poolBudgetBytes = poolBudgetBytes;
        this.rolloutsPerPrompt = rolloutsPerPrompt;
        this.taskTtlMs = taskTtlMs;
        this.ring = new Pair[pairCapacity];
        this.maxPrompts = pairCapacity;
    }

    /** Order-free identity of a pair of rollouts. */
    public static String pairKey(String rolloutA, String rolloutB) {
        return rolloutA.compareTo(rolloutB) <= 0 ? rolloutA + '|' + rolloutB : rolloutB + '|' + rolloutA;
    }

    /**
     * Adds a rollout to its prompt's recent set and forms a pair with each other recent rollout whose text
     * differs (two identical responses teach a reward model nothing).
     *
     * @return how many new pairs it formed
     */
    public synchronized int addRollout(PooledRollout r) {
        ArrayDeque<PooledRollout> recent = prompts.computeIfAbsent(r.promptId(), k -> new ArrayDeque<>());
        for (PooledRollout old : recent) {
            if (old.response().rolloutId().equals(r.response().rolloutId())) {
                return 0;
            }
        }
        int formed = 0;
        for (PooledRollout old : recent) {
            if (!old.response().text().equals(r.response().text())) {
                append(new Pair(r.promptId(), r.promptText(), old.response(), r.response()));
                formed++;
            }
        }
        recent.addLast(r);
        waitingBytes += Pair.bytes(r);
        if (recent.size() > rolloutsPerPrompt) {
            waitingBytes -= Pair.bytes(recent.removeFirst());
        }
        forgetOldPrompts(r.promptId());
        return formed;
    }

    /**
     * Forgets the oldest prompts' waiting rollouts while there are more prompts than the pair capacity or they hold
     * more than the pool's byte budget (a later rollout of a forgotten prompt pairs only with later ones); the
     * prompt just added stays, whatever its size.
     */
    private void forgetOldPrompts(String keep) {
        var it = prompts.entrySet().iterator();
        while ((prompts.size() > maxPrompts || waitingBytes > poolBudgetBytes) && it.hasNext()) {
            Map.Entry<String, ArrayDeque<PooledRollout>> eldest = it.next();
            if (eldest.getKey().equals(keep)) {
                continue;
            }
            for (PooledRollout old : eldest.getValue()) {
                waitingBytes -= Pair.bytes(old);
            }
            it.remove();
        }
    }

    /** Appends a pair, dropping the oldest ones beyond the pair capacity or the byte budget. */
    private void append(Pair p) {
        int slot = (int) (nextSeq % ring.length);
        if (ring[slot] != null) { // the pair capacity: the slot's pair, nextSeq - ring.length, falls off
            poolBytes -= ring[slot].bytes();
            firstSeq = Math.max(firstSeq, nextSeq - ring.length + 1);
        }
        ring[slot] = p;
        poolBytes += p.bytes();
        nextSeq++;
        while (poolBytes > poolBudgetBytes && firstSeq < nextSeq - 1) {
            int oldest = (int) (firstSeq % ring.length);
            poolBytes -= ring[oldest].bytes();
            ring[oldest] = null;
            firstSeq++;
        }
    }

    /** Records a pair the rater answered before (from the feedback topic at start-up), so it is never re-issued. */
    public synchronized void rememberAnswered(String raterId, String rolloutA, String rolloutB) {
        RaterState rs = raters.computeIfAbsent(raterId, k -> new RaterState());
        if (rolloutA != null && rolloutB != null) {
            rs.seen.add(pairKey(rolloutA, rolloutB));
        }
        rs.answered++;
    }

    /**
     * The rater's open task if it has one (so a page reload does not skip work), otherwise the next pair the
     * rater has never seen, or empty when there is none yet.
     */
    public synchronized Optional<Task> next(String raterId, long nowMs) {
        expire(nowMs);
        RaterState rs = raters.computeIfAbsent(raterId, k -> new RaterState());
        if (rs.open != null && !rs.open.answered && rs.open.claimKey == null && rs.open.expiresAtMs > nowMs) {
            return Optional.of(rs.open);
        }
        long first = Math.max(firstSeq, nextSeq - ring.length);
        long cursor = Math.max(rs.cursor, first);
        while (cursor < nextSeq) {
            Pair p = ring[(int) (cursor % ring.length)];
            cursor++;
            if (rs.seen.add(p.key())) {
                rs.cursor = cursor;
                boolean swap = ThreadLocalRandom.current().nextBoolean();
                Task t = new Task(idPrefix + Long.toString(++issued, 36), raterId, p.promptId(), p.promptText(),
                        swap ? p.second() : p.first(), swap ? p.first() : p.second(), nowMs + taskTtlMs);
                tasks.put(t.taskId, t);
                rs.open = t;
                return Optional.of(t);
            }
        }
        rs.cursor = cursor;
        return Optional.empty();
    }

    /**
     * Reserves a task for one answer identified by its idempotency key.
     *
     * @throws ApiException 404 for an unknown or expired task, 403 for another rater's task, 409 when the task is
     *                      already answered (or being answered) under a different key, or was skipped
     */
    public synchronized Task claim(String raterId, String taskId, String idempotencyKey, long nowMs) {
        Closed closed = closedBy(raterId, taskId);
        if (closed != null) {
            throw closed.skipped()
                    ? new ApiException(409, "task_skipped", "task '" + abbreviate(taskId) + "' was skipped; fetch a"
                            + " new one from GET /api/tasks/next", "$.taskId")
                    : new ApiException(409, "task_answered", "task '" + abbreviate(taskId) + "' is already answered"
                            + " under another Idempotency-Key", "$.taskId");
        }
        Task t = openTask(raterId, taskId, nowMs);
        if (t.claimKey != null) {
            throw new ApiException(409, "task_answered", "task '" + abbreviate(taskId) + "' is already "
                    + (t.answered ? "answered" : "being answered") + " under another Idempotency-Key", "$.taskId");
        }
        t.claimKey = idempotencyKey;
        return t;
    }

    /**
     * Withdraws the rater's task without an answer: the rater is issued the next pair and never this one again.
     * The pair itself stays in the pool for everybody else, because pairs are never owned by one rater (each
     * rater walks the whole log), so a skipped pair goes to any other rater who has not seen it. Skipping the
     * same task again is a no-op, so a client may retry a skip whose response it lost.
     *
     * @throws ApiException 404 for an unknown or expired task, 403 for another rater's task, 409 when the task is
     *                      answered or being answered
     */
    public synchronized void skip(String raterId, String taskId, long nowMs) {
        Closed closed = closedBy(raterId, taskId);
        if (closed != null && closed.skipped()) {
            return;
        }
        if (closed != null) {
            throw new ApiException(409, "task_answered", "task '" + abbreviate(taskId) + "' is already answered;"
                    + " it cannot be skipped", "$.taskId");
        }
        Task t = openTask(raterId, taskId, nowMs);
        if (t.claimKey != null) {
            throw new ApiException(409, "task_answered", "task '" + abbreviate(taskId) + "' is being answered; it"
                    + " cannot be skipped", "$.taskId");
        }
        tasks.remove(taskId);
        recentlyClosed.put(taskId, new Closed(raterId, true));
        RaterState rs = raters.get(raterId);
        if (rs != null && rs.open == t) {
            rs.open = null;
        }
    }

    private Closed closedBy(String raterId, String taskId) {
        Closed c = recentlyClosed.get(taskId);
        return c != null && c.raterId().equals(raterId) && !tasks.containsKey(taskId) ? c : null;
    }

    /** The rater's own open task, or the 404 / 403 that says why there is none. */
    private Task openTask(String raterId, String taskId, long nowMs) {
        Task t = tasks.get(taskId);
        if (t == null || t.expiresAtMs <= nowMs) {
            throw new ApiException(404, "unknown_task", "no open task '" + abbreviate(taskId) + "' (unknown, expired,"
                    + " or issued before a restart); fetch a new one from GET /api/tasks/next", "$.taskId");
        }
        if (!t.raterId.equals(raterId)) {
            throw new ApiException(403, "forbidden", "task '" + abbreviate(taskId) + "' was issued to another rater",
                    "$.taskId");
        }
        return t;
    }

    /** Gives a claimed task back after its answer could not be published, so the rater can try again. */
    public synchronized void release(Task t, String idempotencyKey) {
        if (!t.answered && idempotencyKey.equals(t.claimKey)) {
            t.claimKey = null;
        }
    }

    /** Marks a claimed task answered once Kafka acknowledged its event; returns the rater's answer count. */
    public synchronized long answered(Task t) {
        if (t.answered) {
            return raters.get(t.raterId).answered;
        }
        t.answered = true;
        tasks.remove(t.taskId);
        recentlyClosed.put(t.taskId, new Closed(t.raterId, false));
        RaterState rs = raters.computeIfAbsent(t.raterId, k -> new RaterState());
        if (rs.open == t) {
            rs.open = null;
        }
        return ++rs.answered;
    }

    /** How many answers this rater has had acknowledged (including those reloaded at start-up). */
    public synchronized long answeredCount(String raterId) {
        RaterState rs = raters.get(raterId);
        return rs == null ? 0 : rs.answered;
    }

    /** Pairs currently in the pool (issued or not). */
    public synchronized long pairsInPool() {
        return nextSeq - Math.max(firstSeq, nextSeq - ring.length);
    }

    /**
     * The estimated size in bytes of the rollouts waiting to be paired (per prompt), at most the pool's byte budget
     * plus the newest prompt's.
     */
    public synchronized long waitingBytes() {
        return waitingBytes;
    }

    /** Prompts whose rollouts wait to be paired, at most the pair capacity. */
    public synchronized int waitingPrompts() {
        return prompts.size();
    }

    /** The pool's estimated size in bytes ({@link Pair#bytes}), at most its budget plus the newest pair. */
    public synchronized long poolBytes() {
        return poolBytes;
    }

    public synchronized int openTasks() {
        return tasks.size();
    }

    private void expire(long nowMs) {
        for (Iterator<Task> it = tasks.values().iterator(); it.hasNext(); ) {
            Task t = it.next();
            if (t.expiresAtMs > nowMs) {
                break;
            }
            if (t.claimKey == null) {
                it.remove();
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }
}
