package io.salsa.cli.demo;

import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.task.Attribute;
import io.salsa.task.Entity;
import io.salsa.task.RaterChoice;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskPrompt;
import io.salsa.task.TaskWorld;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Preference pairs derived from the task's world (like its offline pairs, training side only) that a reward model
 * can only fit by reading the question: for a training prompt about an entity's attribute, its concise true answer
 * is preferred to
 * <ul>
 *   <li>the same entity's true answer about another attribute (off-topic: "what colour is the lunquo?" → "the
 *       weather on lunquo is foggy."), a sentence that is itself the preferred answer under the prompts asking that
 *       other attribute, so no score of the answer alone fits both;</li>
 *   <li>the same sentence with another value of the asked attribute (a wrong fact), which teaches the world's
 *       facts the raters judge by; and</li>
 *   <li>another entity's true answer to the asked attribute ("how many moons does tibnim have?" → "soltar has six
 *       moons."), which answers nothing about the asked entity.</li>
 * </ul>
 * Two kinds rank non-answers, as the raters do when both of their samples miss the fact: the other entity's answer
 * and the wrong fact go below an off-topic answer, which at least names the asked entity (−0.4 against −0.5 and
 * −0.65). Every pair is oriented by the {@link SimulatedRater} itself, and one it ties is left out.
 */
final class QuestionPairs {

    private QuestionPairs() {
    }

    /**
     * How many pairs of each kind one training prompt gets.
     *
     * @param offTopic           the asked entity's true answers about other attributes (at most the kind's
     *                           attributes − 1), each below the true answer
     * @param wrongValues        the true answer's sentence with another value (at most the attribute's values − 1),
     *                           each below the true answer
     * @param otherEntities      other entities' true answers to the asked attribute ("soltar has six moons." to "how
     *                           many moons does tibnim have?"), each below the true answer and below an off-topic
     *                           answer: about the wrong entity, they answer nothing (−0.5), while the off-topic answer
     *                           at least names the asked one (−0.4)
     * @param wrongUnderOffTopic of the wrong values, how many also go below an off-topic answer (a wrong fact, −0.65,
     *                           is worse than none, −0.4)
     */
    record Mix(int offTopic, int wrongValues, int otherEntities, int wrongUnderOffTopic) {
        Mix {
            if (offTopic < 0 || wrongValues < 0 || otherEntities < 0 || wrongUnderOffTopic < 0) {
                throw new IllegalArgumentException("pair counts must be ≥ 0, got " + offTopic + ", " + wrongValues
                        + ", " + otherEntities + ", " + wrongUnderOffTopic);
            }
        }
    }

    /**
     * Pairs for {@code prompts}, leaving out every prompt in {@code excluded} (the raters' held-out prompts), each
     * oriented by the simulated rater (a pair it ties is left out).
     *
     * @param mix  how many of each kind per prompt
     * @param seed which attributes, values and entities are taken when fewer than all
     */
    static List<PreferencePair> build(List<TaskPrompt> prompts, TaskWorld world, SalsaTokenizer tokenizer,
                                      Set<String> excluded, Mix mix, long seed) {
        SimulatedRater rater = new SimulatedRater(world);
        Random random = new Random(seed);
        List<PreferencePair> pairs = new ArrayList<>();
        for (TaskPrompt tp : prompts) {
            if (excluded.contains(tp.text())) {
                continue;
            }
            int[] prompt = tokenizer.encode(tp.text());
            Entity entity = tp.entity();
            String truth = entity.answer(tp.attribute());
            List<Attribute> attributes = new ArrayList<>(entity.kind().attributes());
            attributes.remove(tp.attribute());
            Collections.shuffle(attributes, random);
            List<String> offTopic = new ArrayList<>();
            for (Attribute other : attributes.subList(0, Math.min(mix.offTopic(), attributes.size()))) {
                offTopic.add(entity.answer(other));
            }
            List<String> values = new ArrayList<>(world.values(tp.attribute()));
            values.remove(tp.answer());
            values.remove(entity.name()); // a planet is never its own planet
            Collections.shuffle(values, random);
            List<String> wrong = new ArrayList<>();
            for (String value : values.subList(0, Math.min(mix.wrongValues(), values.size()))) {
                wrong.add(entity.answerWith(tp.attribute(), value));
            }
            List<Entity> others = new ArrayList<>();
            for (Entity e : world.entities()) {
                if (e != entity && e.kind().attributes().contains(tp.attribute())) {
                    others.add(e);
                }
            }
            if (mix.otherEntities() > 0) {
                Collections.shuffle(others, random);
            }
            List<String> elsewhere = new ArrayList<>();
            for (Entity e : others.subList(0, Math.min(mix.otherEntities(), others.size()))) {
                elsewhere.add(e.answer(tp.attribute()));
            }
            List<String[]> candidates = new ArrayList<>();
            offTopic.forEach(r -> candidates.add(new String[] {truth, r}));
            wrong.forEach(r -> candidates.add(new String[] {truth, r}));
            elsewhere.forEach(r -> candidates.add(new String[] {truth, r}));
            if (!offTopic.isEmpty()) {
                for (int i = 0; i < Math.min(mix.wrongUnderOffTopic(), wrong.size()); i++) {
                    candidates.add(new String[] {offTopic.get(i % offTopic.size()), wrong.get(i)});
                }
                for (int i = 0; i < elsewhere.size(); i++) {
                    candidates.add(new String[] {offTopic.get(i % offTopic.size()), elsewhere.get(i)});
                }
            }
            for (String[] c : candidates) {
                RaterChoice choice = rater.prefer(tp.text(), c[0], c[1]);
                if (choice != RaterChoice.TIE) {
                    String chosen = choice == RaterChoice.A ? c[0] : c[1];
                    String rejected = choice == RaterChoice.A ? c[1] : c[0];
                    pairs.add(new PreferencePair(tp.text(), sequence(prompt, chosen, tokenizer),
                            sequence(prompt, rejected, tokenizer), false));
                }
            }
        }
        return pairs;
    }

    /** prompt ++ response ++ EOS, as {@link io.salsa.scorer.rm.PreferenceData} reads a written pair. */
    private static int[] sequence(int[] prompt, String response, SalsaTokenizer tokenizer) {
        int[] r = tokenizer.encode(response);
        int[] out = new int[prompt.length + r.length + 1];
        System.arraycopy(prompt, 0, out, 0, prompt.length);
        System.arraycopy(r, 0, out, prompt.length, r.length);
        out[out.length - 1] = tokenizer.eosId();
        return out;
    }
}
