package io.salsa.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SimulatedRaterTest {

    private final TaskWorld world = TaskWorld.generate(42, 24);
    private final SimulatedRater rater = new SimulatedRater(world);
    private final ResponseWriter writer = new ResponseWriter(world);

    @Test
    void shouldPreferConciseCorrectAnswersOverEveryOtherStyle() {
        Random rng = new Random(1);
        int compared = 0;
        for (Entity e : world.entities()) {
            for (Attribute a : e.kind().attributes()) {
                for (String template : a.trainTemplates()) {
                    String prompt = e.ask(template);
                    String best = writer.write(e, a, ResponseStyle.CONCISE, rng);
                    for (ResponseStyle s : ResponseStyle.values()) {
                        if (s == ResponseStyle.CONCISE) {
                            continue;
                        }
                        String other = writer.write(e, a, s, rng);
                        assertEquals(RaterChoice.A, rater.prefer(prompt, best, other), prompt + " | " + best + " vs " + other);
                        assertEquals(RaterChoice.B, rater.prefer(prompt, other, best));
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared > 500);
    }

    @Test
    void shouldRankStylesOnAverage() {
        Map<ResponseStyle, Double> mean = new EnumMap<>(ResponseStyle.class);
        Random rng = new Random(2);
        int n = 0;
        for (Entity e : world.entities()) {
            for (Attribute a : e.kind().attributes()) {
                String prompt = e.ask(a.trainTemplates().get(0));
                for (ResponseStyle s : ResponseStyle.values()) {
                    mean.merge(s, rater.score(prompt, writer.write(e, a, s, rng)), Double::sum);
                }
                n++;
            }
        }
        double[] m = new double[ResponseStyle.values().length];
        for (ResponseStyle s : ResponseStyle.values()) {
            m[s.ordinal()] = mean.get(s) / n;
        }
        assertTrue(m[ResponseStyle.CONCISE.ordinal()] > m[ResponseStyle.TERSE.ordinal()]);
        assertTrue(m[ResponseStyle.TERSE.ordinal()] > m[ResponseStyle.VERBOSE.ordinal()]);
        assertTrue(m[ResponseStyle.VERBOSE.ordinal()] > m[ResponseStyle.WRONG.ordinal()]);
        assertTrue(m[ResponseStyle.REPETITIVE.ordinal()] > m[ResponseStyle.EMPTY.ordinal()]);
        assertTrue(m[ResponseStyle.WRONG.ordinal()] > m[ResponseStyle.EMPTY.ordinal()]);
        assertTrue(m[ResponseStyle.EMPTY.ordinal()] > m[ResponseStyle.NONSENSE.ordinal()]);
    }

    @Test
    void shouldScoreByTheDocumentedRule() {
        Entity animal = world.entities().stream().filter(e -> e.kind() == Kind.ANIMAL).findFirst().orElseThrow();
        String prompt = "What colour is " + animal.ref() + "?";
        String truth = animal.value(Attribute.COLOUR);
        String wrong = world.values(Attribute.COLOUR).stream().filter(v -> !v.equals(truth)).findFirst().orElseThrow();
        assertEquals(1.1, rater.score(prompt, animal.answer(Attribute.COLOUR)), 1e-12);
        assertEquals(1.0, rater.score(prompt, truth + "."), 1e-12);
        assertEquals(-0.65, rater.score(prompt, animal.answerWith(Attribute.COLOUR, wrong)), 1e-12);
        assertEquals(-0.5, rater.score(prompt, "i do know."), 1e-12);
        assertEquals(SimulatedRater.EMPTY_SCORE, rater.score(prompt, "   "), 1e-12);
        SimulatedRater.Verdict v = rater.judge(prompt, "red red red red red red");
        assertTrue(v.repetitionPenalty() > 0.7, v.toString());
        SimulatedRater.Verdict nonsense = rater.judge(prompt, "blorf xq snee");
        assertEquals(1.0, nonsense.unknownFraction(), 1e-12);
        assertEquals(RaterChoice.TIE, rater.prefer(prompt, truth + ".", truth + " ."));
    }

    @Test
    void shouldNotCountAValueStatedAboutAnotherEntityAsAnAnswer() {
        // two animals of one colour: the other's sentence contains the asked animal's true value
        java.util.List<Entity> animals = world.entities().stream().filter(e -> e.kind() == Kind.ANIMAL).toList();
        Entity asked = animals.stream().filter(a -> animals.stream().anyMatch(b -> b != a
                && b.value(Attribute.COLOUR).equals(a.value(Attribute.COLOUR)))).findFirst().orElseThrow();
        Entity sameColour = animals.stream().filter(b -> b != asked
                && b.value(Attribute.COLOUR).equals(asked.value(Attribute.COLOUR))).findFirst().orElseThrow();
        String prompt = "what colour is " + asked.ref() + "?";
        SimulatedRater.Verdict about = rater.judge(prompt, sameColour.answer(Attribute.COLOUR));
        assertFalse(about.correct(), about.toString());
        assertEquals(-0.5, about.score(), 1e-12);
        assertEquals(1.1, rater.score(prompt, asked.answer(Attribute.COLOUR)), 1e-12);
        assertEquals(RaterChoice.A, rater.prefer(prompt, asked.answer(Attribute.COLOUR),
                sameColour.answer(Attribute.COLOUR)));

        // a city's planet is a value, not another subject
        Entity city = world.entities().stream().filter(e -> e.kind() == Kind.CITY).findFirst().orElseThrow();
        String planet = city.value(Attribute.PLANET);
        assertEquals(1.1, rater.score("on which planet is " + city.ref() + "?", city.answer(Attribute.PLANET)), 1e-12);
        assertTrue(rater.judge("on which planet is " + city.ref() + "?", planet + ".").correct());
        // but a planet that is the subject of a sentence about another city is still about that city
        Entity otherCity = world.entities().stream()
                .filter(e -> e != city && e.kind() == Kind.CITY).findFirst().orElseThrow();
        assertFalse(rater.judge("on which planet is " + city.ref() + "?",
                otherCity.answerWith(Attribute.PLANET, planet)).correct());
    }

    @Test
    void shouldRecoverTheQuestionFromPromptTextAlone() {
        for (Entity e : world.entities()) {
            for (Attribute a : e.kind().attributes()) {
                for (String t : a.oodTemplates()) {
                    TaskWorld.PromptKey key = world.parsePrompt("  " + e.ask(t).toUpperCase() + "  ").orElseThrow();
                    assertEquals(e, key.entity());
                    assertEquals(a, key.attribute());
                    assertTrue(key.oodPhrasing());
                }
                assertFalse(world.parsePrompt(e.ask(a.trainTemplates().get(0))).orElseThrow().oodPhrasing());
            }
        }
        assertTrue(world.parsePrompt("what is the meaning of life?").isEmpty());
        SimulatedRater.Verdict v = rater.judge("what is the meaning of life?", "forty two.");
        assertFalse(v.understood());
    }
}
