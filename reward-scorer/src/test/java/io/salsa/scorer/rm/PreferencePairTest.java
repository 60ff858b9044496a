package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PreferencePairTest {

    @Test
    void shouldPutATiesTwoSidesInTokenOrderWhicheverWasShownFirst() {
        int[] low = {5, 1};
        int[] high = {5, 2};
        for (PreferencePair tie : new PreferencePair[] {
                new PreferencePair("p", low, high, true), new PreferencePair("p", high, low, true)}) {
            assertArrayEquals(low, tie.chosen());
            assertArrayEquals(high, tie.rejected());
        }
    }

    @Test
    void shouldKeepAStrictPairsSidesAsTheRaterChose() {
        PreferencePair strict = new PreferencePair("p", new int[] {9}, new int[] {1}, false);
        assertArrayEquals(new int[] {9}, strict.chosen());
        assertArrayEquals(new int[] {1}, strict.rejected());
    }

    @Test
    void shouldRejectAnEmptySide() {
        assertThrows(IllegalArgumentException.class, () -> new PreferencePair("p", new int[0], new int[] {1}, true));
    }
}
