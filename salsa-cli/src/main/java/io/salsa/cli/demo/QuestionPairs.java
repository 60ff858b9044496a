package io.salsa.cli.demo;

import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.task.Attribute;
import io.salsa.task.Entity;
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
 *       other attribute, so no score of the answer alone fits both; and</li>
 *   <li>the same sentence with another value of the asked attribute (a wrong fact), which teaches the world's
 *       facts the raters judge by.</li>
 * </ul>
 * The simulated rater ranks every such pair the same way (true 1.0 + name bonus against −0.5 or −0.75).
 */
final class QuestionPairs {

    private QuestionPairs() {
    }

    /**
     * Pairs for {@code prompts}, leaving out every prompt in {@code excluded} (the raters' held-out prompts).
     *
     * @param offTopic    other attributes per prompt (at most the kind's attributes − 1)
     * @param wrongValues other values per prompt (at most the attribute's values − 1)
     * @param seed        which attributes and values are taken when fewer than all
     */
    static List<PreferencePair> build(List<TaskPrompt> prompts, TaskWorld world, SalsaTokenizer tokenizer,
                                      Set<String> excluded, int offTopic, int wrongValues, long seed) {
        if (offTopic < 0 || wrongValues < 0) {
            throw new IllegalArgumentException("offTopic and wrongValues must be ≥ 0, got " + offTopic + ", "
                    + wrongValues);
        }
        Random random = new Random(seed);
        List<PreferencePair> pairs = new ArrayList<>();
        for (TaskPrompt tp : prompts) {
            if (excluded.contains(tp.text())) {
                continue;
            }
            int[] prompt = tokenizer.encode(tp.text());
            Entity entity = tp.entity();
            int[] truth = sequence(prompt, entity.answer(tp.attribute()), tokenizer);
            List<Attribute> others = new ArrayList<>(entity.kind().attributes());
            others.remove(tp.attribute());
            Collections.shuffle(others, random);
            for (Attribute other : others.subList(0, Math.min(offTopic, others.size()))) {
                pairs.add(new PreferencePair(tp.text(), truth, sequence(prompt, entity.answer(other), tokenizer),
                        false));
            }
            List<String> values = new ArrayList<>(world.values(tp.attribute()));
            values.remove(tp.answer());
            values.remove(entity.name()); // a planet is never its own planet
            Collections.shuffle(values, random);
            for (String value : values.subList(0, Math.min(wrongValues, values.size()))) {
                pairs.add(new PreferencePair(tp.text(), truth,
                        sequence(prompt, entity.answerWith(tp.attribute(), value), tokenizer), false));
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
