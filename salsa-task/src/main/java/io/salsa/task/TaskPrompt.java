package io.salsa.task;

/**
 * One question of the task with the metadata needed to judge answers and to prove the splits are disjoint.
 *
 * @param id          stable id: {@code entity.attribute.t<template>} or {@code .o<template>} for held-out phrasings
 * @param split       {@code train}, {@code eval} or {@code ood}
 * @param text        the prompt as the model sees it
 * @param entity      what it asks about
 * @param attribute   which attribute
 * @param template    the phrasing template
 * @param oodCombo    the entity–attribute combination never appears in training
 * @param oodPhrasing the phrasing never appears in training
 */
public record TaskPrompt(String id, String split, String text, Entity entity, Attribute attribute, String template,
        boolean oodCombo, boolean oodPhrasing) {

    /** The true value. */
    public String answer() {
        return entity.value(attribute);
    }

    /** The concise correct answer sentence. */
    public String reference() {
        return entity.answer(attribute);
    }

    /** {@code entity/attribute}, the unit the OOD split holds out. */
    public String combo() {
        return entity.name() + "/" + attribute.key();
    }
}
