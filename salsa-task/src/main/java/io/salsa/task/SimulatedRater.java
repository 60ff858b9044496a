package io.salsa.task;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A deterministic stand-in for a human rater on the built-in task: it knows the world's facts and rewards answers
 * that are correct, concise and not repetitive, so preference data and a held-out gold judge exist without people.
 *
 * <p>Score, for a response's lower-case words (see {@link Verdict}):
 * <ul>
 * <li>empty response: {@value #EMPTY_SCORE};</li>
 * <li>correctness: +1 for the true value alone, −0.25 when a wrong value of the same attribute appears too,
 * −0.75 for only a wrong value, −0.5 for no value at all (0 when the prompt is not a question of this world);
 * a response that names another entity of the world (not the asked one, and not as a value: a city's planet) is
 * about that entity, so whatever values it states do not answer the question: −0.5, as for no value ("quomor is
 * blue." does not tell the colour of raxtar, even when raxtar is blue too);</li>
 * <li>+0.1 for naming the entity (a full sentence);</li>
 * <li>− 0.04 per word beyond the concise answer's length + 2, at most −0.6;</li>
 * <li>− the share of repeated word bigrams (1 − distinct/total);</li>
 * <li>− the share of words the task never uses (nonsense).</li>
 * </ul>
 * The concise correct sentence scores 1.1, which is the maximum.
 */
public final class SimulatedRater {

    /** Score of an empty response: below every wrong answer, so shrinking to nothing never pays. */
    public static final double EMPTY_SCORE = -1.0;
    private static final double TIE_EPSILON = 1e-9;

    private final TaskWorld world;

    public SimulatedRater(TaskWorld world) {
        this.world = world;
    }

    /** The world whose facts this rater knows. */
    public TaskWorld world() {
        return world;
    }

    /**
     * The parts of a judgement, for metrics and debugging.
     *
     * @param score             the gold score
     * @param understood        whether the prompt is one of this world's questions
     * @param correct           the true value appears, in a response about the asked entity
     * @param wrong             another value of the same attribute appears, in a response about the asked entity
     * @param words             number of words
     * @param brevityPenalty    penalty for words beyond the concise length
     * @param repetitionPenalty share of repeated bigrams
     * @param unknownFraction   share of words outside the task's vocabulary
     */
    public record Verdict(double score, boolean understood, boolean correct, boolean wrong, int words,
            double brevityPenalty, double repetitionPenalty, double unknownFraction) {
    }

    /** The gold score of {@code response} to {@code prompt}. */
    public double score(String prompt, String response) {
        return judge(prompt, response).score();
    }

    /** Which response is better; equal scores are a tie. */
    public RaterChoice prefer(String prompt, String a, String b) {
        double d = score(prompt, a) - score(prompt, b);
        return d > TIE_EPSILON ? RaterChoice.A : d < -TIE_EPSILON ? RaterChoice.B : RaterChoice.TIE;
    }

    /** The score with its parts. */
    public Verdict judge(String prompt, String response) {
        List<String> words = TaskWorld.words(response == null ? "" : response);
        Optional<TaskWorld.PromptKey> key = world.parsePrompt(prompt == null ? "" : prompt);
        if (words.isEmpty()) {
            return new Verdict(EMPTY_SCORE, key.isPresent(), false, false, 0, 0, 0, 0);
        }
        boolean correct = false;
        boolean wrong = false;
        double correctness = 0;
        double bonus = 0;
        int conciseLength = 6;
        if (key.isPresent()) {
            Attribute attribute = key.get().attribute();
            Entity entity = key.get().entity();
            String truth = entity.value(attribute);
            Set<String> present = new HashSet<>(words);
            correct = present.contains(truth);
            for (String v : world.values(attribute)) {
                wrong |= !v.equals(truth) && present.contains(v);
            }
            if (namesAnotherEntity(present, entity, attribute)) {
                correct = false;
                wrong = false;
            }
            correctness = correct ? (wrong ? -0.25 : 1.0) : (wrong ? -0.75 : -0.5);
            bonus = present.contains(entity.name()) ? 0.1 : 0;
            conciseLength = TaskWorld.words(entity.answer(attribute)).size();
        }
        int extra = Math.max(0, words.size() - (conciseLength + 2));
        double brevity = Math.min(0.6, 0.04 * extra);
        double repetition = repetition(words);
        long unknown = words.stream().filter(w -> !world.vocabulary().contains(w)).count();
        double unknownFraction = (double) unknown / words.size();
        double score = correctness + bonus - brevity - repetition - unknownFraction;
        return new Verdict(score, key.isPresent(), correct, wrong, words.size(), brevity, repetition, unknownFraction);
    }

    /** Whether {@code words} name an entity other than {@code asked}, other than as a value of the attribute. */
    private boolean namesAnotherEntity(Set<String> words, Entity asked, Attribute attribute) {
        for (Entity e : world.entities()) {
            if (e != asked && words.contains(e.name())
                    && !(attribute == Attribute.PLANET && e.kind() == Kind.PLANET)) {
                return true;
            }
        }
        return false;
    }

    /** 1 − distinct bigrams / bigrams: 0 for ordinary sentences, near 1 for a word said over and over. */
    static double repetition(List<String> words) {
        if (words.size() < 3) {
            return 0;
        }
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i + 1 < words.size(); i++) {
            distinct.add(words.get(i) + ' ' + words.get(i + 1));
        }
        return 1.0 - (double) distinct.size() / (words.size() - 1);
    }
}
