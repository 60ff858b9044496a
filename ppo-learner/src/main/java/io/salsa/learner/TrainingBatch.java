package io.salsa.learner;

import io.salsa.events.OffsetRange;
import io.salsa.learner.ppo.TrainingSample;
import java.util.List;

/**
 * What a data source hands {@link PpoTrainer} for one step: exactly {@code batch_size} samples plus what the step's
 * manifest and metrics say about where they came from. The trainer does not read these back; a source without
 * offsets (the experiment generating in-process) uses {@link #of}.
 *
 * @param samples the step's training samples, in the order the PPO step sees them
 * @param ranges the offset ranges the samples were read from, one per partition (empty when not from a topic)
 * @param recordCount records the source read for this batch, skipped ones included
 * @param droppedStale records skipped because their policy version was too old (or another run's)
 * @param rejected records skipped as undecodable or invalid (dead-lettered by the Kafka learner)
 * @param droppedGroups prompt groups skipped because a member was still missing after {@code group_wait_s}
 */
public record TrainingBatch(List<TrainingSample> samples, List<OffsetRange> ranges, int recordCount,
        int droppedStale, int rejected, int droppedGroups) {

    public TrainingBatch {
        samples = List.copyOf(samples);
        ranges = List.copyOf(ranges);
    }

    /** A batch in which no prompt group was dropped. */
    public TrainingBatch(List<TrainingSample> samples, List<OffsetRange> ranges, int recordCount, int droppedStale,
            int rejected) {
        this(samples, ranges, recordCount, droppedStale, rejected, 0);
    }

    /** A batch that is exactly {@code samples}, read from no topic and with nothing skipped. */
    public static TrainingBatch of(List<TrainingSample> samples) {
        return new TrainingBatch(samples, List.of(), samples.size(), 0, 0);
    }
}
