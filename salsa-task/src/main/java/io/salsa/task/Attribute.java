package io.salsa.task;

import java.util.List;

/**
 * A property an entity of the task world has, with its possible values and the ways a question can ask about it;
 * the question phrasings are split into those SFT may see and those kept for the out-of-distribution split.
 *
 * <p>Templates use {@code {ref}} for how the entity is referred to ("the zorbit", "velmor"), {@code {prep}} for the
 * kind's preposition and {@code {v}} for the value.
 */
public enum Attribute {
    COLOUR("colour", List.of("red", "blue", "green", "yellow", "purple", "orange", "white", "black", "silver", "golden"),
            "{ref} is {v}.",
            List.of("what colour is {ref}?"),
            List.of("which colour does {ref} have?")),
    SIZE("size", List.of("tiny", "small", "medium", "large", "huge"),
            "{ref} is {v}.",
            List.of("how big is {ref}?"),
            List.of("how large is {ref}?")),
    FOOD("food", List.of("berries", "fish", "seeds", "leaves", "honey", "roots", "insects", "mushrooms", "grass", "nuts"),
            "{ref} eats {v}.",
            List.of("what does {ref} eat?"),
            List.of("what food does {ref} like?")),
    HOME("home", List.of("forest", "desert", "ocean", "mountains", "swamp", "caves", "river", "islands", "jungle", "meadow"),
            "{ref} lives in the {v}.",
            List.of("where does {ref} live?"),
            List.of("in which place does {ref} live?")),
    SOUND("sound", List.of("hums", "roars", "whistles", "clicks", "sings", "growls", "chirps", "hisses"),
            "{ref} {v}.",
            List.of("what sound does {ref} make?"),
            List.of("how does {ref} sound?")),
    MOONS("number of moons", List.of("two", "three", "four", "five", "six", "seven", "eight", "nine"),
            "{ref} has {v} moons.",
            List.of("how many moons does {ref} have?"),
            List.of("how many moons orbit {ref}?")),
    WEATHER("weather", List.of("stormy", "sunny", "foggy", "rainy", "snowy", "windy", "frozen", "scorching"),
            "the weather {prep} {ref} is {v}.",
            List.of("what is the weather like {prep} {ref}?"),
            List.of("how is the weather {prep} {ref}?")),
    /** A city's planet: its values are the world's planet names, not a fixed list. */
    PLANET("planet", List.of(),
            "{ref} is on {v}.",
            List.of("on which planet is {ref}?"),
            List.of("which planet is {ref} on?")),
    CRAFT("famous craft", List.of("pottery", "glass", "silk", "clocks", "bread", "boats", "lanterns", "carpets"),
            "{ref} is famous for {v}.",
            List.of("what is {ref} famous for?"),
            List.of("what does {ref} make?"));

    private final String noun;
    private final List<String> values;
    private final String answerTemplate;
    private final List<String> trainTemplates;
    private final List<String> oodTemplates;

    Attribute(String noun, List<String> values, String answerTemplate, List<String> specificTrain,
            List<String> specificOod) {
        this.noun = noun;
        this.values = values;
        this.answerTemplate = answerTemplate;
        this.trainTemplates = concat(Generic.TRAIN, specificTrain, noun);
        this.oodTemplates = concat(Generic.OOD, specificOod, noun);
    }

    private static List<String> concat(List<String> generic, List<String> specific, String noun) {
        List<String> out = new java.util.ArrayList<>();
        generic.forEach(g -> out.add(g.replace("{attr}", noun)));
        out.addAll(specific);
        return List.copyOf(out);
    }

    /** Phrasings that work for every attribute by naming it (a holder class: enum constants initialise first). */
    private static final class Generic {
        static final List<String> TRAIN = List.of(
                "what is the {attr} of {ref}?",
                "tell me the {attr} of {ref}.",
                "do you know the {attr} of {ref}?");
        static final List<String> OOD = List.of(
                "please name the {attr} of {ref}.",
                "i would like to know the {attr} of {ref}.");
    }

    /** Lower-case name used in JSON ("colour"). */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The attribute as a question names it ("number of moons"). */
    public String noun() {
        return noun;
    }

    /** Fixed possible values; empty for {@link #PLANET}, whose values are the world's planets. */
    public List<String> fixedValues() {
        return values;
    }

    /** Sentence stating the value ("the zorbit is red."). */
    public String answerTemplate() {
        return answerTemplate;
    }

    /** Question phrasings SFT data may use. */
    public List<String> trainTemplates() {
        return trainTemplates;
    }

    /** Question phrasings used only in the out-of-distribution split. */
    public List<String> oodTemplates() {
        return oodTemplates;
    }

    /** Parses {@link #key()}. */
    public static Attribute fromKey(String key) {
        return valueOf(key.toUpperCase(java.util.Locale.ROOT));
    }
}
