package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.salsa.events.Choice;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnswerParserTest {

    private final AnswerParser parser = new AnswerParser(20);

    private Answer parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private ApiException reject(String json) {
        return assertThrows(ApiException.class, () -> parse(json));
    }

    @Test
    void shouldAcceptChoicesInAnyCase() {
        assertEquals(Choice.A, parse("{\"taskId\":\"t1\",\"choice\":\"A\"}").choice());
        assertEquals(Choice.B, parse("{\"taskId\":\"t1\",\"choice\":\"b\"}").choice());
        Answer tie = parse("{\"taskId\":\"t1\",\"choice\":\"tie\",\"reason\":\"both fine\"}");
        assertEquals(Choice.TIE, tie.choice());
        assertEquals("both fine", tie.reason());
        assertNull(tie.rating());
    }

    @Test
    void shouldAcceptRatingsFromOneToSeven() {
        assertEquals(1, parse("{\"taskId\":\"t\",\"rating\":1}").rating());
        assertEquals(7, parse("{\"taskId\":\"t\",\"rating\":7}").rating());
    }

    @Test
    void shouldSayWhatAndWhereForEveryMalformedShape() {
        ApiException e = reject("{\"taskId\":\"t\",\"choice\":");
        assertEquals(400, e.status());
        assertEquals("malformed_json", e.reason());
        assertEquals("line 1, column 24", e.where());

        assertEquals("invalid_field", reject("[1,2]").reason());
        assertEquals("$", reject("[1,2]").where());
        assertEquals("$.extra", reject("{\"taskId\":\"t\",\"choice\":\"A\",\"extra\":1}").where());
        assertEquals("missing_field", reject("{\"choice\":\"A\"}").reason());
        assertEquals("$.taskId", reject("{\"taskId\":5,\"choice\":\"A\"}").where());
        assertEquals("missing_field", reject("{\"taskId\":\"t\"}").reason());
        assertEquals("invalid_field", reject("{\"taskId\":\"t\",\"choice\":\"A\",\"rating\":3}").reason());
        assertEquals("$.choice", reject("{\"taskId\":\"t\",\"choice\":1}").where());
        assertEquals("$.rating", reject("{\"taskId\":\"t\",\"rating\":3.5}").where());
        assertEquals("$.rating", reject("{\"taskId\":\"t\",\"rating\":\"3\"}").where());
        assertEquals("malformed_json", reject("{\"taskId\":\"t\",\"taskId\":\"u\",\"choice\":\"A\"}").reason());
        assertEquals("malformed_json", reject("{\"taskId\":\"t\",\"choice\":\"A\"} {}").reason());
        assertEquals("malformed_json", reject("").reason());
    }

    @Test
    void shouldRejectValuesOutOfRangeWith422() {
        ApiException choice = reject("{\"taskId\":\"t\",\"choice\":\"C\"}");
        assertEquals(422, choice.status());
        assertEquals("choice_out_of_range", choice.reason());
        assertEquals("$.choice", choice.where());
        for (String r : new String[] {"0", "8", "-1", "99999999999"}) {
            ApiException rating = reject("{\"taskId\":\"t\",\"rating\":" + r + "}");
            assertEquals(422, rating.status(), r);
            assertEquals("rating_out_of_range", rating.reason(), r);
        }
    }

    @Test
    void shouldCountReasonLengthInCharactersNotBytes() {
        // 20 characters of 4 bytes each is within a 20-character limit; 21 is not
        String twenty = "😀".repeat(20);
        assertEquals(twenty, parse("{\"taskId\":\"t\",\"choice\":\"A\",\"reason\":\"" + twenty + "\"}").reason());
        ApiException e = reject("{\"taskId\":\"t\",\"choice\":\"A\",\"reason\":\"" + twenty + "x\"}");
        assertEquals(422, e.status());
        assertEquals("text_too_long", e.reason());
        assertEquals("$.reason", e.where());
    }

    @Test
    void shouldFingerprintEverythingThatChangesTheEvent() {
        String a = parse("{\"taskId\":\"t\",\"choice\":\"A\"}").fingerprint();
        assertEquals(a, parse("{\"choice\":\"a\",\"taskId\":\"t\"}").fingerprint());
        assert !a.equals(parse("{\"taskId\":\"t\",\"choice\":\"B\"}").fingerprint());
        assert !a.equals(parse("{\"taskId\":\"t\",\"choice\":\"A\",\"reason\":\"x\"}").fingerprint());
        assert !a.equals(parse("{\"taskId\":\"u\",\"choice\":\"A\"}").fingerprint());
    }
}
