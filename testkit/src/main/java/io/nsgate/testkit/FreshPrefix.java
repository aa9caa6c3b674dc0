// A JUnit extension giving a test class (or each test) a fresh namespace prefix, swept afterwards even on failure.
package io.nsgate.testkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * For tests that make namespaces with nsgate's own code (rather than through a {@link NetnsLab}):
 * <pre>
 *   &#64;RegisterExtension
 *   final FreshPrefix prefix = FreshPrefix.perTest();      // or: static final ... = FreshPrefix.perClass();
 *   ...  NetNs.create(prefix.ns("a"))  ...                 // "ngt1a2b-a"
 * </pre>
 * The prefix is picked before each test (or before the class's first) and {@link TestPrefix#sweep swept} after it
 * (after the class's last), after the test's own {@code @AfterEach} methods have closed what they hold.
 */
public final class FreshPrefix implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private final boolean perTest;
    private String prefix;

    private FreshPrefix(boolean perTest) {
        this.perTest = perTest;
    }

    /** A new prefix for every test (register it on an instance field). */
    public static FreshPrefix perTest() {
        return new FreshPrefix(true);
    }

    /** One prefix for the whole class (register it on a static field). */
    public static FreshPrefix perClass() {
        return new FreshPrefix(false);
    }

    /** The prefix, e.g. "ngt1a2b-". */
    public String get() {
        return prefix;
    }

    /** A namespace name under the prefix: ns("a") = "ngt1a2b-a". */
    public String ns(String name) {
        return prefix + name;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!perTest) {
            prefix = TestPrefix.fresh();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (!perTest && prefix != null) {
            TestPrefix.sweep(prefix);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (perTest) {
            prefix = TestPrefix.fresh();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (perTest && prefix != null) {
            TestPrefix.sweep(prefix);
        }
    }
}
