package io.salsa.task;

import java.util.List;

/** The three sorts of invented thing in the task world; each has its own attributes and way of being named. */
public enum Kind {
    ANIMAL("animal", true, "in", List.of(Attribute.COLOUR, Attribute.SIZE, Attribute.FOOD, Attribute.HOME, Attribute.SOUND)),
    PLANET("planet", false, "on", List.of(Attribute.COLOUR, Attribute.SIZE, Attribute.MOONS, Attribute.WEATHER)),
    CITY("city", false, "in", List.of(Attribute.PLANET, Attribute.CRAFT, Attribute.WEATHER));

    private final String noun;
    private final boolean takesArticle;
    private final String preposition;
    private final List<Attribute> attributes;

    Kind(String noun, boolean takesArticle, String preposition, List<Attribute> attributes) {
        this.noun = noun;
        this.takesArticle = takesArticle;
        this.preposition = preposition;
        this.attributes = attributes;
    }

    /** The word for this kind ("animal"). */
    public String noun() {
        return noun;
    }

    /** How text refers to an entity of this kind: animals are common nouns ("the zorbit"), places proper names. */
    public String refer(String name) {
        return takesArticle ? "the " + name : name;
    }

    /** "on" a planet, "in" a city: used by phrasings about weather. */
    public String preposition() {
        return preposition;
    }

    /** Attributes every entity of this kind has, in a fixed order. */
    public List<Attribute> attributes() {
        return attributes;
    }
}
