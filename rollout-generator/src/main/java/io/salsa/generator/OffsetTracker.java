package io.salsa.generator;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Knows, per prompt partition, up to which offset every prompt's rollouts are acknowledged, so a prompt's offset is
 * committed only with (or after) the transaction holding the last of its outputs (a crash then regenerates
 * in-flight prompts and loses none).
 *
 * <p>Producer callbacks complete work from the producer's I/O thread while the poll thread registers and
 * commits, hence the lock.
 */
public final class OffsetTracker {

    /** Per partition: outstanding acknowledgements of each registered offset, and the next offset after the last. */
    private static final class PartitionState {
        final TreeMap<Long, Integer> outstanding = new TreeMap<>();
        long next = -1;
    }

    private final Map<TopicPartition, PartitionState> partitions = new HashMap<>();

    /** Records that the prompt at {@code offset} will be done after {@code acks} acknowledgements (&ge; 1). */
    public synchronized void register(TopicPartition tp, long offset, int acks) {
        if (acks < 1) {
            throw new IllegalArgumentException("acks must be >= 1, got " + acks);
        }
        PartitionState state = partitions.computeIfAbsent(tp, k -> new PartitionState());
        state.outstanding.merge(offset, acks, Integer::sum);
        state.next = Math.max(state.next, offset + 1);
    }

    /** One output of the prompt at {@code offset} is acknowledged; ignored for a partition since revoked. */
    public synchronized void acknowledge(TopicPartition tp, long offset) {
        PartitionState state = partitions.get(tp);
        if (state == null) {
            return;
        }
        Integer left = state.outstanding.get(offset);
        if (left == null) {
            return;
        }
        if (left <= 1) {
            state.outstanding.remove(offset);
        } else {
            state.outstanding.put(offset, left - 1);
        }
    }

    /**
     * Every owned partition's committable position: the first offset still waiting for acknowledgements, or one past
     * the last registered offset when none is waiting (committed with the transaction that holds those outputs).
     */
    public synchronized Map<TopicPartition, OffsetAndMetadata> positions(Collection<TopicPartition> owned) {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (Map.Entry<TopicPartition, PartitionState> e : partitions.entrySet()) {
            PartitionState state = e.getValue();
            long position = state.outstanding.isEmpty() ? state.next : state.outstanding.firstKey();
            if (owned.contains(e.getKey()) && position >= 0) {
                out.put(e.getKey(), new OffsetAndMetadata(position));
            }
        }
        return out;
    }

    /** Prompts whose rollouts are still awaited, over all partitions. */
    public synchronized int inFlightPrompts() {
        return partitions.values().stream().mapToInt(s -> s.outstanding.size()).sum();
    }

    /** Forgets partitions this instance no longer owns: their unfinished prompts are the new owner's. */
    public synchronized void forget(Collection<TopicPartition> revoked) {
        revoked.forEach(partitions::remove);
    }
}
