// Prefixes follow the one pattern scripts/clean-test-leftovers matches, and a sweep touches only test prefixes.
package io.nsgate.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TestPrefixTest {
    @Test
    void freshPrefixesFollowThePatternWithTheLetterOfTheirKind() {
        assertTrue(TestPrefix.fresh().matches("ngt[0-9a-f]{4}-"), TestPrefix.fresh());
        assertTrue(TestPrefix.fresh(TestPrefix.Kind.BENCHMARK).matches("ngb[0-9a-f]{4}-"));
        assertTrue(TestPrefix.fresh(TestPrefix.Kind.TEST).matches(TestPrefix.PATTERN));
    }

    @Test
    void onlyTestAndBenchmarkPrefixesAreSwept() {
        for (String notOurs : new String[] {"", "edge", "ngt1a2b", "ngx1a2b-", "ngt1A2B-", "lab1-"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestPrefix.sweep(notOurs));
            assertEquals("\"" + notOurs + "\" is not a test prefix (ng[tb][0-9a-f]{4}-)", e.getMessage());
        }
    }
}
