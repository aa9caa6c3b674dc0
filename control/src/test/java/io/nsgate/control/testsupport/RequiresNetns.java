// Marks a test class that needs root and network namespaces: it fails (not skips) with the cause when they are missing.
package io.nsgate.control.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Backed by {@link NetnsRequirement}: {@code NetNs.unavailabilityCause()} and the kit's probe (root, {@code ip}). CI
 * runs as root, so a missing capability is a failure naming the cause; {@code -Dnsgate.allowSkip=true} turns it into
 * an aborted (skipped) test for developers without root.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(NetnsRequirement.class)
public @interface RequiresNetns {
}
