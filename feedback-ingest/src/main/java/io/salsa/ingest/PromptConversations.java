package io.salsa.ingest;

import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat conversations of the prompts raters compare answers to: a rollout carries only its prompt's flat text,
 * so the rater page would show a multi-turn conversation as one run-on string. This follows the prompts topic (from
 * its beginning, every partition, no consumer group) and keeps the turns of the most recent conversation prompts by
 * prompt id; plain-text prompts take no room.
 */
public final class PromptConversations implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PromptConversations.class);
    /** How many conversations are kept; a task whose prompt fell out shows the prompt's flat text instead. */
    public static final int CAPACITY = 20_000;

    private final Map<String, List<ChatTurn>> byPromptId;
    private KafkaLog.Follower follower;

    /** An empty store keeping at most {@code capacity} conversations (the least recently published go first). */
    PromptConversations(int capacity) {
        this.byPromptId = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, List<ChatTurn>> eldest) {
                return size() > capacity;
            }
        };
    }

    /** Follows the prompts topic of {@code settings} on a daemon thread from now until {@link #close()}. */
    static PromptConversations follow(KafkaSettings settings) {
        PromptConversations c = new PromptConversations(CAPACITY);
        c.follower = KafkaLog.follow(settings, settings.topic(Topics.PROMPTS), KafkaLog.ALL, "ingest-prompt-feed",
                KafkaLog.decoding(settings.valueSerde(Topics.PROMPTS), (rec, p) -> c.accept(p),
                        KafkaLog::skipUndecodable),
                () -> LOG.info("prompts read: {} conversation(s) known", c.size()));
        return c;
    }

    /** Waits until the prompts present at the start have been read; false on timeout. */
    boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return follower.awaitCaughtUp(timeout);
    }

    synchronized void accept(Prompt p) {
        if (p == null) {
            return;
        }
        List<ChatTurn> turns = p.getMessages();
        if (turns == null || turns.isEmpty()) {
            // republished as plain text: the old turns no longer describe the prompt
            byPromptId.remove(p.getPromptId());
        } else {
            byPromptId.remove(p.getPromptId()); // re-inserted as the newest
            byPromptId.put(p.getPromptId(), List.copyOf(turns));
        }
    }

    /** The turns of prompt {@code promptId}, or null when it is not a known conversation. */
    public synchronized List<ChatTurn> turns(String promptId) {
        return byPromptId.get(promptId);
    }

    synchronized int size() {
        return byPromptId.size();
    }

    @Override
    public void close() {
        if (follower != null) {
            follower.close();
        }
    }
}
